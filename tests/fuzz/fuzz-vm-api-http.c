/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the input is what a client sends to the control API.
 * The parser must accept or reject it without reading outside the input, and
 * a parsed request's body must lie inside it.  A PATCH /drives/{id} body goes
 * on to that route's parser (a running VM's drive update), which must accept
 * or refuse it with a message, never crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
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
		if (!strcmp(req.method, "PATCH") && !strncmp(req.path, "/drives/", 8)) {
			struct api_drive_patch p = {0};
			struct err *err = NULL;
			int r =
			    api_drive_patch_parse(req.body, req.body_len, req.path + 8, &p, &err);

			if (r < 0 && (!err || !err->msg))
				abort();
			api_drive_patch_free(&p);
			err_free(&err);
		}
	} else if (n < 0 && !why) {
		abort();
	}
	free(buf);
	return 0;
}
