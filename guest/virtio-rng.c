/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-rng test guest: asks the device twice for `bytes=N` (default 64)
 * random bytes and checks they came back, are not all zero and differ.
 * Exit codes: 0 ok, 1 no device, 2 negotiation refused, 3 queue, 4 timeout,
 * 5 short or bad data.
 */
#include "virtio-drv.h"

#define VIRTIO_ID_RNG 4
#define MAX_BYTES     4096

static uint8_t buf[2][MAX_BYTES];

int main(void)
{
	uint64_t n = guest_cmdline_u64_or("bytes", 64, MAX_BYTES);
	struct vdrv_dev d;
	struct vdrv_queue q;
	int64_t got[2];
	unsigned nonzero = 0;

	if (vdrv_find(VIRTIO_ID_RNG, 0, &d) < 0) {
		guest_printf("virtio-rng: no device on the cmdline \"%s\"\n", guest_cmdline());
		return 1;
	}
	guest_printf("virtio-rng: device at %#lx irq %u\n", (unsigned long)d.base, d.irq);
	if (vdrv_init(&d, 0) < 0)
		return 2;
	if (vdrv_queue_setup(&d, 0, &q) < 0)
		return 3;
	vdrv_driver_ok(&d);
	for (unsigned i = 0; i < 2; i++) {
		struct vdrv_buf b = {buf[i], (uint32_t)n, true};

		got[i] = vdrv_submit(&q, &b, 1, 2000000);
		if (got[i] < 0) {
			guest_printf("virtio-rng: timeout\n");
			return 4;
		}
	}
	for (unsigned i = 0; i < n; i++)
		nonzero += buf[0][i] != 0;
	guest_printf("virtio-rng: got %d + %d bytes, %u non-zero\n", (int)got[0], (int)got[1],
		     nonzero);
	if (got[0] != (int64_t)n || got[1] != (int64_t)n || !nonzero || !memcmp(buf[0], buf[1], n))
		return 5;
	guest_printf("virtio-rng: ok\n");
	return 0;
}
