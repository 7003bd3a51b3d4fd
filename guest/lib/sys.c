/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Ring-3 wrappers of the int3 services in entry.S. */
#include "guest.h"

static inline uint64_t sys(uint64_t nr, uint64_t a, uint64_t b)
{
	uint64_t ret = nr;

	__asm__ volatile("int3" : "+a"(ret), "+D"(a), "+S"(b) : : "rcx", "rdx", "r8", "memory");
	return ret;
}

void guest_sys_wait(void)
{
	sys(SYS_WAIT, 0, 0);
}

uint64_t guest_sys_rdmsr(uint32_t msr)
{
	return sys(SYS_RDMSR, msr, 0);
}

void guest_sys_wrmsr(uint32_t msr, uint64_t v)
{
	sys(SYS_WRMSR, msr, v);
}

_Noreturn void guest_sys_halt(void)
{
	for (;;)
		sys(SYS_HALT, 0, 0);
}

void guest_sys_serial_write(const char *buf, size_t n)
{
	sys(SYS_SERIAL_WRITE, (uint64_t)buf, n);
}

void guest_sys_flush_tlb(void)
{
	sys(SYS_FLUSH_TLB, 0, 0);
}
