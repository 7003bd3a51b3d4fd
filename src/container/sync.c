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

int ct_sync_send(int fd, int type, const void *data, size_t len)
{
	uint32_t t = type;
	struct iovec iov[2] = {{&t, sizeof(t)}, {(void *)data, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = data ? 2 : 1};

	if (len > CT_SYNC_MAX)
		return -E2BIG;
	return sendmsg(fd, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int ct_sync_recv(int fd, int want, char **ret_data, struct err **err)
{
	_cleanup_free_ char *buf = malloc(CT_SYNC_MAX + sizeof(uint32_t) + 1);
	uint32_t t;
	ssize_t n;

	if (!buf)
		return err_make(err, ENOMEM, "sync");
	do
		n = recv(fd, buf, CT_SYNC_MAX + sizeof(uint32_t), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_make(err, errno, "read from the container process");
	if (n < (ssize_t)sizeof(t))
		return err_make(err, EPIPE, "the container process exited during setup");
	buf[n] = 0;
	memcpy(&t, buf, sizeof(t));
	if (t == CT_SYNC_ERROR)
		return err_make(err, 0, "%s", buf + sizeof(t));
	if ((int)t != want)
		return err_make(err, EPROTO, "container setup: unexpected message %u", t);
	if (ret_data) {
		*ret_data = strdup(buf + sizeof(t));
		if (!*ret_data)
			return err_make(err, ENOMEM, "sync");
	}
	return 0;
}

void ct_sync_fail(int fd, struct err **err)
{
	const char *msg = err && *err ? (*err)->msg : "container setup failed";

	if (ct_sync_send(fd, CT_SYNC_ERROR, msg, strlen(msg) + 1) < 0)
		fprintf(stderr, "isola: %s\n", msg);
	_exit(1);
}
