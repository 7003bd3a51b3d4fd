/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A further session with a VM container's agent (protocol v2, proto.h): an
 * exec.  We reach the agent's listener (VMCT_EXEC_PORT) through the VMM's
 * hybrid-vsock socket: "CONNECT 1025\n", answered "OK <port>\n" once the
 * guest accepted.  Then the session is the first one's: the agent's HELLO, our
 * CONFIG, stdio, signals and terminal sizes until its EXIT.
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
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "vmct.h"

struct session {
	const struct vmct_exec_opts *o;
	int conn, sigfd, in;
	bool got_exit;
	int status;
	char *agent_error;
	uint8_t *buf;
	size_t have;
	struct vmct_outq out; /* frames to the agent (relay) */
};

void vmct_term_size(int fd, uint16_t *ret_rows, uint16_t *ret_cols)
{
	struct winsize ws = {};

	if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
		ws.ws_row = ws.ws_col = 0;
	*ret_rows = ws.ws_row;
	*ret_cols = ws.ws_col;
}

bool vmct_term_raw(int fd, struct termios *ret_saved)
{
	struct termios raw;

	if (fd < 0 || !isatty(fd) || tcgetattr(fd, ret_saved) < 0)
		return false;
	raw = *ret_saved;
	cfmakeraw(&raw);
	return tcsetattr(fd, TCSANOW, &raw) == 0;
}

/* All of @p to the socket @fd; a peer that is gone is -EPIPE, not SIGPIPE. */
static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= w;
	}
	return 0;
}

int vmct_send_frame(int fd, uint32_t type, const void *p, uint32_t n)
{
	uint8_t hdr[VMCT_HDR];
	int r;

	vmct_frame_header(hdr, type, n);
	r = send_all(fd, hdr, sizeof(hdr));
	if (r >= 0 && n)
		r = send_all(fd, p, n);
	if (r < 0)
		errno = -r;
	return r;
}

int vmct_queue_winch(struct vmct_outq *q, int tty_fd)
{
	uint8_t b[8];
	uint16_t rows, cols;

	vmct_term_size(tty_fd, &rows, &cols);
	if (!rows || !cols)
		return 0;
	vmct_winch_encode(b, rows, cols);
	return vmct_outq_frame(q, VMCT_WINCH, b, sizeof(b));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until @fd is readable, up to @end_ms; -ETIMEDOUT after that. */
static int wait_readable(int fd, int64_t end_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

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
	r = send_all(fd, req, strlen(req));
	if (r < 0)
		return err_make(err, -r, "`%s`: send CONNECT", uds);
	for (;;) {
		ssize_t k;

		r = wait_readable(fd, end);
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

/* Frames until a whole one is in s->buf (its size), 0 at EOF, < 0 on error/timeout. */
static long read_frame(struct session *s, int64_t end, uint32_t *type, const uint8_t **pl,
		       uint32_t *len)
{
	for (;;) {
		long f = vmct_frame_next(s->buf, s->have, type, pl, len);
		ssize_t n;
		int r;

		if (f != 0)
			return f;
		r = wait_readable(s->conn, end);
		if (r < 0)
			return r;
		n = read(s->conn, s->buf + s->have, VMCT_HDR + VMCT_FRAME_MAX - s->have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		s->have += n;
	}
}

static void consume(struct session *s, long f)
{
	memmove(s->buf, s->buf + f, s->have - f);
	s->have -= f;
}

/* The agent's HELLO (its version must be ours), then our CONFIG. */
static int handshake(struct session *s, const char *uds, int64_t end, struct err **err)
{
	_cleanup_free_ uint8_t *cfg = NULL;
	const uint8_t *pl;
	uint32_t type, len;
	long f = read_frame(s, end, &type, &pl, &len);

	if (f <= 0)
		return err_make(err, f ? (int)-f : ECONNRESET, "`%s`: no HELLO from the agent",
				uds);
	if (type != VMCT_HELLO || len != strlen(VMCT_VERSION) || memcmp(pl, VMCT_VERSION, len) != 0)
		return err_make(err, EPROTO, "`%s`: the agent does not speak `%s`", uds,
				VMCT_VERSION);
	consume(s, f);
	cfg = vmct_config_encode(s->o->proc, &len);
	if (!cfg)
		return err_make(err, errno, "the process config");
	if (vmct_send_frame(s->conn, VMCT_CONFIG, cfg, len) < 0 ||
	    (s->in < 0 && vmct_send_frame(s->conn, VMCT_STDIN, NULL, 0) < 0))
		return err_make(err, errno, "`%s`: send the config", uds);
	return 0;
}

static void agent_frame(struct session *s, uint32_t type, const uint8_t *p, uint32_t n)
{
	switch (type) {
	case VMCT_STDOUT:
		write_all(s->o->out_fd, p, n);
		break;
	case VMCT_STDERR:
		write_all(s->o->err_fd, p, n);
		break;
	case VMCT_EXIT:
		if (n == 4) {
			s->got_exit = true;
			s->status = vmct_get_u32(p) & 0xff;
		}
		break;
	case VMCT_ERROR:
		free(s->agent_error);
		s->agent_error = strndup((const char *)p, n > 1024 ? 1024 : n);
		break;
	default: /* a host-only type: ignored */
		break;
	}
}

/* The whole frames in s->buf; -1 on a bad one. */
static int agent_frames(struct session *s)
{
	const uint8_t *p;
	uint32_t type, len;
	long f;

	while ((f = vmct_frame_next(s->buf, s->have, &type, &p, &len)) > 0) {
		agent_frame(s, type, p, len);
		consume(s, f);
	}
	return f < 0 ? -1 : 0;
}

/* Bytes from the agent; -1 when the session ends (EOF, error, a bad frame). */
static int agent_input(struct session *s)
{
	ssize_t n = read(s->conn, s->buf + s->have, VMCT_HDR + VMCT_FRAME_MAX - s->have);

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	s->have += n;
	return agent_frames(s);
}

static void stdin_input(struct session *s)
{
	static uint8_t b[VMCT_DATA_MAX];
	ssize_t n = read(s->in, b, sizeof(b));

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0)
		s->in = -1;
	vmct_outq_frame(&s->out, VMCT_STDIN, b, n > 0 ? (uint32_t)n : 0);
}

/* SIGWINCH becomes WINCH (with a terminal), the others SIGNAL. */
static void signal_input(struct session *s)
{
	struct signalfd_siginfo si;
	uint8_t b[4];

	if (read(s->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH) {
		if (s->o->proc->tty)
			vmct_queue_winch(&s->out, s->o->in_fd >= 0 ? s->o->in_fd : s->o->out_fd);
		return;
	}
	vmct_put_u32(b, si.ssi_signo);
	vmct_outq_frame(&s->out, VMCT_SIGNAL, b, 4);
}

/* As run's relay (host.c): frames to the agent are queued, never blocked on. */
static void relay(struct session *s)
{
	/* Frames that came with HELLO are not news to poll. */
	if (agent_frames(s) < 0)
		return;
	while (!s->got_exit) {
		bool waiting = vmct_outq_pending(&s->out) > 0;
		struct pollfd p[3] = {
		    {.fd = s->conn, .events = POLLIN | (waiting ? POLLOUT : 0)},
		    {.fd = vmct_outq_pending(&s->out) < VMCT_OUTQ_HIGH ? s->in : -1,
		     .events = POLLIN},
		    {.fd = s->sigfd, .events = POLLIN}};
		int n = poll(p, 3, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && agent_input(s) < 0)
			break;
		if (p[1].revents)
			stdin_input(s);
		if (p[2].revents)
			signal_input(s);
		if (vmct_outq_flush(&s->out, s->conn, true) < 0)
			break;
	}
}

static int open_session(struct session *s, const char *uds, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	unsigned t = s->o->connect_timeout_s ? s->o->connect_timeout_s : 30;
	int64_t end = now_ms() + (int64_t)t * 1000;
	int r;

	if (strlen(uds) >= sizeof(sa.sun_path))
		return err_make(err, ENAMETOOLONG, "vsock socket `%s`", uds);
	strcpy(sa.sun_path, uds);
	s->buf = malloc(VMCT_HDR + VMCT_FRAME_MAX);
	if (!s->buf)
		return err_make(err, ENOMEM, "buffer");
	s->conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->conn < 0 || connect(s->conn, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_make(err, errno, "connect to the VM's vsock socket `%s`", uds);
	r = hybrid_connect(s->conn, uds, end, err);
	if (r >= 0)
		r = handshake(s, uds, end, err);
	return r;
}

int vmct_exec(const char *vsock_uds, const struct vmct_exec_opts *o, int *ret_status,
	      struct err **err)
{
	struct session s = {.o = o, .conn = -1, .sigfd = -1, .in = o->in_fd};
	struct termios saved;
	bool raw = false;
	sigset_t mask, old;
	int r;

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
	s.sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	r = s.sigfd < 0 ? err_make(err, errno, "signalfd") : open_session(&s, vsock_uds, err);
	if (r >= 0 && o->session_ready)
		o->session_ready(o->hook_arg);
	if (r >= 0) {
		/* Raw only now: an error above is printed on a sane terminal. */
		raw = o->proc->tty && vmct_term_raw(o->in_fd, &saved);
		relay(&s);
		if (raw)
			tcsetattr(o->in_fd, TCSANOW, &saved);
		if (!s.got_exit)
			r = err_make(err, 0, "in the VM: %s",
				     s.agent_error ? s.agent_error
						   : "the session ended without an exit status");
	}
	if (s.conn >= 0)
		close(s.conn);
	if (s.sigfd >= 0)
		close(s.sigfd);
	/* A signal that came after the session ended is dropped: the process is gone. */
	while (o->forward_signals && sigtimedwait(&mask, NULL, &(struct timespec){0}) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(s.agent_error);
	free(s.buf);
	vmct_outq_free(&s.out);
	if (r >= 0)
		*ret_status = s.status;
	return r;
}
