/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host's end of an agent session (relay.h), and the frame and terminal
 * helpers the host sides share (vmct.h).
 *
 * What goes to the agent is queued and written without blocking: an agent
 * that stops reading (its process does not read stdin) still has its output
 * read here, so neither end waits on the other for good.  The agent is
 * trusted with nothing but its own output: a bad frame ends the session.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "fdutil.h"
#include "relay.h"
#include "text.h"
#include "vmct.h"

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

int vmct_send_all(int fd, const void *p, size_t n)
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
	r = vmct_send_all(fd, hdr, sizeof(hdr));
	if (r >= 0 && n)
		r = vmct_send_all(fd, p, n);
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

int vmct_relay_init(struct vmct_relay *r)
{
	*r = (struct vmct_relay){
	    .conn = -1, .in = -1, .out = -1, .err = -1, .sigfd = -1, .tty = -1, .end = -1};
	r->buf = malloc(VMCT_HDR + VMCT_FRAME_MAX);
	return r->buf ? 0 : -ENOMEM;
}

void vmct_relay_consume(struct vmct_relay *r, size_t n)
{
	memmove(r->buf, r->buf + n, r->have - n);
	r->have -= n;
}

void vmct_relay_free(struct vmct_relay *r)
{
	free(r->agent_error);
	r->agent_error = NULL;
	free(r->buf);
	r->buf = NULL;
	vmct_outq_free(&r->q);
}

static void agent_frame(struct vmct_relay *r, uint32_t type, const uint8_t *p, uint32_t n)
{
	switch (type) {
	case VMCT_STDOUT:
		write_all(r->out, p, n);
		break;
	case VMCT_STDERR:
		write_all(r->err, p, n);
		break;
	case VMCT_EXIT: /* the first one counts */
		if (n == 4 && !r->got_exit) {
			r->got_exit = true;
			r->status = vmct_get_u32(p) & 0xff;
		}
		break;
	case VMCT_ERROR: /* guest text, for our message: escaped */
		free(r->agent_error);
		r->agent_error = text_escape_ctl(p, n > 1024 ? 1024 : n);
		break;
	default: /* HELLO, or a host-only type: ignored */
		break;
	}
}

/*
 * The whole frames in r->buf; -1 on a bad one.  The part of a frame left over
 * is moved to the front once: moved after each frame, a guest's stream of
 * tiny frames would cost the host a buffer's memmove per 8 bytes.
 */
static int agent_frames(struct vmct_relay *r)
{
	const uint8_t *p;
	uint32_t type, len;
	size_t off = 0;
	long f;

	while ((f = vmct_frame_next(r->buf + off, r->have - off, &type, &p, &len)) > 0) {
		agent_frame(r, type, p, len);
		off += (size_t)f;
	}
	if (off)
		vmct_relay_consume(r, off);
	return f < 0 ? -1 : 0;
}

/* Bytes from the agent; -1 when the session ends (EOF, error, a bad frame). */
static int agent_input(struct vmct_relay *r)
{
	ssize_t n = read(r->conn, r->buf + r->have, VMCT_HDR + VMCT_FRAME_MAX - r->have);

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	r->have += n;
	return agent_frames(r);
}

/* Our stdin, queued as STDIN frames (an empty one at EOF). */
static void stdin_input(struct vmct_relay *r)
{
	static uint8_t b[VMCT_DATA_MAX];
	ssize_t n = read(r->in, b, sizeof(b));

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0)
		r->in = -1;
	vmct_outq_frame(&r->q, VMCT_STDIN, b, n > 0 ? (uint32_t)n : 0);
}

/* The signals a VM container's monitor (a foreground run --vm too) passes into the VM. */
static const int relayed_sigs[] = {SIGHUP,  SIGINT,  SIGQUIT,  SIGTERM,
				   SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM};

bool vmct_signal_relayed(int sig)
{
	for (size_t i = 0; i < sizeof(relayed_sigs) / sizeof(relayed_sigs[0]); i++)
		if (relayed_sigs[i] == sig)
			return true;
	return false;
}

void vmct_relayed_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(relayed_sigs) / sizeof(relayed_sigs[0]); i++)
		sigaddset(set, relayed_sigs[i]);
}

/* SIGWINCH with a terminal becomes WINCH; every other signal, SIGNAL. */
static void signal_input(struct vmct_relay *r)
{
	struct signalfd_siginfo si;
	uint8_t b[4];

	if (read(r->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH && r->tty >= 0) {
		vmct_queue_winch(&r->q, r->tty);
		return;
	}
	vmct_put_u32(b, si.ssi_signo);
	vmct_outq_frame(&r->q, VMCT_SIGNAL, b, 4);
}

void vmct_relay_run(struct vmct_relay *r)
{
	/* The agent's end stopped taking our frames: what it sent is still read, to its EOF. */
	bool deaf = false;

	if (agent_frames(r) < 0)
		return;
	while (!r->got_exit) {
		bool waiting = !deaf && vmct_outq_pending(&r->q) > 0;
		struct pollfd p[4] = {
		    {.fd = r->conn, .events = POLLIN | (waiting ? POLLOUT : 0)},
		    {.fd = !deaf && vmct_outq_pending(&r->q) < VMCT_OUTQ_HIGH ? r->in : -1,
		     .events = POLLIN},
		    {.fd = r->sigfd, .events = POLLIN},
		    {.fd = r->end, .events = POLLIN}};
		int n = poll(p, 4, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && agent_input(r) < 0)
			break;
		if (p[1].revents)
			stdin_input(r);
		if (p[2].revents) {
			signal_input(r);
			/* One that can no longer reach the process ends the wait, as before. */
			if (deaf)
				break;
		}
		if (!deaf) {
			int w = vmct_outq_flush(&r->q, r->conn, true);

			/* The agent's end is gone: EOF comes on the read side. */
			if (w == -EPIPE || w == -ECONNRESET)
				deaf = true;
			else if (w < 0)
				break;
		}
		if (p[3].revents && !(p[0].revents & POLLIN))
			break; /* the far side is gone and nothing is left to read */
	}
}
