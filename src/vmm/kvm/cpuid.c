/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest CPUID: what KVM supports, with the hypervisor bit set, per-vCPU APIC
 * IDs and a topology of N single-thread cores in one package, and no PMU
 * (the VMM does not back one).  The in-kernel LAPIC's TSC-deadline mode is
 * offered when KVM has it (KVM_CAP_TSC_DEADLINE_TIMER: KVM emulates it but
 * leaves the bit out of KVM_GET_SUPPORTED_CPUID): a Linux guest that knows
 * its TSC rate (kvm-clock) then needs no PIT, neither to calibrate its LAPIC
 * timer (~100 ms of PIT ticks at boot) nor as a tick before it; with
 * --irqchip split, which has no 8259, that PIT's IRQ 0 could not even be
 * requested and the guest was left without a timer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "../vm-internal.h"

#define CPUID_MAX_ENTRIES	 256
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

int cpuid_init(struct vm *vm, struct err **err)
{
	vm->cpuid =
	    calloc(1, sizeof(*vm->cpuid) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!vm->cpuid)
		return err_make(err, ENOMEM, "allocate CPUID");
	vm->cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0)
		return err_make(err, errno, "KVM_GET_SUPPORTED_CPUID");
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		for (unsigned i = 0; i < vm->cpuid->nent; i++)
			if (vm->cpuid->entries[i].function == 1)
				vm->cpuid->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
	return 0;
}

static unsigned order_base_2(unsigned n)
{
	unsigned s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

static void patch_entry(struct kvm_cpuid_entry2 *e, unsigned id, unsigned n)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0xffff) | (id << 24) | ((n > 255 ? 255 : n) << 16);
		e->ecx |= 1u << 31; /* running under a hypervisor */
		if (n > 1)
			e->edx |= 1u << 28; /* HTT: the count in EBX[23:16] is valid */
		break;
	case 4:
		if (e->eax & 0x1f) /* a cache level: N cores share the package */
			e->eax = (e->eax & 0x03ffffff) | ((n - 1) << 26);
		break;
	case 0xa: /* no PMU */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0xb:
	case 0x1f:
		e->edx = id;
		if (e->index == 0) { /* SMT level: one thread per core */
			e->eax = 0;
			e->ebx = 1;
			e->ecx = 1u << 8;
		} else if (e->index == 1) { /* core level */
			e->eax = order_base_2(n);
			e->ebx = n;
			e->ecx = 1 | (2u << 8);
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		break;
	}
}

int cpuid_setup_vcpu(struct vm *vm, struct vcpu *v, struct err **err)
{
	size_t size = sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = malloc(size);
	int r = 0;

	if (!c)
		return err_make(err, ENOMEM, "allocate CPUID");
	memcpy(c, vm->cpuid, size);
	for (unsigned i = 0; i < c->nent; i++)
		patch_entry(&c->entries[i], v->id, vm->nr_vcpus);
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		r = err_make(err, errno, "KVM_SET_CPUID2");
	free(c);
	return r;
}
