/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmct_exec against a fake VMM + agent on a unix socket: the hybrid-vsock
 * CONNECT handshake, HELLO, CONFIG, stdio and EXIT; and hostile or broken
 * peers (refused CONNECT, a bad answer, an old agent, a bad frame, a close
 * before EXIT, an agent that stops reading), each an error and never a status.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdutil.h"
#include "tap.h"
#include "vmct.h"

enum peer {
	GOOD,
	REFUSE,
	BAD_ANSWER,
	LONG_ANSWER,
	OLD_AGENT,
	BAD_FRAME,
	NO_EXIT,
	AGENT_ERROR,
	STALL,
	DEAF
};

/* STALL: the bytes of output the agent writes before it reads, and of stdin it is given. */
#define STALL_OUT (8u << 20)
#define STALL_IN  (8u << 20)

static char sock_path[108];

static void send_frame(int fd, uint32_t type, const void *p, uint32_t n)
{
	uint8_t hdr[VMCT_HDR];

	vmct_frame_header(hdr, type, n);
	write_all(fd, hdr, sizeof(hdr));
	if (n)
		write_all(fd, p, n);
}

/* Read one frame into buf (static); its type, -1 at EOF. */
static long recv_frame(int fd, uint8_t *buf, size_t *have, uint32_t *type, const uint8_t **pl,
		       uint32_t *len)
{
	for (;;) {
		long f = vmct_frame_next(buf, *have, type, pl, len);
		ssize_t n;

		if (f != 0)
			return f;
		n = read(fd, buf + *have, 65536);
		if (n <= 0)
			return -1;
		*have += n;
	}
}

/* The fake: the VMM's CONNECT answer, then the agent's side of one session. */
static void peer(int fd, enum peer how)
{
	static uint8_t buf[VMCT_HDR + VMCT_FRAME_MAX];
	char line[64] = "";
	size_t n = 0, have = 0;
	struct vmct_config c;
	const uint8_t *pl;
	uint32_t type, len;
	long f;
	uint8_t st[4];

	while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n')
		n++;
	if (strncmp(line, "CONNECT 1025\n", 13) || how == REFUSE)
		_exit(strncmp(line, "CONNECT 1025\n", 13) ? 3 : 0);
	if (how == BAD_ANSWER)
		_exit(write_all(fd, "OK port\n", 8) < 0);
	if (how == LONG_ANSWER) {
		char a[200];

		memset(a, 'A', sizeof(a));
		_exit(write_all(fd, a, sizeof(a)) < 0);
	}
	write_all(fd, "OK 1073741824\n", 14);
	if (how == OLD_AGENT) {
		send_frame(fd, VMCT_HELLO, "isola-agent 1", 13);
		_exit(0);
	}
	send_frame(fd, VMCT_HELLO, VMCT_VERSION, strlen(VMCT_VERSION));
	f = recv_frame(fd, buf, &have, &type, &pl, &len);
	if (f < 0 || type != VMCT_CONFIG || vmct_config_parse(pl, len, &c, NULL) < 0 ||
	    strcmp(c.argv[0], "cat") || !c.tty || c.rows != 24)
		_exit(4);
	memmove(buf, buf + f, have - f);
	have -= f;
	if (how == BAD_FRAME) {
		send_frame(fd, 99, "x", 1);
		_exit(0);
	}
	if (how == AGENT_ERROR) {
		send_frame(fd, VMCT_ERROR, "exec `cat`: no such file", 24);
		_exit(0);
	}
	if (how == NO_EXIT) {
		send_frame(fd, VMCT_STDOUT, "partial", 7);
		_exit(0);
	}
	if (how == DEAF) {
		/*
		 * Reads nothing more: the host's stdin (sent 100 ms from now) fails
		 * with EPIPE; the output that comes after must still be read.
		 */
		shutdown(fd, SHUT_RD);
		usleep(300 * 1000);
		send_frame(fd, VMCT_STDOUT, "late", 4);
		_exit(0);
	}
	if (how == STALL) {
		/*
		 * A process that writes before it reads: 8 MB of output while the
		 * host's stdin frames pile up unread, then all of stdin counted.
		 */
		static uint8_t chunk[VMCT_DATA_MAX];
		size_t got = 0;
		char note[32];

		for (size_t sent = 0; sent < STALL_OUT; sent += sizeof(chunk))
			send_frame(fd, VMCT_STDOUT, chunk, sizeof(chunk));
		while ((f = recv_frame(fd, buf, &have, &type, &pl, &len)) > 0) {
			if (type == VMCT_STDIN && len == 0)
				break;
			got += type == VMCT_STDIN ? len : 0;
			memmove(buf, buf + f, have - f);
			have -= f;
		}
		snprintf(note, sizeof(note), "%zu", got);
		send_frame(fd, VMCT_STDERR, note, (uint32_t)strlen(note));
		vmct_put_u32(st, 0);
		send_frame(fd, VMCT_EXIT, st, 4);
		_exit(0);
	}
	/* GOOD: echo stdin as stdout until its EOF, then stderr and EXIT 7. */
	while ((f = recv_frame(fd, buf, &have, &type, &pl, &len)) > 0) {
		if (type == VMCT_STDIN && len == 0)
			break;
		if (type == VMCT_STDIN)
			send_frame(fd, VMCT_STDOUT, pl, len);
		memmove(buf, buf + f, have - f);
		have -= f;
	}
	send_frame(fd, VMCT_STDERR, "bye\n", 4);
	vmct_put_u32(st, 7);
	send_frame(fd, VMCT_EXIT, st, 4);
	_exit(0);
}

static char *contents(int fd)
{
	static char b[256];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);

	b[n > 0 ? n : 0] = '\0';
	return b;
}

/* One exec against a fake of kind @how; the status or the negative error, *msg its text. */
static int one(enum peer how, char *out, char *errout, char *msg)
{
	char *argv[] = {"cat", NULL}, *env[] = {NULL};
	struct vmct_config proc = {
	    .argv = argv, .env = env, .cwd = "/", .tty = true, .rows = 24, .cols = 80};
	int in[2], o = memfd_create("out", 0), e = memfd_create("err", 0), status = -1, r, st;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct err *err = NULL;
	pid_t pid;

	strcpy(sa.sun_path, sock_path);
	unlink(sock_path);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0 ||
	    pipe(in) < 0)
		return -999;
	pid = fork();
	if (pid == 0) {
		int c = accept(l, NULL, NULL);

		close(in[1]); /* else the exec never sees its stdin's EOF */
		peer(c, how);
	}
	close(l);
	if (how == STALL && fork() == 0) { /* a writer of stdin that never stops by itself */
		static uint8_t zeros[65536];

		for (size_t n = 0; n < STALL_IN; n += sizeof(zeros))
			write_all(in[1], zeros, sizeof(zeros));
		_exit(0);
	}
	if (how == DEAF && fork() == 0) { /* stdin that comes once the agent stopped reading */
		usleep(100 * 1000);
		write_all(in[1], "hello\n", 6);
		_exit(0);
	}
	if (how != STALL && how != DEAF)
		write_all(in[1], "hello\n", 6);
	close(in[1]);
	struct vmct_exec_opts x = {
	    .proc = &proc, .in_fd = in[0], .out_fd = o, .err_fd = e, .connect_timeout_s = 10};
	r = vmct_exec(sock_path, &x, &status, &err);
	if (how == STALL)
		snprintf(out, 256, "%lld", (long long)lseek(o, 0, SEEK_END));
	else
		strcpy(out, contents(o));
	strcpy(errout, contents(e));
	snprintf(msg, 512, "%s", err ? err->msg : "");
	if (err)
		printf("# error: %s\n", err->msg);
	err_free(&err);
	close(in[0]);
	close(o);
	close(e);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		printf("# the fake peer failed: %d\n", st);
	while (wait(NULL) > 0) /* STALL's and DEAF's writers */
		;
	unlink(sock_path);
	return r < 0 ? r : status;
}

int main(void)
{
	char dir[] = "/tmp/test-vmct-exec-XXXXXX", out[256], errout[256], msg[512];

	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/v.sock", dir);

	is_int(one(GOOD, out, errout, msg), 7, "an exec: the process's exit status");
	ok(!strcmp(out, "hello\n") && !strcmp(errout, "bye\n"),
	   "stdin went in, stdout/err came out");
	ok(one(REFUSE, out, errout, msg) < 0 && strstr(msg, "refused CONNECT 1025"),
	   "a refused CONNECT (no listener) is an error naming the port");
	ok(one(BAD_ANSWER, out, errout, msg) < 0 && strstr(msg, "bad answer"),
	   "a bad answer to CONNECT is refused");
	ok(one(LONG_ANSWER, out, errout, msg) < 0 && strstr(msg, "too long"),
	   "an answer without an end is refused");
	ok(one(OLD_AGENT, out, errout, msg) < 0 && strstr(msg, "does not speak"),
	   "an agent of protocol 1 is refused");
	ok(one(BAD_FRAME, out, errout, msg) < 0, "a bad frame ends the session with an error");
	ok(one(NO_EXIT, out, errout, msg) < 0 && !strcmp(out, "partial") &&
	       strstr(msg, "without an exit status"),
	   "a close before EXIT is an error (output kept)");
	ok(one(DEAF, out, errout, msg) < 0 && !strcmp(out, "late") &&
	       strstr(msg, "without an exit status"),
	   "an agent that stops reading: what it writes after is still read (EPIPE is no end)");
	ok(one(AGENT_ERROR, out, errout, msg) < 0 && strstr(msg, "no such file"),
	   "the agent's ERROR is the message");
	/* Before the queue, host and agent each blocked writing to the other here. */
	is_int(one(STALL, out, errout, msg), 0, "an agent that writes 8 MB before reading 8 MB");
	ok(atoll(out) == STALL_OUT && atoll(errout) == STALL_IN,
	   "all of the output came out (%s), all of stdin went in (%s)", out, errout);
	rmdir(dir);
	return tap_done();
}
