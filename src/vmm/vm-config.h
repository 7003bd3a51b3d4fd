/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The configuration of one micro-VM, filled from the command line
 * (vmm_config_parse_arg) or from a JSON file (vmm_config_load_json).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* One token bucket (`size` 0: unlimited); refill_ms: empty to full. */
struct vm_rate_cfg {
	uint64_t size, one_time_burst, refill_ms;
};

#define VM_MAX_RATE_SIZE   (1ULL << 40) /* tokens per bucket */
#define VM_MAX_RATE_REFILL 3600000	/* ms */

#define VM_MAX_DEV_ID 64 /* Firecracker's drive_id / iface_id */

struct vm_disk_cfg {
	char id[VM_MAX_DEV_ID + 1]; /* "": none (the command line) */
	char *path;
	bool readonly;
	char *serial;
	struct vm_rate_cfg bw, iops; /* rate limiter: bytes and operations */
};

struct vm_net_cfg {
	char id[VM_MAX_DEV_ID + 1];
	char *tap;
	char *bridge; /* NULL, or a Linux bridge to attach the TAP to */
	uint8_t mac[6];
	bool has_mac;
	bool no_offload; /* offload=off: offer no checksum/segmentation features */
	struct vm_rate_cfg rx_bw, rx_ops, tx_bw, tx_ops; /* rate limiters, each way */
};

/* A host directory shared with the guest over virtio-fs (--fs tag=T,path=DIR[,ro]). */
#define VM_MAX_FS_TAG 35 /* bytes; the device's config space holds 36 with the NUL */
struct vm_fs_cfg {
	char tag[VM_MAX_FS_TAG + 1];
	char *path;
	bool readonly;
};

#define VM_MAX_DISKS 8
#define VM_MAX_NETS  4
#define VM_MAX_FS    8

#define VM_MIN_MEMORY	   (2ULL << 20) /* below this nothing useful boots */
#define VM_MAX_MEMORY	   (64ULL << 30)
#define VM_MAX_CPUS	   64
#define VM_MAX_CMDLINE	   2048 /* bytes including the NUL */
#define VM_MAX_CONFIG_FILE (64 * 1024)

enum vm_console { VM_CONSOLE_STDIO, VM_CONSOLE_NONE, VM_CONSOLE_FILE };
/* What a guest reboot (i8042 reset, ACPI reset register) does: exit 0, or boot again. */
enum vm_on_reboot { VM_REBOOT_EXIT, VM_REBOOT_RESTART };
/*
 * Who decompresses a bzImage's kernel: auto (the VMM when it knows the
 * format, else the guest), vmm (the VMM or an error), guest (the guest's own
 * decompressor, which also randomizes the kernel's address: KASLR).
 */
enum vm_kernel_unpack { VM_UNPACK_AUTO, VM_UNPACK_VMM, VM_UNPACK_GUEST };
/* KVM's in-kernel PIC + IOAPIC + PIT, or split: LAPICs in the kernel, the rest here. */
enum vm_irqchip { VM_IRQCHIP_KERNEL, VM_IRQCHIP_SPLIT };
/* How virtio devices attach: virtio-mmio windows or a PCI bus. */
enum vm_transport { VM_TRANSPORT_MMIO, VM_TRANSPORT_PCI };

struct vm;
/*
 * A live migration's destination (migrate/recv.c) hooks the restore step:
 * receive() fills guest memory and the state to restore before anything is
 * loaded, confirm() tells the source once it loaded, before the vCPUs run.
 * Either failing fails the bring-up.
 */
struct vm_incoming_ops {
	int (*receive)(void *ctx, struct vm *vm, struct err **err);
	int (*confirm)(void *ctx, struct err **err);
};

/*
 * The declared configuration of a VM: plain values, built by the typed
 * setters below.  What a running process attaches to a VM (open fds, hooks)
 * is struct vmm_launch (vm.h), not here.
 */
struct vm_config {
	char *kernel;
	char *initrd;
	char *cmdline;
	unsigned cpus;
	uint64_t memory; /* bytes */
	enum vm_console console;
	char *console_path; /* VM_CONSOLE_FILE */

	struct vm_disk_cfg disks[VM_MAX_DISKS];
	unsigned n_disks;
	struct vm_net_cfg nets[VM_MAX_NETS];
	unsigned n_nets;
	struct vm_fs_cfg fs[VM_MAX_FS];
	unsigned n_fs;
	bool has_vsock;
	uint32_t vsock_cid;
	char *vsock_uds;
	bool rng, balloon;
	/* Balloon: initial target, stats polling interval (0: none), DEFLATE_ON_OOM. */
	uint32_t balloon_mib, balloon_stats_s;
	bool balloon_deflate_on_oom;
	/* KVM split irqchip: LAPICs in the kernel, IOAPIC here, no PIC/PIT. */
	bool split_irqchip;
	/* --virtio-transport pci: devices on a PCI bus instead of virtio-mmio windows. */
	bool virtio_pci;
	/* SIGUSR2 writes a snapshot here (not owned: they point into argv). */
	const char *snapshot_state, *snapshot_mem;
	/* The control API's socket and the id it reports (argv, not owned). */
	const char *api_sock, *api_id;
	/* Firecracker's logger and metrics (PUT /logger, /metrics; api/obs.c). */
	char *log_path, *metrics_path;
	int log_level;	   /* enum log_level, -1: Off */
	bool memory_given; /* memory was set (else the API's default, 128 MiB, applies) */
	/* Back RAM with reserved 2 MiB hugetlb pages (reserved up front, not lazily). */
	bool hugepages;
	/*
	 * Firecracker's track_dirty_pages, kept to be reported back: isola arms
	 * KVM's dirty log at the first Full snapshot or migration either way.
	 */
	bool track_dirty_pages;
	/* No ACPI tables (--no-acpi, "acpi": false): the MP table alone. */
	bool no_acpi;
	enum vm_on_reboot on_reboot;
	enum vm_kernel_unpack kernel_unpack;
	/* The same for a compressed initramfs (the guest gets the plain cpio). */
	enum vm_kernel_unpack initrd_unpack;
};

void vmm_config_init(struct vm_config *cfg);
void vmm_config_free(struct vm_config *cfg);
/* The option values of `isola vm run`; `opt` is the long option name without dashes. */
int vmm_config_set(struct vm_config *cfg, const char *opt, const char *value, struct err **err);
/* Merge a JSON config file; unknown fields are errors naming the field. */
int vmm_config_load_json(struct vm_config *cfg, const char *path, struct err **err);
/*
 * Typed setters: the one place each check lives.  The command line, the JSON
 * config file and the API build values and call these (no option strings
 * parsed twice).  `what` names the input in errors (`--disk `x``,
 * `disks[0]`, `body.path_on_host`).  A disk or net with an id replaces the
 * one with the same id.
 */
int vm_config_add_disk(struct vm_config *cfg, const struct vm_disk_cfg *d, const char *what,
		       struct err **err);
/* Disk i becomes a copy of d (checked as vm_config_add_disk() does); d may point into it. */
int vm_config_set_disk(struct vm_config *cfg, unsigned i, const struct vm_disk_cfg *d,
		       const char *what, struct err **err);
int vm_config_add_net(struct vm_config *cfg, const struct vm_net_cfg *n, const char *what,
		      struct err **err);
/*
 * A virtio-fs share: tag 1..35 printable bytes without a comma, unique;
 * path an existing directory (checked here, opened when the device starts).
 */
int vm_config_add_fs(struct vm_config *cfg, const struct vm_fs_cfg *f, const char *what,
		     struct err **err);
int vm_config_set_vsock(struct vm_config *cfg, uint64_t cid, const char *uds, const char *what,
			struct err **err);
int vm_config_set_cpus(struct vm_config *cfg, uint64_t n, const char *what, struct err **err);
int vm_config_set_memory(struct vm_config *cfg, uint64_t bytes, const char *what, struct err **err);
/*
 * The machine's shape (Firecracker's MachineConfiguration): only the fields
 * whose has_ flag is set change, all of them or none.  memory is in bytes
 * (UINT64_MAX: past every cap).  isola has no SMT topology: smt true is
 * refused.  Dirty pages are tracked on demand (from a Full snapshot or a
 * migration on), so track_dirty_pages is only recorded.
 */
struct vm_machine_cfg {
	bool has_cpus, has_memory, has_smt, has_track_dirty_pages, has_hugepages;
	uint64_t cpus, memory;
	bool smt, track_dirty_pages, hugepages;
};
/* What each front end calls the fields, for its errors. */
struct vm_machine_names {
	const char *cpus, *memory, *smt, *track_dirty_pages, *hugepages;
};
extern const struct vm_machine_names vm_machine_cli, vm_machine_json, vm_machine_api;
int vm_config_set_machine(struct vm_config *cfg, const struct vm_machine_cfg *m,
			  const struct vm_machine_names *names, struct err **err);
/* NULL leaves that part as it is. */
int vm_config_set_boot_source(struct vm_config *cfg, const char *kernel, const char *cmdline,
			      const char *initrd, const char *what, struct err **err);
int vm_config_set_irqchip(struct vm_config *cfg, enum vm_irqchip chip, const char *what,
			  struct err **err);
int vm_config_set_transport(struct vm_config *cfg, enum vm_transport t, const char *what,
			    struct err **err);
int vm_kernel_unpack_parse(const char *word, const char *what, enum vm_kernel_unpack *ret,
			   struct err **err);
int vm_config_set_kernel_unpack(struct vm_config *cfg, enum vm_kernel_unpack u, const char *what,
				struct err **err);
int vm_config_set_initrd_unpack(struct vm_config *cfg, enum vm_kernel_unpack u, const char *what,
				struct err **err);
int vm_config_set_on_reboot(struct vm_config *cfg, enum vm_on_reboot r, const char *what,
			    struct err **err);
/* path: the file of VM_CONSOLE_FILE (else NULL). */
int vm_config_set_console(struct vm_config *cfg, enum vm_console c, const char *path,
			  const char *what, struct err **err);
/*
 * The words of the enumerated settings, one table each for every front end
 * that takes words (the command line, the JSON config, a snapshot's device
 * list): `kernel`/`split`, `mmio`/`pci`, `exit`/`restart`, and `stdio`,
 * `none` or a file for the console.  Any other word: -EINVAL, one line
 * naming `what` and the words it takes.
 */
int vm_irqchip_parse(const char *word, const char *what, enum vm_irqchip *ret, struct err **err);
int vm_transport_parse(const char *word, const char *what, enum vm_transport *ret,
		       struct err **err);
int vm_on_reboot_parse(const char *word, const char *what, enum vm_on_reboot *ret,
		       struct err **err);
int vm_console_parse(const char *word, const char *what, enum vm_console *ret, struct err **err);
/* A memory size: a bare number is MiB (as QEMU's and Firecracker's), else `64M`, `1G` ... */
int vm_memory_parse(const char *word, const char *what, uint64_t *ret_bytes, struct err **err);
/* "xx:xx:xx:xx:xx:xx" */
int vm_config_parse_mac(const char *s, uint8_t mac[6]);
/*
 * The "rate_limiter" object of a drive (Firecracker's shape: bandwidth/ops
 * with size, one_time_burst, refill_time in ms) into d->bw/d->iops; nothing
 * when `obj` has no rate_limiter.  For the JSON config and the API.
 */
struct json_t;
int vm_config_rate_limiter(struct json_t *obj, const char *where, struct vm_disk_cfg *d,
			   struct err **err);
/* The same shape under another key (bw and ops are left alone when obj has no `key`). */
int vm_config_rate_limiter_key(struct json_t *obj, const char *where, const char *key,
			       struct vm_rate_cfg *bw, struct vm_rate_cfg *ops, struct err **err);
/* A network interface's "rx_rate_limiter" and "tx_rate_limiter" into n. */
int vm_config_net_rate_limiters(struct json_t *obj, const char *where, struct vm_net_cfg *n,
				struct err **err);
/* Final checks (kernel given, sizes within caps). */
int vmm_config_validate(const struct vm_config *cfg, struct err **err);
