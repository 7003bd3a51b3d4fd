/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-balloon test guest: fills two pages with a pattern, gives the first
 * to the balloon (inflate) and reports the second as free (page reporting),
 * then checks both read back as zero, i.e. the host dropped them, while a
 * neighbouring page kept its pattern.  Exit codes: 0 ok, 1 no device,
 * 2 negotiation, 3 queue, 4 timeout, 5 page not dropped, 6 neighbour damaged.
 * `hold=US` waits after the device is set up (vdrv_hold).
 */
#include "virtio-drv.h"

#define VIRTIO_ID_BALLOON 5
#define F_PAGE_REPORTING  (1ull << 5)
#define PAGE		  4096

static uint8_t pages[3][PAGE] __attribute__((aligned(PAGE)));
static uint32_t pfns[1];

static bool all(const uint8_t *p, uint8_t v)
{
	for (unsigned i = 0; i < PAGE; i++)
		if (p[i] != v)
			return false;
	return true;
}

int main(void)
{
	struct vdrv_queue inflate, deflate, report;
	struct vdrv_dev d;

	if (vdrv_find(VIRTIO_ID_BALLOON, 0, &d) < 0) {
		guest_printf("virtio-balloon: no device on the cmdline \"%s\"\n", guest_cmdline());
		return 1;
	}
	if (vdrv_init(&d, F_PAGE_REPORTING) < 0 || !(d.features & F_PAGE_REPORTING))
		return 2;
	if (vdrv_queue_setup(&d, 0, &inflate) < 0 || vdrv_queue_setup(&d, 1, &deflate) < 0 ||
	    vdrv_queue_setup(&d, 2, &report) < 0)
		return 3;
	vdrv_driver_ok(&d);
	vdrv_hold("virtio-balloon");
	memset(pages, 0xa5, sizeof(pages));

	pfns[0] = (uint32_t)((uintptr_t)pages[0] / PAGE);
	struct vdrv_buf b = {pfns, sizeof(pfns), false};
	if (vdrv_submit(&inflate, &b, 1, 5000000) < 0)
		return 4;
	struct vdrv_buf r = {pages[1], PAGE, true};
	if (vdrv_submit(&report, &r, 1, 5000000) < 0)
		return 4;
	guest_printf("virtio-balloon: inflated page %#lx, reported page %#lx\n",
		     (unsigned long)(uintptr_t)pages[0], (unsigned long)(uintptr_t)pages[1]);
	if (!all(pages[0], 0) || !all(pages[1], 0))
		return 5;
	if (!all(pages[2], 0xa5))
		return 6;
	guest_printf("virtio-balloon: ok\n");
	return 0;
}
