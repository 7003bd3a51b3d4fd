/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Initial vCPU state: segments and control registers for the PVH 32-bit
 * entry or the Linux 64-bit entry, FPU, boot MSRs, LAPIC LINT0/LINT1, and a
 * register dump for fatal exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cleanup.h"
#include "log.h"
#include "../vm-internal.h"

#define CR0_PE	 0x1ULL
#define CR0_ET	 0x10ULL
#define CR0_PG	 0x80000000ULL
#define CR4_PAE	 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

/* Selectors of the boot GDT (boot.c writes it): Linux wants __BOOT_CS 0x10, __BOOT_DS 0x18. */
#define SEL_CODE 0x10
#define SEL_DATA 0x18
#define SEL_TSS	 0x20

static struct kvm_segment flat_segment(uint16_t sel, uint8_t type, bool code64)
{
	return (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = code64 ? 0 : 1,
	    .s = 1,
	    .l = code64 ? 1 : 0,
	    .g = 1,
	};
}

int vcpu_setup_boot_regs(struct vcpu *v, const struct boot_entry *b, struct err **err)
{
	bool lm = b->mode == BOOT_LINUX64;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rflags = 0x2, .rip = b->entry};

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return err_make(err, errno, "KVM_GET_SREGS");
	sregs.cs = flat_segment(SEL_CODE, 0xb, lm);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(SEL_DATA, 0x3, false);
	sregs.tr =
	    (struct kvm_segment){.selector = SEL_TSS, .limit = 0x67, .type = 0xb, .present = 1};
	sregs.gdt.base = VM_GDT_ADDR;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (lm) {
		sregs.cr3 = VM_PML4_ADDR;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 |= CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
		regs.rsi = b->arg;
	} else {
		regs.rbx = b->arg;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return err_make(err, errno, "KVM_SET_SREGS");
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return err_make(err, errno, "KVM_SET_REGS");
	return 0;
}

static int setup_msrs(struct vcpu *v)
{
	static const uint32_t zeroed[] = {0x174,      0x175,	  0x176, /* SYSENTER_CS/ESP/EIP */
					  0xc0000081, 0xc0000082, 0xc0000083,
					  0xc0000084, 0xc0000102,
					  /* STAR..SFMASK, KERNEL_GS_BASE */};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(zeroed) + 1];
	} m = {.hdr.nmsrs = ARRAY_SIZE(zeroed) + 1};

	for (size_t i = 0; i < ARRAY_SIZE(zeroed); i++)
		m.e[i].index = zeroed[i];
	m.e[ARRAY_SIZE(zeroed)] = (struct kvm_msr_entry){.index = 0x1a0, .data = 1};
	/* IA32_MISC_ENABLE.FAST_STRING; a hypervisor refusing some is not fatal. */
	return ioctl(v->fd, KVM_SET_MSRS, &m);
}

static void lvt_set_mode(struct kvm_lapic_state *l, unsigned off, uint32_t mode)
{
	uint32_t val;

	memcpy(&val, &l->regs[off], 4);
	val = (val & ~0x700u) | (mode << 8);
	memcpy(&l->regs[off], &val, 4);
}

int vcpu_setup_fpu_msrs_lapic(struct vcpu *v, struct err **err)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	struct kvm_lapic_state lapic;
	int n;

	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return err_make(err, errno, "KVM_SET_FPU");
	n = setup_msrs(v);
	if (n < 9)
		log_debug("vCPU %u: KVM_SET_MSRS set %d of 9 boot MSRs", v->id, n);
	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return err_make(err, errno, "KVM_GET_LAPIC");
	lvt_set_mode(&lapic, 0x350, 7); /* LINT0: ExtINT, the 8259 PIC */
	lvt_set_mode(&lapic, 0x360, 4); /* LINT1: NMI */
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return err_make(err, errno, "KVM_SET_LAPIC");
	return 0;
}

char *vcpu_dump_regs(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	char *out = NULL;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return strdup("(registers unavailable)");
	if (asprintf(&out,
		     "  rip=%016llx rsp=%016llx rflags=%016llx\n"
		     "  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
		     "  rsi=%016llx rdi=%016llx rbp=%016llx\n"
		     "  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\n"
		     "  cs=%04x(base %llx l%d db%d) ss=%04x gdt=%llx/%x idt=%llx/%x",
		     r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, s.cr0,
		     s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, (unsigned long long)s.cs.base,
		     s.cs.l, s.cs.db, s.ss.selector, (unsigned long long)s.gdt.base, s.gdt.limit,
		     (unsigned long long)s.idt.base, s.idt.limit) < 0)
		return NULL;
	return out;
}
