/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * One micro-VM.  The first block is what devices use; the rest is what the
 * command line uses to run a VM to completion.
 */
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "vm-config.h"
#include "err.h"
#include "guest-mem.h"

struct vm;

struct guest_mem *vm_guest_mem(struct vm *vm);
/* The VM's virtio devices and PCI bus (virtio/setup.c creates and frees them); NULL before. */
struct vm_virtio;
struct vm_virtio *vm_virtio(struct vm *vm);
/* What the process attached to the VM (struct vmm_launch below). */
const struct vmm_launch *vm_get_launch(struct vm *vm);
void vm_set_virtio(struct vm *vm, struct vm_virtio *v);
struct bus *vm_mmio_bus(struct vm *vm);
struct bus *vm_pio_bus(struct vm *vm);
/*
 * Interrupts.  With the default in-kernel irqchip these are KVM_IRQ_LINE and
 * KVM_IRQFD on IOAPIC pin = GSI.  With --irqchip split the IOAPIC is in the
 * VMM: vm_set_irq_line() drives its pin (edge pins fire on 0 -> 1), and an
 * irqfd on GSI N delivers the MSI that pin N is programmed with (nothing
 * while the guest keeps the pin masked).  Both are callable from any thread.
 */
int vm_set_irq_line(struct vm *vm, uint32_t gsi, bool level, struct err **err);
int vm_irqfd(struct vm *vm, int efd, uint32_t gsi, struct err **err); /* -EOPNOTSUPP if absent */
/* Deliver one MSI (address/data as a PCI device writes them) with KVM_SIGNAL_MSI. */
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data, struct err **err);
/*
 * A GSI for an MSI route (an MSI-X vector's irqfd), and setting its message;
 * the route table is rewritten on each set, so set only when it changed.
 */
int vm_msi_route_alloc(struct vm *vm, uint32_t *ret_gsi, struct err **err);
int vm_msi_route_set(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data, struct err **err);
int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, bool datamatch, uint64_t data, int efd,
		 struct err **err); /* KVM_IOEVENTFD */
/*
 * Have KVM coalesce guest writes to [addr, addr + size) (port I/O with pio)
 * for the VM's life: they no longer exit, and reach the bus in order before
 * the next exit is handled (kvm/coalesced.c).  Only for writes whose effects
 * can wait for the guest's next exit.  -ENOTSUP without the cap.
 */
int vm_coalesced_zone(struct vm *vm, uint64_t addr, uint32_t size, bool pio, struct err **err);
/* An MMIO window and a free GSI (IOAPIC pin) for a device. */
int vm_alloc_mmio(struct vm *vm, uint64_t len, uint64_t *ret_base, uint32_t *ret_gsi,
		  struct err **err);
/*
 * A component whose state snapshots and migrations carry (the clock, the
 * irqchip, the serial port, the virtio devices).  It registers at bring-up
 * and unregisters at teardown; snapshot/ and migrate/ reach it only through
 * these hooks, in registration order: those marked before_vcpus (VM-wide
 * KVM state the vCPUs' LAPICs and MSRs load on top of) before the vCPUs,
 * the rest after them.  Any member may be NULL.
 */
struct snap_writer;
struct snap_reader;
struct vm_state_ops {
	const char *name;
	bool before_vcpus;
	int (*save)(struct vm *vm, struct snap_writer *w, struct err **err);
	/* Leaves the component paused: pause(vm, false) lets it go. */
	int (*restore)(struct vm *vm, const struct snap_reader *r, struct err **err);
	/* Quiesce its workers (no request in flight), or let them go again. */
	void (*pause)(struct vm *vm, bool paused);
	/* After a restore, once it runs: re-raise what the saved state may have lost. */
	void (*kick)(struct vm *vm);
	/* Migration: take (on) or drop its backends' locks. */
	int (*lock)(struct vm *vm, bool on, struct err **err);
	/* Whether save() can succeed now (any thread; save() checks again, paused). */
	int (*can_save)(struct vm *vm, struct err **err);
};
int vm_state_register(struct vm *vm, const struct vm_state_ops *ops, struct err **err);
void vm_state_unregister(struct vm *vm, const struct vm_state_ops *ops);
/* Append to the guest kernel command line (e.g. "virtio_mmio.device=4K@0xd0000000:5"). */
int vm_cmdline_append(struct vm *vm, const char *s, struct err **err);

/*
 * Run a VM described by cfg until it stops.  *ret_status is the process exit
 * code: the guest's debug-exit value v (v & 0xff), 0 on power-off (ACPI S5)
 * and on a reboot with on_reboot = exit, VMM_EXIT_REBOOT on a reboot with
 * on_reboot = restart, VMM_EXIT_GUEST_PANIC when the guest reported a panic
 * through pvpanic, 128 + n when signal n stopped it.  A triple fault is an
 * error (with a register dump) unless on_reboot = restart.
 */
#define VMM_EXIT_GUEST_PANIC 120
#define VMM_EXIT_REBOOT	     256
/*
 * What a process attaches to a VM besides its declared configuration: open
 * fds and hooks, live state that never goes in struct vm_config.  The VM
 * borrows them; vmm_launch_fini() closes the fds.  NULL where one is taken
 * means none of them.
 */
struct vmm_launch {
	int api_listen_fd; /* -1, or the socket a pre-boot configuration listened on */
	int api_start_fd;  /* -1, or the connection whose InstanceStart awaits the boot */
	int metrics_fd;	   /* -1, or where PUT /metrics writes */
	/* A migration's destination (migrate/recv.c), NULL otherwise. */
	const struct vm_incoming_ops *incoming;
	void *incoming_ctx;
	/* Open the disks unlocked: the source holds their locks until it commits. */
	bool defer_disk_locks;
};
void vmm_launch_init(struct vmm_launch *l);
void vmm_launch_fini(struct vmm_launch *l);
int vmm_run(struct vm_config *cfg, const struct vmm_launch *launch, int *ret_status,
	    struct err **err);
/*
 * Restore a VM from a snapshot (snapshot/snapshot.c) and run it like
 * vmm_run(); cfg gives the console, its cpus and memory come from the state.
 */
/*
 * A PUT /snapshot/load the pre-boot API took: the restore to run (with
 * vmm_restore_with(&load->a)) instead of a boot.  The caller owns it and
 * frees it with vmm_preboot_load_clear().
 */
struct vmm_preboot_load;
void vmm_preboot_load_clear(struct vmm_preboot_load *load);
/*
 * Serve the control API at cfg->api_sock before boot, filling cfg from the
 * pre-boot routes until PUT /actions InstanceStart finds it valid, or load
 * from PUT /snapshot/load (load->requested); the listening socket is left in
 * launch->api_listen_fd for the running VM, the InstanceStart connection in
 * launch->api_start_fd, and the metrics sink in launch->metrics_fd.
 */
int vmm_api_preboot(struct vm_config *cfg, struct vmm_launch *launch, struct vmm_preboot_load *load,
		    struct err **err);
/*
 * Answer the pending InstanceStart on fd (launch->api_start_fd): 204, or 400
 * with err's message when the VM failed to start.  The fd stays open.
 */
void vmm_api_answer_start(int fd, const struct err *err);
/* Whether InstanceStart on fd was answered already (the VM started). */
bool vmm_api_start_answered(int fd);
/*
 * Firecracker's rebase-snap: copy the pages a Diff snapshot's memory file
 * holds (its data extents) onto base, a Full (or already rebased) memory
 * file of the same size.  Restoring the Diff's state with base then
 * restores the chain.
 */
int vmm_snapshot_rebase(const char *base, const char *diff, struct err **err);
int vmm_restore(struct vm_config *cfg, const char *state_path, const char *mem_path,
		int *ret_status, struct err **err);
/* What a restore may change: the saved disk paths and TAP names, and whether it runs. */
struct vmm_remap {
	const char *from, *to;
	size_t from_len; /* OLD is from[0..from_len) */
};
struct vmm_restore_args {
	const char *state_path, *mem_path;
	struct vmm_remap disks[VM_MAX_DISKS], taps[VM_MAX_NETS], vsock_uds[1];
	/* Shares by tag: TAG=DIR, DIR optionally ending in ",ro" or ",rw" (else as saved). */
	struct vmm_remap fs[VM_MAX_FS];
	/* Firecracker's network_overrides: a NIC's new TAP by its iface_id (ID=TAP). */
	struct vmm_remap net_ids[VM_MAX_NETS];
	unsigned n_disks, n_taps, n_vsock_uds, n_fs, n_net_ids;
	/* Firecracker's vsock_override: the vsock device's socket, whatever the saved one. */
	const char *vsock_override;
	bool paused; /* stay paused until PATCH /vm {"state": "Resumed"} */
	/*
	 * Migration: the stream's device list comes from the source, so every
	 * disk, TAP, vsock socket and share must be named in disks[], taps[]
	 * (or net_ids[]), vsock_uds[] or fs[] or it is refused.
	 */
	bool from_stream;
};
struct vmm_preboot_load {
	bool requested;
	struct vmm_restore_args a;
	/*
	 * The strings a points to: state and mem paths, the vsock override, and
	 * OLD and NEW of each disk, TAP, iface_id and share remap.
	 */
	char *owned[3 + 2 * (VM_MAX_DISKS + VM_MAX_NETS + VM_MAX_NETS + VM_MAX_FS)];
	unsigned n_owned;
};
/* Add "OLD=NEW" (split at the first '=') to a remap table (n entries of max); errors name `opt`. */
int vmm_remap_add(struct vmm_remap *tab, unsigned *n, unsigned max, const char *opt,
		  const char *arg, struct err **err);
/* The same with OLD and NEW apart (the API's JSON), so either may hold '='. */
int vmm_remap_set(struct vmm_remap *tab, unsigned *n, unsigned max, const char *opt,
		  const char *from, const char *to, struct err **err);
/* vmm_restore() with remapping; cfg's devices come from the snapshot. */
int vmm_restore_with(struct vm_config *cfg, const struct vmm_launch *launch,
		     const struct vmm_restore_args *a, int *ret_status, struct err **err);
