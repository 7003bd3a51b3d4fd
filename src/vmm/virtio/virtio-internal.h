/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * What devices and transports share.  A device embeds a struct virtio_dev and
 * supplies a const struct virtio_dev_ops; it never knows its transport.  The
 * transport (virtio-mmio here) maps registers onto the generic state and
 * supplies the interrupt; the core runs one worker thread per device that
 * services guest notifications, so device I/O never runs on a vCPU thread.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "err.h"
#include "virtqueue.h"

struct vm;
struct guest_mem;
struct virtio_dev;
struct snap_writer;
struct snap_reader;

/* Close *fd if open and mark it closed, so it is never closed twice or reused. */
static inline void virtio_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

#define VIRTIO_MAX_QUEUES 4

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	  0x80

#define VIRTIO_F_VERSION_1 32

#define VIRTIO_ISR_QUEUE  1
#define VIRTIO_ISR_CONFIG 2

#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_RNG	  4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_VSOCK	  19
#define VIRTIO_ID_FS	  26

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	unsigned n_queues;
	/*
	 * Serve one request from queue q on the worker thread.  Returns the
	 * number of bytes written into the request's writable buffers; a
	 * request the device cannot serve is completed with an error status
	 * in its own format, never by failing the VMM.
	 */
	uint32_t (*handle)(struct virtio_dev *vdev, unsigned q, struct virtq_req *req);
	/*
	 * Optional: the guest notified queue q (worker thread, device lock
	 * held).  Without it the core pops every request and calls handle();
	 * a device that fills buffers on its own (network receive) takes over.
	 */
	void (*queue_notify)(struct virtio_dev *vdev, unsigned q);
	/*
	 * Optional, for the core's loop of handle(): may req be served now?  false puts it
	 * back and ends the round (a rate limit: the device's timer brings it back).
	 */
	bool (*admit)(struct virtio_dev *vdev, unsigned q, const struct virtq_req *req);
	/* Optional: vdev->poll_fd became readable (worker thread, lock held). */
	void (*poll)(struct virtio_dev *vdev);
	/* Optional: vdev->timer_fd became readable (worker thread, lock held); read it. */
	void (*timer)(struct virtio_dev *vdev);
	/* Optional: the guest wrote [off, off+len) of the config space (bounds checked). */
	void (*config_write)(struct virtio_dev *vdev, uint32_t off, const void *data, uint32_t len);
	/* Optional: back to the power-on state (device lock held, worker idle). */
	void (*reset)(struct virtio_dev *vdev);
	/* Free the device (worker already stopped). */
	void (*destroy)(struct virtio_dev *vdev);
	/* Optional: take (on) or drop the backend's lock, for a migration's hand-over. */
	int (*lock)(struct virtio_dev *vdev, bool on);
	/*
	 * Optional: the VM runs again after a restore or an incoming migration
	 * (once, when its devices are let go).  virtio-net announces the guest's
	 * MAC on its new link.
	 */
	void (*resumed)(struct virtio_dev *vdev);
	/*
	 * Optional snapshot of the device's own state beyond the generic part
	 * (device lock held, worker quiesced): sections SNAP_VIRTIO_DEV with
	 * the given index.  restore() runs before the guest does and checks
	 * everything it reads.
	 */
	int (*save)(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
		    struct err **err);
	/* Optional: why save() would refuse now (any thread), or 0. */
	int (*can_save)(struct virtio_dev *vdev, struct err **err);
	int (*restore)(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
		       struct err **err);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const struct guest_mem *mem;
	uint64_t features;	  /* offered to the driver */
	uint64_t driver_features; /* accepted by it */
	uint32_t status;	  /* atomic */
	uint32_t isr;		  /* atomic */
	uint32_t config_generation;
	const void *config; /* device config space, read-only to the guest */
	uint32_t config_len;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	struct virtq_req *req; /* scratch for the worker */

	pthread_mutex_t lock;		/* status, features, queue setup vs. the worker */
	int kick_fd[VIRTIO_MAX_QUEUES]; /* eventfd per queue: ioeventfd or our own write */
	int stop_fd;
	int wake_fd;	       /* eventfd: the device became live, look at poll_fd again */
	unsigned long wakeups; /* atomic: the worker's poll(2) returns (tests, metrics) */
	pthread_t worker;
	bool worker_running;
	int poll_fd;	  /* extra fd the worker watches, or -1 */
	int timer_fd;	  /* the device's timerfd, watched whenever it is live, or -1 */
	bool poll_wanted; /* ... only while the device sets this and is live */
	bool paused;	  /* atomic, set under lock: the worker serves nothing */

	/*
	 * Set by the transport: raise the device's interrupt for the ISR bits
	 * `bits` just set (VIRTIO_ISR_QUEUE: used buffers, VIRTIO_ISR_CONFIG:
	 * a configuration change, which has its own MSI-X vector).
	 */
	void (*interrupt)(struct virtio_dev *vdev, uint32_t bits);
	void *transport;
};

/* Fill the generic part; the device sets features/config afterwards. */
int virtio_dev_init(struct virtio_dev *vdev, const struct virtio_dev_ops *ops,
		    const struct guest_mem *mem, struct err **err);
int virtio_dev_start(struct virtio_dev *vdev, struct err **err);
/* Stop the worker, release the generic part, then ops->destroy(). */
void virtio_dev_destroy(struct virtio_dev *vdev);

/* Transport side, device lock held: a status write (0 resets the device). */
void virtio_dev_set_status(struct virtio_dev *vdev, uint32_t status);
/* Transport side, device lock held: QueueReady 1; false when the ring is unusable. */
bool virtio_dev_queue_enable(struct virtio_dev *vdev, unsigned q);
/* Ask the worker to look at queue q (the MMIO-exit path when no ioeventfd). */
void virtio_dev_kick(struct virtio_dev *vdev, unsigned q);
/* Pop, handle() and complete the requests of queue q; interrupt as needed. */
void virtio_dev_service_queue(struct virtio_dev *vdev, unsigned q);
/* After pushing to queue q by hand: interrupt the guest if it wants one. */
void virtio_dev_notify_used(struct virtio_dev *vdev, unsigned q);
/* The guest corrupted a ring: set DEVICE_NEEDS_RESET and tell the driver. */
void virtio_dev_needs_reset(struct virtio_dev *vdev);
/*
 * The device changed its config space (device lock held): a new
 * config_generation and, once the driver is up, a configuration change
 * notification (virtio 1.2 section 2.5.1), every time.
 */
void virtio_dev_config_changed(struct virtio_dev *vdev);

/*
 * Snapshot (snap-format.h): quiesce the worker (no request in flight
 * once this returns; resuming re-examines every ready queue), and the
 * generic state (features, status, ISR, queues) plus ops->save/restore as
 * section SNAP_VIRTIO with index = the device's number.
 */
void virtio_dev_pause(struct virtio_dev *vdev, bool paused);
int virtio_dev_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
		    struct err **err);
int virtio_dev_restore(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
		       struct err **err);

/* Devices. */
int virtio_rng_create(const struct guest_mem *mem, struct virtio_dev **ret, struct err **err);
struct vm_disk_cfg;
/* defer_lock: open the image without its lock (a migration's destination, until COMMIT). */
int virtio_blk_create(const struct guest_mem *mem, const struct vm_disk_cfg *cfg, bool defer_lock,
		      struct virtio_dev **ret, struct err **err);
/*
 * A running disk's new backing file and/or rate limit (PATCH /drives/{id}).
 * fd (-1: keep the file) is d->path, already opened with the disk's mode and
 * checked; it is taken over (closed on failure).  rate: d->bw and d->iops
 * replace those buckets it names (VMM_DISK_RL_*, virtio.h).  No request is half on the old file:
 * the swap runs under the device lock, which the worker holds while it serves requests. The file in
 * use again (the same inode) only has its size read again.  On failure nothing changed.
 */
int virtio_blk_update(struct virtio_dev *vdev, int fd, const struct vm_disk_cfg *d, unsigned rate,
		      struct err **err);

struct vm_config;
int virtio_balloon_create(const struct guest_mem *mem, const struct vm_config *cfg,
			  struct virtio_dev **ret, struct err **err);
/* Run fn on vm's balloon (setup.c) with the device set's lock held; -ENODEV without one. */
int vmm_virtio_with_balloon(struct vm *vm, int (*fn)(struct virtio_dev *vdev, void *arg),
			    void *arg);
int virtio_vsock_create(const struct guest_mem *mem, uint32_t cid, const char *uds,
			struct virtio_dev **ret, struct err **err);
struct vm_fs_cfg;
/* A shared directory (the path opened here, O_PATH|O_DIRECTORY) and its FUSE server. */
int virtio_fs_create(const struct guest_mem *mem, const struct vm_fs_cfg *cfg,
		     struct virtio_dev **ret, struct err **err);
struct vm_net_cfg;
int virtio_net_create(const struct guest_mem *mem, const struct vm_net_cfg *cfg,
		      struct virtio_dev **ret, struct err **err);
/*
 * New rate-limit buckets from cfg, those named in `which` (VIRTIO_NET_RL_*, virtio.h; the
 * others stay as they are); what waits retries (PATCH /network-interfaces).
 */
int virtio_net_update(struct virtio_dev *vdev, const struct vm_net_cfg *cfg, unsigned which,
		      struct err **err);

/* The virtio-mmio transport: window, IRQ, notifications, cmdline; starts the worker. */
struct virtio_mmio;
int virtio_mmio_attach(struct vm *vm, struct virtio_dev *vdev, struct virtio_mmio **ret,
		       struct err **err);
void virtio_mmio_detach(struct virtio_mmio *m);

/*
 * The modern virtio-pci transport: a function on bus, its BAR, INTx GSI,
 * MSI-X and notifications; the caller starts the worker.
 */
struct virtio_pci;
struct pci_bus;
int virtio_pci_attach(struct vm *vm, struct pci_bus *bus, struct virtio_dev *vdev,
		      struct virtio_pci **ret, struct err **err);
void virtio_pci_detach(struct virtio_pci *p);
/* The slot and the GSI its INTA# is wired to (for the MP table). */
void virtio_pci_intx(const struct virtio_pci *p, unsigned *slot, uint32_t *gsi);

/*
 * The virtio-pci function's state (SNAP_VIRTIO_PCI): where it sits, its
 * config space (BAR, command, MSI-X control, the cfg window), the common
 * configuration's selectors and vectors, the MSI-X table and pending bits.
 * Fixed layout, no padding; a restore checks every field a guest could not
 * have produced.
 */
struct virtio_pci_state {
	uint64_t base;
	uint32_t gsi, slot;
	uint8_t cfg[256];
	uint32_t dfselect, gfselect;
	uint16_t queue_sel, config_vector;
	uint16_t queue_vector[VIRTIO_MAX_QUEUES];
	uint16_t signalled_used[VIRTIO_MAX_QUEUES];
	uint32_t config_signalled;
	uint32_t msix[VIRTIO_MAX_QUEUES + 1][4]; /* addr lo, addr hi, data, control */
	uint64_t pba;
};
int virtio_pci_save(struct virtio_pci *p, struct snap_writer *w, uint32_t index, struct err **err);
int virtio_pci_restore(struct virtio_pci *p, const struct snap_reader *r, uint32_t index,
		       struct err **err);

/* After a restore: interrupt the guest once per live queue, owed or not. */
void virtio_pci_notify_all(struct virtio_pci *p);
void virtio_mmio_notify_all(struct virtio_mmio *m);

/* The transport's registers (selectors) as SNAP_VIRTIO_MMIO with this index. */
int virtio_mmio_save(struct virtio_mmio *m, struct snap_writer *w, uint32_t index,
		     struct err **err);
int virtio_mmio_restore(struct virtio_mmio *m, const struct snap_reader *r, uint32_t index,
			struct err **err);
