/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Transport-independent device state: status and feature negotiation, queue
 * enabling, reset, and the per-device worker thread that serves notifications.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "snap-format.h"
#include "cleanup.h"
#include "log.h"
#include "virtio-internal.h"

/* Requests served in one go before the worker lets the vCPUs at the lock again. */
#define WORKER_BUDGET 256

static void raise_isr(struct virtio_dev *vdev, uint32_t bit)
{
	__atomic_or_fetch(&vdev->isr, bit, __ATOMIC_SEQ_CST);
	if (vdev->interrupt)
		vdev->interrupt(vdev, bit);
}

void virtio_dev_needs_reset(struct virtio_dev *vdev)
{
	uint32_t st = __atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST);

	if (!(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_NEEDS_RESET))
		return;
	__atomic_or_fetch(&vdev->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_SEQ_CST);
	raise_isr(vdev, VIRTIO_ISR_CONFIG);
}

void virtio_dev_config_changed(struct virtio_dev *vdev)
{
	vdev->config_generation++;
	if (__atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST) & VIRTIO_STATUS_DRIVER_OK)
		raise_isr(vdev, VIRTIO_ISR_CONFIG);
}

void virtio_dev_kick(struct virtio_dev *vdev, unsigned q)
{
	uint64_t one = 1;

	if (q < vdev->ops->n_queues && write(vdev->kick_fd[q], &one, sizeof(one)) < 0)
		log_warn_ratelimited("virtio-%s: kick queue %u: %m", vdev->ops->name, q);
}

void virtio_dev_notify_used(struct virtio_dev *vdev, unsigned q)
{
	if (virtq_need_interrupt(&vdev->vq[q]))
		raise_isr(vdev, VIRTIO_ISR_QUEUE);
}

/* Serve one request and complete it, recording what it may have written. */
static void complete(struct virtio_dev *vdev, struct virtq *vq, unsigned q)
{
	uint32_t len = vdev->ops->handle(vdev, q, vdev->req);

	virtq_mark_written(vq, vdev->req->iov + vdev->req->n_out, vdev->req->n_in);
	virtq_push(vq, vdev->req->head, len);
}

/* Pop, serve and complete requests until the ring is empty or the budget is spent. */
void virtio_dev_service_queue(struct virtio_dev *vdev, unsigned q)
{
	struct virtq *vq = &vdev->vq[q];
	unsigned served = 0;
	int r;

	do {
		virtq_disable_notify(vq);
		while ((r = virtq_pop(vq, vdev->req)) != 0) {
			if (r == -EIO) {
				log_warn_ratelimited(
				    "virtio-%s: queue %u corrupt, device needs reset",
				    vdev->ops->name, q);
				virtio_dev_needs_reset(vdev);
				return;
			}
			if (r == -EBADMSG) {
				log_warn_ratelimited(
				    "virtio-%s: queue %u: malformed descriptor chain",
				    vdev->ops->name, q);
			} else if (vdev->ops->admit && !vdev->ops->admit(vdev, q, vdev->req)) {
				virtq_unpop(vq);
				goto done;
			} else {
				complete(vdev, vq, q);
			}
			if (++served == WORKER_BUDGET) {
				virtio_dev_kick(vdev, q); /* come back after the others */
				goto done;
			}
		}
	} while (virtq_enable_notify(vq));
done:
	if (served)
		virtio_dev_notify_used(vdev, q);
}

static bool live(const struct virtio_dev *vdev)
{
	return (vdev->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vdev->status & VIRTIO_STATUS_NEEDS_RESET) &&
	       !__atomic_load_n(&vdev->paused, __ATOMIC_SEQ_CST);
}

static void serve_kicks(struct virtio_dev *vdev, const struct pollfd *pfd)
{
	uint64_t v;

	for (unsigned i = 0; i < vdev->ops->n_queues; i++) {
		if (!(pfd[i].revents & POLLIN) || read(pfd[i].fd, &v, sizeof(v)) < 0)
			continue;
		pthread_mutex_lock(&vdev->lock);
		if (live(vdev) && vdev->vq[i].ready) {
			if (vdev->ops->queue_notify)
				vdev->ops->queue_notify(vdev, i);
			else
				virtio_dev_service_queue(vdev, i);
		}
		pthread_mutex_unlock(&vdev->lock);
	}
}

/*
 * Watch poll_fd only while the device wants it and is live: a readable fd
 * that nobody reads (NEEDS_RESET, reset, paused) would wake poll(2) at once,
 * forever.  virtio_dev_set_status() and unpausing wake the worker through
 * wake_fd or a kick, so the fd is watched again once the device is live.
 */
static int poll_fd_now(struct virtio_dev *vdev)
{
	bool wanted = __atomic_load_n(&vdev->poll_wanted, __ATOMIC_SEQ_CST);
	uint32_t st = __atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST);

	if (!wanted || !(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_NEEDS_RESET) ||
	    __atomic_load_n(&vdev->paused, __ATOMIC_SEQ_CST))
		return -1;
	return vdev->poll_fd;
}

/* The same for timer_fd, which needs no wish: a disarmed timer is never readable. */
static int timer_fd_now(struct virtio_dev *vdev)
{
	uint32_t st = __atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST);

	if (!vdev->ops->timer || !(st & VIRTIO_STATUS_DRIVER_OK) ||
	    (st & VIRTIO_STATUS_NEEDS_RESET) || __atomic_load_n(&vdev->paused, __ATOMIC_SEQ_CST))
		return -1;
	return vdev->timer_fd;
}

static void *worker_main(void *arg)
{
	struct virtio_dev *vdev = arg;
	unsigned n = vdev->ops->n_queues;
	struct pollfd pfd[VIRTIO_MAX_QUEUES + 4];
	uint64_t v;

	for (unsigned i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = vdev->kick_fd[i], .events = POLLIN};
	pfd[n] = (struct pollfd){.fd = vdev->stop_fd, .events = POLLIN};
	pfd[n + 1] = (struct pollfd){.fd = -1, .events = POLLIN};
	pfd[n + 2] = (struct pollfd){.fd = vdev->wake_fd, .events = POLLIN};
	pfd[n + 3] = (struct pollfd){.fd = -1, .events = POLLIN};
	for (;;) {
		/* A negative fd is skipped by poll(2). */
		pfd[n + 1].fd = poll_fd_now(vdev);
		pfd[n + 3].fd = timer_fd_now(vdev);
		if (poll(pfd, n + 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("virtio-%s: worker: poll: %m", vdev->ops->name);
			return NULL;
		}
		__atomic_add_fetch(&vdev->wakeups, 1, __ATOMIC_SEQ_CST);
		if (pfd[n].revents)
			return NULL;
		if (pfd[n + 2].revents && read(vdev->wake_fd, &v, sizeof(v)) < 0)
			log_warn_ratelimited("virtio-%s: worker: wake: %m", vdev->ops->name);
		serve_kicks(vdev, pfd);
		if (pfd[n + 1].fd >= 0 && pfd[n + 1].revents) {
			pthread_mutex_lock(&vdev->lock);
			if (live(vdev) && vdev->ops->poll)
				vdev->ops->poll(vdev);
			pthread_mutex_unlock(&vdev->lock);
		}
		if (pfd[n + 3].fd >= 0 && pfd[n + 3].revents) {
			pthread_mutex_lock(&vdev->lock);
			if (live(vdev))
				vdev->ops->timer(vdev);
			pthread_mutex_unlock(&vdev->lock);
		}
	}
}

int virtio_dev_init(struct virtio_dev *vdev, const struct virtio_dev_ops *ops,
		    const struct guest_mem *mem, struct err **err)
{
	vdev->ops = ops;
	vdev->mem = mem;
	vdev->features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
			 1ull << VIRTIO_F_EVENT_IDX;
	vdev->stop_fd = -1;
	vdev->wake_fd = -1;
	vdev->poll_fd = -1;
	vdev->timer_fd = -1;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vdev->kick_fd[i] = -1;
	pthread_mutex_init(&vdev->lock, NULL);
	vdev->req = malloc(sizeof(*vdev->req));
	if (!vdev->req)
		return err_make(err, ENOMEM, "virtio-%s", ops->name);
	vdev->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (vdev->stop_fd < 0)
		return err_make(err, errno, "virtio-%s: eventfd", ops->name);
	vdev->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->wake_fd < 0)
		return err_make(err, errno, "virtio-%s: eventfd", ops->name);
	for (unsigned i = 0; i < ops->n_queues; i++) {
		vdev->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vdev->kick_fd[i] < 0)
			return err_make(err, errno, "virtio-%s: eventfd", ops->name);
	}
	return 0;
}

int virtio_dev_start(struct virtio_dev *vdev, struct err **err)
{
	sigset_t all, old;
	int r;

	/* The worker takes no signals: SIGUSR2 (snapshot) and the like are the main thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&vdev->worker, NULL, worker_main, vdev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (r)
		return err_make(err, r, "virtio-%s: start worker thread", vdev->ops->name);
	vdev->worker_running = true;
	return 0;
}

void virtio_dev_destroy(struct virtio_dev *vdev)
{
	uint64_t one = 1;

	if (vdev->worker_running && write(vdev->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(vdev->worker, NULL);
	vdev->worker_running = false;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtio_close_fd(&vdev->kick_fd[i]);
	virtio_close_fd(&vdev->stop_fd);
	virtio_close_fd(&vdev->wake_fd);
	free(vdev->req);
	pthread_mutex_destroy(&vdev->lock);
	vdev->ops->destroy(vdev);
}

static void reset(struct virtio_dev *vdev)
{
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&vdev->vq[i]);
	vdev->driver_features = 0;
	__atomic_store_n(&vdev->isr, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&vdev->status, 0, __ATOMIC_SEQ_CST);
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
}

void virtio_dev_set_status(struct virtio_dev *vdev, uint32_t status)
{
	uint32_t old = vdev->status;

	if (status == 0) {
		reset(vdev);
		return;
	}
	status &= 0xff;
	/* FEATURES_OK sticks only for a subset of ours that includes VERSION_1. */
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    ((vdev->driver_features & ~vdev->features) ||
	     !(vdev->driver_features & (1ull << VIRTIO_F_VERSION_1)))) {
		log_debug("virtio-%s: driver features %#llx refused", vdev->ops->name,
			  (unsigned long long)vdev->driver_features);
		status &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	status |= old & VIRTIO_STATUS_NEEDS_RESET;
	__atomic_store_n(&vdev->status, status, __ATOMIC_SEQ_CST);
	/* Live now: the worker may have left poll_fd out of its poll set. */
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    vdev->wake_fd >= 0 && write(vdev->wake_fd, &(uint64_t){1}, sizeof(uint64_t)) < 0)
		log_warn_ratelimited("virtio-%s: wake worker: %m", vdev->ops->name);
}

bool virtio_dev_queue_enable(struct virtio_dev *vdev, unsigned q)
{
	struct virtq *vq = &vdev->vq[q];

	if (!(vdev->status & VIRTIO_STATUS_FEATURES_OK))
		return false;
	vq->indirect = vdev->driver_features & (1ull << VIRTIO_F_INDIRECT_DESC);
	vq->event_idx = vdev->driver_features & (1ull << VIRTIO_F_EVENT_IDX);
	if (virtq_enable(vq, vdev->mem) < 0) {
		log_warn_ratelimited("virtio-%s: queue %u: unusable ring (size %u)",
				     vdev->ops->name, q, vq->size);
		return false;
	}
	return true;
}

void virtio_dev_pause(struct virtio_dev *vdev, bool paused)
{
	pthread_mutex_lock(&vdev->lock);
	__atomic_store_n(&vdev->paused, paused, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vdev->lock);
	if (paused)
		return;
	/* Kicks dropped while paused, and the poll fd, get looked at again. */
	for (unsigned q = 0; q < vdev->ops->n_queues; q++)
		if (vdev->vq[q].ready)
			virtio_dev_kick(vdev, q);
}

/* The SNAP_VIRTIO section: this host's layout, fixed sizes. */
struct vq_state {
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t size, last_avail, used_idx, signalled_used;
	uint8_t ready, signalled_valid, event_idx, indirect;
	uint32_t pad;
};

struct dev_state {
	uint32_t device_id, n_queues;
	uint64_t features, driver_features;
	uint32_t status, isr, config_generation, pad;
	struct vq_state q[VIRTIO_MAX_QUEUES];
};

/* A ring the guest corrupted is saved as not ready: the status says NEEDS_RESET. */
static struct vq_state queue_state(const struct virtq *vq)
{
	return (struct vq_state){
	    .desc_gpa = vq->desc_gpa,
	    .avail_gpa = vq->avail_gpa,
	    .used_gpa = vq->used_gpa,
	    .size = vq->size,
	    .last_avail = vq->last_avail,
	    .used_idx = vq->used_idx,
	    .signalled_used = vq->signalled_used,
	    .ready = vq->ready && !vq->broken,
	    .signalled_valid = vq->signalled_valid,
	    .event_idx = vq->event_idx,
	    .indirect = vq->indirect,
	};
}

int virtio_dev_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
		    struct err **err)
{
	struct dev_state st = {.device_id = vdev->ops->device_id, .n_queues = vdev->ops->n_queues};
	int r = 0;

	pthread_mutex_lock(&vdev->lock);
	st.features = vdev->features;
	st.driver_features = vdev->driver_features;
	st.status = __atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST);
	st.isr = __atomic_load_n(&vdev->isr, __ATOMIC_SEQ_CST);
	st.config_generation = vdev->config_generation;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		st.q[i] = queue_state(&vdev->vq[i]);
	snap_put(w, SNAP_VIRTIO, index, &st, sizeof(st));
	if (vdev->ops->save)
		r = vdev->ops->save(vdev, w, index, err);
	pthread_mutex_unlock(&vdev->lock);
	return r < 0 ? err_wrap(err, "virtio-%s", vdev->ops->name) : 0;
}

static int check_state(const struct virtio_dev *vdev, const struct dev_state *st, struct err **err)
{
	if (st->device_id != vdev->ops->device_id || st->n_queues != vdev->ops->n_queues)
		return err_make(err, EINVAL, "device id %u with %u queues, expected %u with %u",
				st->device_id, st->n_queues, vdev->ops->device_id,
				vdev->ops->n_queues);
	if (st->features != vdev->features || (st->driver_features & ~st->features))
		return err_make(err, EINVAL, "features %#llx/%#llx do not match this device",
				(unsigned long long)st->features,
				(unsigned long long)st->driver_features);
	if (st->status > 0xff || st->isr > (VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG))
		return err_make(err, EINVAL, "status %#x or ISR %#x out of range", st->status,
				st->isr);
	return 0;
}

static int restore_queue(struct virtio_dev *vdev, unsigned i, const struct vq_state *q,
			 struct err **err)
{
	struct virtq *vq = &vdev->vq[i];

	virtq_reset(vq);
	vq->size = q->size;
	vq->desc_gpa = q->desc_gpa;
	vq->avail_gpa = q->avail_gpa;
	vq->used_gpa = q->used_gpa;
	if (!q->ready)
		return 0;
	if (i >= vdev->ops->n_queues || virtq_enable(vq, vdev->mem) < 0) {
		virtq_reset(vq);
		return err_make(err, EINVAL, "queue %u: ring (size %u) outside guest memory", i,
				q->size);
	}
	vq->event_idx = q->event_idx;
	vq->indirect = q->indirect;
	vq->last_avail = q->last_avail;
	vq->used_idx = q->used_idx;
	vq->signalled_used = q->signalled_used;
	vq->signalled_valid = q->signalled_valid;
	return 0;
}

int virtio_dev_restore(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
		       struct err **err)
{
	struct dev_state st;
	int ret = snap_get(r, SNAP_VIRTIO, index, &st, sizeof(st), "virtio", err);

	if (ret >= 0)
		ret = check_state(vdev, &st, err);
	if (ret < 0)
		return err_wrap(err, "virtio-%s", vdev->ops->name);
	pthread_mutex_lock(&vdev->lock);
	vdev->driver_features = st.driver_features;
	vdev->config_generation = st.config_generation;
	for (unsigned i = 0; ret >= 0 && i < VIRTIO_MAX_QUEUES; i++)
		ret = restore_queue(vdev, i, &st.q[i], err);
	if (ret >= 0 && vdev->ops->restore)
		ret = vdev->ops->restore(vdev, r, index, err);
	if (ret >= 0) {
		__atomic_store_n(&vdev->isr, st.isr, __ATOMIC_SEQ_CST);
		__atomic_store_n(&vdev->status, st.status, __ATOMIC_SEQ_CST);
	} else {
		reset(vdev);
	}
	pthread_mutex_unlock(&vdev->lock);
	if (ret < 0)
		return err_wrap(err, "virtio-%s", vdev->ops->name);
	return 0; /* the caller unpauses it: what the guest queued is served then */
}
