/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Migration endpoints: "tcp:HOST:PORT" (HOST may be "[v6]") or "unix:PATH",
 * and the blocking, timed I/O on the stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "migrate-internal.h"
#include "parse.h"

#define CONNECT_TIMEOUT_MS 10000

static int parse_tcp(const char *s, struct mig_addr *a, struct err **err)
{
	const char *colon = strrchr(s, ':'), *h = s;
	uint64_t port = 0;
	size_t hlen;

	if (!colon || parse_u64(colon + 1, &port) < 0 || port < 1 || port > 65535)
		return err_make(err, 0, "`tcp:%s`: expected tcp:HOST:PORT (port 1-65535)", s);
	hlen = colon - s;
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(a->host))
		return err_make(err, 0, "`tcp:%s`: expected a host before the port", s);
	memcpy(a->host, h, hlen);
	a->host[hlen] = '\0';
	snprintf(a->port, sizeof(a->port), "%u", (unsigned)port);
	return 0;
}

int mig_addr_parse(const char *s, struct mig_addr *ret, struct err **err)
{
	struct mig_addr a = {0};

	if (!strncmp(s, "tcp:", 4)) {
		int r = parse_tcp(s + 4, &a, err);

		if (r < 0)
			return r;
	} else if (!strncmp(s, "unix:", 5)) {
		if (s[5] == '\0' || strlen(s + 5) >= sizeof(a.path))
			return err_make(err, 0, "`%s`: expected unix:PATH (at most %zu bytes)", s,
					sizeof(a.path) - 1);
		a.is_unix = true;
		strcpy(a.path, s + 5);
	} else {
		return err_make(err, 0, "`%s`: expected tcp:HOST:PORT or unix:PATH", s);
	}
	*ret = a;
	return 0;
}

/* Non-blocking connect with a timeout, then back to blocking. */
static int connect_timed(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int flags = fcntl(fd, F_GETFL), e = 0;
	socklen_t elen = sizeof(e);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	if (connect(fd, sa, len) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		int n = poll(&p, 1, CONNECT_TIMEOUT_MS);

		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			return -errno;
		if (e)
			return -e;
	}
	return fcntl(fd, F_SETFL, flags) < 0 ? -errno : 0;
}

void mig_socket_setup(int fd)
{
	struct timeval tv = {.tv_sec = MIG_IO_TIMEOUT_S};
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Weak: NSS loads modules with dlopen, which the static isola has not (src/cli/dynamic.c). */
#pragma weak getaddrinfo
#pragma weak freeaddrinfo

static int resolve(const struct mig_addr *a, bool passive, struct addrinfo **ret, struct err **err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
	int r;

	if (!getaddrinfo)
		return err_make(err, ENOSYS,
				"resolve `%s`: this isola is linked statically (isola-dl resolves)",
				a->host);
	r = getaddrinfo(a->host, a->port, &hints, ret);
	if (r)
		return err_make(err, r == EAI_SYSTEM ? errno : EHOSTUNREACH, "resolve `%s`: %s",
				a->host, gai_strerror(r));
	return 0;
}

static int bind_listen(int fd, const struct sockaddr *sa, socklen_t len)
{
	int one = 1;

	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len) < 0)
		return -errno;
	/* Only our own user may connect: nothing can before listen(). */
	if (sa->sa_family == AF_UNIX && chmod(((const struct sockaddr_un *)sa)->sun_path, 0600) < 0)
		return -errno;
	/* TCP: vm receive greets up to 64 peers side by side (recv.c), take a burst of them. */
	if (listen(fd, sa->sa_family == AF_UNIX ? 1 : 64) < 0)
		return -errno;
	return 0;
}

/* A stream socket for a, connected (op = connect_timed) or listening (op = bind_listen). */
static int open_socket(const struct mig_addr *a, int (*op)(int, const struct sockaddr *, socklen_t),
		       struct err **err)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct addrinfo *ai = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (a->is_unix) {
		strcpy(un.sun_path, a->path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r = fd < 0 ? -errno : op(fd, (struct sockaddr *)&un, sizeof(un));
	} else {
		r = resolve(a, op == bind_listen, &ai, err);
		if (r < 0)
			return r;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r = fd < 0 ? -errno : op(fd, ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(ai);
	}
	if (r < 0 && a->is_unix)
		return err_make(err, -r, "%s `unix:%s`",
				op == bind_listen ? "listen on" : "connect to", a->path);
	if (r < 0)
		return err_make(err, -r, "%s `tcp:%s:%s`",
				op == bind_listen ? "listen on" : "connect to", a->host, a->port);
	return TAKE_FD(fd);
}

/*
 * The listener of a Unix socket must be us or root: anyone may bind a path first (in /tmp,
 * say), and a keyless stream carries the guest's memory in clear.
 */
static int check_peer(int fd, const struct mig_addr *a, struct err **err)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return err_make(err, errno, "unix:%s: SO_PEERCRED", a->path);
	if (cr.uid != 0 && cr.uid != geteuid())
		return err_make(err, EPERM,
				"unix:%s is served by uid %u (pid %d), neither us nor root: not "
				"sending the guest there",
				a->path, (unsigned)cr.uid, (int)cr.pid);
	return 0;
}

int mig_connect(const char *s, struct err **err)
{
	struct mig_addr a;
	int fd = mig_addr_parse(s, &a, err);

	if (fd >= 0)
		fd = open_socket(&a, connect_timed, err);
	if (fd >= 0 && a.is_unix && check_peer(fd, &a, err) < 0) {
		close(fd);
		return -EPERM;
	}
	if (fd >= 0)
		mig_socket_setup(fd);
	return fd;
}

int mig_listen(const char *s, struct mig_addr *ret_addr, struct err **err)
{
	int r = mig_addr_parse(s, ret_addr, err);

	return r < 0 ? r : open_socket(ret_addr, bind_listen, err);
}

void mig_unlisten(int fd, const struct mig_addr *a)
{
	if (fd < 0)
		return;
	close(fd);
	if (a->is_unix)
		unlink(a->path);
}

unsigned mig_take_signal(int sigfd)
{
	struct signalfd_siginfo si;

	return read(sigfd, &si, sizeof(si)) == sizeof(si) ? si.ssi_signo : 0;
}

/* Wait for fd to be readable; a signal, a cancel, the timeout or the deadline fails. */
static int wait_readable(const struct mig_fd *m, struct err **err)
{
	struct pollfd p[3] = {{.fd = m->fd, .events = POLLIN},
			      {.fd = m->sigfd, .events = POLLIN},
			      {.fd = m->cancel_fd, .events = POLLIN}};
	int n, ms;

	do {
		uint64_t now = mig_now_ns();

		ms = MIG_IO_TIMEOUT_S * 1000;
		if (m->deadline_ns && now >= m->deadline_ns)
			return err_make(err, ETIMEDOUT, "%s did not authenticate in %d s", m->peer,
					MIG_AUTH_TIMEOUT_S);
		if (m->deadline_ns && (m->deadline_ns - now) / 1000000 < (uint64_t)ms)
			ms = (int)((m->deadline_ns - now) / 1000000) + 1;
		n = poll(p, 3, ms);
	} while ((n < 0 && errno == EINTR) ||
		 (n == 0 && ms < MIG_IO_TIMEOUT_S * 1000)); /* the deadline: checked above */
	if (n < 0)
		return err_make(err, errno, "poll");
	if (p[1].revents)
		return err_make(err, EINTR, "interrupted by signal %u", mig_take_signal(m->sigfd));
	if (p[2].revents)
		return err_make(err, ECANCELED, "the VM is stopping");
	if (n == 0)
		return err_make(err, ETIMEDOUT, "%s sent nothing for %d s", m->peer,
				MIG_IO_TIMEOUT_S);
	return 0;
}

int mig_fd_read(void *ctx, void *buf, size_t len, struct err **err)
{
	const struct mig_fd *m = ctx;
	uint8_t *p = buf;

	while (len) {
		int r = wait_readable(m, err);
		ssize_t n;

		if (r < 0)
			return r;
		n = read(m->fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return err_make(err, errno, "read from %s", m->peer);
		if (n == 0)
			return err_make(err, ECONNRESET, "%s closed the connection", m->peer);
		p += n;
		len -= n;
	}
	return 0;
}

int mig_send_iov(int fd, struct iovec *iov, int n)
{
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};

	while (mh.msg_iovlen) {
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		while (mh.msg_iovlen && (size_t)w >= mh.msg_iov->iov_len) {
			w -= mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + w;
			mh.msg_iov->iov_len -= w;
		}
	}
	return 0;
}

int mig_send_frame(int fd, struct mig_mac *mac, uint32_t type, const void *a, size_t alen,
		   const void *b, size_t blen)
{
	uint8_t h[MIG_FRAME_HDR], tag[MIG_TAG];
	struct iovec iov[4] = {{h, sizeof(h)}, {(void *)a, alen}, {(void *)b, blen}, {tag, 0}};

	mig_put_frame(h, type, alen + blen);
	if (mac && mac->ctx) {
		/* Encrypt a copy: the pieces are the caller's (or guest memory). */
		uint8_t *c = mig_mac_scratch(mac, alen + blen);
		int r;

		if (!c && alen + blen)
			return -ENOMEM;
		if (alen)
			memcpy(c, a, alen);
		if (blen)
			memcpy(c + alen, b, blen);
		iov[1] = (struct iovec){c, alen + blen};
		iov[2] = (struct iovec){NULL, 0};
		r = mig_mac_seal(mac, h, iov + 1, 1, tag);
		if (r < 0)
			return r;
		iov[3].iov_len = sizeof(tag);
	}
	return mig_send_iov(fd, iov, 4);
}

int mig_check_auth(const char *addr, bool have_key, struct err **err)
{
	struct mig_addr a;
	int r = mig_addr_parse(addr, &a, err);

	if (r < 0 || have_key || a.is_unix)
		return r;
	return err_make(err, EPERM,
			"`%s`: a TCP migration needs --key-file on both sides (only a Unix "
			"socket may carry an unauthenticated stream)",
			addr);
}

uint64_t mig_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}
