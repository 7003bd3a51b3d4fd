/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-balloon (virtio 1.2 section 5.5): inflate, deflate, statistics and
 * free page reporting queues.  Pages the guest gives up (inflated or reported
 * free) are dropped with MADV_DONTNEED, which returns them to the host: guest
 * RAM is an anonymous private mapping, so a later guest access sees a zero
 * page.  The host sets the target (num_pages) through vmm_balloon_set_target()
 * (the control API); the driver's statistics buffer is held and handed back
 * every stats_polling_interval_s seconds (a timerfd the worker watches) so
 * the driver refills it.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/timerfd.h>

#include "guest-mem.h"
#include "log.h"
#include "snap-format.h"
#include "virtio-internal.h"
#include "virtio.h"
#include "vm-config.h"

#define VIRTIO_BALLOON_F_STATS_VQ	1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5
#define PFN_SHIFT			12 /* balloon PFNs are always 4 KiB units */
#define PAGE				4096u
#define MAX_PFNS			256 /* PFNs per inflate request (Linux sends <= 256) */
/*
 * A report names guest memory we only madvise(), never copy: Linux sends up
 * to 32 runs of up to 4 MiB (order 10) each, 128 MiB, above the virtqueue's
 * default 64 MiB cap (which then refused every full report).
 */
#define MAX_REPORT_BYTES (1u << 30)

/*
 * Queue indices: Linux numbers only the queues whose features were
 * negotiated, so the stats queue is 2 when STATS_VQ is, and the reporting
 * queue follows it (2 or 3).
 */
#define INFLATEQ 0
#define DEFLATEQ 1
#define NONE	 (-1)

struct balloon_config {
	uint32_t num_pages;
	uint32_t actual;
} __attribute__((packed));

struct balloon_stat {
	uint16_t tag;
	uint64_t val;
} __attribute__((packed));

struct virtio_balloon {
	struct virtio_dev vdev;
	struct balloon_config config;
	int timer;	     /* stats polling: hand the held buffer back */
	uint32_t interval_s; /* 0: no polling */
	bool deflate_on_oom;
	bool holding;		      /* a stats buffer is held... */
	uint16_t stats_head;	      /* ... this one */
	struct vmm_balloon_info last; /* the stats it carried (lock held) */
};

static int stats_queue(const struct virtio_dev *vdev)
{
	return vdev->driver_features & (1ull << VIRTIO_BALLOON_F_STATS_VQ) ? 2 : NONE;
}

static int report_queue(const struct virtio_dev *vdev)
{
	if (!(vdev->driver_features & (1ull << VIRTIO_BALLOON_F_PAGE_REPORTING)))
		return NONE;
	return stats_queue(vdev) == NONE ? 2 : 3;
}

/* Drop [gpa, gpa+len) when it is page-aligned guest RAM; anything else is ignored. */
static void discard(struct virtio_dev *vdev, uint64_t gpa, uint64_t len)
{
	void *p;

	if (gpa % PAGE || len % PAGE || !len)
		return;
	p = guest_mem_ptr(vdev->mem, gpa, len);
	if (!p || (uintptr_t)p % PAGE || madvise(p, len, MADV_DONTNEED) < 0)
		log_warn_ratelimited("virtio-balloon: cannot discard %#llx+%#llx",
				     (unsigned long long)gpa, (unsigned long long)len);
	else
		guest_mem_mark(vdev->mem, p, len); /* now zero, behind KVM's dirty log */
}

static uint32_t balloon_handle(struct virtio_dev *vdev, unsigned q, struct virtq_req *req)
{
	uint32_t pfn;

	if (q == INFLATEQ) {
		/* Linux sends at most 256 PFNs a request; more is ignored. */
		for (size_t off = 0; off + 4 <= req->out_len && off < 4 * MAX_PFNS; off += 4) {
			virtq_iov_to_buf(req->iov, req->n_out, off, &pfn, 4);
			discard(vdev, (uint64_t)le32toh(pfn) << PFN_SHIFT, PAGE);
		}
	} else if ((int)q == report_queue(vdev)) {
		/* Each buffer is a run of free guest pages; we write nothing into it. */
		for (unsigned i = 0; i < req->n_out + req->n_in; i++) {
			uint8_t *hva = req->iov[i].iov_base;
			uint64_t len = req->iov[i].iov_len;

			if ((uintptr_t)hva % PAGE == 0 && len % PAGE == 0 &&
			    madvise(hva, len, MADV_DONTNEED) == 0)
				guest_mem_mark(vdev->mem, hva, len);
		}
	}
	return 0; /* deflate: the pages simply fault back in */
}

/*
 * The worker watches the stats timer only while it holds a buffer to hand
 * back: a timer that fires with nothing to do (or while the device is not
 * live, when poll() is not called) would otherwise wake the worker forever.
 */
static void watch_timer(struct virtio_balloon *b)
{
	__atomic_store_n(&b->vdev.poll_wanted, b->holding && b->interval_s > 0, __ATOMIC_SEQ_CST);
}

/* Keep the driver's statistics buffer: copy what it says, hand it back later. */
static void stats_received(struct virtio_balloon *b, struct virtq_req *req)
{
	struct vmm_balloon_info *li = &b->last;
	struct balloon_stat st;
	unsigned n = 0;

	for (size_t off = 0; off + sizeof(st) <= req->out_len && n < VMM_BALLOON_MAX_STATS;
	     off += sizeof(st), n++) {
		virtq_iov_to_buf(req->iov, req->n_out, off, &st, sizeof(st));
		li->stats[n].tag = le16toh(st.tag);
		li->stats[n].val = le64toh(st.val);
	}
	li->n_stats = n;
	li->has_stats = true;
	if (b->holding) /* the driver offered a second one: return the first */
		virtq_push(&b->vdev.vq[2], b->stats_head, 0);
	b->stats_head = req->head;
	b->holding = true;
	watch_timer(b);
}

static void balloon_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vdev;
	int r;

	if ((int)q != stats_queue(vdev)) {
		virtio_dev_service_queue(vdev, q);
		return;
	}
	while ((r = virtq_pop(&vdev->vq[q], vdev->req)) != 0) {
		if (r == -EIO) {
			virtio_dev_needs_reset(vdev);
			return;
		}
		if (r == 1)
			stats_received(b, vdev->req);
	}
}

/* The polling interval passed: give the buffer back so the driver refills it. */
static void balloon_timer(struct virtio_dev *vdev)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vdev;
	uint64_t ticks;

	if (read(b->timer, &ticks, sizeof(ticks)) < 0 || !b->holding)
		return;
	b->holding = false;
	watch_timer(b);
	virtq_push(&vdev->vq[2], b->stats_head, 0);
	virtio_dev_notify_used(vdev, 2);
}

static void balloon_config_write(struct virtio_dev *vdev, uint32_t off, const void *data,
				 uint32_t len)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vdev;

	/* Only `actual` (offset 4) is the driver's to write. */
	if (off == 4 && len == 4)
		memcpy(&b->config.actual, data, 4);
}

static void balloon_reset(struct virtio_dev *vdev)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vdev;

	b->config.actual = 0;
	b->holding = false;
	watch_timer(b);
	b->last.has_stats = false;
	b->last.n_stats = 0;
}

static void balloon_destroy(struct virtio_dev *vdev)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vdev;

	virtio_close_fd(&b->timer);
	free(b);
}

static int balloon_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
			struct err **err);
static int balloon_restore(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
			   struct err **err);

static const struct virtio_dev_ops balloon_ops = {
    .name = "balloon",
    .device_id = VIRTIO_ID_BALLOON,
    .n_queues = 4,
    .handle = balloon_handle,
    .queue_notify = balloon_queue_notify,
    .poll = balloon_timer,
    .config_write = balloon_config_write,
    .reset = balloon_reset,
    .destroy = balloon_destroy,
    .save = balloon_save,
    .restore = balloon_restore,
};

/* Arm (or with 0 disarm) the periodic stats timer. */
static int set_interval(struct virtio_balloon *b, uint32_t seconds)
{
	struct itimerspec its = {.it_value.tv_sec = seconds, .it_interval.tv_sec = seconds};

	if (timerfd_settime(b->timer, 0, &its, NULL) < 0)
		return -errno;
	b->interval_s = seconds;
	watch_timer(b);
	return 0;
}

int virtio_balloon_create(const struct guest_mem *mem, const struct vm_config *cfg,
			  struct virtio_dev **ret, struct err **err)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return err_make(err, ENOMEM, "virtio-balloon");
	b->timer = -1;
	r = virtio_dev_init(&b->vdev, &balloon_ops, mem, err);
	if (r >= 0) {
		/* The reporting queue is 2 or 3 (whether STATS_VQ is negotiated). */
		b->vdev.vq[2].max_chain_bytes = b->vdev.vq[3].max_chain_bytes = MAX_REPORT_BYTES;
		b->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (b->timer < 0 || set_interval(b, cfg->balloon_stats_s) < 0)
			r = err_make(err, errno, "virtio-balloon: stats timer");
	}
	if (r < 0) {
		virtio_dev_destroy(&b->vdev);
		return r;
	}
	b->config.num_pages = htole32(cfg->balloon_mib << (20 - PFN_SHIFT));
	b->deflate_on_oom = cfg->balloon_deflate_on_oom;
	b->vdev.config = &b->config;
	b->vdev.config_len = sizeof(b->config);
	b->vdev.poll_fd = b->timer;
	b->vdev.features |=
	    1ull << VIRTIO_BALLOON_F_PAGE_REPORTING | 1ull << VIRTIO_BALLOON_F_STATS_VQ;
	if (b->deflate_on_oom)
		b->vdev.features |= 1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	*ret = &b->vdev;
	return 0;
}

struct balloon_call {
	int (*fn)(struct virtio_balloon *b, void *arg);
	void *arg;
};

static int call_locked(struct virtio_dev *vdev, void *arg)
{
	struct balloon_call *c = arg;
	int r;

	pthread_mutex_lock(&vdev->lock);
	r = c->fn((struct virtio_balloon *)vdev, c->arg);
	pthread_mutex_unlock(&vdev->lock);
	return r;
}

/*
 * Run fn on vm's balloon with the device set's and the device's locks held
 * (setup.c keeps the VM's balloon, at most one); -ENODEV without one.
 */
static int with_balloon(struct vm *vm, int (*fn)(struct virtio_balloon *b, void *arg), void *arg,
			struct err **err)
{
	struct balloon_call c = {fn, arg};
	int r = vmm_virtio_with_balloon(vm, call_locked, &c);

	if (r == -ENODEV)
		return err_make(err, ENODEV, "the VM has no balloon device (--balloon)");
	return r < 0 ? err_make(err, -r, "balloon") : r;
}

/* A new target: tell the driver with a configuration change interrupt (5.5.6). */
static int do_set_target(struct virtio_balloon *b, void *arg)
{
	struct virtio_dev *vdev = &b->vdev;

	b->config.num_pages = htole32(*(uint32_t *)arg);
	virtio_dev_config_changed(vdev);
	return 0;
}

static int do_set_interval(struct virtio_balloon *b, void *arg)
{
	int r = set_interval(b, *(uint32_t *)arg);

	/* The worker picks up poll_wanted when it next wakes: wake it now. */
	if (r >= 0)
		virtio_dev_kick(&b->vdev, 2);
	return r;
}

static int do_get(struct virtio_balloon *b, void *arg)
{
	struct vmm_balloon_info *ret = arg;

	*ret = b->last;
	ret->target_pages = le32toh(b->config.num_pages);
	ret->actual_pages = le32toh(b->config.actual);
	ret->interval_s = b->interval_s;
	ret->deflate_on_oom = b->deflate_on_oom;
	return 0;
}

int vmm_balloon_set_target(struct vm *vm, uint32_t pages, struct err **err)
{
	return with_balloon(vm, do_set_target, &pages, err);
}

int vmm_balloon_set_interval(struct vm *vm, uint32_t seconds, struct err **err)
{
	return with_balloon(vm, do_set_interval, &seconds, err);
}

int vmm_balloon_get(struct vm *vm, struct vmm_balloon_info *ret, struct err **err)
{
	return with_balloon(vm, do_get, ret, err);
}

/* Snapshot: the config space (target num_pages, the driver's `actual`). */
static int balloon_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
			struct err **err)
{
	(void)err;
	snap_put(w, SNAP_VIRTIO_DEV, index, &((struct virtio_balloon *)vdev)->config,
		 sizeof(struct balloon_config));
	return 0;
}

static int balloon_restore(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
			   struct err **err)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vdev;

	return snap_get(r, SNAP_VIRTIO_DEV, index, &b->config, sizeof(b->config), "balloon", err);
}
