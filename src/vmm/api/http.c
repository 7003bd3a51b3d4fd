/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control API's HTTP/1.1 request parser (http.h). */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "http.h"

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static long fail(const char **why, long status, const char *msg)
{
	*why = msg;
	return -status;
}

/* "METHOD /path HTTP/1.1" */
static long parse_request_line(const char *p, const char *end, struct http_req *req,
			       const char **why)
{
	const char *sp1 = memchr(p, ' ', end - p), *sp2;
	size_t n;

	if (!sp1 || sp1 == p || (size_t)(sp1 - p) >= sizeof(req->method))
		return fail(why, 400, "malformed request line");
	for (const char *c = p; c < sp1; c++)
		if (*c < 'A' || *c > 'Z')
			return fail(why, 400, "malformed method");
	memcpy(req->method, p, sp1 - p);
	req->method[sp1 - p] = '\0';
	sp2 = memchr(sp1 + 1, ' ', end - sp1 - 1);
	if (!sp2 || sp1[1] != '/')
		return fail(why, 400, "malformed request target");
	n = sp2 - sp1 - 1;
	if (n >= sizeof(req->path))
		return fail(why, 400, "request target too long");
	for (const char *c = sp1 + 1; c < sp2; c++)
		if (*c <= ' ' || *c >= 0x7f)
			return fail(why, 400, "malformed request target");
	memcpy(req->path, sp1 + 1, n);
	req->path[n] = '\0';
	if ((size_t)(end - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return fail(why, 400, "malformed HTTP version");
	if (sp2[8] != '1' && sp2[8] != '0')
		return fail(why, 505, "HTTP version not supported");
	return 0;
}

static long parse_header(const char *p, const char *end, struct http_req *req, bool *have_len,
			 const char **why)
{
	const char *colon = memchr(p, ':', end - p), *v;
	size_t n = 0;

	if (!colon || colon == p)
		return fail(why, 400, "malformed header");
	for (const char *c = p; c < colon; c++)
		if (!is_tchar(*c))
			return fail(why, 400, "malformed header name");
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (const char *c = v; c < end; c++)
		if ((unsigned char)*c < ' ' && *c != '\t')
			return fail(why, 400, "control character in a header");
	if (colon - p == 17 && !strncasecmp(p, "Transfer-Encoding", 17))
		return fail(why, 501, "Transfer-Encoding is not supported; send Content-Length");
	if (colon - p != 14 || strncasecmp(p, "Content-Length", 14))
		return 0;
	if (*have_len)
		return fail(why, 400, "duplicate Content-Length");
	if (v == end)
		return fail(why, 400, "empty Content-Length");
	for (const char *c = v; c < end; c++) {
		if (*c < '0' || *c > '9')
			return fail(why, 400, "malformed Content-Length");
		n = n * 10 + (*c - '0');
		if (n > HTTP_MAX_BODY)
			return fail(why, 413, "body larger than 64 KiB");
	}
	*have_len = true;
	req->body_len = n;
	return 0;
}

long http_parse(const char *buf, size_t len, struct http_req *req, const char **why)
{
	size_t lim = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	const char *end = NULL, *p = buf, *eol;
	bool have_len = false;
	long r;

	memset(req, 0, sizeof(*req));
	for (size_t i = 0; i + 3 < lim; i++)
		if (!memcmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i + 2; /* keep the last header's CRLF */
			break;
		}
	if (!end)
		return len >= HTTP_MAX_HEAD ? fail(why, 431, "request head larger than 8 KiB") : 0;
	eol = memchr(p, '\r', end - p);
	if (!eol || eol[1] != '\n')
		return fail(why, 400, "malformed request line");
	r = parse_request_line(p, eol, req, why);
	for (p = eol + 2; r == 0 && p < end; p = eol + 2) {
		eol = memchr(p, '\r', end - p);
		if (!eol || eol[1] != '\n')
			return fail(why, 400, "bare CR or LF in the head");
		r = parse_header(p, eol, req, &have_len, why);
	}
	if (r < 0)
		return r;
	req->head_len = end + 2 - buf;
	if (len - req->head_len < req->body_len)
		return 0;
	req->body = buf + req->head_len;
	return (long)(req->head_len + req->body_len);
}
