/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmct_relay_run's reading of the agent's frames: a stream of frames of every
 * size (empty ones by the thousand, some over a read's worth) written in
 * pieces that cut headers and payloads anywhere, some of it already in the
 * buffer as it would be after HELLO.  Every byte must come out on the right
 * descriptor, in order, and the EXIT status must be read.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdutil.h"
#include "relay.h"
#include "tap.h"
#include "vmct.h"

#define FRAMES 40000

struct stream {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct stream *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->p = realloc(s->p, s->cap);
		if (!s->p)
			abort();
	}
	if (n)
		memcpy(s->p + s->len, p, n);
	s->len += n;
}

static void put_frame(struct stream *s, uint32_t type, const void *p, uint32_t n)
{
	uint8_t hdr[VMCT_HDR];

	vmct_frame_header(hdr, type, n);
	put(s, hdr, sizeof(hdr));
	put(s, p, n);
}

/* The agent's stream, and what it should write to stdout and stderr. */
static void make_stream(struct stream *wire, struct stream *out, struct stream *err)
{
	static uint8_t data[VMCT_FRAME_MAX];
	uint32_t x = 1;
	uint8_t st[4];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + (i >> 8));
	for (unsigned i = 0; i < FRAMES; i++) {
		uint32_t n, off;

		x = x * 1103515245 + 12345;
		if (i % 2000 == 1000) { /* a big one, up to the limit */
			n = i == 1000 ? VMCT_FRAME_MAX : (x >> 4) % VMCT_FRAME_MAX + 1;
			put_frame(wire, VMCT_STDOUT, data, n);
			put(out, data, n);
			continue;
		}
		switch (x >> 28) {
		case 0:
		case 1:
		case 2:
			n = (x >> 8) % 300;
			off = (x >> 4) % 4096;
			put_frame(wire, VMCT_STDERR, data + off, n);
			put(err, data + off, n);
			break;
		case 3:
		case 4:
			n = (x >> 8) % 5000;
			off = (x >> 4) % 4096;
			put_frame(wire, VMCT_STDOUT, data + off, n);
			put(out, data + off, n);
			break;
		default: /* empty frames: ignored */
			put_frame(wire, i & 1 ? VMCT_HELLO : VMCT_STDOUT, NULL, 0);
			break;
		}
	}
	vmct_put_u32(st, 5);
	put_frame(wire, VMCT_EXIT, st, 4);
	vmct_put_u32(st, 9); /* a second EXIT changes nothing */
	put_frame(wire, VMCT_EXIT, st, 4);
}

/* Write @s to @fd in pieces of 1 byte to 256 KiB, pausing now and then (a read each). */
static void writer(int fd, const struct stream *s, size_t from)
{
	uint32_t x = 7;

	while (from < s->len) {
		size_t n;

		x = x * 1103515245 + 12345;
		n = (x >> 16) % 8 == 0 ? (x >> 8) % (256u << 10) + 1 : (x >> 8) % 40 + 1;
		if (n > s->len - from)
			n = s->len - from;
		if (write_all(fd, s->p + from, n) < 0)
			_exit(1);
		from += n;
		if ((x >> 12) % 64 == 0)
			usleep(200);
	}
	_exit(0);
}

static bool same(int fd, const struct stream *want)
{
	uint8_t *got = malloc(want->len + 1);
	ssize_t n = got ? pread(fd, got, want->len + 1, 0) : -1;
	bool r = n == (ssize_t)want->len && memcmp(got, want->p, want->len) == 0;

	free(got);
	return r;
}

int main(void)
{
	struct stream wire = {}, out = {}, err = {};
	struct vmct_relay r;
	int sv[2], st = -1;
	size_t pre;
	pid_t pid;

	make_stream(&wire, &out, &err);
	if (vmct_relay_init(&r) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	/* Already in the buffer: some whole frames and a header's first bytes. */
	pre = 0;
	while (pre < 4096) {
		uint32_t type, len;
		const uint8_t *pl;
		long f = vmct_frame_next(wire.p + pre, wire.len - pre, &type, &pl, &len);

		if (f <= 0 || pre + f > VMCT_FRAME_MAX)
			break;
		pre += f;
	}
	pre += 3;
	memcpy(r.buf, wire.p, pre);
	r.have = pre;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		writer(sv[1], &wire, pre);
	}
	close(sv[1]);
	r.conn = sv[0];
	r.out = memfd_create("out", MFD_CLOEXEC);
	r.err = memfd_create("err", MFD_CLOEXEC);
	vmct_relay_run(&r);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the writer sent all %zu bytes", wire.len);
	ok(r.got_exit, "EXIT was read");
	is_int(r.status, 5, "its status (the first EXIT's)");
	ok(same(r.out, &out), "stdout: all %zu bytes, in order", out.len);
	ok(same(r.err, &err), "stderr: all %zu bytes, in order", err.len);
	ok(!r.agent_error, "no error");
	close(r.conn);
	close(r.out);
	close(r.err);
	vmct_relay_free(&r);
	free(wire.p);
	free(out.p);
	free(err.p);
	return tap_done();
}
