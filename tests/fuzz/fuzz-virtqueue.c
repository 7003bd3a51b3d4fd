/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the input is a guest's memory holding a split virtqueue
 * (descriptor table, avail ring, indirect tables, all guest-controlled).
 * The device side pops and completes every chain; every buffer it hands out is
 * read and written in full, so ASan catches any access outside guest memory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest-mem.h"
#include "virtqueue.h"

#define MEM_GPA	 0x1000ull
#define MEM_SIZE 0x4000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const struct virtq_req *req)
{
	for (unsigned i = 0; i < req->n_out + req->n_in; i++) {
		volatile uint8_t *p = req->iov[i].iov_base;

		p[0] = p[req->iov[i].iov_len - 1];
		if (i >= req->n_out)
			memset(req->iov[i].iov_base, 0xa5, req->iov[i].iov_len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_req req;
	struct guest_mem mem = {.nr = 1};
	struct virtq vq = {0};
	uint8_t *ram;

	if (size < 8)
		return 0;
	ram = calloc(1, MEM_SIZE); /* exact size: ASan redzones border it */
	if (!ram)
		return 0;
	memcpy(ram, data + 8, size - 8 > MEM_SIZE ? MEM_SIZE : size - 8);
	mem.regions[0] = (struct guest_mem_region){MEM_GPA, MEM_SIZE, ram};

	/* Header: log2 size, features, ring offsets (in 16-byte units), start index. */
	vq.size = 1u << (data[0] % 10);
	vq.indirect = data[1] & 1;
	vq.event_idx = data[1] & 2;
	vq.desc_gpa = MEM_GPA + data[2] * 16u;
	vq.avail_gpa = MEM_GPA + data[3] * 16u;
	vq.used_gpa = MEM_GPA + data[4] * 16u;
	if (virtq_enable(&vq, &mem) == 0) {
		vq.last_avail = vq.used_idx = (uint16_t)(data[5] << 8 | data[6]);
		virtq_disable_notify(&vq);
		for (unsigned n = 0; n < 4 * VIRTQ_MAX_SIZE; n++) {
			int r = virtq_pop(&vq, &req);

			if (r == 0 || r == -EIO)
				break;
			if (r == 1) {
				touch(&req);
				virtq_push(&vq, req.head, req.in_len);
			}
			(void)virtq_need_interrupt(&vq);
		}
		(void)virtq_enable_notify(&vq);
	}
	free(ram);
	return 0;
}
