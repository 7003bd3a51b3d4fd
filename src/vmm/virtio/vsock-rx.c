/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock, host to guest: the host-side sockets (epoll), the
 * "CONNECT <port>" handshake, and packets into the guest's receive queue.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "log.h"
#include "parse.h"
#include "vsock-internal.h"

static bool has_work(const struct conn *c)
{
	if (c->st == C_FREE)
		return false;
	if (c->send_rst || c->send_request || c->send_response || c->send_credit ||
	    c->send_shutdown)
		return true;
	return c->st == C_OPEN && c->readable && vsock_peer_credit(c);
}

/* The control packet a connection owes the guest, or 0. */
static uint16_t pending_op(struct conn *c)
{
	if (c->send_rst)
		return VSOCK_OP_RST;
	if (c->send_request)
		return VSOCK_OP_REQUEST;
	if (c->send_response)
		return VSOCK_OP_RESPONSE;
	if (c->send_shutdown)
		return VSOCK_OP_SHUTDOWN;
	if (c->send_credit)
		return VSOCK_OP_CREDIT_UPDATE;
	return 0;
}

/* Read socket data into the buffer after the header; 0 when nothing was there. */
static uint32_t read_payload(struct conn *c, const struct virtq_req *req, uint16_t *op)
{
	struct iovec iov[VIRTQ_MAX_SIZE];
	size_t want = req->in_len - VSOCK_HDR_LEN, skip = VSOCK_HDR_LEN;
	unsigned n = 0;
	ssize_t got;

	if (want > vsock_peer_credit(c))
		want = vsock_peer_credit(c);
	if (want > VSOCK_RX_CHUNK)
		want = VSOCK_RX_CHUNK;
	for (unsigned i = req->n_out; i < req->n_out + req->n_in && want; i++) {
		size_t l = req->iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > want)
			l = want;
		iov[n++] = (struct iovec){(uint8_t *)req->iov[i].iov_base + skip, l};
		want -= l;
		skip = 0;
	}
	got = readv(c->fd, iov, n);
	if (got > 0) {
		*op = VSOCK_OP_RW;
		c->tx_cnt += got;
		return got;
	}
	c->readable = false;
	if (got == 0 || errno != EAGAIN) {
		*op = VSOCK_OP_SHUTDOWN; /* EOF or error: no more to send, nor to take */
		return 0;
	}
	return 0;
}

/* Build one packet for c into req; false when there turned out to be nothing to send. */
static bool fill(struct virtio_vsock *v, struct conn *c, struct virtq_req *req, uint32_t *ret_len)
{
	struct vsock_hdr h = {0};
	uint16_t op = pending_op(c);
	uint32_t len = 0;

	if (!op) {
		len = read_payload(c, req, &op);
		if (!op)
			return false;
	}
	h.src_cid = htole64(VSOCK_HOST_CID);
	h.dst_cid = htole64(v->cid);
	h.src_port = htole32(c->host_port);
	h.dst_port = htole32(c->guest_port);
	h.len = htole32(len);
	h.type = htole16(VSOCK_TYPE_STREAM);
	h.op = htole16(op);
	h.flags = htole32(op == VSOCK_OP_SHUTDOWN ? 3 : 0); /* no more receive, no more send */
	h.buf_alloc = htole32(VSOCK_BUF_ALLOC);
	h.fwd_cnt = htole32(c->fwd_cnt);
	c->fwd_reported = c->fwd_cnt;
	virtq_buf_to_iov(req->iov + req->n_out, req->n_in, 0, &h, sizeof(h));
	*ret_len = VSOCK_HDR_LEN + len;
	if (op == VSOCK_OP_RST)
		vsock_conn_free(v, c);
	else if (op == VSOCK_OP_SHUTDOWN)
		c->send_shutdown = false, c->st = C_CLOSING;
	c->send_request = c->send_response = c->send_credit = false;
	/* Nothing more goes either way: drop the socket (and its epoll watch) now. */
	if (op == VSOCK_OP_SHUTDOWN)
		virtio_close_fd(&c->fd); /* the guest answers with RST; then we free */
	return true;
}

static struct conn *next_with_work(struct virtio_vsock *v)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (has_work(&v->conns[i]))
			return &v->conns[i];
	return NULL;
}

void vsock_rx(struct virtio_vsock *v)
{
	struct virtq *vq = &v->vdev.vq[VSOCK_RXQ];
	struct virtq_req *req = v->vdev.req;
	unsigned pushed = 0;
	struct conn *c;
	uint32_t len;
	int r;

	while (vq->ready && (c = next_with_work(v)) && pushed < VIRTQ_MAX_SIZE) {
		r = virtq_pop(vq, req);
		if (r == -EIO) {
			virtio_dev_needs_reset(&v->vdev);
			break;
		}
		if (r == -EBADMSG) {
			pushed++;
			continue;
		}
		if (r == 0) {
			if (virtq_enable_notify(vq))
				continue;
			/* No buffers: the guest's next kick on the receive queue resumes us. */
			__atomic_store_n(&v->vdev.poll_wanted, false, __ATOMIC_SEQ_CST);
			break;
		}
		if (req->n_out || req->in_len < VSOCK_HDR_LEN || !fill(v, c, req, &len)) {
			if (req->n_out || req->in_len < VSOCK_HDR_LEN)
				virtq_push(vq, req->head, 0); /* unusable buffer */
			else
				virtq_unpop(vq);
			if (c->st != C_FREE)
				vsock_conn_update(v, c);
			continue;
		}
		virtq_mark_written(vq, req->iov + req->n_out, req->n_in);
		virtq_push(vq, req->head, len);
		pushed++;
		if (c->st != C_FREE)
			vsock_conn_update(v, c);
	}
	if (pushed)
		virtio_dev_notify_used(&v->vdev, VSOCK_RXQ);
}

static void host_accept(struct virtio_vsock *v)
{
	int fd = accept_or_shed(v->listen_fd, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			log_warn_ratelimited(
			    "virtio-vsock: out of file descriptors, a connection refused");
		return;
	}
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct conn *c = &v->conns[i];

		if (c->st != C_FREE)
			continue;
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->st = C_HOST_CMD;
		vsock_conn_update(v, c);
		if (!c->watched)
			vsock_conn_free(v, c);
		return;
	}
	log_warn_ratelimited("virtio-vsock: too many connections, refusing one");
	close(fd);
}

/* Read "CONNECT <port>\n" a byte at a time (nothing after it is consumed). */
static void host_command(struct virtio_vsock *v, struct conn *c)
{
	uint64_t port;
	char ch;

	while (read(c->fd, &ch, 1) == 1) {
		if (ch != '\n') {
			if (c->cmd_len + 1 >= VSOCK_CMD_MAX)
				goto bad;
			c->cmd[c->cmd_len++] = ch;
			continue;
		}
		c->cmd[c->cmd_len] = '\0';
		if (strncmp(c->cmd, "CONNECT ", 8) || parse_u64(c->cmd + 8, &port) < 0 ||
		    port > UINT32_MAX)
			goto bad;
		c->guest_port = port;
		c->host_port = v->next_local_port++;
		c->peer_buf_alloc = 0; /* until the guest's RESPONSE tells us */
		c->st = C_HOST_REQ;
		c->send_request = true;
		vsock_conn_update(v, c);
		return;
	}
	if (errno == EAGAIN)
		return;
bad:
	vsock_conn_free(v, c);
}

void vsock_poll(struct virtio_dev *vdev)
{
	struct virtio_vsock *v = (struct virtio_vsock *)vdev;
	struct epoll_event ev[16];
	int n = epoll_wait(v->epfd, ev, ARRAY_SIZE(ev), 0);

	for (int i = 0; i < n; i++) {
		struct conn *c;

		if (ev[i].data.u32 == VSOCK_LISTENER) {
			host_accept(v);
			continue;
		}
		if (ev[i].data.u32 >= VSOCK_MAX_CONNS)
			continue;
		c = &v->conns[ev[i].data.u32];
		if (c->st == C_HOST_REQ && (ev[i].events & (EPOLLHUP | EPOLLERR))) {
			/* The host gave up before the guest answered: withdraw the request. */
			virtio_close_fd(&c->fd);
			c->st = C_RST_ONLY;
			c->send_request = false;
			c->send_rst = true;
			continue;
		}
		if (c->st == C_HOST_CMD) {
			host_command(v, c);
			continue;
		}
		if ((ev[i].events & EPOLLOUT) && vsock_flush(c) < 0)
			c->send_rst = true;
		if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			c->readable = true;
		vsock_conn_update(v, c);
	}
	vsock_rx(v);
}
