/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port I/O from ring 3.  With IOPL=3 the instructions run directly; under
 * PVM (user-mode IOPL forced to 0) each access is one int3 service, a
 * few emulated ring-0 instructions on top of the I/O exit itself.
 */
#include "guest.h"

bool guest_io_direct;

void guest_io_init(void)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0" : "=r"(flags));
	guest_io_direct = ((flags >> 12) & 3) == 3;
}

static inline uint64_t sys_io(uint64_t nr, uint64_t port, uint64_t v)
{
	__asm__ volatile("int3" : "+a"(nr), "+D"(port), "+S"(v) : : "rcx", "rdx", "r8", "memory");
	return nr;
}

uint8_t guest_inb(uint16_t port)
{
	return guest_io_direct ? inb(port) : (uint8_t)sys_io(SYS_INB, port, 0);
}

void guest_outb(uint16_t port, uint8_t v)
{
	if (guest_io_direct)
		outb(port, v);
	else
		sys_io(SYS_OUTB, port, v);
}

uint16_t guest_inw(uint16_t port)
{
	return guest_io_direct ? inw(port) : (uint16_t)sys_io(SYS_INW, port, 0);
}

void guest_outw(uint16_t port, uint16_t v)
{
	if (guest_io_direct)
		outw(port, v);
	else
		sys_io(SYS_OUTW, port, v);
}

uint32_t guest_inl(uint16_t port)
{
	return guest_io_direct ? inl(port) : (uint32_t)sys_io(SYS_INL, port, 0);
}

void guest_outl(uint16_t port, uint32_t v)
{
	if (guest_io_direct)
		outl(port, v);
	else
		sys_io(SYS_OUTL, port, v);
}
