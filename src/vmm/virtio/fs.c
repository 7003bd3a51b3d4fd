/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-fs (virtio 1.2 section 5.11): a host directory shared live with
 * the guest, served by the in-process FUSE server (fuse-server.c) on the
 * device's worker thread; no virtiofsd.  Queue 0 is the high-priority
 * queue (FORGET, BATCH_FORGET, INTERRUPT), queue 1 the one request queue.
 * No DAX window, no notification queue.  The inode table is host state, so
 * a VM whose guest drives a share refuses snapshots and migration.  A device
 * no driver has taken yet (status ACKNOWLEDGE at most: the bus found it, no
 * virtiofs driver bound) holds nothing the guest knows of: it is saved like
 * any device, and a restore may point it at another directory (--fs-remap):
 * a template VM's share for the container that its clone becomes.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse-internal.h"
#include "log.h"
#include "snap-format.h"
#include "virtio-internal.h"
#include "vm-config.h"

struct fs_config {
	char tag[36];
	uint32_t num_request_queues;
} __attribute__((packed));

struct virtio_fs {
	struct virtio_dev vdev;
	struct fs_config config;
	struct fuse_srv *srv;
	uint8_t *in, *out; /* one request and its reply, FUSE_MAX_MSG each */
};

/*
 * One FUSE request: the device-readable part copied to a buffer (at most
 * FUSE_MAX_MSG; a longer one fails in the server, its header's length
 * being past what was copied), the reply copied back into the writable
 * part, bounded by it.
 */
static uint32_t fs_handle(struct virtio_dev *vdev, unsigned q, struct virtq_req *req)
{
	struct virtio_fs *fs = (struct virtio_fs *)vdev;
	size_t in_len = req->out_len < FUSE_MAX_MSG ? req->out_len : FUSE_MAX_MSG;
	size_t cap = req->in_len < FUSE_MAX_MSG ? req->in_len : FUSE_MAX_MSG;
	size_t n;

	in_len = virtq_iov_to_buf(req->iov, req->n_out, 0, fs->in, in_len);
	n = fuse_srv_handle(fs->srv, fs->in, in_len, fs->out, cap);
	if (!n)
		return 0;
	/* The core marks the writable part dirty once the request completes. */
	return virtq_buf_to_iov(req->iov + req->n_out, req->n_in, 0, fs->out, n);
}

/* A driver reset (module unloaded, kexec): the guest holds no inode any more. */
static void fs_reset(struct virtio_dev *vdev)
{
	fuse_srv_reset(((struct virtio_fs *)vdev)->srv);
}

static int fs_can_save(struct virtio_dev *vdev, struct err **err)
{
	uint32_t st = __atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST);

	if (!(st & ~(uint32_t)VIRTIO_STATUS_ACKNOWLEDGE))
		return 0;
	return err_make(err, EOPNOTSUPP,
			"virtio-fs `%s`: the guest's driver uses the share and its open files are "
			"host state; a VM whose guest drives a share cannot be snapshotted or "
			"migrated",
			((struct virtio_fs *)vdev)->config.tag);
}

/* Nothing beyond the generic state: a device no driver took has no FUSE session. */
static int fs_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index, struct err **err)
{
	(void)w;
	(void)index;
	return fs_can_save(vdev, err);
}

static void fs_destroy(struct virtio_dev *vdev)
{
	struct virtio_fs *fs = (struct virtio_fs *)vdev;

	fuse_srv_free(fs->srv);
	free(fs->in);
	free(fs->out);
	free(fs);
}

static const struct virtio_dev_ops fs_ops = {
    .name = "fs",
    .device_id = VIRTIO_ID_FS,
    .n_queues = 2,
    .handle = fs_handle,
    .reset = fs_reset,
    .save = fs_save,
    .can_save = fs_can_save,
    .destroy = fs_destroy,
};

int virtio_fs_create(const struct guest_mem *mem, const struct vm_fs_cfg *cfg,
		     struct virtio_dev **ret, struct err **err)
{
	struct virtio_fs *fs = calloc(1, sizeof(*fs));
	int dfd, r;

	if (!fs)
		return err_make(err, ENOMEM, "virtio-fs");
	r = virtio_dev_init(&fs->vdev, &fs_ops, mem, err);
	if (r < 0)
		goto fail;
	dfd = open(cfg->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = err_make(err, errno, "--fs tag=%s: path `%s`", cfg->tag, cfg->path);
		goto fail;
	}
	r = fuse_srv_new(dfd, cfg->readonly, 0, &fs->srv, err);
	if (r < 0)
		goto fail;
	fs->in = malloc(FUSE_MAX_MSG);
	fs->out = malloc(FUSE_MAX_MSG);
	if (!fs->in || !fs->out) {
		r = err_make(err, ENOMEM, "virtio-fs");
		goto fail;
	}
	memcpy(fs->config.tag, cfg->tag, strnlen(cfg->tag, sizeof(fs->config.tag)));
	fs->config.num_request_queues = htole32(1);
	fs->vdev.config = &fs->config;
	fs->vdev.config_len = sizeof(fs->config);
	/* Bounded chains: a request or reply larger than this is never read whole. */
	for (unsigned q = 0; q < 2; q++)
		fs->vdev.vq[q].max_chain_bytes = 2 * FUSE_MAX_MSG;
	*ret = &fs->vdev;
	return 0;
fail:
	virtio_dev_destroy(&fs->vdev);
	return r;
}
