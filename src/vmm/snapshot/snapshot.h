/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Snapshot and restore of a running VM (docs/vm-api.md).  Each component
 * saves into and restores from the state file beside its own code.
 */
#include "../vm-internal.h"
#include "snap-format.h"

/* The machine shape a restore recreates before loading any state. */
struct snap_config {
	uint32_t cpus;
	uint32_t flags; /* none defined yet */
	uint64_t memory;
	uint64_t tsc_khz;
};

/* pause.c: park every vCPU outside KVM_RUN (pending I/O completed) and back. */
int vm_pause(struct vm *vm, struct err **err);
void vm_resume(struct vm *vm);

/* vcpu-state.c */
int vcpu_state_save(struct vcpu *v, struct snap_writer *w, struct err **err);
int vcpu_state_restore(struct vcpu *v, const struct snap_reader *r, struct err **err);
/* cpuid-state.c: the CPUID the guest saw; restored first (MSRs depend on it). */
int vcpu_cpuid_save(struct vcpu *v, struct snap_writer *w, struct err **err);
int vcpu_cpuid_restore(struct vcpu *v, const struct snap_reader *r, struct err **err);
/* The clock (kvm/kvm.c) and the irqchip and PIT (irq.c) are vm_state_ops registered by their
 * owners. */

/* devcfg.c: the device configuration (SNAP_DEVCFG), remapped at restore. */
int devcfg_save(const struct vm_config *cfg, struct snap_writer *w, struct err **err);
/* The running VM's devices, as they are now (under vm->cfg_lock: PATCH /drives changes them). */
int vm_devcfg_save(struct vm *vm, struct snap_writer *w, struct err **err);
int devcfg_restore(struct vm_config *cfg, const struct snap_reader *r,
		   const struct vmm_restore_args *a, struct err **err);

/*
 * snapshot.c: pause, save everything, resume.  The files appear atomically.
 * diff: the memory file holds only the pages written since this VMM's last
 * snapshot (Firecracker's Diff: holes elsewhere); the state file is whole.
 */
int vm_snapshot_create(struct vm *vm, const char *state_path, const char *mem_path, bool diff,
		       struct err **err);
/* The state file's sections of a paused VM, as a snapshot writes them (live migration). */
int vm_snapshot_save_state(struct vm *vm, struct snap_writer *w, struct err **err);
/* The "restore" bring-up step: no-op unless vm->snap is set. */
int vm_snapshot_restore_step(struct vm *vm, struct err **err);
/* SIGUSR2 on the main thread: snapshot to the paths of --snapshot-state/--snapshot-mem. */
void vm_snapshot_signal(struct vm *vm);
