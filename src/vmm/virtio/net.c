/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-net (virtio 1.2 section 5.1) on a TAP device: one receive and one
 * transmit queue.  The TAP carries the 12-byte virtio_net_hdr_v1 itself
 * (IFF_VNET_HDR, TUNSETVNETHDRSZ), so frames and their checksum/GSO metadata
 * pass through unchanged, which is what makes the offloads honest: the TAP
 * takes partially checksummed and GSO frames from us (CSUM, HOST_TSO4/6,
 * HOST_ECN, HOST_UFO), and hands us such frames only for what the driver
 * accepted (GUEST_*), set with TUNSETOFFLOAD once the driver's features are
 * known.  UFO is offered only when this kernel's TAP takes TUN_F_UFO.
 * MRG_RXBUF spreads a frame over several receive chains.  No multiqueue, no
 * control queue.
 *
 * Rate limits (Firecracker's rx_rate_limiter and tx_rate_limiter): token buckets of
 * bytes (the frame with its virtio_net_hdr, as Firecracker counts) and of frames, each way.  A
 * transmit chain that does not fit stays in the ring; a received frame that does not fit waits in
 * the bounce buffer with the TAP unwatched.  One timerfd brings both back; meanwhile the
 * TAP's queue fills and the kernel drops there, as at a slow link.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "snap-format.h"
#include "netlink.h"
#include "ratelimit.h"
#include "virtio-internal.h"
#include "virtio.h"
#include "vm-config.h"

#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN	9
#define VIRTIO_NET_F_GUEST_UFO	10
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_ECN	13
#define VIRTIO_NET_F_HOST_UFO	14
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_S_LINK_UP	1

#define RXQ		0
#define TXQ		1
#define NET_HDR_LEN	12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define NUM_BUFFERS_OFF 10
#define RX_BUDGET	256
/* A frame as the TAP hands it over: header, 64 KiB of GSO payload, L2 header. */
#define NET_BOUNCE_SIZE (NET_HDR_LEN + 65536 + 32)

struct net_config {
	uint8_t mac[6];
	uint16_t status;
} __attribute__((packed));

/* The chains one merged frame is spread over. */
struct net_rx_chains {
	unsigned n, niov;
	uint16_t head[VIRTQ_MAX_SIZE];
	uint32_t len[VIRTQ_MAX_SIZE];
	uint16_t first[VIRTQ_MAX_SIZE], count[VIRTQ_MAX_SIZE]; /* their part of iov[] */
	struct iovec iov[VIRTQ_MAX_SIZE];
};

struct virtio_net {
	struct virtio_dev vdev;
	int tap;
	struct net_config config;
	uint64_t offload_features; /* driver features the TAP's offloads were set for */
	char ifname[IFNAMSIZ];
	bool detach;	 /* we put an existing TAP into a bridge: take it out at the end */
	uint8_t *bounce; /* MRG_RXBUF: the frame being delivered... */
	size_t pending;	 /* ... and its length, 0 when none */
	bool charged;	 /* the pending frame's tokens are taken */
	struct net_rx_chains rx;
	struct virtio_ratelimit rx_rl, tx_rl;
	int timer;	       /* either limit's wait (made even with none: a PATCH may set one) */
	bool rx_wait, tx_wait; /* held back until the timer fires */
	uint64_t throttled[2]; /* rounds held back, receive and transmit */
};

/* GUEST_* feature bits and the TUNSETOFFLOAD flag each needs. */
static const struct {
	unsigned bit, tun;
} guest_offloads[] = {
    {VIRTIO_NET_F_GUEST_CSUM, TUN_F_CSUM}, {VIRTIO_NET_F_GUEST_TSO4, TUN_F_TSO4},
    {VIRTIO_NET_F_GUEST_TSO6, TUN_F_TSO6}, {VIRTIO_NET_F_GUEST_ECN, TUN_F_TSO_ECN},
    {VIRTIO_NET_F_GUEST_UFO, TUN_F_UFO},
};

/* The TUNSETOFFLOAD flags for a set of accepted driver features. */
static unsigned tun_offloads(uint64_t features)
{
	unsigned flags = 0;

	/* Segmentation offloads need checksum offload (5.1.3.1); the TAP agrees. */
	if (!(features & (1ull << VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	for (size_t i = 0; i < sizeof(guest_offloads) / sizeof(guest_offloads[0]); i++)
		if (features & (1ull << guest_offloads[i].bit))
			flags |= guest_offloads[i].tun;
	return flags;
}

/*
 * Make the TAP hand us only what the driver accepted.  There is no hook for
 * FEATURES_OK, so this runs before the first use of the queues after a
 * (re)negotiation (worker thread, device lock held).
 */
static void sync_offloads(struct virtio_net *n)
{
	uint64_t f = n->vdev.driver_features;

	if (f == n->offload_features)
		return;
	if (ioctl(n->tap, TUNSETOFFLOAD, tun_offloads(f)) < 0)
		log_warn_ratelimited("virtio-net: TUNSETOFFLOAD %#x: %m", tun_offloads(f));
	else
		log_debug("virtio-net: tap offloads %#x for driver features %#llx", tun_offloads(f),
			  (unsigned long long)f);
	n->offload_features = f;
}

/*
 * Take a frame's tokens (`bytes` of it and one frame) from rl, or arm the timer, set *wait
 * and say no.  A timer that cannot be armed lets the frame pass rather than stall the link.
 */
static bool net_take(struct virtio_net *n, struct virtio_ratelimit *rl, uint64_t bytes, bool *wait,
		     unsigned dir)
{
	if (!virtio_rl_hold(rl, bytes, n->timer, "virtio-net"))
		return true;
	*wait = true;
	n->throttled[dir]++;
	return false;
}

/* The transmit limit, before the core hands a chain to net_handle(). */
static bool net_admit(struct virtio_dev *vdev, unsigned q, const struct virtq_req *req)
{
	struct virtio_net *n = (struct virtio_net *)vdev;

	if (q != TXQ)
		return true;
	if (n->tx_wait)
		return false;
	/* As Firecracker counts: the chain with its header, here at most what a frame can be. */
	return net_take(n, &n->tx_rl,
			req->out_len < NET_BOUNCE_SIZE ? req->out_len : NET_BOUNCE_SIZE,
			&n->tx_wait, 1);
}

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

enum rx_result { RX_DONE, RX_TAP_EMPTY, RX_NO_BUFFERS, RX_BROKEN, RX_THROTTLED };

/* One frame straight from the TAP into one chain (no MRG_RXBUF). */
static enum rx_result rx_single(struct virtio_net *n)
{
	struct virtq *vq = &n->vdev.vq[RXQ];
	struct virtq_req *req = n->vdev.req;
	uint16_t one = htole16(1);
	ssize_t len;
	int r = virtq_pop(vq, req);

	if (r == -EIO)
		return RX_BROKEN;
	if (r == -EBADMSG)
		return RX_DONE; /* already returned with length 0 */
	if (r == 0)
		return RX_NO_BUFFERS;
	if (req->in_len < NET_HDR_LEN || req->n_out) {
		virtq_push(vq, req->head, 0); /* unusable buffer */
		return RX_DONE;
	}
	len = readv(n->tap, req->iov, req->n_in);
	if (len < 0) {
		virtq_unpop(vq);
		if (errno != EAGAIN)
			log_warn_ratelimited("virtio-net: read from tap: %m");
		return RX_TAP_EMPTY;
	}
	virtq_buf_to_iov(req->iov, req->n_in, NUM_BUFFERS_OFF, &one, 2);
	virtq_mark_written(vq, req->iov, req->n_in);
	virtq_push(vq, req->head, len);
	return RX_DONE;
}

/*
 * Pop chains until they hold `need` bytes; their heads, lengths and iovecs
 * go to n->rx.  0 when enough, else RX_NO_BUFFERS (all given back),
 * RX_BROKEN, or -E2BIG when the ring cannot hold the frame at all.
 */
static int rx_gather(struct virtio_net *n, size_t need)
{
	struct virtq *vq = &n->vdev.vq[RXQ];
	struct virtq_req *req = n->vdev.req;
	struct net_rx_chains *c = &n->rx;
	size_t have = 0;
	int r;

	c->n = c->niov = 0;
	while (have < need) {
		r = virtq_pop(vq, req);
		if (r == -EIO)
			return RX_BROKEN;
		if (r == -EBADMSG || (r == 1 && (req->n_out || req->in_len < NET_HDR_LEN))) {
			/*
			 * A malformed or unusable chain is returned empty; the ones
			 * before it can no longer be given back with virtq_unpop(),
			 * so they go back empty as well and gathering starts again.
			 */
			if (r == 1)
				virtq_push(vq, req->head, 0);
			for (unsigned i = 0; i < c->n; i++)
				virtq_push(vq, c->head[i], 0);
			c->n = c->niov = 0;
			have = 0;
			continue;
		}
		if (r == 1 && c->niov + req->n_in <= VIRTQ_MAX_SIZE && c->n < vq->size) {
			c->head[c->n] = req->head;
			c->len[c->n] = req->in_len;
			c->first[c->n] = c->niov;
			c->count[c->n++] = req->n_in;
			memcpy(c->iov + c->niov, req->iov, req->n_in * sizeof(*req->iov));
			c->niov += req->n_in;
			have += req->in_len;
			continue;
		}
		if (r == 1)
			virtq_unpop(vq);
		for (unsigned i = 0; i < c->n; i++)
			virtq_unpop(vq);
		/* A ring wholly gathered that still falls short never will do. */
		return r == 0 && c->n < vq->num ? RX_NO_BUFFERS : -E2BIG;
	}
	return 0;
}

/*
 * The bounced frame into one chain (no MRG_RXBUF, under a receive limit): a chain too
 * small for it is returned empty and the frame dropped, as the driver broke 5.1.6.3.1.
 */
static enum rx_result rx_one(struct virtio_net *n)
{
	struct virtq *vq = &n->vdev.vq[RXQ];
	struct virtq_req *req = n->vdev.req;
	int r = virtq_pop(vq, req);

	if (r == -EIO)
		return RX_BROKEN;
	if (r == -EBADMSG)
		return RX_DONE;
	if (r == 0)
		return RX_NO_BUFFERS;
	if (req->n_out || req->in_len < n->pending) {
		log_warn_ratelimited("virtio-net: %zu-byte frame dropped: receive buffer too small",
				     n->pending);
		virtq_push(vq, req->head, 0);
		n->pending = 0;
		return RX_DONE;
	}
	*(uint16_t *)(n->bounce + NUM_BUFFERS_OFF) = htole16(1);
	virtq_buf_to_iov(req->iov, req->n_in, 0, n->bounce, n->pending);
	virtq_mark_written(vq, req->iov, req->n_in);
	virtq_push(vq, req->head, n->pending);
	n->pending = 0;
	return RX_DONE;
}

/*
 * MRG_RXBUF: the frame is read into a bounce buffer first (the TAP does not
 * tell the next frame's size), then spread over as many chains as it needs;
 * num_buffers says how many.  A frame waits there while the guest has too
 * few buffers posted; one larger than its whole ring is dropped.  Under a
 * receive limit, a frame waits there for its tokens too (and goes into one
 * chain without MRG_RXBUF).
 */
static enum rx_result rx_bounced(struct virtio_net *n, bool merge)
{
	struct net_rx_chains *c = &n->rx;
	size_t off = 0;
	ssize_t len;
	int r;

	if (!n->pending) {
		len = read(n->tap, n->bounce, NET_BOUNCE_SIZE);
		if (len < 0 && errno != EAGAIN)
			log_warn_ratelimited("virtio-net: read from tap: %m");
		if (len < NET_HDR_LEN)
			return RX_TAP_EMPTY;
		n->pending = len;
		n->charged = false;
	}
	if (!n->charged) {
		if (!net_take(n, &n->rx_rl, n->pending, &n->rx_wait, 0))
			return RX_THROTTLED;
		n->charged = true;
	}
	if (!merge)
		return rx_one(n);
	r = rx_gather(n, n->pending);
	if (r == -E2BIG) {
		log_warn_ratelimited(
		    "virtio-net: %zu-byte frame dropped: receive buffers too small", n->pending);
		n->pending = 0;
		return RX_DONE;
	}
	if (r)
		return r;
	*(uint16_t *)(n->bounce + NUM_BUFFERS_OFF) = htole16(c->n);
	for (unsigned i = 0; i < c->n; i++) {
		uint32_t l = c->len[i] < n->pending - off ? c->len[i] : n->pending - off;

		virtq_buf_to_iov(c->iov + c->first[i], c->count[i], 0, n->bounce + off, l);
		virtq_mark_written(&n->vdev.vq[RXQ], c->iov + c->first[i], c->count[i]);
		virtq_push(&n->vdev.vq[RXQ], c->head[i], l);
		off += l;
	}
	n->pending = 0;
	return RX_DONE;
}

/* Receive frames into the guest's buffers until either side runs dry. */
static void net_rx(struct virtio_dev *vdev)
{
	struct virtio_net *n = (struct virtio_net *)vdev;
	bool merge = vdev->driver_features & (1ull << VIRTIO_NET_F_MRG_RXBUF);
	bool bounce = merge || virtio_rl_active(&n->rx_rl) || n->pending;
	unsigned done = 0;

	if (n->rx_wait)
		return; /* the timer comes back */
	while (done < RX_BUDGET) {
		enum rx_result r = bounce ? rx_bounced(n, merge) : rx_single(n);

		if (r == RX_BROKEN) {
			virtio_dev_needs_reset(vdev);
			break;
		}
		if (r == RX_TAP_EMPTY)
			break;
		if (r == RX_THROTTLED) {
			/* The TAP's frames wait in the kernel (and drop there) meanwhile. */
			__atomic_store_n(&vdev->poll_wanted, false, __ATOMIC_SEQ_CST);
			break;
		}
		if (r == RX_NO_BUFFERS) {
			/* Stop watching the TAP until the guest adds buffers. */
			__atomic_store_n(&vdev->poll_wanted, false, __ATOMIC_SEQ_CST);
			if (!virtq_enable_notify(&vdev->vq[RXQ]))
				break;
			__atomic_store_n(&vdev->poll_wanted, true, __ATOMIC_SEQ_CST);
			continue;
		}
		done++;
	}
	if (done)
		virtio_dev_notify_used(vdev, RXQ);
}

static void net_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_net *n = (struct virtio_net *)vdev;

	sync_offloads(n);
	if (q == TXQ) {
		if (!n->tx_wait)
			virtio_dev_service_queue(vdev, q);
		return;
	}
	if (n->rx_wait)
		return;
	virtq_disable_notify(&vdev->vq[RXQ]);
	__atomic_store_n(&vdev->poll_wanted, true, __ATOMIC_SEQ_CST);
	net_rx(vdev);
}

/* The rate-limit timer fired (worker thread, lock held): what waited tries again. */
static void net_timer(struct virtio_dev *vdev)
{
	struct virtio_net *n = (struct virtio_net *)vdev;
	uint64_t ticks;

	/* Read or not (virtio_rl_arm() may have taken it): every waiter tries again. */
	if (read(n->timer, &ticks, sizeof(ticks)) < 0 && !n->tx_wait && !n->rx_wait)
		return;
	sync_offloads(n);
	if (n->tx_wait) {
		n->tx_wait = false;
		virtio_dev_service_queue(vdev, TXQ);
	}
	if (n->rx_wait) {
		n->rx_wait = false;
		__atomic_store_n(&vdev->poll_wanted, true, __ATOMIC_SEQ_CST);
		net_rx(vdev);
	}
}

/* Nothing held back by a limit any more: the timer is off. */
static void net_unthrottle(struct virtio_net *n)
{
	virtio_rl_disarm(n->timer);
	n->rx_wait = n->tx_wait = false;
}

static void net_reset(struct virtio_dev *vdev)
{
	struct virtio_net *n = (struct virtio_net *)vdev;

	__atomic_store_n(&vdev->poll_wanted, false, __ATOMIC_SEQ_CST);
	sync_offloads(n); /* driver_features is 0 again */
	net_unthrottle(n);
	n->pending = 0;
}

/*
 * After a restore or an incoming migration the guest is reachable through
 * another TAP, often on another host: bridges and switches still send its
 * frames to the old port until it transmits, and a guest that only answers
 * (a server) may stay silent.  So the VMM sends RARP frames from the guest's
 * MAC (RFC 903 "request reverse", ethertype 0x8035, as hypervisors announce a
 * moved guest), which every learning bridge on the way takes as the MAC's new
 * place.  Three back to back: one lost frame must not leave the guest unheard.
 */
#define ETH_P_RARP   0x8035
#define RARP_FRAMES  3
#define RARP_OP_RREQ 3

static void net_resumed(struct virtio_dev *vdev)
{
	struct virtio_net *n = (struct virtio_net *)vdev;
	uint8_t f[NET_HDR_LEN + 60] = {0}; /* header (no offload), minimum Ethernet frame */
	uint8_t *e = f + NET_HDR_LEN, *a = e + 14;

	memset(e, 0xff, 6);
	memcpy(e + 6, n->config.mac, 6);
	e[12] = ETH_P_RARP >> 8;
	e[13] = ETH_P_RARP & 0xff;
	a[1] = 1;    /* hardware: Ethernet */
	a[2] = 0x08; /* protocol: IPv4 */
	a[4] = 6;    /* hardware address length */
	a[5] = 4;    /* protocol address length */
	a[7] = RARP_OP_RREQ;
	memcpy(a + 8, n->config.mac, 6);  /* sender: the guest, IP unknown (0) */
	memcpy(a + 18, n->config.mac, 6); /* target: likewise */
	for (unsigned i = 0; i < RARP_FRAMES; i++)
		if (write(n->tap, f, sizeof(f)) < 0) {
			log_warn_ratelimited("virtio-net: announce on tap `%s`: %m", n->ifname);
			return;
		}
	log_debug("virtio-net: guest MAC announced on tap `%s`", n->ifname);
}

static void net_destroy(struct virtio_dev *vdev)
{
	struct virtio_net *n = (struct virtio_net *)vdev;
	_cleanup_err_ struct err *err = NULL;

	/* A TAP we created goes away with its fd; one we only borrowed leaves the bridge. */
	if (n->detach && virtio_nl_detach(n->ifname, &err) < 0)
		log_warn("virtio-net: %s", err->msg);
	if (virtio_rl_active(&n->rx_rl) || virtio_rl_active(&n->tx_rl))
		log_debug("virtio-net: rate limits held back %llu receive and %llu transmit rounds",
			  (unsigned long long)n->throttled[0], (unsigned long long)n->throttled[1]);
	virtio_close_fd(&n->timer);
	virtio_close_fd(&n->tap);
	free(n->bounce);
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
    .admit = net_admit,
    .poll = net_rx,
    .timer = net_timer,
    .reset = net_reset,
    .destroy = net_destroy,
    .resumed = net_resumed,
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

/*
 * The offload features to offer: the TAP takes checksum-partial and GSO
 * frames (TSO4/6, ECN) from us whatever TUNSETOFFLOAD says; which receive
 * offloads it can give us is probed (UFO is refused by some kernels).
 */
static uint64_t offered_offloads(int tap)
{
	uint64_t f = 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_HOST_TSO4 |
		     1ull << VIRTIO_NET_F_HOST_TSO6 | 1ull << VIRTIO_NET_F_HOST_ECN;
	unsigned all = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

	if (ioctl(tap, TUNSETOFFLOAD, all | TUN_F_UFO) == 0) {
		f |= 1ull << VIRTIO_NET_F_HOST_UFO;
		all |= TUN_F_UFO;
	} else if (ioctl(tap, TUNSETOFFLOAD, all) < 0) {
		return 0; /* no offloads at all */
	}
	for (size_t i = 0; i < sizeof(guest_offloads) / sizeof(guest_offloads[0]); i++)
		if (all & guest_offloads[i].tun)
			f |= 1ull << guest_offloads[i].bit;
	if (ioctl(tap, TUNSETOFFLOAD, 0) < 0)
		return 0;
	return f;
}

/*
 * `--net ...,bridge=BR`: the TAP joins the bridge and goes up.  A TAP we
 * created gets a random MAC starting with 0xfe first, as libvirt gives its
 * TAPs: a Linux bridge without an address of its own takes its ports' lowest
 * MAC, so a lower TAP MAC would change the bridge's own (the gateway's) MAC
 * under every neighbour's ARP cache when the VM comes -- and again when it
 * goes.  A bridge's ports should not move its address.
 */
static int bridge(struct virtio_net *n, const struct vm_net_cfg *cfg, bool created,
		  struct err **err)
{
	uint8_t mac[6] = {0xfe};
	int r;

	if (created && getrandom(mac + 1, 5, 0) != 5)
		return err_make(err, errno, "net: a MAC for tap `%s`", cfg->tap);
	r = virtio_nl_attach(cfg->tap, cfg->bridge, created ? mac : NULL, err);

	if (r < 0)
		return r;
	n->detach = !created;
	log_debug("virtio-net: tap `%s` (%s) attached to bridge `%s`", cfg->tap,
		  created ? "created" : "existing", cfg->bridge);
	return 0;
}

int virtio_net_create(const struct guest_mem *mem, const struct vm_net_cfg *cfg,
		      struct virtio_dev **ret, struct err **err)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	bool created;
	int r;

	if (!n)
		return err_make(err, ENOMEM, "virtio-net");
	n->tap = n->timer = -1;
	snprintf(n->ifname, sizeof(n->ifname), "%s", cfg->tap);
	created = if_nametoindex(cfg->tap) == 0;
	r = virtio_dev_init(&n->vdev, &net_ops, mem, err);
	if (r >= 0)
		r = n->tap = tap_open(cfg->tap, err);
	if (r >= 0 && cfg->bridge)
		r = bridge(n, cfg, created, err);
	if (r >= 0 && !(n->bounce = malloc(NET_BOUNCE_SIZE)))
		r = err_make(err, ENOMEM, "virtio-net");
	/* The timer exists without a limit too: PATCH /network-interfaces may set one. */
	if (r >= 0 && (n->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
		r = err_make(err, errno, "net: tap `%s`: rate-limit timer", cfg->tap);
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
	n->vdev.features |= 1ull << VIRTIO_NET_F_MRG_RXBUF;
	if (!cfg->no_offload)
		n->vdev.features |= offered_offloads(n->tap);
	virtio_rl_init(&n->rx_rl, &cfg->rx_bw, &cfg->rx_ops, virtio_rl_now());
	virtio_rl_init(&n->tx_rl, &cfg->tx_bw, &cfg->tx_ops, virtio_rl_now());
	n->vdev.poll_fd = n->tap;
	n->vdev.timer_fd = n->timer;
	*ret = &n->vdev;
	return 0;
}

int virtio_net_update(struct virtio_dev *vdev, const struct vm_net_cfg *cfg, unsigned which,
		      struct err **err)
{
	struct virtio_net *n = (struct virtio_net *)vdev;
	uint64_t now = virtio_rl_now();
	bool was_rx, was_tx;

	if (vdev->ops != &net_ops)
		return err_make(err, ENODEV, "not a virtio-net device");
	pthread_mutex_lock(&vdev->lock);
	virtio_rl_set(&n->rx_rl, which & VIRTIO_NET_RL_RX_BW ? &cfg->rx_bw : NULL,
		      which & VIRTIO_NET_RL_RX_OPS ? &cfg->rx_ops : NULL, now);
	virtio_rl_set(&n->tx_rl, which & VIRTIO_NET_RL_TX_BW ? &cfg->tx_bw : NULL,
		      which & VIRTIO_NET_RL_TX_OPS ? &cfg->tx_ops : NULL, now);
	/* What waited tries again under the new limits (the old wait may be far off). */
	was_rx = n->rx_wait;
	was_tx = n->tx_wait;
	net_unthrottle(n);
	if (was_rx) {
		__atomic_store_n(&vdev->poll_wanted, true, __ATOMIC_SEQ_CST);
		virtio_dev_kick(vdev, RXQ);
	}
	if (was_tx)
		virtio_dev_kick(vdev, TXQ);
	pthread_mutex_unlock(&vdev->lock);
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
