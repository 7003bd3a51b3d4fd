/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src/net/dns.c: DNS message parsing (names with compression, every length checked) and
 * the answers of a network's responder; the question's case mixed for forwarding (0x20)
 * and compared byte for byte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "dns-internal.h"
#include "dns-server-internal.h"
#include "net.h"
#include "tap.h"

/* A query header (id 0x1234, RD, qd 1 unless told) then body. */
static size_t query(uint8_t *out, const void *body, size_t n, uint16_t qd, uint16_t an)
{
	const uint8_t h[12] = {0x12, 0x34, 0x01, 0x00, qd >> 8, qd & 0xff, an >> 8, an & 0xff};

	memcpy(out, h, 12);
	memcpy(out + 12, body, n);
	return 12 + n;
}

#define Q(body) body "\x00\x01\x00\x01"

static int parse(const char *body, size_t n, struct dns_header *h, struct dns_question *q)
{
	uint8_t p[DNS_PKT_MAX];

	return dns_parse(p, query(p, body, n, 1, 0), h, q);
}

static void test_names(void)
{
	static const struct {
		const char *body;
		size_t n;
		const char *why;
	} bad[] = {
	    {Q("\xc0\x0c"), 6, "a pointer to itself"},
	    {Q("\x01"
	       "a\xc0\x0c"),
	     8, "a loop through a label"},
	    {Q("\xc0\x02"), 6, "a pointer into the header"},
	    {Q("\x01"
	       "a\xc0\x0e"),
	     8, "a pointer forwards"},
	    {"\x03"
	     "abc",
	     4, "a name past the end"},
	    {"\xc0", 1, "half a pointer"},
	    {Q("\x40"
	       "a\x00"),
	     7, "label type 01"},
	    {Q("\x80"
	       "a\x00"),
	     7, "label type 10"},
	    {Q("\x01"
	       "a\x00"),
	     5, "no type and class"},
	};
	struct dns_header h;
	struct dns_question q;
	uint8_t p[DNS_PKT_MAX], big[600];
	size_t n = 0, next;

	ok(parse(Q("\x03"
		   "Web\x07"
		   "example\x00"),
		 17, &h, &q) == 0 &&
	       !strcmp(q.name, "web.example") && q.type == 1 && q.class == 1 && q.end == 29 &&
	       h.id == 0x1234,
	   "a plain name, lower-cased");
	ok(parse(Q("\x00"), 5, &h, &q) == 0 && !strcmp(q.name, ""), "the root");
	ok(parse(Q("\x03"
		   "a.b\x02"
		   "c \x00"),
		 12, &h, &q) == 0 &&
	       !strcmp(q.name, "a\\046b.c\\032"),
	   "odd bytes are \\DDD, so they match no container");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ok(parse(bad[i].body, bad[i].n, &h, &q) < 0, "refused: %s", bad[i].why);
	/* 4 labels of 63: 257 bytes, over the limit; 3 of 63 and one of 61: 255. */
	for (int i = 0; i < 4; i++) {
		big[n++] = i < 3 ? 63 : 62;
		memset(big + n, 'a', big[n - 1]);
		n += big[n - 1];
	}
	big[n++] = 0;
	ok(parse((const char *)big, n, &h, &q) < 0, "a 256-byte name is refused");
	big[3 * 64] = 61;
	big[3 * 64 + 62] = 0;
	memcpy(big + 3 * 64 + 63, "\x00\x01\x00\x01", 4);
	ok(parse((const char *)big, 3 * 64 + 67, &h, &q) == 0 && strlen(q.name) == 3 * 64 + 61,
	   "a 255-byte name is read");
	/* A compressed name later in the packet: answer's name points at the question. */
	n = query(p,
		  Q("\x01"
		    "x\x00"),
		  7, 1, 1);
	memcpy(p + n, "\x01y\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\x0a\x00\x00\x01", 18);
	ok(dns_name_read(p, n + 18, n, q.name, &next) == 0 && !strcmp(q.name, "y.x") &&
	       next == n + 4,
	   "compression: y + pointer to x");
	ok(dns_parse(p, n + 18, &h, &q) == 0 && h.an == 1, "a response with an answer parses");
	ok(dns_parse(p, n + 17, &h, &q) < 0, "an answer's rdata past the end is refused");
	n = query(p,
		  Q("\x01"
		    "x\x00"),
		  7, 1, 65535);
	ok(dns_parse(p, n, &h, &q) < 0, "65535 answers in 19 bytes is refused");
	n = query(p,
		  Q("\x01"
		    "x\x00"),
		  7, 2, 0);
	ok(dns_parse(p, n, &h, &q) < 0, "two questions are refused");
	ok(dns_parse(p, 11, &h, &q) < 0, "a short header is refused");
}

static void test_answer(void)
{
	uint8_t p[DNS_PKT_MAX], out[512];
	struct dns_rr rr[40] = {};
	struct dns_header h, rh;
	struct dns_question q, rq;
	size_t n = query(p,
			 Q("\x01"
			   "a\x00"),
			 7, 1, 0),
	       len;

	rr[0] = (struct dns_rr){.type = DNS_TYPE_A, .len = 4, .ttl = 5, .data = {10, 0, 0, 7}};
	ok(dns_parse(p, n, &h, &q) == 0, "query");
	ok(dns_answer(p, &h, &q, 0, rr, 1, out, sizeof(out), &len) == 0 && len == n + 16 &&
	       !memcmp(out + len - 4, "\x0a\x00\x00\x07", 4),
	   "an A answer");
	ok(dns_parse(out, len, &rh, &rq) == 0 && rh.id == 0x1234 && (rh.flags & 0x8000) &&
	       (rh.flags & 0x0100) && (rh.flags & 0x0400) && rh.an == 1 && !strcmp(rq.name, "a"),
	   "it parses back: QR, RD kept, AA, one answer for `a`");
	ok(dns_answer(p, &h, &q, DNS_RCODE_SERVFAIL, NULL, 0, out, sizeof(out), &len) == 0 &&
	       (out[3] & 0xf) == 2 && len == n,
	   "SERVFAIL, no answer");
	for (size_t i = 0; i < ARRAY_SIZE(rr); i++)
		rr[i] = (struct dns_rr){.type = DNS_TYPE_AAAA, .len = 16, .ttl = 5};
	ok(dns_answer(p, &h, &q, 0, rr, ARRAY_SIZE(rr), out, sizeof(out), &len) == 0 &&
	       len <= sizeof(out) && (out[2] & 0x02) && dns_parse(out, len, &rh, &rq) == 0 &&
	       rh.an == (sizeof(out) - n) / 28,
	   "answers that do not fit: TC, as many as fit");
	rr[0].len = 17;
	ok(dns_answer(p, &h, &q, 0, rr, 1, out, sizeof(out), &len) < 0, "rdata of 17 is refused");
}

/* An answer over TCP: 300 A records, 4.8 KB (over DNS_PKT_MAX); the format's limit holds. */
static void test_tcp_sized(void)
{
	_cleanup_free_ uint8_t *p = calloc(1, DNS_MSG_MAX + 1);
	struct dns_header h;
	struct dns_question q;
	size_t n;

	if (!p)
		abort();
	n = query(p,
		  Q("\x03"
		    "big\x00"),
		  9, 1, 300);
	p[2] |= 0x80;
	for (int i = 0; i < 300; i++, n += 16)
		memcpy(p + n, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x01",
		       16);
	ok(n > DNS_PKT_MAX && dns_parse(p, n, &h, &q) == 0 && h.an == 300 && !strcmp(q.name, "big"),
	   "a 4.8 KB answer (TCP) parses");
	ok(dns_parse(p, n - 1, &h, &q) < 0, "one byte short of its last record is refused");
	ok(dns_parse(p, DNS_MSG_MAX + 1, &h, &q) < 0, "over 65535 bytes is refused");
}

/* 0x20: the mask's letters flip, nothing else does; twice is the name again. */
static void test_case(void)
{
	uint8_t p[DNS_PKT_MAX], a[DNS_PKT_MAX], mask[DNS_CASE_MASK];
	struct dns_header h, ah;
	struct dns_question q, aq;
	size_t n = query(p,
			 Q("\x03"
			   "a-Z\x02"
			   "b9\x00"),
			 12, 1, 0);

	memset(mask, 0xff, sizeof(mask));
	memcpy(a, p, n);
	ok(dns_parse(p, n, &h, &q) == 0, "query");
	dns_question_flip_case(a, &q, mask);
	ok(!memcmp(a + 12,
		   "\x03"
		   "A-z\x02"
		   "B9\x00\x00\x01\x00\x01",
		   12),
	   "every letter flipped, lengths, digits, '-', type and class kept");
	ok(dns_parse(a, n, &ah, &aq) == 0 && !strcmp(aq.name, q.name),
	   "the same name to the parser");
	ok(!dns_question_same(p, &q, a, &aq), "another case is another question, byte for byte");
	dns_question_flip_case(a, &aq, mask);
	ok(!memcmp(a, p, n) && dns_question_same(p, &q, a, &aq), "the same mask again: as asked");
	memset(mask, 0, sizeof(mask));
	mask[0] = 0x02; /* byte 1 of the name: 'a' */
	dns_question_flip_case(a, &aq, mask);
	ok(a[13] == 'A' && !memcmp(a + 14, p + 14, n - 14), "only the masked letter");
	memcpy(a, p, n);
	a[n - 3] = 28; /* AAAA */
	ok(dns_parse(a, n, &ah, &aq) == 0 && !dns_question_same(p, &q, a, &aq),
	   "another type is another question");
}

/*
 * src/net/dns-seccomp.c, installed in a child: what the responder does still works, the
 * rest fails (each bit of the exit code is one check that went wrong).
 */
static void test_seccomp(void)
{
	int st = 0;
	pid_t pid;

#ifdef __SANITIZE_ADDRESS__
	/* ASan's runtime makes calls of its own (sigaltstack before a noreturn call). */
	skip("an ASan build: its runtime's calls are not on the responder's allow-list", "");
	return;
#endif
	pid = fork();
	if (pid == 0) {
		char *argv[] = {"/bin/true", NULL};
		int bad = 0, fd;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || dnsd_seccomp(NULL) < 0)
			_exit(255);
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		bad |= fd < 0;
		bad |= (socket(AF_UNIX, SOCK_STREAM, 0) >= 0 || errno != EAFNOSUPPORT) << 1;
		bad |= (socket(AF_NETLINK, SOCK_RAW, 0) >= 0 || errno != EAFNOSUPPORT) << 2;
		execve(argv[0], argv, argv + 1);
		bad |= (errno != ENOSYS) << 3;
		bad |= (setuid(0) == 0 || errno != ENOSYS) << 4;
		bad |= (fork() >= 0 || errno != ENOSYS) << 5;
		_exit(bad);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st), "the filtered child exits");
	is_int(WEXITSTATUS(st) & 1, 0, "seccomp: an inet socket opens");
	is_int(WEXITSTATUS(st) & 6, 0, "seccomp: unix and netlink sockets: EAFNOSUPPORT");
	is_int(WEXITSTATUS(st) & 8, 0, "seccomp: execve: ENOSYS");
	is_int(WEXITSTATUS(st) & 0x30, 0, "seccomp: setuid, fork: ENOSYS");
	is_int(WEXITSTATUS(st) & ~0x3f, 0, "seccomp: installed");
}

int main(void)
{
	test_names();
	test_answer();
	test_tcp_sized();
	test_case();
	test_seccomp();
	return tap_done();
}
