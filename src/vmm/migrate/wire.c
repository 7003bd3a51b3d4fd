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
#include "snap-format.h"
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

void mig_put_header(uint8_t out[MIG_HEADER_SIZE], uint32_t flags, const uint8_t nonce[MIG_NONCE])
{
	memcpy(out, MIG_MAGIC, MIG_MAGIC_LEN);
	put_u32(out + 8, MIG_VERSION);
	put_u32(out + 12, flags);
	memcpy(out + 16, nonce, MIG_NONCE);
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

/* The tag after a frame's payload, when the stream has them. */
static int check_tag(const struct mig_reader *rd, uint32_t type, uint32_t len, void *payload,
		     struct err **err)
{
	struct iovec iov = {payload, len};
	uint8_t h[MIG_FRAME_HDR], tag[MIG_TAG];
	int r;

	if (!rd->mac || !rd->mac->ctx)
		return 0;
	r = rd->read(rd->ctx, tag, sizeof(tag), err);
	if (r < 0)
		return r;
	mig_put_frame(h, type, len);
	return mig_mac_open(rd->mac, h, &iov, 1, tag, err);
}

static bool tagged(const struct mig_reader *rd)
{
	return rd->mac && rd->mac->ctx;
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

int mig_read_header(const struct mig_reader *rd, uint32_t *ret_flags, uint8_t ret_nonce[MIG_NONCE],
		    struct err **err)
{
	uint8_t h[MIG_HEADER_SIZE];
	int r = rd->read(rd->ctx, h, sizeof(h), err);

	if (r < 0)
		return r;
	if (memcmp(h, MIG_MAGIC, MIG_MAGIC_LEN))
		return err_make(err, EPROTO, "not a migration stream (bad magic)");
	if (get_u32(h + 8) != MIG_VERSION)
		return err_make(err, EPROTO, "migration protocol version %u (this side speaks %u)",
				get_u32(h + 8), MIG_VERSION);
	if (get_u32(h + 12) & ~MIG_F_AUTH)
		return err_make(err, EPROTO, "unknown stream flags %#x", get_u32(h + 12));
	*ret_flags = get_u32(h + 12);
	memcpy(ret_nonce, h + 16, MIG_NONCE);
	return 0;
}

int mig_read_config(const struct mig_reader *rd, struct mig_config *ret, struct err **err)
{
	uint8_t p[MIG_CONFIG_SIZE];
	struct mig_config c;
	uint32_t type, len;
	int r = read_frame(rd, &type, &len, err);
	if (r < 0)
		return r;
	if (type != MIG_CONFIG || len != MIG_CONFIG_SIZE)
		return err_make(err, EPROTO,
				"expected a %u-byte config frame, got type %u, %u bytes",
				MIG_CONFIG_SIZE, type, len);
	r = rd->read(rd->ctx, p, sizeof(p), err);
	if (r >= 0)
		r = check_tag(rd, type, len, p, err);
	if (r < 0)
		return r;
	c = (struct mig_config){get_u32(p), get_u32(p + 4), get_u64(p + 8), get_u64(p + 16)};
	r = check_config(&c, err);
	if (r >= 0)
		*ret = c;
	return r;
}

int mig_read_devcfg(const struct mig_reader *rd, uint8_t **ret, size_t *ret_len, struct err **err)
{
	_cleanup_free_ uint8_t *p = NULL;
	uint32_t type, len;
	int r = read_frame(rd, &type, &len, err);

	if (r < 0)
		return r;
	if (type != MIG_DEVCFG || len < SNAP_HEADER_SIZE || len > SNAP_MAX_SECTION + 4096)
		return err_make(err, EPROTO,
				"expected a device configuration frame, got type %u, %u bytes",
				type, len);
	p = malloc(len);
	if (!p)
		return err_make(err, ENOMEM, "device configuration");
	r = rd->read(rd->ctx, p, len, err);
	if (r >= 0)
		r = check_tag(rd, type, len, p, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	*ret_len = len;
	return 0;
}

/*
 * The destination's guest memory is fresh (all zero, untouched) when the
 * stream starts; `written` has a bit per page a PAGES frame filled since, so
 * a ZERO frame clears only those instead of reading (and faulting in) RAM.
 */
struct sink {
	const struct guest_mem *mem;
	uint64_t *written[GUEST_MEM_MAX_REGIONS];
	uint8_t *stage; /* a tagged frame waits here until its tag checked out */
};

/* The region holding [gpa, gpa + npages pages), and the first page's index in it. */
static int locate(const struct sink *k, uint64_t gpa, uint64_t npages, unsigned *ret_region,
		  uint64_t *ret_page)
{
	if (gpa % MIG_PAGE || npages == 0 || npages > MIG_MAX_ZERO_RUN ||
	    !guest_mem_ptr(k->mem, gpa, npages * MIG_PAGE))
		return -1;
	for (unsigned i = 0; i < k->mem->nr; i++) {
		const struct guest_mem_region *rg = &k->mem->regions[i];

		if (gpa >= rg->gpa && gpa - rg->gpa < rg->size) {
			*ret_region = i;
			*ret_page = (gpa - rg->gpa) / MIG_PAGE;
			return 0;
		}
	}
	return -1;
}

/*
 * A PAGES frame.  Untagged, the data goes straight into guest memory once
 * its range checked out; tagged, it goes there only once the tag did too.
 */
static int read_pages(const struct mig_reader *rd, struct sink *k, uint32_t len, struct err **err)
{
	uint64_t gpa, page, n = (len - 8) / MIG_PAGE;
	unsigned i;
	uint8_t g[8];
	int r;

	if (len < 8 + MIG_PAGE || (len - 8) % MIG_PAGE || n > MIG_MAX_RUN)
		return err_make(err, EPROTO, "pages frame of %u bytes", len);
	r = rd->read(rd->ctx, k->stage ? k->stage : g, k->stage ? len : sizeof(g), err);
	if (r >= 0 && k->stage)
		r = check_tag(rd, MIG_PAGES, len, k->stage, err);
	if (r < 0)
		return r;
	gpa = get_u64(k->stage ? k->stage : g);
	if (locate(k, gpa, n, &i, &page) < 0)
		return err_make(err, EPROTO, "pages at %#llx (%u bytes): not in guest memory",
				(unsigned long long)gpa, len - 8);
	for (uint64_t p = page; p < page + n; p++)
		k->written[i][p / 64] |= 1ULL << (p % 64);
	if (k->stage) {
		memcpy(k->mem->regions[i].hva + page * MIG_PAGE, k->stage + 8, len - 8);
		return 0;
	}
	return rd->read(rd->ctx, k->mem->regions[i].hva + page * MIG_PAGE, len - 8, err);
}

bool mig_page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (unsigned i = 0; i < MIG_PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

static int read_zero(const struct mig_reader *rd, struct sink *k, uint32_t len, struct err **err)
{
	uint64_t gpa, n, page;
	uint8_t p[16];
	unsigned i;
	int r;

	if (len != sizeof(p))
		return err_make(err, EPROTO, "zero frame of %u bytes", len);
	r = rd->read(rd->ctx, p, sizeof(p), err);
	if (r >= 0)
		r = check_tag(rd, MIG_ZERO, len, p, err);
	if (r < 0)
		return r;
	gpa = get_u64(p);
	n = get_u64(p + 8);
	if (locate(k, gpa, n, &i, &page) < 0)
		return err_make(err, EPROTO,
				"zero pages at %#llx (%llu pages): not in guest memory",
				(unsigned long long)gpa, (unsigned long long)n);
	for (uint64_t q = page; q < page + n; q++) {
		uint64_t *w = &k->written[i][q / 64], bit = 1ULL << (q % 64);

		if (*w & bit)
			memset(k->mem->regions[i].hva + q * MIG_PAGE, 0, MIG_PAGE);
		*w &= ~bit;
	}
	return 0;
}

static int read_frames(const struct mig_reader *rd, struct sink *k, uint32_t *ret_len,
		       struct err **err)
{
	for (;;) {
		uint32_t type, len;
		int r = read_frame(rd, &type, &len, err);

		if (r < 0)
			return r;
		if (type == MIG_STATE) {
			*ret_len = len;
			return 0;
		}
		if (type == MIG_PAGES)
			r = read_pages(rd, k, len, err);
		else if (type == MIG_ZERO)
			r = read_zero(rd, k, len, err);
		else
			r = err_make(err, EPROTO, "unexpected frame type %u", type);
		if (r < 0)
			return r;
	}
}

int mig_read_memory(const struct mig_reader *rd, const struct guest_mem *mem, uint8_t **ret_state,
		    size_t *ret_len, struct err **err)
{
	struct sink k = {.mem = mem};
	uint8_t *state = NULL;
	uint32_t len = 0;
	int r = 0;

	for (unsigned i = 0; r == 0 && i < mem->nr; i++) {
		k.written[i] = calloc(mem->regions[i].size / MIG_PAGE / 64 + 1, sizeof(uint64_t));
		if (!k.written[i])
			r = err_make(err, ENOMEM, "page bitmap");
	}
	if (r == 0 && tagged(rd) && !(k.stage = malloc(8 + MIG_MAX_RUN * MIG_PAGE)))
		r = err_make(err, ENOMEM, "frame buffer");
	if (r == 0)
		r = read_frames(rd, &k, &len, err);
	if (r == 0 && (len < SNAP_HEADER_SIZE || len > SNAP_MAX_FILE))
		r = err_make(err, EPROTO, "state frame of %u bytes", len);
	if (r == 0 && !(state = malloc(len)))
		r = err_make(err, ENOMEM, "state frame of %u bytes", len);
	if (r == 0)
		r = rd->read(rd->ctx, state, len, err);
	if (r == 0)
		r = check_tag(rd, MIG_STATE, len, state, err);
	for (unsigned i = 0; i < mem->nr; i++)
		free(k.written[i]);
	free(k.stage);
	if (r < 0) {
		free(state);
		return r;
	}
	*ret_state = state;
	*ret_len = len;
	return 0;
}

int mig_read_reply(const struct mig_reader *rd, uint32_t expect, const char *from, struct err **err)
{
	char msg[MIG_MAX_MSG + 1];
	uint32_t type, len;
	int r = read_frame(rd, &type, &len, err);

	if (r < 0)
		return r;
	if (type == expect && len == 0)
		return check_tag(rd, type, 0, NULL, err);
	if (type != MIG_FAIL || len > MIG_MAX_MSG)
		return err_make(err, EPROTO, "bad frame from %s (type %u, %u bytes; expected %u)",
				from, type, len, expect);
	r = rd->read(rd->ctx, msg, len, err);
	if (r >= 0)
		r = check_tag(rd, type, len, msg, err);
	if (r < 0)
		return r;
	msg[len] = '\0';
	for (uint32_t i = 0; i < len; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] > 0x7e)
			msg[i] = '?';
	return err_make(err, EREMOTEIO, "%s failed: %s", from, msg);
}
