/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: DNS messages as a network's responder reads them (queries from
 * containers, answers from upstream resolvers over UDP, and over TCP up to 65535 bytes:
 * corpus tcp-big.bin is 4.8 KB).  An accepted message's question ends inside it; an
 * answer built for it parses back with the same question and id.  Its question's case
 * mixed as for forwarding (0x20, a mask from the input) parses to the same name, differs
 * byte for byte only where a letter flipped, and the same mask again gives it back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns-internal.h"
#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mixed_case(const uint8_t *data, size_t size, const struct dns_question *q)
{
	static uint8_t m[DNS_MSG_MAX];
	uint8_t mask[DNS_CASE_MASK] = {};
	struct dns_header mh;
	struct dns_question mq;
	bool flipped = false;

	memcpy(mask, data + size - (size < sizeof(mask) ? size : sizeof(mask)),
	       size < sizeof(mask) ? size : sizeof(mask));
	memcpy(m, data, size);
	dns_question_flip_case(m, q, mask);
	for (size_t i = 0; i < size; i++)
		if (m[i] != data[i]) {
			if (i < 12 || i + 4 >= q->end || (m[i] ^ data[i]) != 0x20 ||
			    (m[i] | 0x20) < 'a' || (m[i] | 0x20) > 'z')
				abort();
			flipped = true;
		}
	if (dns_parse(m, size, &mh, &mq) < 0 || strcmp(mq.name, q->name) || mq.end != q->end ||
	    dns_question_same(data, q, m, &mq) == flipped)
		abort();
	dns_question_flip_case(m, &mq, mask);
	if (memcmp(m, data, size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_PKT_MAX];
	struct dns_rr rr[3] = {
	    {.type = DNS_TYPE_A, .len = 4, .data = {10, 1, 2, 3}},
	    {.type = DNS_TYPE_AAAA, .len = 16},
	    {.type = DNS_TYPE_A, .len = 4},
	};
	struct dns_header h, rh;
	struct dns_question q, rq;
	char name[DNS_NAME_TEXT_MAX];
	size_t len, next;

	if (size > 12 && dns_name_read(data, size, 12, name, &next) == 0 &&
	    (next > size || strlen(name) >= DNS_NAME_TEXT_MAX))
		abort();
	if (dns_parse(data, size, &h, &q) < 0)
		return 0;
	if (q.end > size || q.end < 17)
		abort();
	mixed_case(data, size, &q);
	for (size_t cap = 0; cap <= 512; cap += 256) {
		if (dns_answer(data, &h, &q, 0, rr, 3, out, cap, &len) < 0)
			continue;
		if (len > cap || dns_parse(out, len, &rh, &rq) < 0 || rh.id != h.id ||
		    strcmp(rq.name, q.name) || rq.type != q.type || rq.class != q.class)
			abort();
	}
	return 0;
}
