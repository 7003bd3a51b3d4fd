/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Split virtqueues (virtio 1.2 section 2.7), device side.  The rings live in
 * guest memory and are written by the guest at any time: every index, address,
 * length and `next` is checked, and every descriptor is read exactly once.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_mem;

#define VIRTQ_MAX_SIZE	      256	  /* QueueNumMax we offer; a power of two */
#define VIRTQ_MAX_CHAIN_BYTES (64u << 20) /* cap on the sum of one chain's lengths */

#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* then uint16_t used_event */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[]; /* then uint16_t avail_event */
};

struct virtq {
	/* Set by the transport before virtq_enable(). */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx, indirect; /* negotiated features */
	/* Set by the device, kept across resets: the cap on one chain's total
	 * length when not VIRTQ_MAX_CHAIN_BYTES (0); at most UINT32_MAX. */
	uint32_t max_chain_bytes;

	/*
	 * Device state, valid while ready.  num is size as it was at
	 * virtq_enable(), the size the rings were checked for: the transport's
	 * size may change once the driver takes the queue back (QueueReady 0),
	 * and a device may still hold a buffer of it then.
	 */
	bool ready;
	bool broken; /* the guest corrupted the ring itself */
	uint16_t num;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	const struct guest_mem *mem;
	uint16_t last_avail;	 /* next avail entry to consume */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx at the last interrupt */
	bool signalled_valid;

	/*
	 * Requests completed and the bytes they wrote into guest buffers, since
	 * the device was made (kept across resets).  Written by the device's
	 * worker in virtq_push(), read relaxed by the API's metrics.
	 */
	uint64_t stat_completed, stat_bytes;
};

/* One request: `out` device-readable buffers, then `in` device-writable ones. */
struct virtq_req {
	uint16_t head;
	unsigned n_out, n_in;
	uint32_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SIZE]; /* out first, then in */
};

/* Validate the ring addresses for vq->size and map them; -EINVAL when unusable. */
int virtq_enable(struct virtq *vq, const struct guest_mem *mem);
/* Back to the reset state (size and addresses cleared). */
void virtq_reset(struct virtq *vq);

/*
 * Take the next available chain.  Returns 1 with *req filled, 0 when the ring
 * is empty, -EBADMSG when the chain was malformed (it has already been
 * returned to the guest with length 0: fail that request only), or -EIO when
 * the ring itself is corrupt (vq->broken: the device needs a reset).
 */
int virtq_pop(struct virtq *vq, struct virtq_req *req);
/* Give back the chain the last successful virtq_pop() took (not yet pushed). */
void virtq_unpop(struct virtq *vq);
/*
 * The device wrote (or may have written) into these buffers of guest memory:
 * record it for live migration.  Call it after the writes, before the push.
 */
void virtq_mark_written(const struct virtq *vq, const struct iovec *iov, unsigned n);
/* Return a chain with `len` bytes written into its device-writable buffers. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);
/* After pushes: should the guest be interrupted (NO_INTERRUPT / used_event)? */
bool virtq_need_interrupt(struct virtq *vq);
/* Ask the guest not to notify us (while we are processing anyway). */
void virtq_disable_notify(struct virtq *vq);
/* Ask for notifications again; true when buffers arrived meanwhile. */
bool virtq_enable_notify(struct virtq *vq);

/* The event-index rule of section 2.7.10: has new_idx passed event since old? */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Copy helpers over a request's iovecs (bounded by the buffers' lengths). */
size_t virtq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t virtq_buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
			size_t len);
