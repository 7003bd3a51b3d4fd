/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-balloon: inflated and reported pages are given back (read as zero). */
#include <string.h>

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

int main(void)
{
	_cleanup_err_ struct err *err = NULL;
	struct vm_config cfg = {.balloon = true};
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
	is_int(v, 0, "but not `num_pages`");

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
	vmm_virtio_teardown(VM);
	fake_vm_fini();
	return tap_done();
}
