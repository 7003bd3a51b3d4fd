/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dirtier: a memory-dirtying guest for the migration tests.  From ring 3 it
 * writes the pass number into every page of `mib=N` MiB (default 64) above
 * its image, pass after pass, and before each write checks that the page
 * still holds the previous pass's number, so a page a migration failed to
 * resend is caught.  Prints "dirtier: N" after pass N; stops after `max=N`
 * passes (default: never).  Exit 0 done, 1 stale page, 2 not enough RAM.
 */
#include "guest.h"

#define MIB  (1ULL << 20)
#define PAGE 4096ULL

int main(void)
{
	uint64_t mib = guest_cmdline_u64_or("mib", 64, 3072);
	uint64_t max = guest_cmdline_u64_or("max", 0, 1ULL << 40);
	uint64_t start = ((uint64_t)__image_end + PAGE - 1) & ~(PAGE - 1);
	uint64_t end = start + mib * MIB;

	if (end > guest_ram_end() || end > (3ULL << 30)) {
		guest_printf("dirtier: %lu MiB do not fit\n", (unsigned long)mib);
		return 2;
	}
	guest_printf("dirtier: start, %lu MiB\n", (unsigned long)mib);
	for (uint64_t n = 1; !max || n <= max; n++) {
		for (uint64_t a = start; a < end; a += PAGE) {
			volatile uint64_t *p = (volatile uint64_t *)a;

			if (*p != n - 1) {
				guest_printf("dirtier: page %#lx holds %lu, expected %lu\n",
					     (unsigned long)a, (unsigned long)*p,
					     (unsigned long)(n - 1));
				return 1;
			}
			*p = n;
		}
		guest_printf("dirtier: %lu\n", (unsigned long)n);
	}
	return 0;
}
