/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device worker (src/vmm/virtio/core.c) with a device whose poll_fd is
 * readable: while the device is not live (NEEDS_RESET) the worker must not
 * watch that fd (it used to spin on it), and once the driver brings the
 * device up again the worker must be woken and serve it.
 */
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fake-vm.h"
#include "tap.h"

static unsigned long polls;

static uint32_t handle(struct virtio_dev *vdev, unsigned q, struct virtq_req *req)
{
	return 0;
}

static void poll_cb(struct virtio_dev *vdev)
{
	uint64_t v;

	__atomic_add_fetch(&polls, 1, __ATOMIC_SEQ_CST);
	if (read(vdev->poll_fd, &v, sizeof(v)) < 0)
		return;
}

static void destroy(struct virtio_dev *vdev)
{
}

static const struct virtio_dev_ops ops = {.name = "test",
					  .device_id = 4,
					  .n_queues = 1,
					  .handle = handle,
					  .poll = poll_cb,
					  .destroy = destroy};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait (bounded, 10 s) until *p > than. */
static bool wait_above(unsigned long *p, unsigned long than)
{
	for (double end = now() + 10; now() < end;) {
		if (__atomic_load_n(p, __ATOMIC_SEQ_CST) > than)
			return true;
		usleep(1000);
	}
	return false;
}

/* Wait (bounded, 10 s) until nothing is left to read on fd. */
static bool wait_drained(int fd)
{
	for (double end = now() + 10; now() < end;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 0) == 0)
			return true;
		usleep(1000);
	}
	return false;
}

int main(void)
{
	struct virtio_dev vdev = {0};
	struct err *err = NULL;
	unsigned long w1, w2;
	int efd;

	mem = (struct guest_mem){.regions = {{MEM_GPA, MEM_SIZE, calloc(1, MEM_SIZE)}}, .nr = 1};
	ok(virtio_dev_init(&vdev, &ops, &mem, &err) == 0, "device init");
	efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK); /* readable from the start */
	vdev.poll_fd = efd;
	vdev.poll_wanted = true;
	vdev.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		      VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET;
	ok(virtio_dev_start(&vdev, &err) == 0, "worker started");

	/* Each kick is one wake-up; a worker spinning on poll_fd adds thousands in between. */
	virtio_dev_kick(&vdev, 0);
	ok(wait_above(&vdev.wakeups, 0), "worker woke for the kick");
	/*
	 * The wake-up is counted before the kick is read: a second kick written in
	 * between would be read with the first (one wake-up for both, as it should).
	 */
	ok(wait_drained(vdev.kick_fd[0]), "worker read the kick");
	w1 = __atomic_load_n(&vdev.wakeups, __ATOMIC_SEQ_CST);
	virtio_dev_kick(&vdev, 0);
	ok(wait_above(&vdev.wakeups, w1), "worker woke for the second kick");
	for (int i = 0; i < 100; i++)
		sched_yield();
	w2 = __atomic_load_n(&vdev.wakeups, __ATOMIC_SEQ_CST);
	ok(w2 - w1 <= 2,
	   "NEEDS_RESET: the readable poll_fd does not wake the worker (%lu wake-ups)", w2 - w1);
	is_int(__atomic_load_n(&polls, __ATOMIC_SEQ_CST), 0, "nor is it served");

	/* The driver resets the device and brings it up again: the worker watches the fd. */
	pthread_mutex_lock(&vdev.lock);
	virtio_dev_set_status(&vdev, 0);
	vdev.driver_features = 1ull << VIRTIO_F_VERSION_1;
	virtio_dev_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					 VIRTIO_STATUS_FEATURES_OK);
	virtio_dev_set_status(&vdev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	pthread_mutex_unlock(&vdev.lock);
	ok(wait_above(&polls, 0), "live again: woken without a kick, poll_fd served");

	virtio_dev_destroy(&vdev);
	close(efd);
	free(mem.regions[0].hva);
	err_free(&err);
	return tap_done();
}
