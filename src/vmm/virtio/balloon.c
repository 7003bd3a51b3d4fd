/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-balloon (virtio 1.2 section 5.5): inflate, deflate and free page
 * reporting queues.  Pages the guest gives up (inflated or reported free) are
 * dropped with MADV_DONTNEED, which returns them to the host: guest RAM is an
 * anonymous private mapping, so a later guest access sees a zero page.
 * There is no runtime control of the target yet: num_pages stays 0, so the
 * guest only inflates on its own; free page reporting is the useful part.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "guest-mem.h"
#include "log.h"
#include "../snapshot/format.h"
#include "virtio-internal.h"

#define VIRTIO_BALLOON_F_PAGE_REPORTING 5
#define PFN_SHIFT			12 /* balloon PFNs are always 4 KiB units */
#define PAGE				4096u
#define MAX_PFNS			256 /* PFNs per inflate request (Linux sends <= 256) */

/* Queue indices: Linux numbers only the queues whose features were negotiated. */
#define INFLATEQ 0
#define DEFLATEQ 1
#define REPORTQ	 2

struct balloon_config {
	uint32_t num_pages;
	uint32_t actual;
} __attribute__((packed));

struct virtio_balloon {
	struct virtio_dev vdev;
	struct balloon_config config;
};

/* Drop [gpa, gpa+len) when it is page-aligned guest RAM; anything else is ignored. */
static void discard(struct virtio_dev *vdev, uint64_t gpa, uint64_t len)
{
	void *p;

	if (gpa % PAGE || len % PAGE || !len)
		return;
	p = guest_mem_ptr(vdev->mem, gpa, len);
	if (!p || (uintptr_t)p % PAGE || madvise(p, len, MADV_DONTNEED) < 0)
		log_warn_ratelimited("virtio-balloon: cannot discard %#llx+%#llx",
				     (unsigned long long)gpa, (unsigned long long)len);
}

static uint32_t balloon_handle(struct virtio_dev *vdev, unsigned q, struct virtq_req *req)
{
	uint32_t pfn;

	if (q == INFLATEQ) {
		/* Linux sends at most 256 PFNs a request; more is ignored. */
		for (size_t off = 0; off + 4 <= req->out_len && off < 4 * MAX_PFNS; off += 4) {
			virtq_iov_to_buf(req->iov, req->n_out, off, &pfn, 4);
			discard(vdev, (uint64_t)le32toh(pfn) << PFN_SHIFT, PAGE);
		}
	} else if (q == REPORTQ) {
		/* Each buffer is a run of free guest pages; we write nothing into it. */
		for (unsigned i = 0; i < req->n_out + req->n_in; i++) {
			uint8_t *hva = req->iov[i].iov_base;
			uint64_t len = req->iov[i].iov_len;

			if ((uintptr_t)hva % PAGE == 0 && len % PAGE == 0)
				madvise(hva, len, MADV_DONTNEED);
		}
	}
	return 0; /* deflate: the pages simply fault back in */
}

static void balloon_config_write(struct virtio_dev *vdev, uint32_t off, const void *data,
				 uint32_t len)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vdev;

	/* Only `actual` (offset 4) is the driver's to write. */
	if (off == 4 && len == 4)
		memcpy(&b->config.actual, data, 4);
}

static void balloon_reset(struct virtio_dev *vdev)
{
	((struct virtio_balloon *)vdev)->config.actual = 0;
}

static void balloon_destroy(struct virtio_dev *vdev)
{
	free(vdev);
}

static int balloon_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
			struct err **err);
static int balloon_restore(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
			   struct err **err);

static const struct virtio_dev_ops balloon_ops = {
    .name = "balloon",
    .device_id = VIRTIO_ID_BALLOON,
    .n_queues = 3,
    .handle = balloon_handle,
    .config_write = balloon_config_write,
    .reset = balloon_reset,
    .destroy = balloon_destroy,
    .save = balloon_save,
    .restore = balloon_restore,
};

int virtio_balloon_create(const struct guest_mem *mem, struct virtio_dev **ret, struct err **err)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return err_make(err, ENOMEM, "virtio-balloon");
	r = virtio_dev_init(&b->vdev, &balloon_ops, mem, err);
	if (r < 0) {
		virtio_dev_destroy(&b->vdev);
		return r;
	}
	b->vdev.config = &b->config;
	b->vdev.config_len = sizeof(b->config);
	b->vdev.features |= 1ull << VIRTIO_BALLOON_F_PAGE_REPORTING;
	*ret = &b->vdev;
	return 0;
}

/* Snapshot: the config space (target num_pages, the driver's `actual`). */
static int balloon_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
			struct err **err)
{
	(void)err;
	snap_put(w, SNAP_VIRTIO_DEV, index, &((struct virtio_balloon *)vdev)->config,
		 sizeof(struct balloon_config));
	return 0;
}

static int balloon_restore(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
			   struct err **err)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vdev;

	return snap_get(r, SNAP_VIRTIO_DEV, index, &b->config, sizeof(b->config), "balloon", err);
}
