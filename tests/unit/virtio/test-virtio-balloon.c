/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-balloon: inflated and reported pages are given back (read as zero). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "fake-vm.h"
#include "tap.h"
#include "virtio.h"
#include "vm-config.h"

#define PAGE_A (MEM_GPA + 0x80000)
#define PAGE_B (MEM_GPA + 0x90000)

static bool zero(uint64_t gpa, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (((uint8_t *)gp(gpa))[i])
			return false;
	return true;
}

/* Target from the host, and the statistics queue (STATS_VQ moves reporting to queue 3). */
static void host_control(void)
{
	_cleanup_err_ struct err *err = NULL;
	struct drv d = {.base = BASE, .ring = MEM_GPA};
	struct vmm_balloon_info bi = {0};
	uint8_t stats[20] = {4, 0, 0x00, 0x10}; /* MEMFREE = 4096 */
	uint32_t v = 0;

	wr(&d, 0x70, 0);
	ok(rd(&d, 0x10) & 1u << 1, "STATS_VQ offered");
	bus_access(&mmio_bus, BASE + 0x100, &v, 4, false);
	is_int(v, 256, "the configured 1 MiB is the initial target");
	ok(drv_init(&d, 1ull << 32 | 1u << 1 | 1u << 5) & VIRTIO_STATUS_FEATURES_OK,
	   "STATS_VQ and PAGE_REPORTING accepted");
	drv_queues(&d, 4);
	stats[10] = 5, stats[14] = 0x10; /* MEMTOT = 1 MiB */
	memcpy(gp(BUFQ(&d, 2, 0)), stats, sizeof(stats));
	desc_q(&d, 2, 0, BUFQ(&d, 2, 0), sizeof(stats), 0, 0);
	is_int(drv_submit_q(&d, 2, 0), -1, "the stats buffer is held (no polling interval)");
	is_int(vmm_balloon_get(VM, &bi, &err), 0, "statistics read by the host");
	ok(bi.has_stats && bi.n_stats == 2 && bi.stats[0].tag == 4 && bi.stats[0].val == 4096 &&
	       bi.stats[1].tag == 5 && bi.stats[1].val == 1 << 20,
	   "MEMFREE and MEMTOT as the driver sent them");
	irqs = 0;
	is_int(vmm_balloon_set_target(VM, 512, &err), 0, "new target");
	bus_access(&mmio_bus, BASE + 0x100, &v, 4, false);
	is_int(v, 512, "num_pages reads the new target");
	ok(rd(&d, 0x60) & VIRTIO_ISR_CONFIG && irqs > 0, "with a configuration change interrupt");
	is_int(vmm_balloon_set_interval(VM, 1, &err), 0, "polling every second");
	is_int(drv_wait_q(&d, 2), 0, "the stats buffer comes back for a refill");
	/*
	 * Offered again right after a tick, held for the next one; then the driver
	 * takes the queue back (QueueReady 0) and sets its size to 0.  The tick
	 * must not return the buffer into the rings, and least of all index them
	 * by the new size.
	 */
	AVAILQ(&d, 2)->ring[d.avail_idx[2] % QSZ] = 0;
	__atomic_store_n(&AVAILQ(&d, 2)->idx, ++d.avail_idx[2], __ATOMIC_RELEASE);
	wr(&d, 0x50, 2);
	nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
	wr(&d, 0x30, 2);
	wr(&d, 0x44, 0);
	wr(&d, 0x38, 0);
	is_int(drv_wait_q(&d, 2), -1,
	       "a buffer held when the driver took its queue back stays out");

	memset(gp(PAGE_B), 0xcc, 4096);
	desc_q(&d, 3, 0, PAGE_B, 4096, VIRTQ_DESC_F_WRITE, 0);
	is_int(drv_submit_q(&d, 3, 0), 0, "reporting is queue 3 with STATS_VQ");
	ok(zero(PAGE_B, 4096), "the reported page is dropped");
}

int main(void)
{
	_cleanup_err_ struct err *err = NULL;
	struct vm_config cfg = {.balloon = true, .balloon_mib = 1};
	struct drv d = {.base = BASE, .ring = MEM_GPA};
	uint32_t pfn = PAGE_A >> 12, v = 0;

	if (fake_vm_init() < 0)
		return 1;
	is_int(vmm_virtio_setup(VM, &cfg, &err), 0, "balloon set up");
	is_int(rd(&d, 0x8), VIRTIO_ID_BALLOON, "device id 5");
	ok(rd(&d, 0x10) & 1u << 5, "PAGE_REPORTING offered");
	ok(drv_init(&d, 1ull << 32 | 1u << 5) & VIRTIO_STATUS_FEATURES_OK, "features accepted");
	wr(&d, 0x104, 7);
	bus_access(&mmio_bus, BASE + 0x104, &v, 4, false);
	is_int(v, 7, "driver writes `actual`");
	bus_access(&mmio_bus, BASE + 0x100, &(uint32_t){99}, 4, true);
	bus_access(&mmio_bus, BASE + 0x100, &v, 4, false);
	is_int(v, 256, "but not `num_pages` (the configured 1 MiB)");

	drv_queues(&d, 3);
	memset(gp(PAGE_A), 0xaa, 8192);
	memset(gp(PAGE_B), 0xbb, 3 * 4096);
	memcpy(gp(BUFQ(&d, 0, 0)), &pfn, 4);
	desc_q(&d, 0, 0, BUFQ(&d, 0, 0), 4, 0, 0);
	is_int(drv_submit_q(&d, 0, 0), 0, "inflate one page");
	ok(zero(PAGE_A, 4096) && ((uint8_t *)gp(PAGE_A))[4096] == 0xaa,
	   "the inflated page is dropped, its neighbour kept");

	desc_q(&d, 2, 0, PAGE_B, 2 * 4096, VIRTQ_DESC_F_WRITE, 0);
	is_int(drv_submit_q(&d, 2, 0), 0, "report two free pages");
	ok(zero(PAGE_B, 2 * 4096) && ((uint8_t *)gp(PAGE_B))[2 * 4096] == 0xbb,
	   "the reported pages are dropped, the next one kept");

	pfn = (MEM_GPA + MEM_SIZE) >> 12;
	memcpy(gp(BUFQ(&d, 0, 0)), &pfn, 4);
	is_int(drv_submit_q(&d, 0, 0), 0, "inflating a page outside guest memory is ignored");
	host_control();
	vmm_virtio_teardown(VM);
	ok(vmm_balloon_get(VM, &(struct vmm_balloon_info){0}, &err) == -ENODEV,
	   "no balloon after teardown");
	err_free(&err);
	fake_vm_fini();
	return tap_done();
}
