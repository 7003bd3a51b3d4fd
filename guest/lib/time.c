/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Time from the TSC (readable in ring 3).  The frequency comes from CPUID
 * leaf 0x15, 0x16 or the hypervisor leaf 0x40000010; without any of them we
 * assume 4 GHz, so timeouts err on the long side.
 */
#include "guest.h"

static uint64_t khz;

static uint64_t probe_khz(void)
{
	uint32_t r[4];

	cpuid(0, 0, r);
	if (r[0] >= 0x15) {
		cpuid(0x15, 0, r);
		if (r[0] && r[1] && r[2])
			return (uint64_t)r[2] * r[1] / r[0] / 1000;
	}
	if (r[0] >= 0x16) {
		cpuid(0x16, 0, r);
		if (r[0] & 0xffff)
			return (uint64_t)(r[0] & 0xffff) * 1000;
	}
	cpuid(0x40000000, 0, r);
	if (r[0] >= 0x40000010 && r[0] < 0x40000100) {
		cpuid(0x40000010, 0, r);
		if (r[0])
			return r[0];
	}
	return 4000000;
}

uint64_t guest_tsc_khz(void)
{
	if (!khz)
		khz = probe_khz();
	return khz;
}

uint64_t guest_now_us(void)
{
	return rdtsc() * 1000 / guest_tsc_khz();
}

void guest_udelay(uint64_t us)
{
	uint64_t end = guest_now_us() + us;

	while (guest_now_us() < end)
		cpu_relax();
}
