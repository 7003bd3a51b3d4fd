/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: a registry's WWW-Authenticate header.  The parser must
 * accept or refuse it cleanly; a Bearer challenge it accepts has a realm, and
 * the token URL made from it is well formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "registry-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_challenge ch = {};
	struct err *err = NULL;
	char *h = strndup((const char *)data, size), *url = NULL;
	static int curl = -1;

	if (!h)
		return 0;
	if (curl < 0)
		curl = img_lazylib_load(IMG_LIB_CURL, NULL) == 0;
	if (img_challenge_parse(h, &ch, &err) == 0) {
		if (!ch.scheme || (!strcasecmp(ch.scheme, "Bearer") && !ch.realm))
			abort();
		if (curl && ch.realm && reg_token_url(&ch, "library/busybox", &url, &err) == 0) {
			const char *q = url + strlen(ch.realm) + 1, *sc = strstr(q, "&scope=");

			/* Nothing from service or scope may add a parameter or a fragment. */
			if (strncmp(url, ch.realm, strlen(ch.realm)) || strncmp(q, "service=", 8) ||
			    !sc || memchr(q, '&', sc - q) || memchr(q, '#', sc - q) ||
			    memchr(q, ' ', sc - q) || strpbrk(sc + 7, "&# "))
				abort();
			free(url);
		}
		img_challenge_free(&ch);
	} else if (!err) {
		abort();
	}
	err_free(&err);
	free(h);
	return 0;
}
