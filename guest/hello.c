/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hello: one line on COM1, then exit with cmdline `code=N` (default 0).
 * `fault=ud|pf` raises that exception in ring 3 instead, to exercise the
 * exception path (exit 64 + vector: 70 for #UD, 78 for #PF).
 */
#include "guest.h"

int main(void)
{
	uint64_t code = guest_cmdline_u64_or("code", 0, 127);
	char fault[8];

	guest_printf("hello from isola guest\n");
	if (guest_cmdline_str("fault", fault, sizeof(fault)) == 0) {
		if (!memcmp(fault, "ud", 3))
			__asm__ volatile("ud2");
		if (!memcmp(fault, "pf", 3)) /* PML4 slot 64 is not present */
			*(volatile uint64_t *)(64ULL << 39) = 1;
		guest_printf("hello: unknown fault `%s`\n", fault);
		return GUEST_EXIT_BAD_ARG;
	}
	return (int)code;
}
