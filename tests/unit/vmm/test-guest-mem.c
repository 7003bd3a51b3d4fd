/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The software dirty bitmap of guest memory (guest-mem.c) that live migration
 * merges with KVM's dirty log: marks outside guest RAM are ignored, a range
 * marks every page it touches, and marks racing with harvests are never lost.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "guest-mem.h"
#include "tap.h"

#define PAGES	1024u /* per region */
#define WRITERS 3
#define ROUNDS	20000u
#define WORDS	(PAGES / 64)

static uint8_t ram[2][PAGES * GUEST_MEM_PAGE] __attribute__((aligned(4096)));
static struct guest_mem mem;

static void setup(void)
{
	mem.nr = 2;
	mem.regions[0] = (struct guest_mem_region){0, sizeof(ram[0]), ram[0]};
	mem.regions[1] = (struct guest_mem_region){1ull << 32, sizeof(ram[1]), ram[1]};
}

static unsigned count(const uint64_t *bm)
{
	unsigned n = 0;

	for (unsigned w = 0; w < WORDS; w++)
		n += __builtin_popcountll(bm[w]);
	return n;
}

static void test_basic(void)
{
	uint64_t bm[WORDS] = {0};

	guest_mem_mark(&mem, ram[0], 1);
	ok(guest_mem_harvest(&mem, 0, bm) == 0, "nothing is recorded before tracking starts");
	ok(guest_mem_track(&mem, true) == 0, "tracking starts");
	guest_mem_mark(&mem, ram[0] + GUEST_MEM_PAGE - 1, 2); /* straddles pages 0 and 1 */
	guest_mem_mark(&mem, ram[1] + 5 * GUEST_MEM_PAGE, GUEST_MEM_PAGE);
	guest_mem_mark(&mem, ram[1] + PAGES * GUEST_MEM_PAGE - 1, 100); /* clipped to the region */
	guest_mem_mark(&mem, ram[0] + 7 * GUEST_MEM_PAGE, 0);		/* empty */
	guest_mem_mark(&mem, &bm, 8);					/* not guest RAM */
	ok(guest_mem_harvest(&mem, 0, bm) == 2 && bm[0] == 3,
	   "a straddling write marks both pages");
	memset(bm, 0, sizeof(bm));
	ok(guest_mem_harvest(&mem, 1, bm) == 2 && bm[0] == 1ull << 5 && bm[WORDS - 1] == 1ull << 63,
	   "a page-sized write marks one page; a write past the end is clipped");
	memset(bm, 0, sizeof(bm));
	ok(guest_mem_harvest(&mem, 0, bm) == 0 && guest_mem_harvest(&mem, 1, bm) == 0 &&
	       count(bm) == 0,
	   "a harvest clears what it took");
	ok(guest_mem_harvest(&mem, 5, bm) == 0, "an unknown region has nothing");
	guest_mem_track(&mem, false);
	guest_mem_mark(&mem, ram[0], 1);
	ok(guest_mem_harvest(&mem, 0, bm) == 0, "nothing is recorded once tracking stops");
}

/*
 * Writers mark pages (each its own stripe, in a sequence it records), a
 * harvester takes rounds concurrently: every page marked is in some harvest.
 */
struct writer {
	unsigned id;
	uint64_t want[WORDS];
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	for (unsigned i = 0; i < ROUNDS; i++) {
		unsigned p = (i * 7919u + w->id) % PAGES;

		if (p % WRITERS != w->id)
			continue;
		guest_mem_mark(&mem, ram[0] + (size_t)p * GUEST_MEM_PAGE + 17, 8);
		w->want[p / 64] |= 1ull << (p % 64);
	}
	return NULL;
}

static void test_concurrent(void)
{
	struct writer w[WRITERS] = {0};
	pthread_t t[WRITERS];
	uint64_t got[WORDS] = {0}, want[WORDS] = {0};
	unsigned harvests = 0, missing = 0;

	ok(guest_mem_track(&mem, true) == 0, "tracking starts again, all clear");
	for (unsigned i = 0; i < WRITERS; i++) {
		w[i].id = i;
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	/* Rounds of harvest while the writers run, then a last one once they stopped. */
	for (unsigned i = 0; i < 200; i++, harvests++)
		guest_mem_harvest(&mem, 0, got);
	for (unsigned i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	guest_mem_harvest(&mem, 0, got);
	for (unsigned i = 0; i < WRITERS; i++)
		for (unsigned k = 0; k < WORDS; k++)
			want[k] |= w[i].want[k];
	for (unsigned k = 0; k < WORDS; k++)
		missing += __builtin_popcountll(want[k] & ~got[k]);
	ok(missing == 0 && count(want) > 0,
	   "%u pages marked by %d threads during %u harvests: none lost", count(want), WRITERS,
	   harvests);
	ok(count(got) == count(want), "and none invented");
	guest_mem_track_free(&mem);
	ok(mem.dirty[0] == NULL && !mem.tracking, "freed");
}

int main(void)
{
	setup();
	test_basic();
	test_concurrent();
	guest_mem_track_free(&mem);
	return tap_done();
}
