/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-balloon test guest: fills two pages with a pattern, gives the first
 * to the balloon (inflate) and reports the second as free (page reporting),
 * then checks both read back as zero, i.e. the host dropped them, while a
 * neighbouring page kept its pattern.
 * `target [touch_mib=N]`: writes N MiB (default 32) of RAM from 16 MiB up,
 * posts statistics (STATS_VQ), then follows the host's target (num_pages):
 * inflates pages of that region until `actual` reaches it, and once the
 * target is back to 0 deflates, rewrites the pages and exits.
 * Exit codes: 0 ok, 1 no device, 2 negotiation, 3 queue, 4 timeout, 5 page
 * not dropped, 6 neighbour damaged, 7 no RAM for touch_mib.
 * `hold=US` waits after the device is set up (vdrv_hold).
 */
#include "virtio-drv.h"

#define VIRTIO_ID_BALLOON 5
#define F_STATS_VQ	  (1ull << 1)
#define F_PAGE_REPORTING  (1ull << 5)
#define PAGE		  4096
#define REGION		  (16ull << 20) /* the pages target mode touches and gives up */
#define BATCH		  256		/* PFNs per inflate/deflate request, as Linux */
#define TARGET_TIMEOUT_US (60ull * 1000000)

static uint8_t pages[3][PAGE] __attribute__((aligned(PAGE)));
static uint32_t pfns[1];

static bool all(const uint8_t *p, uint8_t v)
{
	for (unsigned i = 0; i < PAGE; i++)
		if (p[i] != v)
			return false;
	return true;
}

struct balloon {
	struct vdrv_dev d;
	struct vdrv_queue inflate, deflate, stats;
	uint64_t pages;	 /* in the touched region */
	uint32_t actual; /* pages given to the host: the first `actual` of the region */
	uint32_t pfns[BATCH];
	struct {
		uint16_t tag;
		uint64_t val;
	} __attribute__((packed)) st[3];
};

static struct balloon bal;

static void touch(uint64_t first, uint64_t n)
{
	for (uint64_t p = first; p < first + n; p++)
		*(volatile uint64_t *)(REGION + p * PAGE) = p + 1;
}

/* Fill and (re)offer the statistics buffer: free, total and available memory. */
static void post_stats(struct balloon *b)
{
	uint64_t total = guest_ram_end();
	uint64_t free = total - REGION - (b->pages - b->actual) * PAGE;

	b->st[0].tag = 4, b->st[0].val = free;	/* VIRTIO_BALLOON_S_MEMFREE */
	b->st[1].tag = 5, b->st[1].val = total; /* S_MEMTOT */
	b->st[2].tag = 6, b->st[2].val = free;	/* S_AVAIL */
	struct vdrv_buf sb = {b->st, sizeof(b->st), false};
	vdrv_offer(&b->stats, &sb, 1);
	vdrv_kick(&b->stats);
}

/* Move up to BATCH pages towards the target; false on a timeout. */
static bool step(struct balloon *b, uint32_t target)
{
	bool inflate = target > b->actual;
	uint32_t n = inflate ? target - b->actual : b->actual - target;
	uint32_t first = inflate ? b->actual : b->actual - (n > BATCH ? BATCH : n);

	if (n > BATCH)
		n = BATCH;
	for (uint32_t i = 0; i < n; i++)
		b->pfns[i] = (uint32_t)((REGION >> 12) + first + i);
	struct vdrv_buf pb = {b->pfns, n * 4, false};
	if (vdrv_submit(inflate ? &b->inflate : &b->deflate, &pb, 1, 5000000) < 0)
		return false;
	b->actual = inflate ? b->actual + n : first;
	if (!inflate)
		touch(first, n); /* deflated pages are ours again */
	vdrv_config_write32(&b->d, 4, b->actual);
	return true;
}

static int follow_target(struct balloon *b)
{
	uint64_t end = guest_now_us() + TARGET_TIMEOUT_US;
	uint32_t target, reached = 0;

	while (guest_now_us() < end) {
		if (vdrv_wait(&b->stats, 0) >= 0)
			post_stats(b); /* the host handed the buffer back */
		target = vdrv_config32(&b->d, 0);
		if (target > b->pages)
			target = b->pages;
		if (target != b->actual) {
			if (!step(b, target))
				return 4;
			continue;
		}
		if (target && target != reached)
			guest_printf("virtio-balloon: inflated to %u pages\n", target);
		if (!target && reached) {
			guest_printf("virtio-balloon: deflated, ok\n");
			return 0;
		}
		reached = target;
		for (uint64_t t = guest_now_us() + 1000; guest_now_us() < t;)
			cpu_relax(); /* a millisecond between looks at the config */
	}
	return 4;
}

static int target_mode(void)
{
	struct balloon *b = &bal;
	uint64_t mib = guest_cmdline_u64_or("touch_mib", 32, 4096);

	if (vdrv_find(VIRTIO_ID_BALLOON, 0, &b->d) < 0)
		return 1;
	if (vdrv_init(&b->d, F_STATS_VQ) < 0 || !(b->d.features & F_STATS_VQ))
		return 2;
	if (vdrv_queue_setup(&b->d, 0, &b->inflate) < 0 ||
	    vdrv_queue_setup(&b->d, 1, &b->deflate) < 0 ||
	    vdrv_queue_setup(&b->d, 2, &b->stats) < 0)
		return 3;
	vdrv_driver_ok(&b->d);
	if (REGION + (mib << 20) > guest_ram_end())
		return 7;
	b->pages = mib << 8;
	touch(0, b->pages);
	post_stats(b);
	guest_printf("virtio-balloon: touched %lu MiB\n", (unsigned long)mib);
	return follow_target(b);
}

int main(void)
{
	struct vdrv_queue inflate, deflate, report;
	struct vdrv_dev d;

	if (guest_cmdline_has("target"))
		return target_mode();
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
