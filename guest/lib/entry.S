/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ring-0 part of every isola test guest.
 *
 * Under PVM every ring-0 instruction is emulated (~1 us each), so the work
 * done here is kept to a few dozen instructions per CPU: the page tables, the
 * GDT and the IDT are built by the assembler and linker, not at run time.
 * The boot CPU enters at pvh_start32 (PVH: 32-bit protected mode, paging
 * off, EBX = struct hvm_start_info); application processors enter at
 * ap_trampoline (real mode, copied below 1 MiB by ring 3).  Both switch to
 * long mode, load a per-CPU TSS and iretq to guest_user_start(cpu) in ring
 * 3, asking for IOPL=3 and IF=1 (PVM grants IF=1 but forces IOPL=0).  Ring 0
 * is entered again only for interrupts (a counting stub), the int3 services
 * and fatal exceptions.
 */
#include "layout.h"
#include "start-info.h"

/* PVH entry note: name "Xen", type 18, a 64-bit descriptor (QEMU reads 8 bytes). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4f - 3f
	.long 6f - 5f
	.long XEN_ELFNOTE_PHYS32_ENTRY
3:	.asciz "Xen"
4:	.balign 4
5:	.quad pvh_start32
6:	.balign 4

	.section .text.entry, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	movl %ebx, guest_start_info_pa
	lgdt gdt_ptr
	xorl %esi, %esi			/* boot CPU */
	jmp 1f

	/* From the trampoline: our GDT is loaded, DS still holds a real-mode 0. */
	.globl ap_start32
ap_start32:
	movl $1, %esi			/* application processor */
1:	movw $SEL_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* PG | PE */
	movl %eax, %cr0
	ljmp $SEL_KCODE, $long_mode

	.code64
long_mode:
	xorl %ecx, %ecx
	testl %esi, %esi
	jnz 3f
	movb $0xff, %al			/* mask both 8259s: nothing arrives unasked */
	outb %al, $0x21
	outb %al, $0xa1
	jmp 2f
3:	movl $1, %ecx
	lock xaddl %ecx, next_cpu
	cmpl $GUEST_MAX_CPUS, %ecx
	jae halt_forever
2:	/* ring-0 stack, TSS.rsp0 */
	leal 1(%rcx), %eax
	imull $KSTACK_SIZE, %eax, %eax
	addq $kstacks, %rax
	movq %rax, %rsp
	imull $TSS_STRIDE, %ecx, %edx
	addq $tss_array, %rdx
	movq %rax, 4(%rdx)
	/* 64-bit TSS descriptor for base %rdx, limit 0x67 */
	movq %rdx, %rax
	shlq $16, %rax
	movabsq $0xffffff0000, %rdi
	andq %rdi, %rax
	movq %rdx, %rdi
	shrq $24, %rdi
	shlq $56, %rdi
	orq %rdi, %rax
	movabsq $0x0000890000000067, %rdi
	orq %rdi, %rax
	movl %ecx, %edi
	shll $4, %edi
	movq %rax, gdt_tss(%rdi)
	addl $SEL_TSS0, %edi
	ltr %di
	lidt idt_ptr
	/* iretq to guest_user_start(cpu) in ring 3 */
	leal 1(%rcx), %eax
	imull $USTACK_SIZE, %eax, %eax
	addq $ustacks - 8, %rax		/* as if called: (rsp + 8) % 16 == 0 */
	pushq $SEL_UDATA
	pushq %rax
	pushq $USER_RFLAGS
	pushq $SEL_UCODE
	pushq $guest_user_start
	movl %ecx, %edi
	iretq

halt_forever:
	cli
	hlt
	jmp halt_forever

/*
 * Real-mode AP trampoline.  Ring 3 copies [ap_trampoline, ap_trampoline_end)
 * to a free page below 1 MiB and sends SIPI with that page number; the code
 * is position independent within its segment (CS = page >> 4, IP = 0).
 */
	.section .rodata.trampoline, "a"
	.code16
	.globl ap_trampoline, ap_trampoline_end
ap_trampoline:
	cli
	lgdtl %cs:(7f - ap_trampoline)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $ap_start32
	.balign 8
7:	.word gdt_end - gdt - 1
	.long gdt
ap_trampoline_end:
	.code64

/*
 * Interrupt stubs: 256 of 16 bytes each, at isr_stubs + 16 * vector, so the
 * static IDT below can name them with linker-computed constants.  Each stub
 * pushes an error code (0 when the CPU pushes none) and its vector.
 */
	.section .text.isr, "ax"
	.balign 16
	.globl isr_stubs
isr_stubs:
	vec = 0
	.rept 256
	.balign 16
	.if vec == VEC_SERVICE
	jmp syscall_entry
	.elseif (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	vec = vec + 1
	.endr

/* Stack: vector, error code, rip, cs, rflags, rsp, ss. */
isr_common:
	cmpq $VEC_FIRST_IRQ, (%rsp)
	jb exception
	/* A counted interrupt: a handful of instructions, then EOI. */
	pushq %rax
	movq 8(%rsp), %rax
	lock incq guest_irq_count(, %rax, 8)
	testb $3, 32(%rsp)
	jz 1f
	lock incq guest_irq_user_count(, %rax, 8)
1:	cmpb $0, guest_irq_no_eoi(%rax)
	jne 2f
	movl $LAPIC_BASE, %eax
	movl $0, 0xb0(%rax)
2:	popq %rax
	addq $16, %rsp
	iretq

/* Ring-0 services: `int3` from ring 3 lands here on the CPU's ring-0 stack. */
syscall_entry:
	cmpq $SYS_LAST, %rax
	ja 1f
	movl %edi, %edx			/* the port, for the I/O services */
	jmp *service_table(, %rax, 8)
1:	movq $-1, %rax
	iretq
sys_inb:
	xorl %eax, %eax
	inb %dx, %al
	iretq
sys_outb:
	movl %esi, %eax
	outb %al, %dx
	iretq
sys_inl:
	inl %dx, %eax
	iretq
sys_outl:
	movl %esi, %eax
	outl %eax, %dx
	iretq
sys_inw:
	xorl %eax, %eax
	inw %dx, %ax
	iretq
sys_outw:
	movl %esi, %eax
	outw %ax, %dx
	iretq
sys_wait:
	sti
	hlt
	cli
	iretq
sys_rdmsr:
	movq %rcx, %r8
	movl %edi, %ecx
	rdmsr
	movq %r8, %rcx
	shlq $32, %rdx
	orq %rdx, %rax
	iretq
sys_wrmsr:
	movq %rcx, %r8
	movl %edi, %ecx
	movl %esi, %eax
	movq %rsi, %rdx
	shrq $32, %rdx
	wrmsr
	movq %r8, %rcx
	xorl %eax, %eax
	iretq
/* One string I/O exit for the whole buffer instead of one per byte. */
sys_serial_write:
	movq %rsi, %rcx
	cmpq $4096, %rcx
	jbe 1f
	movl $4096, %ecx
1:	movq %rdi, %rsi
	movl $0x3f8, %edx
	cld
	rep outsb
	iretq
sys_flush_tlb:
	movq %cr3, %rax
	movq %rax, %cr3
	xorl %eax, %eax
	iretq

/* CPU exceptions are fatal: save the registers and let C report them. */
exception:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	call guest_trap
	jmp halt_forever

/* Descriptor tables and identity page tables, all built at assembly time. */
	.section .data.boot, "aw"
	.balign 16
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08 ring-0 code, 32-bit (AP trampoline) */
	.quad 0x00af9a000000ffff	/* 0x10 ring-0 code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x18 ring-0 data */
	.quad 0x00cffa000000ffff	/* 0x20 ring-3 code, 32-bit (SYSRET layout) */
	.quad 0x00cff2000000ffff	/* 0x28 ring-3 data */
	.quad 0x00affa000000ffff	/* 0x30 ring-3 code, 64-bit */
gdt_tss:
	.fill 2 * GUEST_MAX_CPUS, 8, 0	/* 0x38 + 16 * cpu, filled per CPU */
gdt_end:
	.balign 8
	.word 0
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.balign 8
	.word 0
idt_ptr:
	.word 256 * 16 - 1
	.quad idt

next_cpu:
	.long 1

	.globl guest_irq_no_eoi
guest_irq_no_eoi:			/* the spurious vector takes no EOI */
	.fill VEC_SPURIOUS, 1, 0
	.byte 1

	.balign 8
service_table:				/* indexed by SYS_* */
	.quad sys_wait, sys_rdmsr, sys_wrmsr, halt_forever, sys_flush_tlb
	.quad sys_inb, sys_outb, sys_inl, sys_outl, sys_inw, sys_outw
	.quad sys_serial_write

	.balign 16
idt:
	vec = 0
	.rept 256
	.word isr_stubs_lo + 16 * vec
	.word SEL_KCODE
	.if vec == VEC_SERVICE
	.word 0xee00			/* present, DPL 3, interrupt gate */
	.else
	.word 0x8e00			/* present, DPL 0, interrupt gate */
	.endif
	.word isr_stubs_hi
	.long 0
	.long 0
	vec = vec + 1
	.endr

/*
 * 4 GiB identity map with 2 MiB pages, user-accessible (ring 3 reaches RAM,
 * the LAPIC, the IOAPIC and MMIO windows directly); the top GiB uncached.
 */
	.balign 4096
pml4:
	.quad pdpt + 0x7
	.fill 511, 8, 0
	.globl guest_pdpt
guest_pdpt:
pdpt:
	.quad pd + 0x7
	.quad pd + 0x1000 + 0x7
	.quad pd + 0x2000 + 0x7
	.quad pd + 0x3000 + 0x7
	.fill 508, 8, 0
	.globl guest_pd
guest_pd:
pd:
	i = 0
	.rept 2048
	.if i >= 1536
	.quad (i << 21) | 0x9f		/* P RW US PWT PCD PS */
	.else
	.quad (i << 21) | 0x87		/* P RW US PS */
	.endif
	i = i + 1
	.endr

	.section .bss.boot, "aw", @nobits
	.balign 4096
kstacks:
	.fill GUEST_MAX_CPUS * KSTACK_SIZE, 1, 0
ustacks:
	.fill GUEST_MAX_CPUS * USTACK_SIZE, 1, 0
tss_array:
	.fill GUEST_MAX_CPUS * TSS_STRIDE, 1, 0
	.globl guest_start_info_pa, guest_irq_count, guest_irq_user_count
	.balign 8
guest_start_info_pa:
	.quad 0
guest_irq_count:
	.fill 256, 8, 0
guest_irq_user_count:
	.fill 256, 8, 0
