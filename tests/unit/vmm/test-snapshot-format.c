/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snapshot state file format: round trip, and corrupted or hostile files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snap-format.h"
#include "tap.h"

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

/* A valid file of three sections. */
static uint8_t *sample(size_t *len)
{
	struct snap_writer w;
	uint8_t *buf = NULL;
	uint32_t a = 0x11223344;
	char big[300];

	memset(big, 'x', sizeof(big));
	snap_writer_init(&w);
	snap_put(&w, SNAP_CONFIG, 0, &a, sizeof(a));
	snap_put(&w, SNAP_VCPU_REGS, 3, big, sizeof(big));
	snap_put(&w, SNAP_SERIAL, 0, "", 0);
	if (snap_writer_finish(&w, &buf, len, NULL) < 0)
		abort();
	return buf;
}

/* Parse a copy; returns the parse result and frees everything. */
static int parse_copy(const uint8_t *p, size_t len)
{
	struct snap_reader r;
	struct err *e = NULL;
	uint8_t *c = malloc(len ? len : 1);
	int ret;

	memcpy(c, p, len);
	ret = snap_parse(&r, c, len, &e);
	snap_reader_free(&r);
	err_free(&e);
	return ret;
}

static void reseal(uint8_t *p, size_t len)
{
	le32(p + len - 4, snap_crc32(p, len - 4));
}

static void test_round_trip(void)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct snap_reader r;
	struct err *e = NULL;
	uint32_t a = 0;
	char big[300];

	is_int(len, 16 + 3 * 12 + 4 + 300 + 0 + 4, "file size");
	is_int(snap_parse(&r, buf, len, &e), 0, "a valid file parses");
	is_int(r.nr, 3, "three sections");
	is_int(snap_get(&r, SNAP_CONFIG, 0, &a, sizeof(a), "config", &e), 0, "get config");
	is_int(a, 0x11223344, "config value");
	is_int(snap_get(&r, SNAP_VCPU_REGS, 3, big, sizeof(big), "regs", &e), 0, "get regs 3");
	ok(big[0] == 'x' && big[299] == 'x', "regs payload");
	ok(snap_get(&r, SNAP_VCPU_REGS, 0, big, sizeof(big), "regs", &e) < 0, "missing index");
	ok(e && strstr(e->msg, "missing"), "missing: %s", e ? e->msg : "");
	err_free(&e);
	ok(snap_get(&r, SNAP_CONFIG, 0, big, 8, "config", &e) < 0, "wrong length refused");
	ok(e && strstr(e->msg, "expected 8"), "length: %s", e ? e->msg : "");
	err_free(&e);
	ok(snap_find(&r, SNAP_SERIAL, 0) && snap_find(&r, SNAP_SERIAL, 0)->len == 0, "empty");
	snap_reader_free(&r);
}

static void test_flips_and_truncation(void)
{
	size_t len;
	uint8_t *buf = sample(&len);
	int bad_ok = 0, trunc_ok = 0;

	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= 1u << bit;
			bad_ok += parse_copy(buf, len) < 0;
			buf[i] ^= 1u << bit;
		}
	is_int(bad_ok, (long long)len * 8, "every single-bit flip is rejected");
	for (size_t n = 0; n < len; n++)
		trunc_ok += parse_copy(buf, n) < 0;
	is_int(trunc_ok, (long long)len, "every truncation is rejected");
	is_int(parse_copy(buf, len), 0, "the original still parses");
	free(buf);
}

/* Files with a correct CRC but hostile contents. */
static void test_hostile(void)
{
	size_t len;
	uint8_t *buf = sample(&len), *p;
	struct snap_reader r;
	struct err *e = NULL;

	p = malloc(len);
	memcpy(p, buf, len);
	le32(p + 16 + 8, 0xfffffff0); /* first section's length */
	reseal(p, len);
	ok(parse_copy(p, len) < 0, "huge section length rejected");
	memcpy(p, buf, len);
	le32(p + 16 + 8, 5); /* one byte too long: runs into the next header */
	reseal(p, len);
	ok(parse_copy(p, len) < 0, "overlapping section rejected");
	memcpy(p, buf, len);
	le32(p + 12, 0xffffffff);
	reseal(p, len);
	ok(parse_copy(p, len) < 0, "huge section count rejected");
	memcpy(p, buf, len);
	le32(p + 12, 2);
	reseal(p, len);
	ok(parse_copy(p, len) < 0, "trailing bytes after the last section rejected");
	memcpy(p, buf, len);
	le32(p + 8, 99);
	reseal(p, len);
	memcpy(buf, p, len);
	is_int(snap_parse(&r, buf, len, &e), -EINVAL, "unknown version rejected");
	ok(e && strstr(e->msg, "version 99"), "version: %s", e ? e->msg : "");
	err_free(&e);
	snap_reader_free(&r);
	/* The same section twice. */
	memcpy(p, "ISOLAVM\0", 8);
	p = realloc(p, 16 + 2 * 16 + 4);
	le32(p + 8, SNAP_VERSION);
	le32(p + 12, 2);
	for (int i = 0; i < 2; i++) {
		le32(p + 16 + 16 * i, SNAP_CLOCK);
		le32(p + 20 + 16 * i, 0);
		le32(p + 24 + 16 * i, 4);
		le32(p + 28 + 16 * i, 7);
	}
	reseal(p, 16 + 2 * 16 + 4);
	ok(parse_copy(p, 16 + 2 * 16 + 4) < 0, "duplicate section rejected");
	le32(p + 20 + 16, 1);
	reseal(p, 16 + 2 * 16 + 4);
	is_int(parse_copy(p, 16 + 2 * 16 + 4), 0, "same type, other index parses");
	free(p);
}

static void test_writer_caps(void)
{
	struct snap_writer w;
	uint8_t *buf = NULL;
	size_t len;
	struct err *e = NULL;
	void *big = calloc(1, SNAP_MAX_SECTION + 1);

	snap_writer_init(&w);
	snap_put(&w, SNAP_CONFIG, 0, big, SNAP_MAX_SECTION + 1);
	ok(snap_writer_finish(&w, &buf, &len, &e) < 0 && !buf, "oversized section refused");
	err_free(&e);
	free(big);
	ok(snap_crc32("123456789", 9) == 0xcbf43926, "CRC-32 check value");
}

int main(void)
{
	test_round_trip();
	test_flips_and_truncation();
	test_hostile();
	test_writer_caps();
	return tap_done();
}
