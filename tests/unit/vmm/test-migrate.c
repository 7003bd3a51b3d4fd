/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The live migration wire protocol (src/vmm/migrate/wire.c) and addresses
 * (addr.c): a valid stream lands in guest memory; broken, truncated and
 * hostile streams fail with an error and never write outside guest memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "migrate/migrate-internal.h"
#include "migrate/vmm-migrate.h"
#include "vm.h"
#include "snap-format.h"
#include "tap.h"
#include "vm-config.h"

#define LOW_SIZE  (1u << 20)
#define HIGH_SIZE (64u << 10)
#define HIGH_GPA  (4ULL << 30)

static uint8_t low[LOW_SIZE + 2 * MIG_PAGE] __attribute__((aligned(4096)));
static uint8_t high[HIGH_SIZE] __attribute__((aligned(4096)));
static struct guest_mem mem = {
    .regions = {{0, LOW_SIZE, low}, {HIGH_GPA, HIGH_SIZE, high}},
    .nr = 2,
};

struct stream {
	uint8_t buf[2 << 20];
	size_t len;
};

/* With a key: the stream's tags (tx) and the reader's check (rx), session nonces ns, nd. */
static struct mig_mac tx, rx;
static struct mig_key key_a, key_b;
/* keys(): the key that proves a tagged stream's hello, and the reader's key. */
static const struct mig_key *hello_key, *check_key;
static const uint8_t ns[MIG_NONCE] = {1, 2, 3}, nd[MIG_NONCE] = {4, 5, 6},
		     nd2[MIG_NONCE] = {4, 5, 7};

static void put(struct stream *s, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (s->len + n > sizeof(s->buf))
		abort();
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void frame(struct stream *s, uint32_t type, const void *p, size_t n)
{
	uint8_t h[MIG_FRAME_HDR];

	mig_put_frame(h, type, n);
	put(s, h, sizeof(h));
	if (tx.ctx) {
		static uint8_t c[8 + (MIG_MAX_RUN + 1) * MIG_PAGE];
		uint8_t tag[MIG_TAG];

		if (n > sizeof(c))
			abort();
		if (n)
			memcpy(c, p, n);
		if (mig_mac_seal(&tx, h, &(struct iovec){c, n}, 1, tag) < 0)
			abort();
		put(s, c, n);
		put(s, tag, sizeof(tag));
		return;
	}
	put(s, p, n);
}

static void devcfg(struct stream *s);

/* Hello, CONFIG, then (with_devcfg) the device list. */
static void start_with(struct stream *s, uint32_t cpus, uint64_t memory, bool with_devcfg)
{
	struct mig_config c = {.cpus = cpus, .memory = memory};
	uint8_t h[MIG_HEADER_SIZE], p[MIG_CONFIG_SIZE];

	s->len = 0;
	tx.seq = 0;
	mig_put_header(h, tx.ctx ? MIG_F_AUTH : 0, ns);
	put(s, h, sizeof(h));
	if (tx.ctx) {
		uint8_t proof[MIG_PROOF];

		if (mig_hello_proof(hello_key, h, proof, NULL) < 0)
			abort();
		put(s, proof, sizeof(proof));
	}
	mig_put_config(p, &c);
	frame(s, MIG_CONFIG, p, sizeof(p));
	if (with_devcfg)
		devcfg(s);
}

static void start(struct stream *s, uint32_t cpus, uint64_t memory)
{
	start_with(s, cpus, memory, true);
}

static void pages(struct stream *s, uint64_t gpa, unsigned n, uint8_t fill)
{
	static uint8_t p[8 + MIG_MAX_RUN * MIG_PAGE + MIG_PAGE];

	mig_put_u64(p, gpa);
	memset(p + 8, fill, (size_t)n * MIG_PAGE);
	frame(s, MIG_PAGES, p, 8 + (size_t)n * MIG_PAGE);
}

static void zero(struct stream *s, uint64_t gpa, uint64_t n)
{
	uint8_t p[16];

	mig_put_u64(p, gpa);
	mig_put_u64(p + 8, n);
	frame(s, MIG_ZERO, p, sizeof(p));
}

/* A DEVCFG frame: a snapshot state holding one SNAP_DEVCFG section. */
static void devcfg(struct stream *s)
{
	static const char pairs[] = "rng\0\0irqchip\0kernel";
	struct snap_writer w;
	uint8_t *buf = NULL;
	size_t len = 0;

	snap_writer_init(&w);
	snap_put(&w, SNAP_DEVCFG, 0, pairs, sizeof(pairs));
	if (snap_writer_finish(&w, &buf, &len, NULL) < 0)
		abort();
	frame(s, MIG_DEVCFG, buf, len);
	free(buf);
}

static void state(struct stream *s)
{
	struct snap_writer w;
	uint8_t *buf = NULL;
	size_t len = 0;
	uint32_t x = 7;

	snap_writer_init(&w);
	snap_put(&w, SNAP_CONFIG, 0, &x, sizeof(x));
	if (snap_writer_finish(&w, &buf, &len, NULL) < 0)
		abort();
	frame(s, MIG_STATE, buf, len);
	free(buf);
}

/* Run the destination's reader over s: 0, or the failing step's -errno. */
static int run(const struct stream *s, size_t len, struct mig_config *c)
{
	struct mig_buf b = {s->buf, len, 0};
	struct mig_reader rd = {mig_buf_read, &b, &rx};
	uint8_t nonce[MIG_NONCE];
	struct err *e = NULL;
	uint8_t *st = NULL;
	size_t stlen = 0;
	uint32_t flags;
	int r = mig_read_hello(&rd, rx.ctx ? check_key : NULL, &flags, nonce, &e);

	rx.seq = 0;
	if (r >= 0 && !!(flags & MIG_F_AUTH) != !!rx.ctx)
		r = err_make(&e, EPERM, "tagged and untagged ends");
	if (r >= 0)
		r = mig_read_config(&rd, c, &e);
	if (r >= 0)
		r = mig_read_devcfg(&rd, &st, &stlen, &e);
	if (r >= 0 && (stlen < SNAP_HEADER_SIZE || memcmp(st, SNAP_MAGIC, 7)))
		r = -1001;
	free(st);
	st = NULL;
	if (r >= 0)
		r = mig_read_memory(&rd, &mem, &st, &stlen, &e);
	if (r >= 0 && (stlen < SNAP_HEADER_SIZE || memcmp(st, SNAP_MAGIC, 7)))
		r = -1000;
	ok(r >= 0 || (e && e->msg && *e->msg), "an error has a message");
	err_free(&e);
	free(st);
	return r;
}

static void test_valid(void)
{
	static struct stream s;
	struct mig_config c;

	memset(low, 0, sizeof(low)); /* a fresh VM's RAM */
	start(&s, 2, 64 << 20);
	pages(&s, 0x1000, 2, 0xab);
	zero(&s, 0x2000, 1);
	pages(&s, 0x10000, 17, 0x55);
	zero(&s, 0x10000, 16);
	pages(&s, HIGH_GPA + HIGH_SIZE - MIG_PAGE, 1, 0xcd);
	state(&s);
	is_int(run(&s, s.len, &c), 0, "valid stream");
	is_int(c.cpus, 2, "config cpus");
	ok(c.memory == 64 << 20, "config memory");
	ok(low[0x1000] == 0xab && low[0x1fff] == 0xab, "pages written");
	ok(low[0x2000] == 0 && low[0x2fff] == 0, "zero page cleared");
	ok(low[0x10000] == 0 && low[0x1ffff] == 0 && low[0x20000] == 0x55, "zero run, and no more");
	ok(low[0xfff] == 0 && low[0x3000] == 0, "neighbours untouched");
	ok(high[HIGH_SIZE - 1] == 0xcd, "high region");
	for (size_t n = 0; n < s.len; n += n < 64 ? 1 : 997)
		ok(run(&s, n, &c) < 0, "truncated at %zu bytes", n);
}

static void test_bad_header(void)
{
	static struct stream s;
	struct mig_config c;

	start(&s, 1, 64 << 20);
	state(&s);
	s.buf[0] = 'X';
	ok(run(&s, s.len, &c) < 0, "bad magic");
	start(&s, 1, 64 << 20);
	state(&s);
	s.buf[8] = 1;
	ok(run(&s, s.len, &c) < 0, "version 1");
	s.buf[8] = 2;
	s.buf[12] = 2;
	ok(run(&s, s.len, &c) < 0, "unknown flags");
	start(&s, 0, 64 << 20);
	state(&s);
	ok(run(&s, s.len, &c) < 0, "0 vCPUs");
	start(&s, 65, 64 << 20);
	ok(run(&s, s.len, &c) < 0, "65 vCPUs");
	start(&s, 1, (64 << 20) + 1);
	ok(run(&s, s.len, &c) < 0, "memory not page-sized");
	start(&s, 1, 1ULL << 40);
	ok(run(&s, s.len, &c) < 0, "memory over the cap");
	s.len = MIG_HEADER_SIZE;
	frame(&s, MIG_PAGES, "12345678", 8);
	ok(run(&s, s.len, &c) < 0, "pages before config");
}

static void test_hostile_frames(void)
{
	static struct stream s;
	struct mig_config c;
	uint8_t big[128];

	memset(low, 0x55, sizeof(low));
	memset(big, 0, sizeof(big));
#define BAD(what, ...)                            \
	do {                                      \
		start(&s, 1, 64 << 20);           \
		__VA_ARGS__;                      \
		state(&s);                        \
		ok(run(&s, s.len, &c) < 0, what); \
	} while (0)
	BAD("misaligned pages", pages(&s, 0x1001, 1, 1));
	BAD("pages past the region", pages(&s, LOW_SIZE - MIG_PAGE, 2, 1));
	BAD("pages in no region", pages(&s, 2ULL << 30, 1, 1));
	BAD("too many pages in a frame", pages(&s, 0, MIG_MAX_RUN + 1, 1));
	BAD("pages frame without data", frame(&s, MIG_PAGES, big, 8));
	BAD("pages frame of a partial page", frame(&s, MIG_PAGES, big, 8 + 100));
	BAD("zero run past the region", zero(&s, HIGH_GPA, HIGH_SIZE / MIG_PAGE + 1));
	BAD("zero run of 0 pages", zero(&s, 0, 0));
	BAD("zero run that wraps", zero(&s, ~0ULL - MIG_PAGE + 1, 2));
	BAD("zero run of 2^52 pages", zero(&s, 0, 1ULL << 52));
	BAD("zero frame of a wrong size", frame(&s, MIG_ZERO, big, 24));
	BAD("unknown frame", frame(&s, 99, big, 0));
	BAD("second config", frame(&s, MIG_CONFIG, big, MIG_CONFIG_SIZE));
	BAD("a reply frame", frame(&s, MIG_OK, big, 0));
	ok(low[LOW_SIZE] == 0x55 && low[LOW_SIZE + MIG_PAGE] == 0x55, "nothing written past RAM");
	/* The device list must follow CONFIG, within its cap. */
	start_with(&s, 1, 64 << 20, false);
	pages(&s, 0, 1, 1);
	state(&s);
	ok(run(&s, s.len, &c) < 0, "no device list after the config");
	start_with(&s, 1, 64 << 20, false);
	mig_put_frame(big, MIG_DEVCFG, SNAP_MAX_SECTION + 4097);
	put(&s, big, MIG_FRAME_HDR);
	ok(run(&s, s.len, &c) < 0, "device list over the cap");
	start_with(&s, 1, 64 << 20, false);
	frame(&s, MIG_DEVCFG, big, 4);
	ok(run(&s, s.len, &c) < 0, "device list too short");
	BAD("second device list", devcfg(&s));
	start(&s, 1, 64 << 20);
	frame(&s, MIG_STATE, big, 4);
	ok(run(&s, s.len, &c) < 0, "state too short");
	start(&s, 1, 64 << 20);
	mig_put_frame(big, MIG_STATE, SNAP_MAX_FILE + 1);
	put(&s, big, MIG_FRAME_HDR);
	ok(run(&s, s.len, &c) < 0, "state over the cap");
	start(&s, 1, 64 << 20);
	mig_put_frame(big, MIG_PAGES, 0xffffffff);
	put(&s, big, MIG_FRAME_HDR);
	ok(run(&s, s.len, &c) < 0, "pages frame of 4 GiB");
}

static int reply(const void *p, size_t n, uint32_t expect, char **msg)
{
	struct mig_buf b = {p, n, 0};
	struct mig_reader rd = {mig_buf_read, &b, &rx};
	struct err *e = NULL;
	int r;

	rx.seq = 0;
	r = mig_read_reply(&rd, expect, "the destination", &e);

	*msg = e ? strdup(e->msg) : NULL;
	err_free(&e);
	return r;
}

static void test_reply(void)
{
	static struct stream s;
	char *msg = NULL;

	s.len = 0;
	frame(&s, MIG_OK, NULL, 0);
	is_int(reply(s.buf, s.len, MIG_OK, &msg), 0, "OK");
	ok(reply(s.buf, s.len, MIG_READY, &msg) == -EPROTO, "OK where READY is expected");
	free(msg);
	s.len = 0;
	frame(&s, MIG_FAIL, "no\033[2Jroom", 10);
	is_int(reply(s.buf, s.len, MIG_OK, &msg), -EREMOTEIO, "FAIL");
	ok(msg && strstr(msg, "no?[2Jroom"), "FAIL's message, control bytes replaced: %s", msg);
	free(msg);
	s.len = 0;
	mig_put_frame(s.buf, MIG_FAIL, MIG_MAX_MSG + 1);
	s.len = MIG_FRAME_HDR;
	ok(reply(s.buf, s.len, MIG_OK, &msg) == -EPROTO, "FAIL message over the cap");
	free(msg);
	ok(reply(s.buf, 3, MIG_OK, &msg) < 0, "short reply");
	free(msg);
}

static void keys(const struct mig_key *src, const struct mig_key *dst, const uint8_t *dnonce)
{
	struct err *e = NULL;

	mig_mac_free(&tx);
	mig_mac_free(&rx);
	hello_key = src;
	check_key = dst;
	if (src && mig_mac_init(&tx, src, MIG_LABEL_S2D, ns, nd, &e) < 0)
		abort();
	if (dst && mig_mac_init(&rx, dst, MIG_LABEL_S2D, ns, dnonce, &e) < 0)
		abort();
}

/* Tagged streams: whatever was altered, replayed, reordered or spliced fails before it lands. */
static void test_auth(void)
{
	static struct stream s, t;
	struct mig_config c;
	size_t a, b, fr;
	char *msg = NULL;

	memset(key_a.bytes, 0xa5, 32);
	key_a.len = 32;
	memset(key_b.bytes, 0xa5, 33);
	key_b.len = 33;
	keys(&key_a, &key_a, nd);
	memset(low, 0, sizeof(low));
	start(&s, 1, 64 << 20);
	a = s.len;
	pages(&s, 0x1000, 1, 0x11);
	b = s.len;
	pages(&s, 0x2000, 1, 0x22);
	state(&s);
	is_int(run(&s, s.len, &c), 0, "a tagged stream");
	ok(low[0x1000] == 0x11 && low[0x1fff] == 0x11 && low[0x2000] == 0x22, "its pages landed");
	{
		static uint8_t plain[256];
		size_t runs = 0;

		memset(plain, 0x11, sizeof(plain));
		for (size_t i = 0; i + sizeof(plain) <= s.len; i++)
			runs += !memcmp(s.buf + i, plain, sizeof(plain));
		is_int(runs, 0, "the pages are encrypted on the wire");
	}
	for (size_t n = 0; n < s.len; n += n < 128 ? 1 : 1013)
		ok(run(&s, n, &c) < 0, "tagged, truncated at %zu bytes", n);

	memset(low, 0, sizeof(low));
	s.buf[a + MIG_FRAME_HDR + 8 + 100] ^= 1;
	is_int(run(&s, s.len, &c), -EBADMSG, "a page byte altered");
	ok(low[0x1000] == 0 && low[0x1064] == 0, "the altered frame did not land");
	s.buf[a + MIG_FRAME_HDR + 8 + 100] ^= 1;
	s.buf[a + MIG_FRAME_HDR] ^= 1; /* the gpa */
	is_int(run(&s, s.len, &c), -EBADMSG, "a page address altered");
	s.buf[a + MIG_FRAME_HDR] ^= 1;
	s.buf[b - 1] ^= 0x80;
	is_int(run(&s, s.len, &c), -EBADMSG, "a tag altered");
	s.buf[b - 1] ^= 0x80;

	/* Replayed: the first pages frame twice. */
	fr = b - a;
	memcpy(t.buf, s.buf, b);
	memcpy(t.buf + b, s.buf + a, fr);
	memcpy(t.buf + b + fr, s.buf + b, s.len - b);
	t.len = s.len + fr;
	is_int(run(&t, t.len, &c), -EBADMSG, "a frame replayed");
	/* Reordered: the two pages frames swapped. */
	memcpy(t.buf, s.buf, a);
	memcpy(t.buf + a, s.buf + b, fr);
	memcpy(t.buf + a + fr, s.buf + a, fr);
	memcpy(t.buf + a + 2 * fr, s.buf + a + 2 * fr, s.len - a - 2 * fr);
	t.len = s.len;
	is_int(run(&t, t.len, &c), -EBADMSG, "frames reordered");

	keys(&key_a, &key_a, nd2);
	is_int(run(&s, s.len, &c), -EBADMSG, "spliced into a session with another nonce");
	keys(&key_a, &key_b, nd);
	is_int(run(&s, s.len, &c), -EPERM, "another key: the hello's proof fails, nothing read on");
	keys(&key_a, &key_a, nd);
	s.buf[MIG_HEADER_SIZE + 5] ^= 1;
	is_int(run(&s, s.len, &c), -EPERM, "a proof altered");
	s.buf[MIG_HEADER_SIZE + 5] ^= 1;
	s.buf[20] ^= 1;
	is_int(run(&s, s.len, &c), -EPERM, "the hello's nonce altered under its proof");
	s.buf[20] ^= 1;
	ok(run(&s, MIG_HEADER_SIZE + 10, &c) < 0, "a hello cut inside its proof");
	/* The same hello proves key_a, never key_b: a proof is the key's, not the stream's. */
	{
		uint8_t pa[MIG_PROOF], pb[MIG_PROOF];

		ok(mig_hello_proof(&key_a, s.buf, pa, NULL) == 0 &&
		       mig_hello_proof(&key_b, s.buf, pb, NULL) == 0 && memcmp(pa, pb, MIG_PROOF) &&
		       !memcmp(pa, s.buf + MIG_HEADER_SIZE, MIG_PROOF),
		   "the proof is HMAC(key, label || hello)");
	}
	keys(NULL, &key_a, nd);
	start(&s, 1, 64 << 20);
	state(&s);
	is_int(run(&s, s.len, &c), -EPERM, "no key at all");

	/* Replies: a FAIL counts only with a good tag. */
	keys(&key_a, &key_a, nd);
	s.len = 0;
	tx.seq = 0;
	frame(&s, MIG_FAIL, "no", 2);
	is_int(reply(s.buf, s.len, MIG_OK, &msg), -EREMOTEIO, "tagged FAIL");
	free(msg);
	s.buf[s.len - 1] ^= 1;
	is_int(reply(s.buf, s.len, MIG_OK, &msg), -EBADMSG, "a FAIL with a bad tag");
	free(msg);
	s.len = 0;
	tx.seq = 0;
	frame(&s, MIG_STARTED, NULL, 0);
	is_int(reply(s.buf, s.len, MIG_STARTED, &msg), 0, "tagged STARTED");
	free(msg);
	keys(NULL, NULL, nd);
}

static void test_key_file(void)
{
	char dir[] = "/tmp/isola-test-mkey.XXXXXX", path[128], link[128];
	struct mig_key k;
	struct err *e = NULL;
	FILE *f;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/key", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	f = fopen(path, "w");
	fputs("0123456789abcdef0123456789abcdef", f);
	fclose(f);
	chmod(path, 0600);
	ok(mig_key_load(path, &k, &e) == 0 && k.len == 32, "a 32-byte key, mode 600");
	chmod(path, 0640);
	ok(mig_key_load(path, &k, &e) == -EPERM && strstr(e->msg, "chmod 600"),
	   "group-readable key refused: %s", e ? e->msg : "");
	err_free(&e);
	chmod(path, 0604);
	ok(mig_key_load(path, &k, &e) == -EPERM, "world-readable key refused");
	err_free(&e);
	chmod(path, 0600);
	ok(symlink(path, link) == 0 && mig_key_load(link, &k, &e) < 0, "a symlink refused");
	err_free(&e);
	ok(truncate(path, 31) == 0, "truncate");
	ok(mig_key_load(path, &k, &e) == -EINVAL, "a 31-byte key refused");
	err_free(&e);
	ok(mig_key_load(dir, &k, &e) < 0, "a directory refused");
	err_free(&e);
	ok(mig_check_auth("tcp:127.0.0.1:1", false, &e) == -EPERM, "TCP without a key refused");
	err_free(&e);
	ok(mig_check_auth("tcp:127.0.0.1:1", true, &e) == 0, "TCP with a key");
	ok(mig_check_auth("unix:/x", false, &e) == 0, "a Unix socket without a key");
	unlink(link);
	unlink(path);
	rmdir(dir);
}

static void test_addr(void)
{
	static const char *const good[] = {"tcp:127.0.0.1:80", "tcp:[::1]:8080", "tcp:host:65535",
					   "unix:/tmp/x.sock", "unix:rel",	 NULL};
	static const char *const bad[] = {"tcp:127.0.0.1:0",
					  "tcp:host:65536",
					  "tcp::80",
					  "tcp:host:",
					  "tcp:host",
					  "tcp:[]:1",
					  "tcp:h:1x",
					  "unix:",
					  "udp:1.2.3.4:5",
					  "",
					  NULL};
	char longpath[200];
	struct mig_addr a;
	struct err *e = NULL;

	for (size_t i = 0; good[i]; i++)
		ok(mig_addr_parse(good[i], &a, &e) == 0, "address %s", good[i]);
	for (size_t i = 0; bad[i]; i++) {
		ok(mig_addr_parse(bad[i], &a, &e) < 0, "bad address `%s`", bad[i]);
		err_free(&e);
	}
	mig_addr_parse("tcp:[::1]:8080", &a, &e);
	ok(!a.is_unix && !strcmp(a.host, "::1") && !strcmp(a.port, "8080"), "v6 host and port");
	memset(longpath, 'a', sizeof(longpath));
	memcpy(longpath, "unix:", 5);
	longpath[sizeof(longpath) - 1] = '\0';
	ok(mig_addr_parse(longpath, &a, &e) < 0, "Unix path too long");
	err_free(&e);
}

/* mig_connect refuses a Unix socket that another user (not root) listens on. */
static void test_connect_peer(void)
{
	char dir[] = "/tmp/isola-test-mig.XXXXXX", path[128], addr[140];
	int sp[2], st;
	struct err *e = NULL;
	char c;
	pid_t pid;

	if (geteuid() != 0 || !mkdtemp(dir) || socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) {
		ok(1, "# SKIP peer check: needs root");
		return;
	}
	(void)!chown(dir, 65534, 65534);
	snprintf(path, sizeof(path), "%s/s", dir);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	pid = fork();
	if (pid == 0) {
		struct sockaddr_un un = {.sun_family = AF_UNIX};
		int l = socket(AF_UNIX, SOCK_STREAM, 0);

		strcpy(un.sun_path, path);
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0 ||
		    l < 0 || bind(l, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(l, 1) < 0)
			_exit(1);
		chmod(path, 0666);
		(void)!write(sp[1], "r", 1);
		(void)!read(sp[1], &c, 1); /* until the parent is done */
		_exit(0);
	}
	close(sp[1]);
	ok(read(sp[0], &c, 1) == 1, "another user listens on %s", path);
	ok(mig_connect(addr, &e) < 0 && e && strstr(e->msg, "uid 65534"),
	   "a socket of another user is refused: %s", e ? e->msg : "");
	err_free(&e);
	(void)!write(sp[0], "x", 1);
	waitpid(pid, &st, 0);
	close(sp[0]);
	unlink(path);
	rmdir(dir);
}

/* A source that sends the header and config, then hangs up. */
struct source {
	char path[108];
	struct stream s;
};

static void *source_main(void *arg)
{
	struct source *src = arg;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char sink[256];
	int fd = -1;

	strcpy(sa.sun_path, src->path);
	/* Bounded wait for the destination to listen (up to 10 s). */
	for (int i = 0; i < 1000; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	if (fd < 0)
		return NULL;
	if (write(fd, src->s.buf, src->s.len) != (ssize_t)src->s.len)
		fprintf(stderr, "# source: short write\n");
	shutdown(fd, SHUT_WR);
	while (read(fd, sink, sizeof(sink)) > 0)
		;
	close(fd);
	return NULL;
}

/*
 * A receive that fails after the config (the source hangs up, or there is no
 * KVM) leaves no pointer into its stack frame in the caller's vm_config.
 */
static void test_receive_leaves_no_stack_pointer(void)
{
	static struct source src;
	char dir[] = "/tmp/isola-test-migrate.XXXXXX", addr[128];
	struct vm_config cfg;
	struct err *e = NULL;
	pthread_t t;
	int status = 0, r;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(src.path, sizeof(src.path), "%s/mig.sock", dir);
	snprintf(addr, sizeof(addr), "unix:%s", src.path);
	start(&src.s, 1, 16 << 20);
	vmm_config_init(&cfg);
	pthread_create(&t, NULL, source_main, &src);
	r = vmm_migrate_receive(&cfg, addr, NULL, &(struct vmm_restore_args){0}, &status, &e);
	pthread_join(t, NULL);
	ok(r < 0 && e, "receive fails when the source hangs up: %s", e ? e->msg : "");
	/* The incoming hooks live in the receive's own struct vmm_launch, never in cfg. */
	err_free(&e);
	vmm_config_free(&cfg);
	unlink(src.path);
	rmdir(dir);
}

int main(void)
{
	test_valid();
	test_bad_header();
	test_hostile_frames();
	test_reply();
	test_auth();
	test_key_file();
	test_addr();
	test_connect_peer();
	test_receive_leaves_no_stack_pointer();
	return tap_done();
}
