/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Time from the TSC (readable in ring 3).  The frequency comes from KVM's
 * pvclock (the multiplier KVM writes for MSR_KVM_SYSTEM_TIME_NEW), else CPUID
 * leaf 0x15, 0x16 or the hypervisor leaf 0x40000010; without any of them we
 * assume 4 GHz, so timeouts err on the long side.
 */
#include "guest.h"

#define MSR_KVM_SYSTEM_TIME_NEW	 0x4b564d01
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

struct pvclock {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

static uint64_t khz;
static volatile struct pvclock pvclock __attribute__((aligned(64)));

/* KVM's TSC frequency from the pvclock scale: ns = ((tsc << shift) * mul) >> 32. */
static uint64_t kvmclock_khz(void)
{
	uint32_t r[4], mul;
	int8_t shift;
	uint64_t k;

	cpuid(0x40000000, 0, r);
	if (r[1] != 0x4b4d564b || r[0] < 0x40000001) /* "KVMK" */
		return 0;
	cpuid(0x40000001, 0, r);
	if (!(r[0] & KVM_FEATURE_CLOCKSOURCE2))
		return 0;
	guest_sys_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)&pvclock | 1);
	for (int i = 0; i < 1000 && (!pvclock.version || (pvclock.version & 1)); i++)
		cpu_relax();
	mul = pvclock.tsc_to_system_mul;
	shift = pvclock.tsc_shift;
	guest_sys_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	if (!mul || shift < -31 || shift > 31)
		return 0;
	k = (1000000ULL << 32) / mul;
	return shift >= 0 ? k >> shift : k << -shift;
}

static uint64_t probe_khz(void)
{
	uint32_t r[4];
	uint64_t k = kvmclock_khz();

	if (k)
		return k;
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

bool guest_irq_wait(uint8_t vector, uint64_t n, uint64_t timeout_us)
{
	uint64_t end = guest_now_us() + timeout_us;

	while (guest_irq_count[vector] < n) {
		if (guest_now_us() > end)
			return false;
		cpu_relax();
	}
	return true;
}
