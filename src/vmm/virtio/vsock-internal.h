/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* virtio-vsock state shared by vsock.c (guest to host) and vsock-rx.c (host to guest). */
#include <stdbool.h>
#include <stdint.h>

#include "virtio-internal.h"

#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2

#define VSOCK_HOST_CID	      2
#define VSOCK_TYPE_STREAM     1
#define VSOCK_MAX_CONNS	      64
#define VSOCK_BUF_ALLOC	      (256u * 1024) /* our receive buffer per connection */
#define VSOCK_RX_CHUNK	      (64u * 1024)  /* payload per packet to the guest */
#define VSOCK_LOCAL_PORT_BASE (1u << 30)    /* ports of host-initiated connections */
#define VSOCK_LISTENER	      UINT32_MAX    /* epoll tag of the listening socket */
#define VSOCK_CMD_MAX	      32	    /* "CONNECT <port>\n" */

enum {
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

#define VSOCK_HDR_LEN sizeof(struct vsock_hdr)

enum conn_state {
	C_FREE,
	C_HOST_CMD, /* host connected, reading "CONNECT <port>\n" */
	C_HOST_REQ, /* REQUEST sent to the guest, waiting for RESPONSE */
	C_OPEN,
	C_RST_ONLY, /* no socket: only a RST to send, then free */
	C_CLOSING,  /* SHUTDOWN sent to the guest, waiting for its RST */
};

struct conn {
	enum conn_state st;
	int fd;
	bool watched;	 /* fd is in the epoll set */
	uint32_t events; /* ... with this mask */
	uint32_t guest_port, host_port;
	bool send_request, send_response, send_rst, send_credit, send_shutdown;
	bool readable;			       /* the host socket has data (or EOF) for the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt; /* the guest's credit */
	uint32_t tx_cnt;		       /* payload bytes sent to the guest */
	uint32_t fwd_cnt;		       /* guest payload bytes handed to the host socket */
	uint32_t fwd_reported;		       /* fwd_cnt as last told to the guest */
	uint8_t *buf;			       /* guest data the socket has not taken: a ring */
	uint32_t buf_head, buf_len;
	char cmd[VSOCK_CMD_MAX];
	unsigned cmd_len;
};

struct virtio_vsock {
	struct virtio_dev vdev;
	struct {
		uint64_t guest_cid;
	} __attribute__((packed)) config;
	uint64_t cid;
	char *uds;
	int listen_fd, epfd;
	uint32_t next_local_port;
	struct conn conns[VSOCK_MAX_CONNS];
};

void vsock_conn_free(struct virtio_vsock *v, struct conn *c);
void vsock_conn_update(struct virtio_vsock *v, struct conn *c);
uint32_t vsock_peer_credit(const struct conn *c);
int vsock_flush(struct conn *c);
/* Fill the guest's receive queue with pending control packets and socket data. */
void vsock_rx(struct virtio_vsock *v);
/* The epoll set is readable: accept, read commands, note readable/writable sockets. */
void vsock_poll(struct virtio_dev *vdev);
