/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * counter: counts in ring 3 and prints "counter: N" over serial every
 * `every=N` iterations (default 20 million), forever or until `max=N`
 * lines.  The snapshot tests restore it and check that the count goes on
 * from where it was instead of starting again from 0.
 */
#include "guest.h"

int main(void)
{
	uint64_t every = guest_cmdline_u64_or("every", 20000000, 1ULL << 40);
	uint64_t max = guest_cmdline_u64_or("max", 0, 1ULL << 40);
	volatile uint64_t count = 0;

	guest_printf("counter: start\n");
	for (uint64_t line = 1; !max || line <= max; line++) {
		for (uint64_t i = 0; i < every; i++)
			count = count + 1;
		guest_printf("counter: %lu\n", (unsigned long)(count / every));
	}
	return 0;
}
