/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * virtio devices of a micro-VM.  Called from the VMM's ordered bring-up table
 * after guest memory and the irqchip exist and before the vCPUs start;
 * vmm_virtio_teardown() undoes it (safe after a partial setup, and twice).
 */
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct vm;
struct vm_config;
struct snap_writer;
struct snap_reader;

int vmm_virtio_setup(struct vm *vm, const struct vm_config *cfg, struct err **err);
void vmm_virtio_teardown(struct vm *vm);

/* Per device, in bring-up order: requests completed and bytes written to the guest. */
struct vmm_virtio_stat {
	const char *name; /* "blk", "net", ... */
	uint64_t completed, bytes;
};
/* Fills up to max entries (any thread); returns how many devices the VM has. */
unsigned vmm_virtio_stats(struct vm *vm, struct vmm_virtio_stat *out, unsigned max);

/*
 * Host control of the VM's balloon (the control API).  Each fails with
 * -ENODEV when the VM has no balloon.  Pages are 4 KiB balloon pages.
 */
#include <stdbool.h>
#include <stdint.h>

#define VMM_BALLOON_MAX_STATS 16

struct vmm_balloon_info {
	uint32_t target_pages, actual_pages;
	uint32_t interval_s;
	bool deflate_on_oom;
	bool has_stats; /* the driver has sent statistics */
	unsigned n_stats;
	struct {
		uint16_t tag;
		uint64_t val;
	} stats[VMM_BALLOON_MAX_STATS];
};

int vmm_balloon_set_target(struct vm *vm, uint32_t pages, struct err **err);
int vmm_balloon_set_interval(struct vm *vm, uint32_t seconds, struct err **err);
int vmm_balloon_get(struct vm *vm, struct vmm_balloon_info *ret, struct err **err);

/*
 * PATCH /drives: the VM's disk number `disk` (in cfg->disks order) gets fd
 * as its image (d->path, opened with the disk's mode; -1: keep it) and/or
 * d->bw and d->iops as its rate-limit buckets, those named in `rate` (the
 * others stay).  fd is taken over.  See virtio_blk_update(); on failure
 * nothing changed.
 */
#define VMM_DISK_RL_BW	 1u
#define VMM_DISK_RL_IOPS 2u
struct vm_disk_cfg;
int vmm_virtio_disk_update(struct vm *vm, unsigned disk, int fd, const struct vm_disk_cfg *d,
			   unsigned rate, struct err **err);

/*
 * PATCH /network-interfaces: the VM's NIC number `nic` (in cfg->nets order) takes n's
 * rate-limit buckets named in `which`; the others stay.  See virtio_net_update().
 */
#define VIRTIO_NET_RL_RX_BW  1u
#define VIRTIO_NET_RL_RX_OPS 2u
#define VIRTIO_NET_RL_TX_BW  4u
#define VIRTIO_NET_RL_TX_OPS 8u
struct vm_net_cfg;
int vmm_virtio_net_update(struct vm *vm, unsigned nic, const struct vm_net_cfg *n, unsigned which,
			  struct err **err);

/*
 * The ith virtio-pci function's slot on bus 0 and the GSI its INTA# pulses,
 * for the MP table; -ENOENT past the last (always with the mmio transport).
 */
int vmm_virtio_pci_intx(struct vm *vm, unsigned i, unsigned *slot, uint32_t *gsi);

/* Snapshot (snapshot/snapshot.c): quiesce the workers; save/restore every device. */
void vmm_virtio_pause(struct vm *vm, bool paused);
/*
 * Migration: drop (on = false) or take every backend's lock (disk images'
 * flock), so that the side that runs the guest holds them.  -errno of the
 * first that cannot be taken; the others are still tried.
 */
int vmm_virtio_lock(struct vm *vm, bool on, struct err **err);
int vmm_virtio_save(struct vm *vm, struct snap_writer *w, struct err **err);
int vmm_virtio_can_save(struct vm *vm, struct err **err);
/*
 * Restore leaves every device paused: the caller unpauses them once the guest
 * may run (a migration: after the COMMIT), so a destination that is discarded
 * never wrote a disk or sent a frame.
 */
int vmm_virtio_restore(struct vm *vm, const struct snap_reader *r, struct err **err);
/* Then, once unpaused: one interrupt per live queue (a spurious one is harmless, a lost one not).
 */
void vmm_virtio_notify_all(struct vm *vm);
