/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cpuloop: a CPU-bound ring-3 loop of `iters=N` iterations (default 100
 * million) for benchmarks; prints the checksum and the TSC-timed duration.
 */
#include "guest.h"

int main(void)
{
	uint64_t iters = guest_cmdline_u64_or("iters", 100000000, 1ULL << 40);
	uint64_t x = 0x2545f4914f6cdd1dULL, sum = 0, t0, t1;

	t0 = guest_now_us();
	for (uint64_t i = 0; i < iters; i++) {
		/* xorshift64: data-dependent, so the loop cannot be folded away */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		sum += x;
	}
	t1 = guest_now_us();
	guest_printf("cpuloop: tsc %lu kHz\n", (unsigned long)guest_tsc_khz());
	guest_printf("cpuloop: %lu iterations, sum %#lx, %lu us\n", (unsigned long)iters,
		     (unsigned long)sum, (unsigned long)(t1 - t0));
	return 0;
}
