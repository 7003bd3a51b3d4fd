/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A minimal ring-3 virtio driver for the test guests: find a device from
 * the `virtio_mmio.device=<size>@<base>:<irq>` cmdline words or, with `pci`
 * on the cmdline, by scanning PCI bus 0 (virtio-pci.c), negotiate
 * (VERSION_1 always), set up split virtqueues in static memory (identity
 * mapped, so addresses are guest-physical), submit a chain and poll the used
 * ring.  No interrupts: polling keeps everything in ring 3.
 */
#include "guest.h"

#define VDRV_F_VERSION_1     (1ull << 32)
#define VDRV_F_INDIRECT_DESC (1ull << 28)
#define VDRV_F_EVENT_IDX     (1ull << 29)
#define VDRV_EXIT_STALE_RING 99 /* the used index went back: exit code */
#define VDRV_QSIZE	     64
#define VDRV_MAX_QUEUES	     4

struct vdrv_dev {
	uint64_t base; /* virtio-mmio window; 0 for virtio-pci */
	uint32_t irq;  /* IOAPIC pin (virtio-pci: the interrupt line register) */
	uint32_t device_id;
	uint64_t features; /* negotiated */
	/* virtio-pci only: slot on bus 0, MSI-X cap, where the structures are. */
	bool pci;
	uint8_t slot, msix_cap;
	uint32_t notify_mul;
	uint64_t common, notify, isr, devcfg;
};

struct vdrv_queue {
	struct vdrv_dev *dev;
	unsigned index;
	uint16_t size;
	struct vdrv_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint16_t *used;  /* flags, idx, then {u32 id, u32 len}[size] */
	uint16_t avail_idx, last_used;
	uint64_t notify; /* where vdrv_kick() writes */
};

/* One buffer of a chain. */
struct vdrv_buf {
	void *addr;
	uint32_t len;
	bool writable;
};

/* The nth (0-based) device with this id on the cmdline; -1 when there is none. */
int vdrv_find(uint32_t device_id, unsigned nth, struct vdrv_dev *ret);
/* Reset, negotiate features (VERSION_1 | wanted, within what is offered); -1 if refused. */
int vdrv_init(struct vdrv_dev *d, uint64_t wanted);
uint64_t vdrv_device_features(struct vdrv_dev *d);
/* Set up queue `index` with VDRV_QSIZE entries (or QueueNumMax if smaller). */
int vdrv_queue_setup(struct vdrv_dev *d, unsigned index, struct vdrv_queue *q);
void vdrv_driver_ok(struct vdrv_dev *d);
/*
 * With `hold=US` on the cmdline: print "<who>: holding" and wait US
 * microseconds (the snapshot tests snapshot a guest whose device is set up).
 */
void vdrv_hold(const char *who);
uint32_t vdrv_status(struct vdrv_dev *d);
uint8_t vdrv_config8(struct vdrv_dev *d, unsigned off);
uint32_t vdrv_config32(struct vdrv_dev *d, unsigned off);
uint64_t vdrv_config64(struct vdrv_dev *d, unsigned off);
void vdrv_config_write32(struct vdrv_dev *d, unsigned off, uint32_t v);

/* Read the interrupt status and acknowledge it (virtio-pci: the read clears it). */
uint32_t vdrv_isr_ack(struct vdrv_dev *d);

/* virtio-pci.c: scan bus 0 through ports 0xcf8/0xcfc for the nth device with this id. */
int vpci_find(uint32_t device_id, unsigned nth, struct vdrv_dev *ret);
/*
 * Point MSI-X table entry `entry` at `vector` on this CPU, enable MSI-X and
 * use the entry for queue q (the config vector stays NO_VECTOR).
 */
void vpci_msix_route(struct vdrv_dev *d, unsigned q, unsigned entry, uint8_t vector);

/* Offer a chain (readable buffers first) without waiting. */
void vdrv_offer(struct vdrv_queue *q, const struct vdrv_buf *bufs, unsigned n);
/* Offer a one-buffer chain at descriptor `head` (several may be outstanding). */
void vdrv_offer_at(struct vdrv_queue *q, uint16_t head, const struct vdrv_buf *buf);
/* Notify the device of queue q (one MMIO write: an ioeventfd or an exit). */
void vdrv_kick(struct vdrv_queue *q);
/* Wait for the next used element; its length, or -1 after timeout_us. */
int64_t vdrv_wait(struct vdrv_queue *q, uint64_t timeout_us);
/* Offer, kick, wait. */
int64_t vdrv_submit(struct vdrv_queue *q, const struct vdrv_buf *bufs, unsigned n,
		    uint64_t timeout_us);
