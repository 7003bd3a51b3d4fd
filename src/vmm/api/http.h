/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A small, strict HTTP/1.1 request parser for the control API: one request
 * line, headers, and a body sized by Content-Length only (no chunked
 * transfer coding).  Pure code: unit-tested and fuzzed.
 */
#include <stddef.h>

#define HTTP_MAX_HEAD 8192
#define HTTP_MAX_BODY (64 * 1024)
#define HTTP_MAX_PATH 256

struct http_req {
	char method[8];
	char path[HTTP_MAX_PATH];
	size_t head_len, body_len;
	const char *body; /* inside the parsed buffer, not NUL-terminated */
};

/*
 * Parse buf[0..len).  Returns the whole request's length when it is complete,
 * 0 when more bytes are needed, or a negative HTTP status (-400, -413, -431,
 * -501, -505) with *why set to a static message.
 */
long http_parse(const char *buf, size_t len, struct http_req *req, const char **why);
