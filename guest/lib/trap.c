/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fatal CPU exceptions: runs in ring 0 (emulated, slow), only on the way out. */
#include "guest.h"

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

void guest_trap(struct trap_frame *f);

void guest_trap(struct trap_frame *f)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	guest_io_direct = true; /* ring 0: no int3 for port I/O */
	guest_printf(
	    "guest: exception %lu error %#lx at rip %#lx cs %#lx rflags %#lx rsp %#lx cr2 %#lx\n",
	    (unsigned long)f->vector, (unsigned long)f->error, (unsigned long)f->rip,
	    (unsigned long)f->cs, (unsigned long)f->rflags, (unsigned long)f->rsp,
	    (unsigned long)cr2);
	guest_exit(GUEST_EXIT_EXCEPTION + (int)f->vector);
}
