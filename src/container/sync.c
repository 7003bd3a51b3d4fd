/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parent/child messages: a type word then an optional payload, one datagram each. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "sync.h"

/*
 * A message is a header datagram (type, payload length, first piece of the
 * payload), then further datagrams of at most CHUNK bytes: one datagram may
 * not exceed the socket buffer (about 200 KiB), the payload can be MiBs.
 */
#define CHUNK (64u << 10)

struct sync_hdr {
	uint32_t type;
	uint32_t len;
};

int ct_sync_send(int fd, int type, const void *data, size_t len)
{
	struct sync_hdr h = {(uint32_t)type, data ? (uint32_t)len : 0};
	const char *p = data;
	size_t off = 0;

	if (len > CT_SYNC_MAX)
		return -E2BIG;
	do {
		size_t n = h.len - off < CHUNK ? h.len - off : CHUNK;
		struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)(p + off), n}};
		struct msghdr msg = {.msg_iov = off ? iov + 1 : iov, .msg_iovlen = off ? 1 : 2};
		ssize_t w;

		do
			w = sendmsg(fd, &msg, MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w < 0)
			return -errno;
		off += n;
	} while (off < h.len);
	return 0;
}

static int recv_one(int fd, void *buf, size_t len, ssize_t *ret_n, struct err **err)
{
	ssize_t n;

	do
		n = recv(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_make(err, errno, "read from the container process");
	*ret_n = n;
	return 0;
}

int ct_sync_recv(int fd, int want, char **ret_data, struct err **err)
{
	_cleanup_free_ char *first = malloc(sizeof(struct sync_hdr) + CHUNK);
	_cleanup_free_ char *data = NULL;
	struct sync_hdr h;
	size_t off;
	ssize_t n;
	int r;

	if (!first)
		return err_make(err, ENOMEM, "sync");
	if ((r = recv_one(fd, first, sizeof(h) + CHUNK, &n, err)) < 0)
		return r;
	if (n < (ssize_t)sizeof(h))
		return err_make(err, EPIPE, "the container process exited during setup");
	memcpy(&h, first, sizeof(h));
	if (h.len > CT_SYNC_MAX || (size_t)n - sizeof(h) > h.len)
		return err_make(err, EPROTO, "container setup: a bad message");
	data = malloc((size_t)h.len + 1);
	if (!data)
		return err_make(err, ENOMEM, "sync");
	off = (size_t)n - sizeof(h);
	memcpy(data, first + sizeof(h), off);
	while (off < h.len) {
		if ((r = recv_one(fd, data + off, h.len - off, &n, err)) < 0)
			return r;
		if (n == 0)
			return err_make(err, EPIPE, "the container process exited during setup");
		off += (size_t)n;
	}
	data[h.len] = 0;
	if (h.type == CT_SYNC_ERROR) {
		/* The message, then (after its NUL) the errno in decimal, if any. */
		size_t len = strlen(data);
		int e = len + 1 < h.len ? atoi(data + len + 1) : 0;

		/* Its errno only in the error: -EPIPE etc. mean this end's failures. */
		if (err && !*err && err_make(err, 0, "%s", data) && *err && e > 0 && e < 4096)
			(*err)->errnum = e;
		return -EINVAL;
	}
	if ((int)h.type != want)
		return err_make(err, EPROTO, "container setup: unexpected message %u", h.type);
	if (ret_data)
		*ret_data = TAKE_PTR(data);
	return 0;
}

void ct_sync_fail(int fd, struct err **err)
{
	const char *msg = err && *err ? (*err)->msg : "container setup failed";
	_cleanup_free_ char *data = NULL;
	int n = asprintf(&data, "%s%c%d", msg, '\0', err && *err ? (*err)->errnum : 0);

	if (n < 0 || ct_sync_send(fd, CT_SYNC_ERROR, data, (size_t)n + 1) < 0)
		fprintf(stderr, "isola: %s\n", msg);
	_exit(1);
}
