/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-blk (virtio 1.2 section 5.2) over a raw image file or block device:
 * read, write, flush, GET_ID, discard and write-zeroes; read-only disks refuse
 * writes.  Requests are served on the device's worker thread.  An optional
 * rate limit (token buckets for bytes and operations) leaves a request that
 * does not fit in the ring and arms a timerfd that the worker watches: a
 * throttled disk never blocks a vCPU and never spins.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "ratelimit.h"
#include "virtio-internal.h"
#include "virtio.h"
#include "vm-config.h"

#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define SECTOR		  512u
#define BLK_ID_BYTES	  20
#define MAX_RANGE_SEGS	  32	     /* discard / write-zeroes segments per request */
#define MAX_RANGE_SECTORS (1u << 22) /* 2 GiB per segment */
#define BLK_BUDGET	  256	     /* requests served before the worker looks elsewhere */

struct blk_config {
	uint64_t capacity;
	uint32_t size_max, seg_max;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));

struct blk_req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

struct blk_range {
	uint64_t sector;
	uint32_t num_sectors, flags;
};

struct virtio_blk {
	struct virtio_dev vdev;
	int fd;
	bool readonly;
	bool locked; /* fd holds the image's flock (not on a migration's destination yet) */
	uint64_t sectors;
	char id[BLK_ID_BYTES];
	struct blk_config config;
	struct virtio_ratelimit rl;
	int timer;	    /* timerfd: the rate limit lets the next request through */
	bool waiting;	    /* a request is held back until the timer fires */
	uint64_t throttled; /* requests that had to wait */
	struct iovec data[VIRTQ_MAX_SIZE];
};

/* The part [skip, skip+len) of an iovec array, as a new array; returns its count. */
static unsigned iov_slice(const struct iovec *iov, unsigned n, size_t skip, size_t len,
			  struct iovec *dst)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		dst[k++] = (struct iovec){(uint8_t *)iov[i].iov_base + skip, l};
		len -= l;
		skip = 0;
	}
	return k;
}

/* preadv/pwritev the whole array, resuming after short transfers. */
static int rw_full(int fd, struct iovec *iov, unsigned n, off_t off, bool is_write)
{
	while (n) {
		ssize_t r = is_write ? pwritev(fd, iov, n, off) : preadv(fd, iov, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		off += r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return 0;
}

static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t count)
{
	return sector <= b->sectors && count <= b->sectors - sector;
}

static uint8_t blk_rw(struct virtio_blk *b, const struct virtq_req *req, uint64_t sector,
		      bool is_write, uint32_t *written)
{
	size_t len = is_write ? req->out_len - sizeof(struct blk_req_hdr) : req->in_len - 1;
	unsigned n;

	if (is_write && b->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (len % SECTOR || !in_range(b, sector, len / SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (is_write)
		n = iov_slice(req->iov, req->n_out, sizeof(struct blk_req_hdr), len, b->data);
	else
		n = iov_slice(req->iov + req->n_out, req->n_in, 0, len, b->data);
	if (rw_full(b->fd, b->data, n, sector * SECTOR, is_write) < 0) {
		log_warn_ratelimited("virtio-blk: %s at sector %llu: %m",
				     is_write ? "write" : "read", (unsigned long long)sector);
		return VIRTIO_BLK_S_IOERR;
	}
	if (!is_write)
		*written = len;
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: a list of ranges after the header. */
static uint8_t blk_ranges(struct virtio_blk *b, const struct virtq_req *req, bool zero)
{
	size_t len = req->out_len - sizeof(struct blk_req_hdr);
	struct blk_range seg;

	if (b->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (len == 0 || len % sizeof(seg) || len / sizeof(seg) > MAX_RANGE_SEGS)
		return VIRTIO_BLK_S_IOERR;
	for (size_t off = sizeof(struct blk_req_hdr); off < req->out_len; off += sizeof(seg)) {
		virtq_iov_to_buf(req->iov, req->n_out, off, &seg, sizeof(seg));
		uint64_t sector = le64toh(seg.sector), count = le32toh(seg.num_sectors);
		int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

		if (count > MAX_RANGE_SECTORS || !in_range(b, sector, count))
			return VIRTIO_BLK_S_IOERR;
		if (zero && !(le32toh(seg.flags) & 1))
			mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		if (fallocate(b->fd, mode, sector * SECTOR, count * SECTOR) == 0)
			continue;
		if (zero && mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) &&
		    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, sector * SECTOR,
			      count * SECTOR) == 0)
			continue;
		if (!zero && errno == EOPNOTSUPP)
			continue; /* discard is only a hint */
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static uint32_t blk_handle(struct virtio_dev *vdev, unsigned q, struct virtq_req *req)
{
	struct virtio_blk *b = (struct virtio_blk *)vdev;
	struct blk_req_hdr hdr;
	uint32_t written = 0;
	uint8_t status;

	if (req->out_len < sizeof(hdr) || req->in_len < 1) {
		log_warn_ratelimited("virtio-blk: request without header or status byte");
		return 0;
	}
	virtq_iov_to_buf(req->iov, req->n_out, 0, &hdr, sizeof(hdr));
	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = blk_rw(b, req, le64toh(hdr.sector), le32toh(hdr.type) == VIRTIO_BLK_T_OUT,
				&written);
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = fdatasync(b->fd) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		written = virtq_buf_to_iov(req->iov + req->n_out, req->n_in, 0, b->id,
					   req->in_len - 1 < BLK_ID_BYTES ? req->in_len - 1
									  : BLK_ID_BYTES);
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = blk_ranges(b, req, le32toh(hdr.type) == VIRTIO_BLK_T_WRITE_ZEROES);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	virtq_buf_to_iov(req->iov + req->n_out, req->n_in, req->in_len - 1, &status, 1);
	return written + 1;
}

/* The bytes a request moves, as the rate limiter counts them (data only). */
static uint64_t req_bytes(const struct virtq_req *req)
{
	struct blk_req_hdr hdr;

	if (req->out_len < sizeof(hdr) || req->in_len < 1)
		return 0;
	virtq_iov_to_buf(req->iov, req->n_out, 0, &hdr, sizeof(hdr));
	if (le32toh(hdr.type) == VIRTIO_BLK_T_IN)
		return req->in_len - 1;
	if (le32toh(hdr.type) == VIRTIO_BLK_T_OUT)
		return req->out_len - sizeof(hdr);
	return 0;
}

/* Does the rate limit hold this request back?  Then arm the timer for it. */
static bool throttle(struct virtio_blk *b, const struct virtq_req *req)
{
	if (!virtio_rl_hold(&b->rl, req_bytes(req), b->timer, "virtio-blk"))
		return false;
	b->waiting = true;
	b->throttled++;
	__atomic_store_n(&b->vdev.poll_wanted, true, __ATOMIC_SEQ_CST);
	return true;
}

/*
 * The core's service loop plus the rate limit: a request that does not fit
 * goes back into the ring (notifications stay off meanwhile: the timer, not
 * the guest, brings us back).
 */
static void blk_service(struct virtio_blk *b)
{
	struct virtio_dev *vdev = &b->vdev;
	struct virtq *vq = &vdev->vq[0];
	unsigned served = 0;
	uint32_t len;
	int r;

	do {
		virtq_disable_notify(vq);
		while ((r = virtq_pop(vq, vdev->req)) != 0) {
			if (r == -EIO) {
				log_warn_ratelimited(
				    "virtio-blk: queue corrupt, device needs reset");
				virtio_dev_needs_reset(vdev);
				return;
			}
			if (r == -EBADMSG) {
				log_warn_ratelimited("virtio-blk: malformed descriptor chain");
				served++; /* returned with length 0 by virtq_pop() */
				continue;
			}
			if (throttle(b, vdev->req)) {
				virtq_unpop(vq);
				goto done;
			}
			len = blk_handle(vdev, 0, vdev->req);
			/* Reads, id, status: in guest memory behind KVM's dirty log. */
			virtq_mark_written(vq, vdev->req->iov + vdev->req->n_out, vdev->req->n_in);
			virtq_push(vq, vdev->req->head, len);
			if (++served == BLK_BUDGET) {
				virtio_dev_kick(vdev, 0); /* come back after the others */
				goto done;
			}
		}
	} while (virtq_enable_notify(vq));
done:
	if (served)
		virtio_dev_notify_used(vdev, 0);
}

static void blk_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_blk *b = (struct virtio_blk *)vdev;

	(void)q;
	if (!b->waiting)
		blk_service(b);
}

/* The rate-limit timer fired (worker thread, lock held). */
static void blk_timer(struct virtio_dev *vdev)
{
	struct virtio_blk *b = (struct virtio_blk *)vdev;
	uint64_t ticks;

	if (read(b->timer, &ticks, sizeof(ticks)) < 0)
		return; /* not expired yet (spurious wakeup) */
	b->waiting = false;
	__atomic_store_n(&vdev->poll_wanted, false, __ATOMIC_SEQ_CST);
	blk_service(b);
}

/* No request held back by the rate limit any more: the timer is off. */
static void blk_unthrottle(struct virtio_blk *b)
{
	virtio_rl_disarm(b->timer);
	b->waiting = false;
	__atomic_store_n(&b->vdev.poll_wanted, false, __ATOMIC_SEQ_CST);
}

static void blk_reset(struct virtio_dev *vdev)
{
	blk_unthrottle((struct virtio_blk *)vdev);
}

static void blk_destroy(struct virtio_dev *vdev)
{
	struct virtio_blk *b = (struct virtio_blk *)vdev;

	if (virtio_rl_active(&b->rl))
		log_debug("virtio-blk: %llu request(s) throttled by the rate limit",
			  (unsigned long long)b->throttled);
	virtio_close_fd(&b->timer);
	virtio_close_fd(&b->fd);
	free(b);
}

/* Migration: drop the image's lock before the commit, or take it (again). */
static int blk_lock(struct virtio_dev *vdev, bool on)
{
	struct virtio_blk *b = (struct virtio_blk *)vdev;

	if (flock(b->fd, on ? (b->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB : LOCK_UN) < 0)
		return -errno;
	b->locked = on;
	return 0;
}

static const struct virtio_dev_ops blk_ops = {
    .name = "blk",
    .device_id = VIRTIO_ID_BLOCK,
    .n_queues = 1,
    .handle = blk_handle,
    .queue_notify = blk_queue_notify,
    .poll = blk_timer,
    .reset = blk_reset,
    .destroy = blk_destroy,
    .lock = blk_lock,
};

/* The size of an open image in sectors: a regular file's or a block device's. */
static int blk_size(int fd, const char *path, uint64_t *ret, struct err **err)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(fd, &st) < 0)
		return err_make(err, errno, "disk `%s`", path);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
			return err_make(err, errno, "disk `%s`: size", path);
	} else if (S_ISREG(st.st_mode)) {
		bytes = st.st_size;
	} else {
		return err_make(err, EINVAL, "disk `%s`: not a regular file or block device", path);
	}
	*ret = bytes / SECTOR;
	return 0;
}

/* Take the image's lock: shared for a read-only disk, exclusive otherwise. */
static int blk_flock(int fd, bool readonly, const char *path, struct err **err)
{
	if (flock(fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0)
		return err_make(err, errno, "disk `%s`: locked by another user", path);
	return 0;
}

/* Open and lock the image; size it. */
static int blk_open(struct virtio_blk *b, const struct vm_disk_cfg *cfg, bool defer_lock,
		    struct err **err)
{
	struct stat st;

	/*
	 * O_NONBLOCK: a FIFO (or a device that waits for a peer) named as a disk, by a user or a
	 * snapshot's state, fails below instead of hanging the open; cleared for the I/O.
	 */
	b->fd = open(cfg->path, (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	if (b->fd < 0)
		return err_make(err, errno, "disk `%s`", cfg->path);
	if (fstat(b->fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)))
		return err_make(err, EINVAL, "disk `%s`: not a regular file or block device",
				cfg->path);
	if (fcntl(b->fd, F_SETFL, fcntl(b->fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return err_make(err, errno, "disk `%s`", cfg->path);
	if (!defer_lock) {
		int r = blk_flock(b->fd, cfg->readonly, cfg->path, err);

		if (r < 0)
			return r;
	}
	b->locked = !defer_lock;
	return blk_size(b->fd, cfg->path, &b->sectors, err);
}

static void blk_fill_config(struct virtio_blk *b)
{
	struct blk_config *c = &b->config;

	c->capacity = htole64(b->sectors);
	c->seg_max = htole32(VIRTQ_MAX_SIZE - 2); /* header and status take two */
	c->max_discard_sectors = c->max_write_zeroes_sectors = htole32(MAX_RANGE_SECTORS);
	c->max_discard_seg = c->max_write_zeroes_seg = htole32(MAX_RANGE_SEGS);
	c->discard_sector_alignment = htole32(1);
	c->write_zeroes_may_unmap = 1;
	b->vdev.config = c;
	b->vdev.config_len = sizeof(*c);
	b->vdev.features |= 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_FLUSH;
	if (b->readonly)
		b->vdev.features |= 1ull << VIRTIO_BLK_F_RO;
	else
		b->vdev.features |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull
								       << VIRTIO_BLK_F_WRITE_ZEROES;
}

int virtio_blk_create(const struct guest_mem *mem, const struct vm_disk_cfg *cfg, bool defer_lock,
		      struct virtio_dev **ret, struct err **err)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return err_make(err, ENOMEM, "virtio-blk");
	b->fd = b->timer = -1;
	b->readonly = cfg->readonly;
	r = virtio_dev_init(&b->vdev, &blk_ops, mem, err);
	if (r >= 0 && cfg->serial && strlen(cfg->serial) > BLK_ID_BYTES)
		r = err_make(err, EINVAL, "disk `%s`: serial longer than %d bytes", cfg->path,
			     BLK_ID_BYTES);
	if (r >= 0)
		r = blk_open(b, cfg, defer_lock, err);
	/* The timer exists without a limit too: PATCH /drives may set one later. */
	if (r >= 0) {
		virtio_rl_init(&b->rl, &cfg->bw, &cfg->iops, virtio_rl_now());
		b->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (b->timer < 0)
			r = err_make(err, errno, "disk `%s`: rate-limit timer", cfg->path);
		b->vdev.poll_fd = b->timer;
	}
	if (r < 0) {
		virtio_dev_destroy(&b->vdev);
		return r;
	}
	if (cfg->serial)
		memcpy(b->id, cfg->serial, strlen(cfg->serial));
	blk_fill_config(b);
	*ret = &b->vdev;
	return 0;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/*
 * Device lock held: fd (taken) backs the disk from now on.  What the guest
 * wrote to the old image is flushed first, as a FLUSH request would; the
 * guest learns the new capacity from a configuration change.
 */
static int blk_swap(struct virtio_blk *b, int fd, const char *path, struct err **err)
{
	_cleanup_close_ int nfd = fd;
	uint64_t sectors;
	int r = blk_size(nfd, path, &sectors, err);

	if (r < 0)
		return r;
	if (!same_file(b->fd, nfd)) { /* the same file: its lock is on b->fd, keep that */
		if (b->locked && (r = blk_flock(nfd, b->readonly, path, err)) < 0)
			return r;
		if (!b->readonly && fdatasync(b->fd) < 0)
			return err_make(err, errno, "disk: flush the image in use before `%s`",
					path);
		r = b->fd;
		b->fd = nfd;
		nfd = r; /* the old image, closed on return */
	}
	b->sectors = sectors;
	b->config.capacity = htole64(sectors);
	virtio_dev_config_changed(&b->vdev);
	return 0;
}

int virtio_blk_update(struct virtio_dev *vdev, int fd, const struct vm_disk_cfg *d, unsigned rate,
		      struct err **err)
{
	struct virtio_blk *b = (struct virtio_blk *)vdev;
	int r = 0;

	if (vdev->ops != &blk_ops) {
		virtio_close_fd(&fd);
		return err_make(err, ENODEV, "not a virtio-blk device");
	}
	pthread_mutex_lock(&vdev->lock);
	if (fd >= 0)
		r = blk_swap(b, fd, d->path, err);
	if (r >= 0 && rate) {
		virtio_rl_set(&b->rl, rate & VMM_DISK_RL_BW ? &d->bw : NULL,
			      rate & VMM_DISK_RL_IOPS ? &d->iops : NULL, virtio_rl_now());
		if (b->waiting) { /* the held request tries again under the new limit */
			blk_unthrottle(b);
			virtio_dev_kick(vdev, 0);
		}
	}
	pthread_mutex_unlock(&vdev->lock);
	return r;
}
