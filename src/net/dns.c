/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DNS messages (RFC 1035 section 4): the parser of what a container (or an upstream
 * resolver) sends to a network's responder, and the builder of its answers.  Every
 * length comes from the packet, so every one is checked: a name's labels (at most 63
 * bytes, 255 in all), compression pointers (two bytes, strictly backwards, never into the
 * header, at most DNS_MAX_JUMPS of them), record lengths, and the packet's end.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dns-internal.h"
#include "net.h"

#define DNS_MAX_JUMPS 32
#define DNS_HDR	      12

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* A label byte as text: lower case; anything but [a-z0-9_-] is "\DDD" (never matches). */
static size_t put_char(char *out, size_t o, uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*') {
		out[o] = c;
		return o + 1;
	}
	snprintf(out + o, 5, "\\%03u", c);
	return o + 4;
}

int dns_name_read(const uint8_t *p, size_t len, size_t off, char out[DNS_NAME_TEXT_MAX],
		  size_t *ret_next)
{
	size_t o = 0, wire = 0, next = 0, jumps = 0, pos = off, limit = off;

	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -EBADMSG;
		l = p[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (pos + 1 >= len)
				return -EBADMSG;
			to = (size_t)(l & 0x3f) << 8 | p[pos + 1];
			/*
			 * Before everything read so far (so no loop), never into the header.
			 */
			if (to >= limit || to < DNS_HDR || ++jumps > DNS_MAX_JUMPS)
				return -EBADMSG;
			if (!next)
				next = pos + 2;
			pos = limit = to;
			continue;
		}
		if (l & 0xc0) /* 01 and 10: extended label types, not in use */
			return -EBADMSG;
		wire += l + 1;
		if (wire > 255 || pos + 1 + l > len)
			return -EBADMSG;
		if (l == 0)
			break;
		if (o)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++)
			o = put_char(out, o, p[pos + 1 + i]);
		pos += 1 + l;
	}
	out[o] = '\0';
	*ret_next = next ? next : pos + 1;
	return 0;
}

/* Skip a resource record (name, type, class, ttl, rdlength, rdata). */
static int skip_rr(const uint8_t *p, size_t len, size_t *off)
{
	char name[DNS_NAME_TEXT_MAX];
	size_t next;
	int r = dns_name_read(p, len, *off, name, &next);

	if (r < 0)
		return r;
	if (next + 10 > len || next + 10 + get16(p + next + 8) > len)
		return -EBADMSG;
	*off = next + 10 + get16(p + next + 8);
	return 0;
}

int dns_parse(const uint8_t *p, size_t len, struct dns_header *h, struct dns_question *q)
{
	size_t off, n;
	int r;

	if (len < DNS_HDR || len > DNS_MSG_MAX)
		return -EBADMSG;
	h->id = get16(p);
	h->flags = get16(p + 2);
	h->qd = get16(p + 4);
	h->an = get16(p + 6);
	h->ns = get16(p + 8);
	h->ar = get16(p + 10);
	if (h->qd != 1) /* every resolver asks one question (RFC 9619) */
		return -EBADMSG;
	r = dns_name_read(p, len, DNS_HDR, q->name, &off);
	if (r < 0)
		return r;
	if (off + 4 > len)
		return -EBADMSG;
	q->type = get16(p + off);
	q->class = get16(p + off + 2);
	q->end = off + 4;
	off = q->end;
	n = (size_t)h->an + h->ns + h->ar;
	/* Every record takes at least 11 bytes: a count beyond the packet is a lie. */
	if (n > (len - off) / 11)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		r = skip_rr(p, len, &off);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The question's name is at DNS_HDR and never compressed (a pointer there could only point
 * into the header, which dns_name_read refuses), so its bytes are [DNS_HDR, end - 4).
 * Length bytes are at most 63: never a letter.
 */
void dns_question_flip_case(uint8_t *p, const struct dns_question *q,
			    const uint8_t mask[DNS_CASE_MASK])
{
	for (size_t i = DNS_HDR; i + 4 < q->end && i - DNS_HDR < 8 * DNS_CASE_MASK; i++) {
		size_t b = i - DNS_HDR;
		uint8_t lower = p[i] | 0x20;

		if (lower >= 'a' && lower <= 'z' && (mask[b / 8] >> (b % 8) & 1))
			p[i] ^= 0x20;
	}
}

bool dns_question_same(const uint8_t *a, const struct dns_question *qa, const uint8_t *b,
		       const struct dns_question *qb)
{
	return qa->end == qb->end && qa->end >= DNS_HDR &&
	       !memcmp(a + DNS_HDR, b + DNS_HDR, qa->end - DNS_HDR);
}

int dns_answer(const uint8_t *req, const struct dns_header *h, const struct dns_question *q,
	       unsigned rcode, const struct dns_rr *rrs, size_t n_rrs, uint8_t *out, size_t cap,
	       size_t *ret_len)
{
	size_t off = q->end, an = 0;
	uint16_t flags;

	if (q->end < DNS_HDR || q->end > DNS_PKT_MAX || cap < q->end)
		return -ENOBUFS;
	/* QR, the request's opcode and RD, AA (the names are ours), RA (we forward). */
	flags = 0x8000 | (h->flags & 0x7900) | 0x0400 | 0x0080 | (rcode & 0xf);
	memcpy(out + DNS_HDR, req + DNS_HDR, q->end - DNS_HDR);
	for (size_t i = 0; i < n_rrs; i++) {
		const struct dns_rr *rr = &rrs[i];

		if (rr->len > sizeof(rr->data))
			return -EINVAL;
		if (off + 12 + rr->len > cap) {
			flags |= 0x0200; /* TC: the client may ask again over TCP */
			break;
		}
		put16(out + off, 0xc000 | DNS_HDR); /* the question's name */
		put16(out + off + 2, rr->type);
		put16(out + off + 4, 1); /* IN */
		put16(out + off + 6, rr->ttl >> 16);
		put16(out + off + 8, rr->ttl & 0xffff);
		put16(out + off + 10, rr->len);
		memcpy(out + off + 12, rr->data, rr->len);
		off += 12 + rr->len;
		an++;
	}
	put16(out, h->id);
	put16(out + 2, flags);
	put16(out + 4, 1);
	put16(out + 6, an);
	put16(out + 8, 0);
	put16(out + 10, 0);
	*ret_len = off;
	return 0;
}
