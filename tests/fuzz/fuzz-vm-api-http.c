/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the input is what a client sends to the control API.
 * The parser must accept or reject it without reading outside the input, and
 * a parsed request's body must lie inside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req req;
	const char *why = NULL;
	char *buf = malloc(size ? size : 1);
	long n;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	n = http_parse(buf, size, &req, &why);
	if (n > 0) {
		volatile char sink = 0;

		if ((size_t)n > size || req.head_len + req.body_len != (size_t)n)
			abort();
		for (size_t i = 0; i < req.body_len; i++)
			sink ^= req.body[i];
		(void)sink;
		if (strlen(req.method) >= sizeof(req.method) || req.path[0] != '/')
			abort();
	} else if (n < 0 && !why) {
		abort();
	}
	free(buf);
	return 0;
}
