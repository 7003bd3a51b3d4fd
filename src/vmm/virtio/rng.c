/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virtio-rng (virtio 1.2 section 5.4): fill each writable buffer from getrandom(2). */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "log.h"
#include "virtio-internal.h"

struct virtio_rng {
	struct virtio_dev vdev;
};

static uint32_t rng_handle(struct virtio_dev *vdev, unsigned q, struct virtq_req *req)
{
	uint32_t done = 0;

	for (unsigned i = req->n_out; i < req->n_out + req->n_in; i++) {
		ssize_t n = getrandom(req->iov[i].iov_base, req->iov[i].iov_len, 0);

		if (n < 0) {
			log_warn_ratelimited("virtio-rng: getrandom: %m");
			break;
		}
		done += n;
		if ((size_t)n < req->iov[i].iov_len)
			break; /* short read: report what we have */
	}
	return done;
}

static void rng_destroy(struct virtio_dev *vdev)
{
	free(vdev); /* vdev is the first member */
}

static const struct virtio_dev_ops rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .n_queues = 1,
    .handle = rng_handle,
    .destroy = rng_destroy,
};

int virtio_rng_create(const struct guest_mem *mem, struct virtio_dev **ret, struct err **err)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	int r;

	if (!rng)
		return err_make(err, ENOMEM, "virtio-rng");
	r = virtio_dev_init(&rng->vdev, &rng_ops, mem, err);
	if (r < 0) {
		virtio_dev_destroy(&rng->vdev);
		return r;
	}
	*ret = &rng->vdev;
	return 0;
}
