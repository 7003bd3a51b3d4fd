/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock (virtio 1.2 section 5.10), stream sockets only, with the host
 * side on Unix sockets the way Firecracker does it:
 *  - the guest connects to host port P: we connect to "<uds>_<P>";
 *  - a host process connects to <uds> and writes "CONNECT <port>\n": we ask
 *    the guest, and answer "OK <local port>\n" once it accepts.
 * Credit-based flow control both ways; every connection has a buffer of
 * VSOCK_BUF_ALLOC bytes for guest data the host socket has not taken yet.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "log.h"
#include "snap-format.h"
#include "virtio-internal.h"
#include "vsock-internal.h"

static struct conn *conn_find(struct virtio_vsock *v, uint32_t guest_port, uint32_t host_port)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct conn *c = &v->conns[i];

		if (c->st != C_FREE && c->guest_port == guest_port && c->host_port == host_port)
			return c;
	}
	return NULL;
}

static struct conn *conn_new(struct virtio_vsock *v, int fd, enum conn_state st)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct conn *c = &v->conns[i];

		if (c->st != C_FREE)
			continue;
		memset(c, 0, sizeof(*c));
		c->st = st;
		c->fd = fd;
		return c; /* the caller's vsock_conn_update() starts the watch */
	}
	return NULL;
}

void vsock_conn_free(struct virtio_vsock *v, struct conn *c)
{
	virtio_close_fd(&c->fd); /* also leaves the epoll set */
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

uint32_t vsock_peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/*
 * Watch the fd for what the connection can use now (level-triggered).  An
 * fd with nothing to wait for leaves the epoll set, since EPOLLHUP cannot be
 * masked and would otherwise wake the worker until the guest catches up.
 */
void vsock_conn_update(struct virtio_vsock *v, struct conn *c)
{
	struct epoll_event ev = {.data.u32 = c - v->conns};

	if (c->fd < 0)
		return;
	if (c->st == C_HOST_CMD || (c->st == C_OPEN && !c->readable && vsock_peer_credit(c)))
		ev.events |= EPOLLIN;
	if (c->buf_len)
		ev.events |= EPOLLOUT;
	if (!ev.events) {
		if (c->watched && epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL) == 0)
			c->watched = false;
	} else if (!c->watched) {
		c->watched = epoll_ctl(v->epfd, EPOLL_CTL_ADD, c->fd, &ev) == 0;
	} else if (ev.events != c->events) {
		epoll_ctl(v->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}
	c->events = ev.events;
}

/* Write buffered guest data to the host socket; returns -1 when the socket is dead. */
int vsock_flush(struct conn *c)
{
	while (c->buf_len) {
		uint32_t chunk = VSOCK_BUF_ALLOC - c->buf_head;
		ssize_t n;

		if (chunk > c->buf_len)
			chunk = c->buf_len;
		n = send(c->fd, c->buf + c->buf_head, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->buf_head = (c->buf_head + n) % VSOCK_BUF_ALLOC;
		c->buf_len -= n;
		c->fwd_cnt += n;
	}
	if (c->fwd_cnt - c->fwd_reported >= VSOCK_BUF_ALLOC / 4)
		c->send_credit = true;
	return 0;
}

/* Guest data for an open connection: buffer it, then write what the socket takes. */
static void guest_rw(struct virtio_vsock *v, struct conn *c, const struct virtq_req *req,
		     uint32_t len)
{
	if (len > req->out_len - VSOCK_HDR_LEN || len > VSOCK_BUF_ALLOC - c->buf_len) {
		log_warn_ratelimited("virtio-vsock: guest port %u overran its credit",
				     c->guest_port);
		c->send_rst = true;
		return;
	}
	if (!c->buf && !(c->buf = malloc(VSOCK_BUF_ALLOC))) {
		c->send_rst = true;
		return;
	}
	for (uint32_t done = 0; done < len;) {
		uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_BUF_ALLOC;
		uint32_t chunk = VSOCK_BUF_ALLOC - tail;

		if (chunk > len - done)
			chunk = len - done;
		virtq_iov_to_buf(req->iov, req->n_out, VSOCK_HDR_LEN + done, c->buf + tail, chunk);
		c->buf_len += chunk;
		done += chunk;
	}
	if (vsock_flush(c) < 0)
		c->send_rst = true;
}

/* The guest connects to host port `port`: connect to "<uds>_<port>". */
static void guest_connect(struct virtio_vsock *v, uint32_t guest_port, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct conn *c;

	if (fd >= 0 && ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds, port) >=
			    sizeof(sa.sun_path) ||
			connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0))
		virtio_close_fd(&fd);
	c = conn_new(v, fd, fd >= 0 ? C_OPEN : C_RST_ONLY);
	if (!c) {
		virtio_close_fd(&fd);
		c = conn_new(v, -1, C_RST_ONLY); /* may fail too: then the guest times out */
		if (!c)
			return;
	}
	c->guest_port = guest_port;
	c->host_port = port;
	if (c->st == C_OPEN)
		c->send_response = true;
	else
		c->send_rst = true;
}

/* One packet from the guest's transmit queue. */
static void guest_packet(struct virtio_vsock *v, const struct vsock_hdr *h,
			 const struct virtq_req *req)
{
	uint32_t src = le32toh(h->src_port), dst = le32toh(h->dst_port);
	uint16_t op = le16toh(h->op);
	struct conn *c = conn_find(v, src, dst);

	if (c) {
		c->peer_buf_alloc = le32toh(h->buf_alloc);
		c->peer_fwd_cnt = le32toh(h->fwd_cnt);
	}
	if (op == VSOCK_OP_REQUEST && !c) {
		guest_connect(v, src, dst);
		c = conn_find(v, src, dst);
		if (c) {
			c->peer_buf_alloc = le32toh(h->buf_alloc);
			c->peer_fwd_cnt = le32toh(h->fwd_cnt);
		}
	} else if (!c) {
		if (op != VSOCK_OP_RST && (c = conn_new(v, -1, C_RST_ONLY))) {
			c->guest_port = src;
			c->host_port = dst;
			c->send_rst = true;
		}
		return;
	} else if (op == VSOCK_OP_RESPONSE && c->st == C_HOST_REQ) {
		char ok[32];
		int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);

		c->st = C_OPEN;
		if (send(c->fd, ok, n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
			c->send_rst = true;
	} else if (op == VSOCK_OP_RST) {
		vsock_conn_free(v, c);
		return;
	} else if (op == VSOCK_OP_SHUTDOWN) {
		c->send_rst = true; /* we close at once: the host sees EOF */
	} else if (op == VSOCK_OP_RW && c->st == C_OPEN) {
		guest_rw(v, c, req, le32toh(h->len));
	} else if (op == VSOCK_OP_CREDIT_REQUEST) {
		c->send_credit = true;
	} else if (op != VSOCK_OP_CREDIT_UPDATE) {
		c->send_rst = true;
	}
	if (c)
		vsock_conn_update(v, c);
}

static uint32_t vsock_handle(struct virtio_dev *vdev, unsigned q, struct virtq_req *req)
{
	struct virtio_vsock *v = (struct virtio_vsock *)vdev;
	struct vsock_hdr h;

	if (q != VSOCK_TXQ || req->out_len < VSOCK_HDR_LEN)
		return 0;
	virtq_iov_to_buf(req->iov, req->n_out, 0, &h, sizeof(h));
	if (le64toh(h.src_cid) != v->cid || le64toh(h.dst_cid) != VSOCK_HOST_CID ||
	    le16toh(h.type) != VSOCK_TYPE_STREAM) {
		log_warn_ratelimited("virtio-vsock: dropped a packet with bad cid or type");
		return 0;
	}
	guest_packet(v, &h, req);
	return 0;
}

static void vsock_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	if (q == VSOCK_TXQ)
		virtio_dev_service_queue(vdev, q);
	if (q != VSOCK_EVQ) {
		__atomic_store_n(&vdev->poll_wanted, true, __ATOMIC_SEQ_CST);
		vsock_rx((struct virtio_vsock *)vdev);
	}
}

static void vsock_reset(struct virtio_dev *vdev)
{
	struct virtio_vsock *v = (struct virtio_vsock *)vdev;

	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i].st != C_FREE)
			vsock_conn_free(v, &v->conns[i]);
	__atomic_store_n(&vdev->poll_wanted, true, __ATOMIC_SEQ_CST);
}

static void vsock_destroy(struct virtio_dev *vdev)
{
	struct virtio_vsock *v = (struct virtio_vsock *)vdev;

	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i].st != C_FREE)
			vsock_conn_free(v, &v->conns[i]);
	if (v->listen_fd >= 0 && v->uds)
		unlink(v->uds);
	virtio_close_fd(&v->listen_fd);
	virtio_close_fd(&v->epfd);
	free(v->uds);
	free(v);
}

static int vsock_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
		      struct err **err);
static int vsock_restore(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
			 struct err **err);

static const struct virtio_dev_ops vsock_ops = {
    .name = "vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .n_queues = 3,
    .handle = vsock_handle,
    .queue_notify = vsock_queue_notify,
    .poll = vsock_poll,
    .reset = vsock_reset,
    .destroy = vsock_destroy,
    .save = vsock_save,
    .restore = vsock_restore,
};

static int vsock_listen(struct virtio_vsock *v, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = VSOCK_LISTENER};

	if (strlen(v->uds) >= sizeof(sa.sun_path) - 12) /* room for "_<port>" */
		return err_make(err, ENAMETOOLONG, "vsock uds `%s`: path too long", v->uds);
	strcpy(sa.sun_path, v->uds);
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (v->epfd < 0 || v->listen_fd < 0)
		return err_make(err, errno, "vsock");
	if (bind(v->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		virtio_close_fd(&v->listen_fd); /* not ours to unlink */
		return err_make(err, e, "vsock uds `%s`", v->uds);
	}
	accept_spare_init();
	if (listen(v->listen_fd, 16) < 0 ||
	    epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->listen_fd, &ev) < 0)
		return err_make(err, errno, "vsock uds `%s`", v->uds);
	return 0;
}

int virtio_vsock_create(const struct guest_mem *mem, uint32_t cid, const char *uds,
			struct virtio_dev **ret, struct err **err)
{
	struct virtio_vsock *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return err_make(err, ENOMEM, "virtio-vsock");
	v->listen_fd = v->epfd = -1;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conns[i].fd = -1;
	v->config.guest_cid = htole64(cid);
	v->cid = cid;
	v->next_local_port = VSOCK_LOCAL_PORT_BASE;
	r = virtio_dev_init(&v->vdev, &vsock_ops, mem, err);
	if (r >= 0 && !(v->uds = strdup(uds)))
		r = err_make(err, ENOMEM, "virtio-vsock");
	if (r >= 0)
		r = vsock_listen(v, err);
	if (r < 0) {
		virtio_dev_destroy(&v->vdev);
		return r;
	}
	v->vdev.config = &v->config;
	v->vdev.config_len = sizeof(v->config);
	v->vdev.poll_fd = v->epfd;
	v->vdev.poll_wanted = true;
	*ret = &v->vdev;
	return 0;
}

/*
 * Snapshot: host sockets cannot be carried over, so the connections the
 * guest knows of are saved by their ports only and reset at restore: the
 * guest gets a RST for each, as if the host had gone away.
 */
struct vsock_saved_conn {
	uint32_t guest_port, host_port;
};

static int vsock_save(struct virtio_dev *vdev, struct snap_writer *w, uint32_t index,
		      struct err **err)
{
	struct virtio_vsock *v = (struct virtio_vsock *)vdev;
	struct vsock_saved_conn saved[VSOCK_MAX_CONNS];
	unsigned n = 0;

	(void)err;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct conn *c = &v->conns[i];

		if (c->st == C_OPEN || c->st == C_CLOSING || c->st == C_HOST_REQ)
			saved[n++] = (struct vsock_saved_conn){c->guest_port, c->host_port};
	}
	snap_put(w, SNAP_VIRTIO_DEV, index, saved, n * sizeof(saved[0]));
	return 0;
}

static int vsock_restore(struct virtio_dev *vdev, const struct snap_reader *r, uint32_t index,
			 struct err **err)
{
	struct virtio_vsock *v = (struct virtio_vsock *)vdev;
	const struct snap_section *s = snap_find(r, SNAP_VIRTIO_DEV, index);
	struct vsock_saved_conn c;

	if (!s || s->len % sizeof(c) || s->len / sizeof(c) > VSOCK_MAX_CONNS)
		return err_make(err, EINVAL, "vsock %u: connection list missing or malformed",
				index);
	for (uint32_t off = 0; off < s->len; off += sizeof(c)) {
		struct conn *nc = conn_new(v, -1, C_RST_ONLY);

		memcpy(&c, s->data + off, sizeof(c));
		if (!nc)
			break;
		nc->guest_port = c.guest_port;
		nc->host_port = c.host_port;
		nc->send_rst = true;
	}
	return 0;
}
