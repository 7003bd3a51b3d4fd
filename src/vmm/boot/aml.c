/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * AML encoding (ACPI 6.5 section 20.2): opcodes, PkgLength, NameString and
 * the integer constants, plus the resource descriptors of section 6.4.
 * Length-prefixed objects are emitted body first; closing one moves the
 * body up and writes its PkgLength in front, so callers nest naturally.
 */
#include <errno.h>
#include <string.h>

#include "aml.h"

#define AML_ZERO	 0x00
#define AML_ONE		 0x01
#define AML_NAME	 0x08
#define AML_BYTE	 0x0a
#define AML_WORD	 0x0b
#define AML_DWORD	 0x0c
#define AML_STRING	 0x0d
#define AML_QWORD	 0x0e
#define AML_SCOPE	 0x10
#define AML_BUFFER	 0x11
#define AML_PACKAGE	 0x12
#define AML_EXT		 0x5b
#define AML_EXT_DEVICE	 0x82
#define AML_ROOT	 '\\'
#define AML_DUAL_PREFIX	 0x2e
#define AML_MULTI_PREFIX 0x2f
#define AML_MAX_SEGS	 16

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	*a = (struct aml){.buf = buf, .cap = cap};
}

int aml_error(const struct aml *a)
{
	return a->overflow ? -ENOSPC : 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

/* Insert n bytes at pos, moving what follows up. */
static void aml_insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	if (a->overflow || pos > a->len || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

static void aml_nameseg(struct aml *a, const char *s, size_t n)
{
	char seg[4] = {'_', '_', '_', '_'};

	memcpy(seg, s, n < 4 ? n : 4);
	aml_bytes(a, seg, 4);
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *segs[AML_MAX_SEGS], *p;
	size_t lens[AML_MAX_SEGS];
	unsigned n = 0;

	if (*path == AML_ROOT)
		aml_byte(a, *path++);
	for (p = path; *p && n < AML_MAX_SEGS; n++) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		segs[n] = p;
		lens[n] = l;
		p += l + (dot != NULL);
	}
	if (n == 0 || *p || n > 255) {
		aml_byte(a, AML_ZERO); /* NullName */
		return;
	}
	if (n == 2)
		aml_byte(a, AML_DUAL_PREFIX);
	else if (n > 2)
		aml_byte(a, AML_MULTI_PREFIX), aml_byte(a, (uint8_t)n);
	for (unsigned i = 0; i < n; i++)
		aml_nameseg(a, segs[i], lens[i]);
}

void aml_int(struct aml *a, uint64_t v)
{
	if (v <= 1) {
		aml_byte(a, v ? AML_ONE : AML_ZERO);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE), aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD), aml_le(a, v, 2);
	} else if (v <= 0xffffffffULL) {
		aml_byte(a, AML_DWORD), aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD), aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	/* Three letters of 5 bits each ('A' = 1), then four hex digits; stored big endian. */
	if (strlen(id) == 7) {
		v = ((uint32_t)(id[0] - '@') & 0x1f) << 26 |
		    ((uint32_t)(id[1] - '@') & 0x1f) << 21 | ((uint32_t)(id[2] - '@') & 0x1f) << 16;
		for (int i = 3; i < 7; i++) {
			char c = id[i];
			uint32_t d = c >= '0' && c <= '9'   ? (uint32_t)(c - '0')
				     : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
							    : 0;

			v |= d << (4 * (6 - i));
		}
	}
	aml_int(a, __builtin_bswap32(v));
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME);
	aml_namestring(a, path);
}

unsigned aml_pkglen_encode(size_t content, uint8_t out[4])
{
	size_t total;

	if (content + 1 <= 0x3f) {
		out[0] = (uint8_t)(content + 1);
		return 1;
	}
	for (unsigned n = 2; n <= 4; n++) {
		total = content + n;
		if (total < (1UL << (4 + 8 * (n - 1)))) {
			out[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
			for (unsigned i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
			return n;
		}
	}
	return 0; /* over 256 MiB: cannot be encoded */
}

size_t aml_scope(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_SCOPE);
	mark = a->len;
	aml_namestring(a, path);
	return mark;
}

size_t aml_device(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_EXT);
	aml_byte(a, AML_EXT_DEVICE);
	mark = a->len;
	aml_namestring(a, path);
	return mark;
}

size_t aml_package(struct aml *a, uint8_t nr_elements)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE);
	mark = a->len;
	aml_byte(a, nr_elements);
	return mark;
}

void aml_close(struct aml *a, size_t mark)
{
	uint8_t pl[4];
	unsigned n;

	if (a->overflow || mark > a->len)
		return;
	n = aml_pkglen_encode(a->len - mark, pl);
	if (n == 0)
		a->overflow = true;
	else
		aml_insert(a, mark, pl, n);
}

size_t aml_buffer(struct aml *a)
{
	aml_byte(a, AML_BUFFER);
	return a->len;
}

void aml_buffer_close(struct aml *a, size_t mark)
{
	uint8_t size[9];
	struct aml s;

	if (a->overflow || mark > a->len)
		return;
	aml_init(&s, size, sizeof(size));
	aml_int(&s, a->len - mark); /* BufferSize, a TermArg in front of the bytes */
	aml_insert(a, mark, size, s.len);
	aml_close(a, mark);
}

/* Small I/O port descriptor: 16-bit decode, fixed base, alignment 1. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	uint8_t d[8] = {0x47, 0x01, base & 0xff, base >> 8, base & 0xff, base >> 8, 0x01, len};

	aml_bytes(a, d, sizeof(d));
}

void aml_res_irq(struct aml *a, uint8_t irq)
{
	/* IRQNoFlags: small item 0x04, length 2, a mask of ISA IRQs (edge, active high). */
	uint16_t mask = (uint16_t)(1u << (irq & 15));

	if (irq > 15) { /* no such ISA IRQ: a bug of the caller, reported as aml_error() */
		a->overflow = true;
		return;
	}
	uint8_t d[3] = {0x22, mask & 0xff, mask >> 8};

	aml_bytes(a, d, sizeof(d));
}

/* Word address space descriptor (large item 0x08): type 1 I/O, 2 bus number. */
static void aml_res_word(struct aml *a, uint8_t type, uint8_t type_flags, uint16_t min,
			 uint16_t max)
{
	/* Producer, min/max fixed (general flags 0x0c). */
	uint8_t d[3] = {0x88, 13, 0};

	aml_bytes(a, d, sizeof(d));
	aml_byte(a, type);
	aml_byte(a, 0x0c);
	aml_byte(a, type_flags);
	aml_le(a, 0, 2); /* granularity */
	aml_le(a, min, 2);
	aml_le(a, max, 2);
	aml_le(a, 0, 2); /* translation */
	aml_le(a, (uint32_t)max - min + 1, 2);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_word(a, 2, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_word(a, 1, 0x03, min, max); /* ISA and non-ISA ranges */
}

/* DWord address space descriptor (large item 0x07), memory, non-cacheable, read/write. */
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
	uint8_t d[3] = {0x87, 23, 0};

	aml_bytes(a, d, sizeof(d));
	aml_byte(a, 0);	   /* memory range */
	aml_byte(a, 0x0c); /* producer, min/max fixed */
	aml_byte(a, 0x01); /* read/write, non-cacheable */
	aml_le(a, 0, 4);
	aml_le(a, min, 4);
	aml_le(a, max, 4);
	aml_le(a, 0, 4);
	aml_le(a, (uint64_t)max - min + 1, 4);
}

void aml_res_end(struct aml *a)
{
	uint8_t d[2] = {0x79, 0}; /* checksum 0: treated as valid */

	aml_bytes(a, d, sizeof(d));
}
