/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueues, device side (virtio 1.2 section 2.7).  The guest owns the
 * memory the rings live in and may rewrite it concurrently, so each value is
 * read once into a local and checked there; nothing the guest writes can make
 * us read or write outside guest memory or loop without bound.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "guest-mem.h"
#include "virtqueue.h"

#define LOAD16(p)	  le16toh(__atomic_load_n((p), __ATOMIC_RELAXED))
#define LOAD16_ACQ(p)	  le16toh(__atomic_load_n((p), __ATOMIC_ACQUIRE))
#define STORE16(p, v)	  __atomic_store_n((p), htole16(v), __ATOMIC_RELAXED)
#define STORE16_REL(p, v) __atomic_store_n((p), htole16(v), __ATOMIC_RELEASE)

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int virtq_enable(struct virtq *vq, const struct guest_mem *mem)
{
	uint32_t n = vq->size;

	if (!is_pow2(n) || n > VIRTQ_MAX_SIZE)
		return -EINVAL;
	/* Alignments of section 2.7: descriptors 16, driver area 2, device area 4. */
	if (vq->desc_gpa % 16 || vq->avail_gpa % 2 || vq->used_gpa % 4)
		return -EINVAL;
	vq->desc = guest_mem_ptr(mem, vq->desc_gpa, 16ull * n);
	vq->avail = guest_mem_ptr(mem, vq->avail_gpa, 6ull + 2ull * n);
	vq->used = guest_mem_ptr(mem, vq->used_gpa, 6ull + 8ull * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EINVAL;
	}
	vq->mem = mem;
	vq->num = (uint16_t)n;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->broken = false;
	vq->ready = true;
	return 0;
}

void virtq_reset(struct virtq *vq)
{
	uint64_t completed = vq->stat_completed, bytes = vq->stat_bytes;
	uint32_t max = vq->max_chain_bytes;

	memset(vq, 0, sizeof(*vq));
	vq->stat_completed = completed;
	vq->stat_bytes = bytes;
	vq->max_chain_bytes = max;
}

/* Copy one descriptor out of guest memory (which may be unaligned for indirect tables). */
static void read_desc(const struct virtq_desc *table, uint16_t idx, struct virtq_desc *d)
{
	memcpy(d, &table[idx], sizeof(*d));
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* Switch the walk into the indirect table `d` points at. */
static int enter_indirect(const struct virtq *vq, const struct virtq_desc *d,
			  const struct virtq_desc **table, uint32_t *table_size)
{
	if (!vq->indirect)
		return -EINVAL;
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return -EINVAL; /* INDIRECT together with NEXT is forbidden */
	if (d->len == 0 || d->len % sizeof(struct virtq_desc) ||
	    d->len / sizeof(struct virtq_desc) > VIRTQ_MAX_SIZE)
		return -EINVAL;
	*table = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!*table)
		return -EFAULT;
	*table_size = d->len / sizeof(struct virtq_desc);
	return 0;
}

/* Add one buffer to the request; writable buffers must follow readable ones. */
static int add_buffer(const struct virtq *vq, const struct virtq_desc *d, struct virtq_req *req,
		      uint64_t *total)
{
	struct iovec *iov = &req->iov[req->n_out + req->n_in];
	void *p;

	if (d->len == 0)
		return 0;
	*total += d->len;
	if (*total > (vq->max_chain_bytes ? vq->max_chain_bytes : VIRTQ_MAX_CHAIN_BYTES))
		return -E2BIG;
	p = guest_mem_ptr(vq->mem, d->addr, d->len);
	if (!p)
		return -EFAULT;
	iov->iov_base = p;
	iov->iov_len = d->len;
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		req->n_in++;
		req->in_len += d->len;
	} else {
		if (req->n_in)
			return -EINVAL;
		req->n_out++;
		req->out_len += d->len;
	}
	return 0;
}

/*
 * Walk the chain starting at `head`.  At most VIRTQ_MAX_SIZE descriptors in
 * all (which also ends loops), one level of indirection, VIRTQ_MAX_CHAIN_BYTES
 * (or the queue's own max_chain_bytes) in all.
 */
static int walk_chain(const struct virtq *vq, uint16_t head, struct virtq_req *req)
{
	const struct virtq_desc *table = vq->desc;
	uint32_t table_size = vq->num, count = 0, idx = head;
	bool indirect = false;
	uint64_t total = 0;
	struct virtq_desc d;
	int r;

	req->head = head;
	req->n_out = req->n_in = 0;
	req->out_len = req->in_len = 0;
	for (;;) {
		if (idx >= table_size)
			return -EINVAL;
		if (++count > VIRTQ_MAX_SIZE)
			return -ELOOP;
		read_desc(table, idx, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return -EINVAL; /* indirect inside indirect */
			r = enter_indirect(vq, &d, &table, &table_size);
			if (r < 0)
				return r;
			indirect = true;
			idx = 0;
			continue;
		}
		r = add_buffer(vq, &d, req, &total);
		if (r < 0)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_req *req)
{
	uint16_t avail_idx, head;

	if (!vq->ready)
		return 0;
	if (vq->broken)
		return -EIO;
	avail_idx = LOAD16_ACQ(&vq->avail->idx);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->num) {
		vq->broken = true; /* more buffers than the ring holds */
		return -EIO;
	}
	head = LOAD16(&vq->avail->ring[vq->last_avail & (vq->num - 1)]);
	if (head >= vq->num) {
		vq->broken = true; /* nothing we could even hand back */
		return -EIO;
	}
	vq->last_avail++;
	if (walk_chain(vq, head, req) < 0) {
		virtq_push(vq, head, 0);
		return -EBADMSG;
	}
	return 1;
}

void virtq_unpop(struct virtq *vq)
{
	vq->last_avail--;
}

/* The device area (used ring, flags, avail_event) was written: for live migration. */
static void mark_used(const struct virtq *vq)
{
	if (vq->mem && vq->used)
		guest_mem_mark(vq->mem, vq->used, 6u + 8u * vq->num + 2u);
}

/*
 * A buffer held when the driver took the queue back (QueueReady 0, a reset)
 * is not returned: the rings are the driver's again.
 */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct virtq_used_elem *e;

	if (!vq->ready)
		return;
	e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
	e->id = htole32(head);
	e->len = htole32(len);
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	STORE16_REL(&vq->used->idx, vq->used_idx);
	__atomic_store_n(&vq->stat_completed, vq->stat_completed + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&vq->stat_bytes, vq->stat_bytes + len, __ATOMIC_RELAXED);
	mark_used(vq);
}

void virtq_mark_written(const struct virtq *vq, const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n && vq->mem; i++)
		guest_mem_mark(vq->mem, iov[i].iov_base, iov[i].iov_len);
}

bool virtq_need_interrupt(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, new_idx = vq->used_idx;
	bool valid = vq->signalled_valid;

	if (!vq->ready)
		return false;
	/* Order the used->idx store before reading the guest's suppression state. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	if (!vq->event_idx)
		return !(LOAD16(&vq->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	return virtq_need_event(LOAD16(&vq->avail->ring[vq->num]), new_idx, old);
}

void virtq_disable_notify(struct virtq *vq)
{
	if (!vq->ready)
		return;
	if (!vq->event_idx)
		STORE16(&vq->used->flags, VIRTQ_USED_F_NO_NOTIFY);
	mark_used(vq);
	/* With EVENT_IDX an avail_event left behind already suppresses kicks. */
}

bool virtq_enable_notify(struct virtq *vq)
{
	uint16_t *avail_event;

	if (!vq->ready || vq->broken)
		return false;
	avail_event = (uint16_t *)&vq->used->ring[vq->num];
	if (vq->event_idx)
		STORE16(avail_event, vq->last_avail);
	else
		STORE16(&vq->used->flags, 0);
	mark_used(vq);
	/* The store above must be visible before we look at avail->idx again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return LOAD16_ACQ(&vq->avail->idx) != vq->last_avail;
}

size_t virtq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len - done)
			l = len - done;
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + skip, l);
		done += l;
		skip = 0;
	}
	return done;
}

size_t virtq_buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
			size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len - done)
			l = len - done;
		memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done, l);
		done += l;
		skip = 0;
	}
	return done;
}
