/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* The inside of a VM: shared by the core files of src/vmm, not by devices. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

#include <linux/kvm.h>

#include "vm.h"

/* Guest physical layout (x86). */
#define VM_GDT_ADDR	     0x500ULL
#define VM_PVH_INFO_ADDR     0x6000ULL
#define VM_PVH_MODLIST_ADDR  0x6100ULL
#define VM_PVH_MEMMAP_ADDR   0x6200ULL
#define VM_ZERO_PAGE_ADDR    0x7000ULL
#define VM_PML4_ADDR	     0x9000ULL
#define VM_PDPT_ADDR	     0xa000ULL
#define VM_PD_ADDR	     0xb000ULL
#define VM_CMDLINE_ADDR	     0x20000ULL
#define VM_MPTABLE_ADDR	     0x9f000ULL /* MP config table; reserved up to 1 MiB */
#define VM_EBDA_ADDR	     0x9fc00ULL /* MP floating pointer */
#define VM_HIMEM_ADDR	     0x100000ULL
#define VM_MMIO_HOLE	     0xc0000000ULL /* low RAM ends here at most */
#define VM_VIRTIO_MMIO_BASE  0xd0000000ULL
#define VM_VIRTIO_MMIO_END   0xfe000000ULL
#define VM_IOAPIC_ADDR	     0xfec00000ULL
#define VM_LAPIC_ADDR	     0xfee00000ULL
#define VM_TSS_ADDR	     0xfffbd000ULL
#define VM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define VM_HIGH_RAM	     0x100000000ULL
#define VM_FIRST_DEVICE_GSI  5
#define VM_MAX_GSI	     23
#define VM_SERIAL_GSI	     4

enum boot_mode { BOOT_PVH32, BOOT_LINUX64 };

/* Where and how the boot vCPU starts. */
struct boot_entry {
	enum boot_mode mode;
	uint64_t entry; /* EIP (PVH) or RIP (64-bit Linux) */
	uint64_t arg;	/* EBX = hvm_start_info (PVH) or RSI = boot_params (Linux) */
};

struct kvm_caps {
	int api_version;
	int max_vcpus;
	int run_size;
	bool irqfd, ioeventfd;
	int coalesced_page; /* the ring's page in a vCPU's mapping; 0: no coalesced MMIO */
	bool coalesced_pio; /* KVM_CAP_COALESCED_PIO */
};

/* Exit counts, written by the vCPU's thread only, read relaxed by the API's metrics. */
struct vcpu_stats {
	uint64_t exits, io_in, io_out, mmio_read, mmio_write;
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	struct vcpu_stats stats;
};

struct serial;
struct i8042;
struct ioapic;
struct snap_reader;
struct vm_api;
struct pit;
struct vm_virtio;

#define VM_MAX_STATE_OPS 8

/* An MSI-X vector's GSI route (irq.c), under vm->route_lock. */
#define VM_MSI_ROUTES 128
struct vm_msi_route {
	bool valid;
	uint64_t addr;
	uint32_t data;
};

struct vm {
	/*
	 * The caller's configuration; PATCH /drives changes a disk's path and
	 * rate limit in it while the VM runs (API thread, under cfg_lock, which
	 * a snapshot's device list on another thread takes too).
	 */
	struct vm_config *cfg;
	pthread_mutex_t cfg_lock;
	struct vmm_launch launch; /* borrowed fds and hooks (vm.h) */
	int kvm_fd, vm_fd;
	struct kvm_caps caps;
	struct guest_mem mem;
	uint64_t ram_size;
	struct bus pio, mmio;

	unsigned nr_vcpus;
	struct vcpu *vcpus;
	struct kvm_cpuid2 *cpuid;

	char cmdline[VM_MAX_CMDLINE];
	size_t cmdline_len;
	uint64_t next_mmio;
	uint32_t next_gsi;
	struct boot_entry boot;
	uint64_t rsdp; /* ACPI RSDP address, 0 without ACPI */

	int console_fd; /* serial output; -1 for none */
	bool console_owned;
	uint64_t console_file_max; /* a regular-file console's cap; 0: SERIAL_FILE_MAX */
	struct serial *serial;
	struct i8042 *i8042;   /* devices/legacy.c */
	struct ioapic *ioapic; /* split irqchip only */
	struct pit *pit;       /* split irqchip only */
	pthread_mutex_t route_lock;
	unsigned n_msi;
	struct vm_msi_route msi[VM_MSI_ROUTES];
	struct vm_virtio *virtio; /* the attached virtio devices and PCI bus (virtio/setup.c) */
	const struct vm_state_ops *state_ops[VM_MAX_STATE_OPS]; /* vm_state_register() */
	unsigned n_state_ops;
	uint8_t cmos_index;
	/* kvm/coalesced.c: the ring in vCPU 0's mapping, replayed under coalesced_lock */
	struct kvm_coalesced_mmio_ring *coalesced_ring;
	pthread_mutex_t coalesced_lock;
	uint64_t coalesced_writes;	   /* replayed so far, under coalesced_lock */
	uint16_t pm1_sts, pm1_en, pm1_cnt; /* devices/acpi-pm.c */

	/* Stopping: the first reason wins; vCPUs are kicked with a signal. */
	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	int exit_status;
	struct err *stop_err;
	int stop_efd; /* eventfd: wakes the main thread */
	sigset_t saved_sigmask;
	bool vcpu0_on_main; /* vCPU 0 runs on the main thread (vcpu_start_all()) */

	/* Snapshot (snapshot/): the pause handshake and the state being restored. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	atomic_bool pause_req;
	unsigned nr_parked;
	const struct snap_reader *snap;
	int snap_mem_fd; /* guest RAM is mapped MAP_PRIVATE from it when >= 0 */
	uint64_t snap_mem_off;
	unsigned pause_depth; /* under pause_lock: SIGUSR2 and the API may both pause */
	bool kick_on_resume;  /* under pause_lock: restored paused, devices not kicked yet */
	struct vm_api *api;   /* api/ */
	atomic_bool api_paused;
	/* KVM's dirty log has every page written since the last snapshot (a Diff's base) */
	atomic_bool diff_base;
	size_t steps_done; /* bring-up steps run (vm.c), torn down in reverse */
};

/*
 * vm.c: every registered component's hook, in registration order (vm_state_ops);
 * save and restore take the components of one side of the vCPUs.
 */
int vm_state_save_all(struct vm *vm, bool before_vcpus, struct snap_writer *w, struct err **err);
int vm_state_restore_all(struct vm *vm, bool before_vcpus, const struct snap_reader *r,
			 struct err **err);
/* Why a snapshot or migration of vm would fail now (a component's can_save), or 0. */
int vm_state_can_save_all(struct vm *vm, struct err **err);
void vm_state_pause_all(struct vm *vm, bool paused);
void vm_state_kick_all(struct vm *vm);
/* Every one is tried; -errno of the first that failed. */
int vm_state_lock_all(struct vm *vm, bool on, struct err **err);
/* kvm/kvm.c */
int kvm_open(struct vm *vm, struct err **err);
/* The kvmclock's state hooks (vm_state_ops, before the vCPUs). */
int kvm_clock_register(struct vm *vm, struct err **err);
void kvm_clock_unregister(struct vm *vm);
/* vm.c */
/* The main thread: console input and signals until the guest stops. */
void vm_wait(struct vm *vm);
/* Take pending SIGINT/SIGTERM/SIGUSR2 without blocking, as vm_wait() does (wait.c). */
void vm_take_signals(struct vm *vm);
void vm_request_stop(struct vm *vm, int status, struct err *why);
/* The guest asked for a reset: status VMM_EXIT_REBOOT, which vmm_run() maps per cfg->on_reboot. */
void vm_request_reboot(struct vm *vm);
/*
 * A VM set up up to its vCPUs (memory, irqchip, devices, virtio, boot image,
 * vCPUs), none of them running; vm_destroy() tears it down.  Any number may
 * exist in one process (tests hold several).
 */
int vm_create(struct vm_config *cfg, struct vm **ret_vm, struct err **err);
void vm_destroy(struct vm *vm);
/*
 * The one path from configured to running, for a boot (snap NULL), a restore
 * (memory from mem_fd, state from snap) and a migration's destination
 * (launch->incoming fills both): bring-up, wait, teardown, exit status.
 */
int vm_run_restored(struct vm_config *cfg, const struct vmm_launch *launch,
		    const struct snap_reader *snap, int mem_fd, int *ret_status, struct err **err);
/* irq.c */
int vm_irqchip_setup(struct vm *vm, struct err **err);
void vm_irqchip_teardown(struct vm *vm);
/* KVM_EXIT_IOAPIC_EOI (split irqchip): the LAPIC acknowledged a level-triggered vector. */
void vm_irqchip_eoi(struct vm *vm, uint8_t vector);
/* kvm/coalesced.c: KVM's coalesced MMIO/PIO ring */
void kvm_coalesced_probe(struct vm *vm);
/* The ring's place, from the first vCPU's kvm_run mapping. */
void kvm_coalesced_attach(struct vm *vm, void *vcpu_run);
/* Replay the ring's writes on the buses, in order (before any exit is handled). */
void kvm_coalesced_drain(struct vm *vm);
/* kvm/memory.c */
int vm_memory_setup(struct vm *vm, struct err **err);
void vm_memory_teardown(struct vm *vm);
/* KVM_MEM_LOG_DIRTY_PAGES on every slot (slot i = mem.regions[i]), for migration. */
int vm_memory_dirty_log(struct vm *vm, bool on, struct err **err);
/* kvm/vcpu.c */
int vcpu_create_all(struct vm *vm, struct err **err);
int vcpu_start_all(struct vm *vm, struct err **err);
void vcpu_join_all(struct vm *vm);
/* vCPU 0's loop on the calling (main) thread, when vm->vcpu0_on_main; returns once stopping. */
void vcpu_run_on_main(struct vm *vm);
void vcpu_destroy_all(struct vm *vm);
int vcpu_install_kick_handler(struct err **err);
/* kvm/regs.c */
int vcpu_setup_boot_regs(struct vcpu *vcpu, const struct boot_entry *b, struct err **err);
int vcpu_setup_fpu_msrs_lapic(struct vcpu *vcpu, struct err **err);
char *vcpu_dump_regs(struct vcpu *vcpu);
/* kvm/cpuid.c */
int cpuid_init(struct vm *vm, struct err **err);
int cpuid_setup_vcpu(struct vm *vm, struct vcpu *vcpu, struct err **err);
/* boot/boot.c */
int boot_load(struct vm *vm, struct err **err);
/* boot/mptable.c */
/* vm (NULL: none) gives the virtio-pci functions' INTx routes. */
int mptable_write(struct vm *vm, struct guest_mem *mem, unsigned nr_cpus, struct err **err);
/* devices */
/* A regular-file console over SERIAL_FILE_MAX bytes keeps its last 1/128th (serial.c). */
#define SERIAL_FILE_MAX (8u << 20)
int serial_create(struct vm *vm, struct err **err);
void serial_destroy(struct vm *vm);
/* Feed console input; returns how many bytes the receive FIFO took. */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);
size_t serial_rx_space(struct serial *s);
/* Its registers and FIFO in section SNAP_SERIAL (snap-format.h). */
struct snap_writer;
int serial_save(struct serial *s, struct snap_writer *w, struct err **err);
int serial_restore(struct serial *s, const struct snap_reader *r, struct err **err);
int legacy_devices_create(struct vm *vm, struct err **err); /* i8042, debug-exit, CMOS */
void legacy_devices_destroy(struct vm *vm);
/* Type Ctrl+Alt+Delete on the i8042's keyboard (PUT /actions SendCtrlAltDel). */
int vm_send_ctrl_alt_del(struct vm *vm, struct err **err);
int acpi_pm_create(struct vm *vm, struct err **err); /* PM1, RESET_REG, pvpanic */
