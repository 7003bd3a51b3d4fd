/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bootinfo: checks what the VMM handed over at PVH entry.  cmdline
 * `expect_mib=N` is the RAM size the VMM was given.  Exit 0, or the code of
 * the first failed check (see docs/guests.md).  The PVH ABI does not demand
 * a sorted memmap, and QEMU's qboot hands over an unsorted one with a trailing
 * empty entry: `lenient` on the cmdline allows both (empty entries are then
 * skipped); the other checks run on a sorted copy.
 */
#include "guest.h"

enum {
	BAD_VERSION = 10,      /* start_info version < 1: no memmap */
	BAD_CMDLINE = 11,      /* no cmdline, or no expect_mib= on it */
	BAD_MEMMAP_COUNT = 12, /* 0 or more than GUEST_MAX_MEMMAP entries */
	BAD_MEMMAP_ORDER = 13, /* entries not sorted by address */
	BAD_MEMMAP_OVERLAP = 14,
	BAD_MEMMAP_ENTRY = 15,	/* empty or wrapping entry */
	BAD_RAM_SHORT = 16,	/* less RAM than expect_mib (minus the legacy hole) */
	BAD_RAM_EXCESS = 17,	/* more RAM than expect_mib */
	BAD_NO_HOLE = 18,	/* no reserved range or gap below the end of RAM */
	BAD_IMAGE_NOT_RAM = 19, /* the guest image is not inside one RAM entry */
	BAD_BOOTDATA = 20,	/* start_info / cmdline / memmap overlap the image */
	BAD_BSS = 21,		/* .bss not zeroed by the loader */
};

static volatile uint8_t bss_probe[8192];
static struct hvm_memmap_entry sorted[GUEST_MAX_MEMMAP];

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool in_ram(const struct hvm_memmap_entry *m, unsigned n, uint64_t a, uint64_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (m[i].type == E820_RAM && a >= m[i].addr && a + len <= m[i].addr + m[i].size)
			return true;
	return false;
}

/* Sorted, no empty entries (unless lenient); sorts into sorted[], sets *ret_n. */
static int check_entries(const struct hvm_memmap_entry *m, unsigned n, unsigned *ret_n)
{
	bool lenient = guest_cmdline_has("lenient");
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		struct hvm_memmap_entry e = m[i];
		unsigned j = k;

		guest_printf("bootinfo: memmap[%u] %#014lx-%#014lx type %u\n", i,
			     (unsigned long)e.addr, (unsigned long)(e.addr + e.size), e.type);
		if (!e.size && lenient)
			continue;
		if (!e.size || e.addr + e.size < e.addr)
			return BAD_MEMMAP_ENTRY;
		if (i && e.addr < m[i - 1].addr && !lenient)
			return BAD_MEMMAP_ORDER;
		for (; j && sorted[j - 1].addr > e.addr; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = e;
		k++;
	}
	*ret_n = k;
	for (unsigned i = 1; i < k; i++)
		if (sorted[i].addr < sorted[i - 1].addr + sorted[i - 1].size)
			return BAD_MEMMAP_OVERLAP;
	return 0;
}

static int check_ram(const struct hvm_memmap_entry *m, unsigned n, uint64_t expect)
{
	uint64_t total = 0, end = 0;
	bool hole = false;

	for (unsigned i = 0; i < n; i++) {
		if (m[i].type == E820_RAM) {
			total += m[i].size;
			if (m[i].addr + m[i].size > end)
				end = m[i].addr + m[i].size;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (m[i].addr >= end)
			break;
		if (m[i].type != E820_RAM || (i && m[i].addr > m[i - 1].addr + m[i - 1].size) ||
		    (i == 0 && m[i].addr > 0))
			hole = true;
	}
	guest_printf("bootinfo: %lu KiB RAM, expected %lu KiB\n", (unsigned long)(total >> 10),
		     (unsigned long)(expect >> 10));
	/* The legacy 640 KiB - 1 MiB hole and a few pages may be carved out. */
	if (total + (1ULL << 20) < expect)
		return BAD_RAM_SHORT;
	if (total > expect)
		return BAD_RAM_EXCESS;
	if (!hole)
		return BAD_NO_HOLE;
	return 0;
}

static int check_placement(const struct hvm_start_info *si, const struct hvm_memmap_entry *m,
			   unsigned n)
{
	uint64_t img = (uint64_t)__image_start, img_len = __image_end - __image_start;
	uint64_t cmd_len = guest_strnlen(guest_cmdline(), GUEST_MAX_CMDLINE) + 1;

	if (!in_ram(m, n, img, img_len))
		return BAD_IMAGE_NOT_RAM;
	if (overlaps(guest_start_info_pa, sizeof(*si), img, img_len) ||
	    overlaps(si->cmdline_paddr, cmd_len, img, img_len) ||
	    overlaps(si->memmap_paddr, n * sizeof(*m), img, img_len))
		return BAD_BOOTDATA;
	return 0;
}

int main(void)
{
	const struct hvm_start_info *si = guest_start_info();
	const struct hvm_memmap_entry *m;
	uint64_t expect_mib;
	unsigned n;
	int r;

	guest_printf("bootinfo: start_info %#lx version %u cmdline \"%s\"\n",
		     (unsigned long)guest_start_info_pa, si->version, guest_cmdline());
	if (si->version < 1)
		return BAD_VERSION;
	if (guest_cmdline_u64("expect_mib", &expect_mib) < 0 || expect_mib > (1ULL << 20))
		return BAD_CMDLINE;
	if (si->memmap_entries == 0 || si->memmap_entries > GUEST_MAX_MEMMAP)
		return BAD_MEMMAP_COUNT;
	m = guest_memmap(&n);
	r = check_entries(m, n, &n);
	if (!r)
		r = check_ram(sorted, n, expect_mib << 20);
	if (!r)
		r = check_placement(si, sorted, n);
	if (r)
		return r;
	for (size_t i = 0; i < sizeof(bss_probe); i++)
		if (bss_probe[i])
			return BAD_BSS;
	guest_printf("bootinfo: ok\n");
	return 0;
}
