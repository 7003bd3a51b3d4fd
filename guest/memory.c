/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memory: writes a pattern over `mem_mib=N` MiB of RAM (default: all RAM the
 * memmap offers above the image) from ring 3, then reads it back.  RAM above
 * the boot-time 4 GiB identity map is mapped here, from ring 3, with 2 MiB
 * pages (PVM's shadow MMU rejects 1 GiB pages even where CPUID offers them).
 * Exit 0 ok, 1 mismatch, 2 not enough RAM, 3 memmap missing.
 */
#include "guest.h"

#define MAPPED_END_DEFAULT (4ULL << 30)
#define MAX_MAP_END	   (64ULL << 30) /* the VMM's memory limit */
#define MIB		   (1ULL << 20)

extern uint64_t guest_pdpt[512];
static uint64_t extra_pd[(MAX_MAP_END >> 30) - 4][512] __attribute__((aligned(4096)));

struct range {
	uint64_t start, end;
};

static struct range ranges[GUEST_MAX_MEMMAP];
static unsigned n_ranges;

/* Extends the identity map to `end` (at most MAX_MAP_END); returns the mapped end. */
static uint64_t map_identity(uint64_t end)
{
	uint64_t gib;

	if (end <= MAPPED_END_DEFAULT)
		return MAPPED_END_DEFAULT;
	if (end > MAX_MAP_END)
		end = MAX_MAP_END;
	for (gib = 4; gib < (end + (1ULL << 30) - 1) >> 30; gib++) {
		uint64_t *pd = extra_pd[gib - 4];

		for (uint64_t i = 0; i < 512; i++)
			pd[i] = (gib << 30) | (i << 21) | 0x87; /* P RW US PS */
		guest_pdpt[gib] = (uint64_t)pd | 0x7;
	}
	guest_sys_flush_tlb();
	return gib << 30;
}

/* The RAM we may scribble on: above the image, below the mapped end. */
static uint64_t collect(uint64_t mapped_end)
{
	const struct hvm_memmap_entry *m;
	uint64_t low = ((uint64_t)__image_end + 4095) & ~4095ULL, total = 0;
	unsigned n;

	m = guest_memmap(&n);
	for (unsigned i = 0; i < n; i++) {
		uint64_t s = m[i].addr, e = m[i].addr + m[i].size;

		if (m[i].type != E820_RAM || e < s)
			continue;
		if (s < low)
			s = low;
		if (e > mapped_end)
			e = mapped_end;
		if (s >= e)
			continue;
		ranges[n_ranges++] = (struct range){s, e};
		total += e - s;
	}
	return total;
}

static inline uint64_t pattern(uint64_t addr)
{
	return (addr * 0x9e3779b97f4a7c15ULL) ^ 0x5a5a5a5a5a5a5a5aULL;
}

/* Writes (verify = false) or checks the pattern over `bytes` of the ranges. */
static int pass(uint64_t bytes, bool verify)
{
	for (unsigned i = 0; i < n_ranges && bytes; i++) {
		uint64_t len = ranges[i].end - ranges[i].start;
		volatile uint64_t *p = (volatile uint64_t *)ranges[i].start;

		if (len > bytes)
			len = bytes;
		bytes -= len;
		for (uint64_t w = 0; w < len / 8; w++) {
			uint64_t a = (uint64_t)&p[w];

			if (!verify) {
				p[w] = pattern(a);
			} else if (p[w] != pattern(a)) {
				guest_printf("memory: mismatch at %#lx: %#lx != %#lx\n",
					     (unsigned long)a, (unsigned long)p[w],
					     (unsigned long)pattern(a));
				return -1;
			}
		}
	}
	return 0;
}

int main(void)
{
	uint64_t ram_end = guest_ram_end(), avail, want, t0, t1, t2;

	if (!ram_end) {
		guest_printf("memory: no memmap\n");
		return 3;
	}
	avail = collect(map_identity(ram_end));
	want = guest_cmdline_u64_or("mem_mib", avail / MIB, MAX_MAP_END / MIB) * MIB;
	guest_printf("memory: %lu MiB usable, testing %lu MiB\n", (unsigned long)(avail / MIB),
		     (unsigned long)(want / MIB));
	if (want > avail)
		return 2;
	t0 = guest_now_us();
	pass(want, false);
	t1 = guest_now_us();
	if (pass(want, true) < 0)
		return 1;
	t2 = guest_now_us();
	guest_printf("memory: %lu MiB ok (write %lu us, verify %lu us)\n",
		     (unsigned long)(want / MIB), (unsigned long)(t1 - t0),
		     (unsigned long)(t2 - t1));
	return 0;
}
