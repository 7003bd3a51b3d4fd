/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snapshot state file format (snap-format.h): writer, strict reader, CRC-32. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fdutil.h"
#include "snap-format.h"

uint32_t snap_crc32(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xffffffff;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return ~crc;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int reserve(struct snap_writer *w, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (w->error)
		return w->error;
	if (n > SNAP_MAX_FILE - w->len)
		return w->error = -EFBIG;
	if (w->len + n <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	p = realloc(w->buf, cap);
	if (!p)
		return w->error = -ENOMEM;
	w->buf = p;
	w->cap = cap;
	return 0;
}

void snap_writer_init(struct snap_writer *w)
{
	*w = (struct snap_writer){0};
	if (reserve(w, SNAP_HEADER_SIZE) == 0) {
		memcpy(w->buf, SNAP_MAGIC, 8);
		put_le32(w->buf + 8, SNAP_VERSION);
		w->len = SNAP_HEADER_SIZE;
	}
}

void snap_put(struct snap_writer *w, uint32_t type, uint32_t index, const void *data, size_t len)
{
	if (!w->error && (len > SNAP_MAX_SECTION || w->nr >= SNAP_MAX_SECTIONS))
		w->error = -EFBIG;
	if (reserve(w, SNAP_SECTION_HDR + len) < 0)
		return;
	put_le32(w->buf + w->len, type);
	put_le32(w->buf + w->len + 4, index);
	put_le32(w->buf + w->len + 8, len);
	memcpy(w->buf + w->len + SNAP_SECTION_HDR, data, len);
	w->len += SNAP_SECTION_HDR + len;
	w->nr++;
}

int snap_writer_finish(struct snap_writer *w, uint8_t **ret, size_t *ret_len, struct err **err)
{
	if (reserve(w, 4) < 0) {
		int e = -w->error;

		snap_writer_free(w);
		return err_make(err, e, "build the snapshot state");
	}
	put_le32(w->buf + 12, w->nr);
	put_le32(w->buf + w->len, snap_crc32(w->buf, w->len));
	*ret_len = w->len + 4;
	*ret = TAKE_PTR(w->buf);
	snap_writer_free(w);
	return 0;
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	*w = (struct snap_writer){0};
}

static int check_header(const uint8_t *buf, size_t len, struct err **err)
{
	if (len < SNAP_HEADER_SIZE + 4)
		return err_make(err, EINVAL, "truncated (%zu bytes)", len);
	if (memcmp(buf, SNAP_MAGIC, 8) != 0)
		return err_make(err, EINVAL, "not an isola snapshot (bad magic)");
	if (get_le32(buf + 8) != SNAP_VERSION)
		return err_make(err, EINVAL, "unsupported version %u (expected %u)",
				get_le32(buf + 8), SNAP_VERSION);
	if (snap_crc32(buf, len - 4) != get_le32(buf + len - 4))
		return err_make(err, EINVAL, "checksum mismatch (corrupted or truncated)");
	if (get_le32(buf + 12) > SNAP_MAX_SECTIONS)
		return err_make(err, EINVAL, "%u sections (at most %u)", get_le32(buf + 12),
				SNAP_MAX_SECTIONS);
	return 0;
}

int snap_parse(struct snap_reader *r, uint8_t *buf, size_t len, struct err **err)
{
	size_t off = SNAP_HEADER_SIZE, end;
	int ret;

	*r = (struct snap_reader){.buf = buf, .len = len};
	if (len > SNAP_MAX_FILE)
		return err_make(err, EFBIG, "larger than %u bytes", SNAP_MAX_FILE);
	ret = check_header(buf, len, err);
	if (ret < 0)
		return ret;
	end = len - 4;
	r->secs = calloc(get_le32(buf + 12) + 1, sizeof(*r->secs));
	if (!r->secs)
		return err_make(err, ENOMEM, "allocate the section table");
	for (uint32_t i = 0; i < get_le32(buf + 12); i++) {
		struct snap_section s;

		if (end - off < SNAP_SECTION_HDR)
			return err_make(err, EINVAL, "section %u: truncated header", i);
		s.type = get_le32(buf + off);
		s.index = get_le32(buf + off + 4);
		s.len = get_le32(buf + off + 8);
		off += SNAP_SECTION_HDR;
		if (s.len > SNAP_MAX_SECTION || s.len > end - off)
			return err_make(err, EINVAL,
					"section %u (type %u): length %u out of bounds", i, s.type,
					s.len);
		if (snap_find(r, s.type, s.index))
			return err_make(err, EINVAL, "section type %u index %u appears twice",
					s.type, s.index);
		s.data = buf + off;
		off += s.len;
		r->secs[r->nr++] = s;
	}
	if (off != end)
		return err_make(err, EINVAL, "%zu bytes of garbage after the last section",
				end - off);
	return 0;
}

int snap_load(struct snap_reader *r, const char *path, struct err **err)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	*r = (struct snap_reader){0};
	ret = read_file_at(AT_FDCWD, path, SNAP_MAX_FILE, &buf, &len, err);
	if (ret < 0)
		return ret;
	if (snap_parse(r, (uint8_t *)buf, len, err) < 0)
		return err_wrap(err, "`%s`", path);
	return 0;
}

void snap_reader_free(struct snap_reader *r)
{
	free(r->buf);
	free(r->secs);
	*r = (struct snap_reader){0};
}

const struct snap_section *snap_find(const struct snap_reader *r, uint32_t type, uint32_t index)
{
	for (uint32_t i = 0; i < r->nr; i++)
		if (r->secs[i].type == type && r->secs[i].index == index)
			return &r->secs[i];
	return NULL;
}

int snap_get(const struct snap_reader *r, uint32_t type, uint32_t index, void *out, size_t len,
	     const char *what, struct err **err)
{
	const struct snap_section *s = snap_find(r, type, index);

	if (!s)
		return err_make(err, EINVAL, "%s %u: missing", what, index);
	if (s->len != len)
		return err_make(err, EINVAL, "%s %u: %u bytes, expected %zu", what, index, s->len,
				len);
	memcpy(out, s->data, len);
	return 0;
}
