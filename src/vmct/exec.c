/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A further session with a VM container's agent (protocol v2, proto.h): an
 * exec.  We reach the agent's listener (VMCT_EXEC_PORT) through the VMM's
 * hybrid-vsock socket: "CONNECT 1025\n", answered "OK <port>\n" once the
 * guest accepted.  Then the session is the first one's (relay.c): the
 * agent's HELLO, our CONFIG, stdio, signals and terminal sizes until its
 * EXIT.
 *
 * The guest is trusted with nothing but its own output: a bad frame, an
 * unknown version or a close before EXIT ends the session with an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "relay.h"
#include "vmct.h"

struct session {
	const struct vmct_exec_opts *o;
	struct vmct_relay r;
};

/* CONNECT, HELLO and CONFIG together, in seconds (vmct_exec_opts.connect_timeout_s). */
static unsigned open_timeout_s(const struct vmct_exec_opts *o)
{
	return o->connect_timeout_s ? o->connect_timeout_s : 30;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until @fd has @events (POLLIN, POLLOUT), up to @end_ms; -ETIMEDOUT after that. */
static int wait_fd(int fd, short events, int64_t end_ms)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = end_ms - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* "CONNECT <port>\n" to the VMM, and its "OK <port>\n" (read a byte at a time: no more). */
static int hybrid_connect(int fd, const char *uds, int64_t end, struct err **err)
{
	char line[VMCT_CONNECT_MAX + 1], req[32];
	uint32_t port;
	size_t n = 0;
	int r;

	snprintf(req, sizeof(req), "CONNECT %u\n", VMCT_EXEC_PORT);
	r = vmct_send_all(fd, req, strlen(req));
	if (r < 0)
		return err_make(err, -r, "`%s`: send CONNECT", uds);
	for (;;) {
		ssize_t k;

		r = wait_fd(fd, POLLIN, end);
		if (r < 0)
			return err_make(err, -r, "`%s`: no answer to CONNECT %u", uds,
					VMCT_EXEC_PORT);
		k = read(fd, line + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return err_make(err, errno, "`%s`: read the answer to CONNECT", uds);
		if (k == 0)
			return err_make(err, ECONNREFUSED,
					"`%s`: the VM refused CONNECT %u (its agent does not "
					"listen: not running, or older than protocol 2)",
					uds, VMCT_EXEC_PORT);
		if (line[n] == '\n')
			break;
		if (++n >= VMCT_CONNECT_MAX)
			return err_make(err, EPROTO, "`%s`: the answer to CONNECT is too long",
					uds);
	}
	line[n] = '\0';
	if (vmct_connect_reply_parse(line, &port) < 0)
		return err_make(err, EPROTO, "`%s`: a bad answer to CONNECT", uds);
	return 0;
}

/* Frames until a whole one is in s->r.buf (its size), 0 at EOF, < 0 on error/timeout. */
static long read_frame(struct session *s, int64_t end, uint32_t *type, const uint8_t **pl,
		       uint32_t *len)
{
	for (;;) {
		long f = vmct_frame_next(s->r.buf, s->r.have, type, pl, len);
		ssize_t n;
		int r;

		if (f != 0)
			return f;
		r = wait_fd(s->r.conn, POLLIN, end);
		if (r < 0)
			return r;
		n = read(s->r.conn, s->r.buf + s->r.have, VMCT_HDR + VMCT_FRAME_MAX - s->r.have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		s->r.have += n;
	}
}

/* All of @p to the socket @fd by @end_ms: an agent that never reads cannot hold us. */
static int send_until(int fd, const void *p, size_t n, int64_t end_ms)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		int r;

		if (w < 0 && errno == EAGAIN) {
			r = wait_fd(fd, POLLOUT, end_ms);
			if (r < 0)
				return r;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_frame_until(int fd, uint32_t type, const void *p, uint32_t n, int64_t end_ms)
{
	uint8_t hdr[VMCT_HDR];
	int r;

	vmct_frame_header(hdr, type, n);
	r = send_until(fd, hdr, sizeof(hdr), end_ms);
	return r < 0 || !n ? r : send_until(fd, p, n, end_ms);
}

/* The agent's HELLO (its version must be ours), then our CONFIG, both by @end. */
static int handshake(struct session *s, const char *uds, int64_t end, struct err **err)
{
	_cleanup_free_ uint8_t *cfg = NULL;
	const uint8_t *pl;
	uint32_t type, len;
	long f = read_frame(s, end, &type, &pl, &len);
	int r;

	if (f <= 0)
		return err_make(err, f ? (int)-f : ECONNRESET, "`%s`: no HELLO from the agent",
				uds);
	if (type != VMCT_HELLO || len != strlen(VMCT_VERSION) || memcmp(pl, VMCT_VERSION, len) != 0)
		return err_make(err, EPROTO, "`%s`: the agent does not speak `%s`", uds,
				VMCT_VERSION);
	vmct_relay_consume(&s->r, (size_t)f);
	cfg = vmct_config_encode(s->o->proc, &len);
	if (!cfg)
		return err_make(err, errno, "the process config");
	r = send_frame_until(s->r.conn, VMCT_CONFIG, cfg, len, end);
	if (r >= 0 && s->r.in < 0)
		r = send_frame_until(s->r.conn, VMCT_STDIN, NULL, 0, end);
	if (r == -ETIMEDOUT)
		return err_make(err, ETIMEDOUT,
				"`%s`: the agent did not take the process config in %us", uds,
				open_timeout_s(s->o));
	if (r < 0)
		return err_make(err, -r, "`%s`: send the config", uds);
	return 0;
}

static int open_session(struct session *s, const char *uds, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t end = now_ms() + (int64_t)open_timeout_s(s->o) * 1000;
	int r;

	if (strlen(uds) >= sizeof(sa.sun_path))
		return err_make(err, ENAMETOOLONG, "vsock socket `%s`", uds);
	strcpy(sa.sun_path, uds);
	s->r.conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->r.conn < 0 || connect(s->r.conn, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_make(err, errno, "connect to the VM's vsock socket `%s`", uds);
	r = hybrid_connect(s->r.conn, uds, end, err);
	if (r >= 0)
		r = handshake(s, uds, end, err);
	return r;
}

int vmct_exec(const char *vsock_uds, const struct vmct_exec_opts *o, int *ret_status,
	      struct err **err)
{
	struct session s = {.o = o};
	struct termios saved;
	bool raw = false;
	sigset_t mask, old;
	int r;

	if (vmct_relay_init(&s.r) < 0)
		return err_make(err, ENOMEM, "buffer");
	s.r.in = o->in_fd;
	s.r.out = o->out_fd;
	s.r.err = o->err_fd;
	if (o->proc->tty)
		s.r.tty = o->in_fd >= 0 ? o->in_fd : o->out_fd;
	sigemptyset(&mask);
	if (o->forward_signals) {
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGHUP);
		sigaddset(&mask, SIGQUIT);
		sigaddset(&mask, SIGWINCH);
	}
	if (o->forward_signals && o->relay_all_signals) {
		sigaddset(&mask, SIGUSR1);
		sigaddset(&mask, SIGUSR2);
		sigaddset(&mask, SIGALRM);
	}
	sigprocmask(SIG_BLOCK, &mask, &old);
	s.r.sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	r = s.r.sigfd < 0 ? err_make(err, errno, "signalfd") : open_session(&s, vsock_uds, err);
	if (r >= 0 && o->session_ready)
		o->session_ready(o->hook_arg);
	if (r >= 0) {
		/* Raw only now: an error above is printed on a sane terminal. */
		raw = o->proc->tty && vmct_term_raw(o->in_fd, &saved);
		vmct_relay_run(&s.r);
		if (raw)
			tcsetattr(o->in_fd, TCSANOW, &saved);
		if (!s.r.got_exit)
			r = err_make(err, 0, "in the VM: %s",
				     s.r.agent_error ? s.r.agent_error
						     : "the session ended without an exit status");
	}
	if (s.r.conn >= 0)
		close(s.r.conn);
	if (s.r.sigfd >= 0)
		close(s.r.sigfd);
	/* A signal that came after the session ended is dropped: the process is gone. */
	while (o->forward_signals && sigtimedwait(&mask, NULL, &(struct timespec){0}) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r >= 0)
		*ret_status = s.r.status;
	vmct_relay_free(&s.r);
	return r;
}
