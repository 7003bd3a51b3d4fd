/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration wire protocol (migrate-internal.h, docs/migration.md).  The
 * destination trusts nothing: the header, every frame type in its place,
 * every length against its cap and every page range against guest memory
 * are checked before a byte of payload is read into place.  Pure code: the
 * bytes come through a mig_reader.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "migrate-internal.h"
#include "snapshot/format.h"
#include "vm-config.h"

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

void mig_put_u64(uint8_t *out, uint64_t v)
{
	v = htole64(v);
	memcpy(out, &v, sizeof(v));
}

void mig_put_header(uint8_t out[MIG_HEADER_SIZE])
{
	memcpy(out, MIG_MAGIC, MIG_MAGIC_LEN);
	put_u32(out + 8, MIG_VERSION);
	put_u32(out + 12, 0);
}

void mig_put_config(uint8_t out[MIG_CONFIG_SIZE], const struct mig_config *c)
{
	put_u32(out, c->cpus);
	put_u32(out + 4, c->flags);
	mig_put_u64(out + 8, c->memory);
	mig_put_u64(out + 16, c->tsc_khz);
}

void mig_put_frame(uint8_t out[MIG_FRAME_HDR], uint32_t type, uint32_t len)
{
	put_u32(out, type);
	put_u32(out + 4, len);
}

int mig_buf_read(void *ctx, void *buf, size_t len, struct err **err)
{
	struct mig_buf *b = ctx;

	if (len > b->len - b->off)
		return err_make(err, EPROTO, "the stream ended early");
	memcpy(buf, b->data + b->off, len);
	b->off += len;
	return 0;
}

static int read_frame(const struct mig_reader *rd, uint32_t *type, uint32_t *len, struct err **err)
{
	uint8_t h[MIG_FRAME_HDR];
	int r = rd->read(rd->ctx, h, sizeof(h), err);

	if (r < 0)
		return r;
	*type = get_u32(h);
	*len = get_u32(h + 4);
	return 0;
}

static int check_config(const struct mig_config *c, struct err **err)
{
	if (c->cpus < 1 || c->cpus > VM_MAX_CPUS)
		return err_make(err, EPROTO, "config: %u vCPUs (1 to %d)", c->cpus, VM_MAX_CPUS);
	if (c->memory < VM_MIN_MEMORY || c->memory > VM_MAX_MEMORY || c->memory % MIG_PAGE)
		return err_make(err, EPROTO, "config: memory %llu bytes out of range",
				(unsigned long long)c->memory);
	if (c->flags)
		return err_make(err, EPROTO, "config: unknown flags %#x", c->flags);
	return 0;
}

int mig_read_config(const struct mig_reader *rd, struct mig_config *ret, struct err **err)
{
	uint8_t h[MIG_HEADER_SIZE], p[MIG_CONFIG_SIZE];
	struct mig_config c;
	uint32_t type, len;
	int r = rd->read(rd->ctx, h, sizeof(h), err);

	if (r < 0)
		return r;
	if (memcmp(h, MIG_MAGIC, MIG_MAGIC_LEN))
		return err_make(err, EPROTO, "not a migration stream (bad magic)");
	if (get_u32(h + 8) != MIG_VERSION)
		return err_make(err, EPROTO, "migration protocol version %u (this side speaks %u)",
				get_u32(h + 8), MIG_VERSION);
	if (get_u32(h + 12))
		return err_make(err, EPROTO, "unknown stream flags %#x", get_u32(h + 12));
	r = read_frame(rd, &type, &len, err);
	if (r < 0)
		return r;
	if (type != MIG_CONFIG || len != MIG_CONFIG_SIZE)
		return err_make(err, EPROTO,
				"expected a %u-byte config frame, got type %u, %u bytes",
				MIG_CONFIG_SIZE, type, len);
	r = rd->read(rd->ctx, p, sizeof(p), err);
	if (r < 0)
		return r;
	c = (struct mig_config){get_u32(p), get_u32(p + 4), get_u64(p + 8), get_u64(p + 16)};
	r = check_config(&c, err);
	if (r >= 0)
		*ret = c;
	return r;
}

/* A PAGES frame: the data goes straight into guest memory once its range checked out. */
static int read_pages(const struct mig_reader *rd, const struct guest_mem *mem, uint32_t len,
		      struct err **err)
{
	uint8_t g[8];
	uint64_t gpa;
	void *dst;
	int r;

	if (len < 8 + MIG_PAGE || (len - 8) % MIG_PAGE || len - 8 > MIG_MAX_RUN * MIG_PAGE)
		return err_make(err, EPROTO, "pages frame of %u bytes", len);
	r = rd->read(rd->ctx, g, sizeof(g), err);
	if (r < 0)
		return r;
	gpa = get_u64(g);
	dst = gpa % MIG_PAGE ? NULL : guest_mem_ptr(mem, gpa, len - 8);
	if (!dst)
		return err_make(err, EPROTO, "pages at %#llx (%u bytes): not in guest memory",
				(unsigned long long)gpa, len - 8);
	return rd->read(rd->ctx, dst, len - 8, err);
}

bool mig_page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (unsigned i = 0; i < MIG_PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

/* A ZERO frame: clear only pages that are not zero yet, so untouched RAM stays unallocated. */
static int read_zero(const struct mig_reader *rd, const struct guest_mem *mem, uint32_t len,
		     struct err **err)
{
	uint8_t p[16], *dst;
	uint64_t gpa, n;
	int r;

	if (len != sizeof(p))
		return err_make(err, EPROTO, "zero frame of %u bytes", len);
	r = rd->read(rd->ctx, p, sizeof(p), err);
	if (r < 0)
		return r;
	gpa = get_u64(p);
	n = get_u64(p + 8);
	dst = gpa % MIG_PAGE || n == 0 || n > MIG_MAX_ZERO_RUN
		  ? NULL
		  : guest_mem_ptr(mem, gpa, n * MIG_PAGE);
	if (!dst)
		return err_make(err, EPROTO,
				"zero pages at %#llx (%llu pages): not in guest memory",
				(unsigned long long)gpa, (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++, dst += MIG_PAGE)
		if (!mig_page_is_zero(dst))
			memset(dst, 0, MIG_PAGE);
	return 0;
}

int mig_read_memory(const struct mig_reader *rd, const struct guest_mem *mem, uint8_t **ret_state,
		    size_t *ret_len, struct err **err)
{
	_cleanup_free_ uint8_t *state = NULL;
	uint32_t type, len;

	for (;;) {
		int r = read_frame(rd, &type, &len, err);

		if (r < 0)
			return r;
		if (type == MIG_STATE)
			break;
		if (type == MIG_PAGES)
			r = read_pages(rd, mem, len, err);
		else if (type == MIG_ZERO)
			r = read_zero(rd, mem, len, err);
		else
			r = err_make(err, EPROTO, "unexpected frame type %u", type);
		if (r < 0)
			return r;
	}
	if (len < SNAP_HEADER_SIZE || len > SNAP_MAX_FILE)
		return err_make(err, EPROTO, "state frame of %u bytes", len);
	state = malloc(len);
	if (!state)
		return err_make(err, ENOMEM, "state frame of %u bytes", len);
	if (rd->read(rd->ctx, state, len, err) < 0)
		return err_code(*err);
	*ret_state = TAKE_PTR(state);
	*ret_len = len;
	return 0;
}

int mig_read_reply(const struct mig_reader *rd, uint32_t expect, struct err **err)
{
	char msg[MIG_MAX_MSG + 1];
	uint32_t type, len;
	int r = read_frame(rd, &type, &len, err);

	if (r < 0)
		return r;
	if (type == expect && len == 0)
		return 0;
	if (type != MIG_FAIL || len > MIG_MAX_MSG)
		return err_make(err, EPROTO, "bad reply from the destination (type %u, %u bytes)",
				type, len);
	r = rd->read(rd->ctx, msg, len, err);
	if (r < 0)
		return r;
	msg[len] = '\0';
	for (uint32_t i = 0; i < len; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] > 0x7e)
			msg[i] = '?';
	return err_make(err, EREMOTEIO, "the destination failed: %s", msg);
}
