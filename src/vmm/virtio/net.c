/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net (virtio 1.2 section 5.1) on a TAP device: one receive and one
 * transmit queue.  The TAP carries the 12-byte virtio_net_hdr itself
 * (IFF_VNET_HDR), so frames pass through unchanged.  No offloads are offered
 * (no CSUM, no GSO, no MRG_RXBUF): the guest sends complete, checksummed
 * frames, and TUNSETOFFLOAD 0 makes the kernel hand us the same.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "../snapshot/format.h"
#include "virtio-internal.h"
#include "vm-config.h"

#define VIRTIO_NET_F_MAC     5
#define VIRTIO_NET_F_STATUS  16
#define VIRTIO_NET_S_LINK_UP 1

#define RXQ		0
#define TXQ		1
#define NET_HDR_LEN	12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define NUM_BUFFERS_OFF 10
#define RX_BUDGET	256

struct net_config {
	uint8_t mac[6];
	uint16_t status;
} __attribute__((packed));

struct virtio_net {
	struct virtio_dev vdev;
	int tap;
	struct net_config config;
};

/* Transmit: the readable buffers are header + frame, exactly what the TAP takes. */
static uint32_t net_handle(struct virtio_dev *vdev, unsigned q, struct virtq_req *req)
{
	struct virtio_net *n = (struct virtio_net *)vdev;

	if (q != TXQ || req->out_len < NET_HDR_LEN)
		return 0;
	if (writev(n->tap, req->iov, req->n_out) < 0)
		log_warn_ratelimited("virtio-net: write to tap: %m"); /* the frame is dropped */
	return 0;
}

/* Receive frames into the guest's buffers until either side runs dry. */
static void net_rx(struct virtio_dev *vdev)
{
	struct virtio_net *n = (struct virtio_net *)vdev;
	struct virtq *vq = &vdev->vq[RXQ];
	uint16_t one = htole16(1);
	unsigned done = 0;
	ssize_t len;
	int r;

	while (done < RX_BUDGET) {
		r = virtq_pop(vq, vdev->req);
		if (r == -EIO) {
			virtio_dev_needs_reset(vdev);
			break;
		}
		if (r == -EBADMSG) {
			done++; /* already returned with length 0 */
			continue;
		}
		if (r == 0) {
			/* No buffers: stop watching the TAP until the guest adds some. */
			__atomic_store_n(&vdev->poll_wanted, false, __ATOMIC_SEQ_CST);
			if (!virtq_enable_notify(vq))
				break;
			__atomic_store_n(&vdev->poll_wanted, true, __ATOMIC_SEQ_CST);
			continue;
		}
		if (vdev->req->in_len < NET_HDR_LEN || vdev->req->n_out) {
			virtq_push(vq, vdev->req->head, 0); /* unusable buffer */
			done++;
			continue;
		}
		len = readv(n->tap, vdev->req->iov + vdev->req->n_out, vdev->req->n_in);
		if (len < 0) {
			virtq_unpop(vq);
			if (errno != EAGAIN)
				log_warn_ratelimited("virtio-net: read from tap: %m");
			break;
		}
		virtq_buf_to_iov(vdev->req->iov, vdev->req->n_in, NUM_BUFFERS_OFF, &one, 2);
		virtq_push(vq, vdev->req->head, len);
		done++;
	}
	if (done)
		virtio_dev_notify_used(vdev, RXQ);
}

static void net_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	if (q == TXQ) {
		virtio_dev_service_queue(vdev, q);
		return;
	}
	virtq_disable_notify(&vdev->vq[RXQ]);
	__atomic_store_n(&vdev->poll_wanted, true, __ATOMIC_SEQ_CST);
	net_rx(vdev);
}

static void net_reset(struct virtio_dev *vdev)
{
	__atomic_store_n(&vdev->poll_wanted, false, __ATOMIC_SEQ_CST);
}

static void net_destroy(struct virtio_dev *vdev)
{
	struct virtio_net *n = (struct virtio_net *)vdev;

	virtio_close_fd(&n->tap);
	free(n);
}

static int net_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
		    struct err **err);
static int net_restore(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
		       struct err **err);

static const struct virtio_dev_ops net_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .n_queues = 2,
    .handle = net_handle,
    .queue_notify = net_queue_notify,
    .poll = net_rx,
    .reset = net_reset,
    .destroy = net_destroy,
    .save = net_save,
    .restore = net_restore,
};

/* Attach to the TAP `name`, creating it if it does not exist. */
static int tap_open(const char *name, struct err **err)
{
	_cleanup_close_ int fd = -1;
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int hdr = NET_HDR_LEN;

	if (strlen(name) >= IFNAMSIZ)
		return err_make(err, EINVAL, "net: tap name `%s` longer than %d bytes", name,
				IFNAMSIZ - 1);
	strcpy(ifr.ifr_name, name);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_make(err, errno, "open `/dev/net/tun`");
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return err_make(err, errno, "net: tap `%s`", name);
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(fd, TUNSETOFFLOAD, 0) < 0)
		return err_make(err, errno, "net: tap `%s`: vnet header", name);
	return TAKE_FD(fd);
}

int virtio_net_create(const struct guest_mem *mem, const struct vm_net_cfg *cfg,
		      struct virtio_dev **ret, struct err **err)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return err_make(err, ENOMEM, "virtio-net");
	n->tap = -1;
	r = virtio_dev_init(&n->vdev, &net_ops, mem, err);
	if (r >= 0)
		r = n->tap = tap_open(cfg->tap, err);
	if (r < 0) {
		virtio_dev_destroy(&n->vdev);
		return r;
	}
	if (cfg->has_mac) {
		memcpy(n->config.mac, cfg->mac, 6);
	} else if (getrandom(n->config.mac, 6, 0) == 6) {
		n->config.mac[0] = (n->config.mac[0] & 0xfe) | 0x02; /* local, unicast */
	} else {
		memcpy(n->config.mac, "\x02\x00\x00\x00\x00\x01", 6);
	}
	n->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->vdev.config = &n->config;
	n->vdev.config_len = sizeof(n->config);
	n->vdev.features |= 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS;
	n->vdev.poll_fd = n->tap;
	*ret = &n->vdev;
	return 0;
}

/* Snapshot: the config space, so a MAC chosen at random stays the guest's. */
static int net_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
		    struct err **err)
{
	(void)err;
	snap_put(w, SNAP_VIRTIO_DEV, index, &((struct virtio_net *)vdev)->config,
		 sizeof(struct net_config));
	return 0;
}

static int net_restore(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
		       struct err **err)
{
	struct virtio_net *n = (struct virtio_net *)vdev;
	struct net_config c;
	int ret = snap_get(r, SNAP_VIRTIO_DEV, index, &c, sizeof(c), "net", err);

	if (ret < 0)
		return ret;
	memcpy(n->config.mac, c.mac, sizeof(c.mac)); /* the link status is this host's */
	return 0;
}
