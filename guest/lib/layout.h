/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Constants shared by the guest's assembly entry code and its C runtime:
 * segment selectors, per-CPU stack sizes, interrupt vectors and the numbers
 * of the few ring-0 services ring 3 may ask for with `int3`.
 */

#define GUEST_LOAD_ADDR 0x100000 /* the image is linked and loaded at 1 MiB */
#define GUEST_MAX_CPUS	64

#define SEL_CODE32 0x08
#define SEL_KCODE  0x10
#define SEL_KDATA  0x18
/* Ring-3 selectors in the order SYSRET needs (and the values Linux uses). */
#define SEL_UCODE32 0x23
#define SEL_UDATA   0x2b
#define SEL_UCODE   0x33
#define SEL_TSS0    0x38 /* CPU n uses SEL_TSS0 + 16 * n */

#define KSTACK_SIZE 4096  /* ring-0 stack per CPU (interrupts, syscalls) */
#define USTACK_SIZE 16384 /* ring-3 stack per CPU */
#define TSS_STRIDE  128

/*
 * Ring 3 runs with IF=1 and asks for IOPL=3.  PVM forces IOPL=0 and IF=1 in
 * user mode, so ring 3 checks its IOPL and, when it is 0, does port I/O
 * through the SYS_IN* / SYS_OUT* services instead.
 */
#define USER_RFLAGS 0x3202

/* Vectors 0-31 are CPU exceptions (fatal); 32-255 are counted interrupts. */
#define VEC_FIRST_IRQ 32
#define VEC_SPURIOUS  0xff

/*
 * Ring-0 services, entered with `int3` (vector 3, a DPL-3 gate).  Under PVM
 * a user-mode `int $0x80` becomes #UD and SYSCALL does not leave user mode,
 * while exceptions do reach the guest's IDT in ring 0.  Number in rax,
 * arguments in rdi, rsi, result in rax; rcx, rdx and r8 are clobbered.
 */
#define VEC_SERVICE	 3
#define SYS_WAIT	 0  /* sti; hlt: sleep until the next interrupt */
#define SYS_RDMSR	 1  /* rdi = msr; returns the value */
#define SYS_WRMSR	 2  /* rdi = msr, rsi = value */
#define SYS_HALT	 3  /* cli; hlt forever */
#define SYS_FLUSH_TLB	 4  /* reload CR3 */
#define SYS_INB		 5  /* rdi = port; returns the byte */
#define SYS_OUTB	 6  /* rdi = port, rsi = byte */
#define SYS_INL		 7  /* rdi = port; returns the dword */
#define SYS_OUTL	 8  /* rdi = port, rsi = dword */
#define SYS_INW		 9  /* rdi = port; returns the word */
#define SYS_OUTW	 10 /* rdi = port, rsi = word */
#define SYS_SERIAL_WRITE 11 /* rdi = bytes, rsi = count (<= 4096): rep outsb to COM1 */
#define SYS_LAST	 11

#define LAPIC_BASE  0xfee00000
#define IOAPIC_BASE 0xfec00000
