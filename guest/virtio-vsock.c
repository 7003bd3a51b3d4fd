/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock test guest (guest CID from the device config).
 *  port=P:   connect to host port P, send "hello from guest\n", print what
 *            the host answers, close.
 *            With `hold=US`: after the answer, keep the connection open for
 *            US microseconds, then wait for the host's next packet and say
 *            what it is ("connection reset by the host" for a RST: what a
 *            restored snapshot gives a connection open when it was taken).
 *  listen=P: wait for the host to connect to port P, echo one message back.
 *  listen=P echo: echo every message until the host shuts the connection
 *            down (the latency benchmark's peer).
 * Exit codes: 0 ok, 1 no device, 2 negotiation, 3 queue, 4 timeout,
 * 5 unexpected packet, 126 bad cmdline.
 */
#include "virtio-drv.h"

#define VIRTIO_ID_VSOCK 19
#define HOST_CID	2
#define TIMEOUT_US	10000000

enum { OP_REQUEST = 1, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CREDIT_UPDATE };

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

static struct vdrv_queue rxq, txq;
static uint64_t cid;
static uint32_t fwd_cnt;
static uint8_t rxbuf[4096], txbuf[4096];

static int send_pkt(uint16_t op, uint32_t src, uint32_t dst, const char *data, uint32_t len)
{
	struct hdr h = {cid, HOST_CID, src, dst, len, 1, op, 0, sizeof(rxbuf), fwd_cnt};
	struct vdrv_buf b = {txbuf, sizeof(h) + len, false};

	memcpy(txbuf, &h, sizeof(h));
	memcpy(txbuf + sizeof(h), data, len);
	return vdrv_submit(&txq, &b, 1, TIMEOUT_US) < 0 ? -1 : 0;
}

/* The next packet from the host that is not a credit update; NULL on timeout. */
static struct hdr *recv_pkt(void)
{
	struct vdrv_buf b = {rxbuf, sizeof(rxbuf), true};
	struct hdr *h = (struct hdr *)rxbuf;

	for (;;) {
		vdrv_offer(&rxq, &b, 1);
		vdrv_kick(&rxq);
		if (vdrv_wait(&rxq, TIMEOUT_US) < 0)
			return NULL;
		if (h->op != OP_CREDIT_UPDATE)
			break;
	}
	if (h->op == OP_RW)
		fwd_cnt += h->len;
	return h;
}

static int connect_to(uint32_t port)
{
	const uint32_t me = 1234;
	struct hdr *h;

	if (send_pkt(OP_REQUEST, me, port, NULL, 0) < 0 || !(h = recv_pkt()))
		return 4;
	if (h->op != OP_RESPONSE) {
		guest_printf("virtio-vsock: connect to %u: op %u\n", port, h->op);
		return 5;
	}
	if (send_pkt(OP_RW, me, port, "hello from guest\n", 17) < 0 || !(h = recv_pkt()))
		return 4;
	if (h->op != OP_RW)
		return 5;
	char msg[256] = {0};

	memcpy(msg, h + 1, h->len < sizeof(msg) - 1 ? h->len : sizeof(msg) - 1);
	guest_printf("virtio-vsock: got %u bytes: %s", h->len, msg);
	if (guest_cmdline_has("hold")) {
		vdrv_hold("virtio-vsock");
		if (!(h = recv_pkt())) {
			guest_printf("virtio-vsock: after the hold: nothing from the host\n");
			return 4;
		}
		guest_printf("virtio-vsock: after the hold: %s\n",
			     h->op == OP_RST ? "connection reset by the host" : "still open");
	}
	send_pkt(OP_RST, me, port, NULL, 0);
	return 0;
}

/* Echo messages on the connection until the host ends it (or once). */
static int echo(uint32_t port, uint32_t peer, bool forever)
{
	char msg[256];
	unsigned n = 0;
	struct hdr *h;

	do {
		if (!(h = recv_pkt()))
			return 4;
		if (forever && (h->op == OP_SHUTDOWN || h->op == OP_RST))
			break;
		if (h->op != OP_RW || h->len > sizeof(msg))
			return 5;
		memcpy(msg, h + 1, h->len);
		if (send_pkt(OP_RW, port, peer, msg, h->len) < 0)
			return 4;
		n++;
	} while (forever);
	if (forever)
		guest_printf("virtio-vsock: echoed %u messages\n", n);
	else
		guest_printf("virtio-vsock: echoed %u bytes\n", h->len);
	return 0;
}

static int accept_on(uint32_t port)
{
	struct hdr *h = recv_pkt();
	uint32_t peer;

	if (!h)
		return 4;
	if (h->op != OP_REQUEST || h->dst_port != port)
		return 5;
	peer = h->src_port;
	guest_printf("virtio-vsock: connection from host port %u\n", peer);
	if (send_pkt(OP_RESPONSE, port, peer, NULL, 0) < 0)
		return 4;
	return echo(port, peer, guest_cmdline_has("echo"));
}

int main(void)
{
	uint64_t port = 0, listen = 0;
	struct vdrv_dev d;

	guest_cmdline_u64("port", &port);
	guest_cmdline_u64("listen", &listen);
	if ((!port && !listen) || port > UINT32_MAX || listen > UINT32_MAX)
		return GUEST_EXIT_BAD_ARG;
	if (vdrv_find(VIRTIO_ID_VSOCK, 0, &d) < 0) {
		guest_printf("virtio-vsock: no device on the cmdline \"%s\"\n", guest_cmdline());
		return 1;
	}
	if (vdrv_init(&d, 0) < 0)
		return 2;
	if (vdrv_queue_setup(&d, 0, &rxq) < 0 || vdrv_queue_setup(&d, 1, &txq) < 0)
		return 3;
	vdrv_driver_ok(&d);
	cid = vdrv_config64(&d, 0);
	guest_printf("virtio-vsock: guest cid %lu\n", (unsigned long)cid);
	return port ? connect_to(port) : accept_on(listen);
}
