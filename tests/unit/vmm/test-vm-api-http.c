/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control API's HTTP/1.1 request parser: good requests, partial ones, hostile ones. */
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "tap.h"

static long parse(const char *s, struct http_req *req)
{
	const char *why = NULL;

	return http_parse(s, strlen(s), req, &why);
}

static void test_good(void)
{
	const char *s = "PUT /snapshot/create HTTP/1.1\r\nHost: x\r\ncontent-length:  4 \r\n\r\n"
			"{}\r\nEXTRA";
	struct http_req req;
	long n = parse(s, &req);

	is_int(n, (long)(strstr(s, "EXTRA") - s), "request length excludes what follows");
	ok(!strcmp(req.method, "PUT") && !strcmp(req.path, "/snapshot/create"), "method, path");
	is_int(req.body_len, 4, "body length");
	ok(req.body && !memcmp(req.body, "{}\r\n", 4), "body");
	is_int(parse("GET / HTTP/1.0\r\n\r\n", &req), 18, "HTTP/1.0 without a body");
	is_int(req.body_len, 0, "no body");
}

static void test_partial(void)
{
	const char *s = "PATCH /vm HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"state\":1}";
	struct http_req req;
	const char *why;
	size_t full = strlen(s) - 1; /* the request is 10 bytes of body: one to spare */
	int zeros = 0;

	for (size_t n = 0; n < full; n++)
		zeros += http_parse(s, n, &req, &why) == 0;
	is_int(zeros, (long)full, "every prefix asks for more");
	is_int(http_parse(s, full, &req, &why), (long)full, "complete at the last body byte");
}

static void test_bad(void)
{
	static const struct {
		const char *req;
		long status;
	} cases[] = {
	    {"get / HTTP/1.1\r\n\r\n", -400},
	    {"GET x HTTP/1.1\r\n\r\n", -400},
	    {"GET / HTTP/2.0\r\n\r\n", -400},
	    {"GET / HTTP/1.2\r\n\r\n", -505},
	    {"GET /  HTTP/1.1\r\n\r\n", -400},
	    {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", -400},
	    {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", -400},
	    {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", -400},
	    {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", -400},
	    {"GET / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", -413},
	    {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", -413},
	    {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -501},
	    {"GET / HTTP/1.1\r\nX: a\nb\r\n\r\n", -400},
	    {"GET / HTTP/1.1\nX: a\r\n\r\n", -400},
	    {"VERYLONGMETHOD / HTTP/1.1\r\n\r\n", -400},
	};
	struct http_req req;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(parse(cases[i].req, &req), cases[i].status, "bad request %zu rejected", i);
}

static void test_caps(void)
{
	struct http_req req;
	const char *why;
	char *big = malloc(HTTP_MAX_HEAD + 64);
	char path[400];

	memset(big, 'a', HTTP_MAX_HEAD + 64);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	is_int(http_parse(big, HTTP_MAX_HEAD + 64, &req, &why), -431, "head over 8 KiB");
	free(big);
	memset(path, 'p', sizeof(path));
	memcpy(path, "GET /", 5);
	strcpy(path + 300, " HTTP/1.1\r\n\r\n");
	is_int(parse(path, &req), -400, "path over 255 bytes");
}

int main(void)
{
	test_good();
	test_partial();
	test_bad();
	test_caps();
	return tap_done();
}
