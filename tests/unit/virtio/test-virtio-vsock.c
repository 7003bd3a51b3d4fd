/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-vsock against Unix sockets in a temp dir: a guest-initiated
 * connection reaches "<uds>_<port>", data flows both ways, a host-initiated
 * "CONNECT <port>" gets "OK <port>", refused and unknown connections get RST,
 * a host close becomes a SHUTDOWN, and out of fds a host connection is
 * closed rather than left waiting (with the worker spinning on its listener).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"
#include "fake-vm.h"
#include "tap.h"
#include "virtio.h"
#include "vm-config.h"
#include "vsock-internal.h"

static struct drv d = {.base = BASE, .ring = MEM_GPA};
static uint16_t rx_seen;
static uint8_t pkt[4096];

/* Post receive buffers 0..3 (4 KiB each). */
static void post_rx(void)
{
	for (unsigned i = 0; i < 4; i++) {
		desc_q(&d, 0, i, BUFQ(&d, 0, i), 4096, VIRTQ_DESC_F_WRITE, 0);
		AVAILQ(&d, 0)->ring[i] = i;
	}
	d.avail_idx[0] = 4;
	__atomic_store_n(&AVAILQ(&d, 0)->idx, 4, __ATOMIC_RELEASE);
	wr(&d, 0x50, 0);
}

/* The next packet from the device (copied to pkt); its buffer is posted again. */
static struct vsock_hdr *rx_next(void)
{
	struct virtq_used_elem e;

	for (int i = 0; __atomic_load_n(&USEDQ(&d, 0)->idx, __ATOMIC_ACQUIRE) == rx_seen; i++) {
		if (i == 2000)
			return NULL;
		usleep(1000);
	}
	e = USEDQ(&d, 0)->ring[rx_seen++ % QSZ];
	memcpy(pkt, gp(BUFQ(&d, 0, e.id)), e.len < sizeof(pkt) ? e.len : sizeof(pkt));
	AVAILQ(&d, 0)->ring[d.avail_idx[0]++ % QSZ] = e.id;
	__atomic_store_n(&AVAILQ(&d, 0)->idx, d.avail_idx[0], __ATOMIC_RELEASE);
	wr(&d, 0x50, 0);
	return (struct vsock_hdr *)pkt;
}

static int tx(uint16_t op, uint32_t src_port, uint32_t dst_port, const char *data)
{
	uint32_t len = data ? strlen(data) : 0;
	struct vsock_hdr h = {.src_cid = 3,
			      .dst_cid = 2,
			      .src_port = src_port,
			      .dst_port = dst_port,
			      .len = len,
			      .type = 1,
			      .op = op,
			      .buf_alloc = 65536};

	memcpy(gp(BUFQ(&d, 1, 0)), &h, sizeof(h));
	if (len)
		memcpy((uint8_t *)gp(BUFQ(&d, 1, 0)) + sizeof(h), data, len);
	desc_q(&d, 1, 0, BUFQ(&d, 1, 0), sizeof(h) + len, 0, 0);
	return drv_submit_q(&d, 1, 0);
}

static bool is_pkt(const struct vsock_hdr *h, uint16_t op, uint32_t src, uint32_t dst)
{
	return h && h->op == op && h->src_port == src && h->dst_port == dst && h->src_cid == 2 &&
	       h->dst_cid == 3;
}

static int unix_socket(const char *path, bool listening)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (listening ? bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0
		      : connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static ssize_t recv_wait(int fd, char *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, 2000) != 1)
		return -1;
	return recv(fd, buf, len, 0);
}

static void test_guest_connect(const char *uds)
{
	char path[160], buf[64] = {0};
	struct vsock_hdr *h;
	int l, c;

	snprintf(path, sizeof(path), "%s_5000", uds);
	l = unix_socket(path, true);
	is_int(tx(VSOCK_OP_REQUEST, 1234, 5000, NULL), 0, "guest REQUEST to port 5000 sent");
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ok(c >= 0, "host listener on uds_5000 accepted the connection");
	ok(is_pkt(rx_next(), VSOCK_OP_RESPONSE, 5000, 1234), "guest got RESPONSE");
	tx(VSOCK_OP_RW, 1234, 5000, "ping");
	ok(recv_wait(c, buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4),
	   "guest data reached the host");
	ok(send(c, "pong!", 5, 0) == 5, "host sends");
	h = rx_next();
	ok(is_pkt(h, VSOCK_OP_RW, 5000, 1234) && h->len == 5 &&
	       !memcmp(pkt + sizeof(*h), "pong!", 5),
	   "host data reached the guest");
	close(c);
	ok(is_pkt(rx_next(), VSOCK_OP_SHUTDOWN, 5000, 1234), "host close becomes SHUTDOWN");
	tx(VSOCK_OP_RST, 1234, 5000, NULL);
	is_int(tx(VSOCK_OP_REQUEST, 1235, 6000, NULL), 0, "REQUEST to a port nobody listens on");
	ok(is_pkt(rx_next(), VSOCK_OP_RST, 6000, 1235), "answered with RST");
	tx(VSOCK_OP_RW, 1236, 5000, "stray");
	ok(is_pkt(rx_next(), VSOCK_OP_RST, 5000, 1236), "data for no connection gets RST");
	close(l);
	unlink(path);
}

static void test_host_connect(const char *uds)
{
	char buf[64] = {0};
	struct vsock_hdr *h;
	int c = unix_socket(uds, false);

	ok(c >= 0 && send(c, "CONNECT 80\n", 11, 0) == 11, "host connects to the uds: CONNECT 80");
	h = rx_next();
	ok(h && h->op == VSOCK_OP_REQUEST && h->dst_port == 80 && h->src_port == (1u << 30),
	   "guest got REQUEST for port 80 from local port 2^30");
	tx(VSOCK_OP_RESPONSE, 80, 1u << 30, NULL);
	ok(recv_wait(c, buf, sizeof(buf)) == 14 && !strcmp(buf, "OK 1073741824\n"),
	   "host got `OK <port>`: %s", buf);
	tx(VSOCK_OP_RW, 80, 1u << 30, "hi host");
	memset(buf, 0, sizeof(buf));
	ok(recv_wait(c, buf, sizeof(buf)) == 7 && !strcmp(buf, "hi host"), "data on the host side");
	close(c);
	ok(is_pkt(rx_next(), VSOCK_OP_SHUTDOWN, 1u << 30, 80), "host close: SHUTDOWN");
	tx(VSOCK_OP_RST, 80, 1u << 30, NULL);

	c = unix_socket(uds, false);
	ok(c >= 0 && send(c, "HELLO\n", 6, 0) == 6, "a bad command");
	ok(recv_wait(c, buf, sizeof(buf)) == 0, "closes the connection");
	close(c);
}

static void test_host_out_of_fds(const char *uds)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), first = -1, last = -1, fd;
	struct rlimit old, low;
	char buf[64];
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", uds);
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = 256;
	setrlimit(RLIMIT_NOFILE, &low);
	while ((fd = dup(0)) >= 0) {
		if (first < 0)
			first = fd;
		last = fd;
	}
	ok(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0, "out of fds: the host connects");
	n = recv_wait(c, buf, sizeof(buf));
	for (fd = first; first >= 0 && fd <= last; fd++)
		close(fd);
	setrlimit(RLIMIT_NOFILE, &old);
	close(c);
	is_int(n, 0, "... and its connection is closed, not left to wait");
	c = unix_socket(uds, false);
	ok(c >= 0 && send(c, "HELLO\n", 6, 0) == 6 && recv_wait(c, buf, sizeof(buf)) == 0,
	   "with fds again, the device serves the next one");
	close(c);
}

int main(void)
{
	_cleanup_err_ struct err *err = NULL;
	char dir[] = "/tmp/isola-ut-vsock.XXXXXX", uds[128];
	struct vm_config cfg = {.has_vsock = true, .vsock_cid = 3, .vsock_uds = uds};
	uint64_t cid = 0;

	if (fake_vm_init() < 0 || !mkdtemp(dir))
		return 1;
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	is_int(vmm_virtio_setup(VM, &cfg, &err), 0, "vsock set up %s", err ? err->msg : "");
	is_int(rd(&d, 0x8), 19, "device id 19");
	bus_access(&mmio_bus, BASE + 0x100, &cid, 8, false);
	is_int(cid, 3, "guest_cid in config space");
	ok(drv_init(&d, 1ull << 32) & VIRTIO_STATUS_FEATURES_OK, "VERSION_1 accepted");
	drv_queues(&d, 3);
	post_rx();
	test_guest_connect(uds);
	test_host_connect(uds);
	test_host_out_of_fds(uds);
	vmm_virtio_teardown(VM);
	ok(access(uds, F_OK) < 0, "uds removed at teardown");
	rmdir(dir);
	fake_vm_fini();
	return tap_done();
}
