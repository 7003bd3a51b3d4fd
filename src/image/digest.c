/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sha256 digests with OpenSSL's libcrypto, loaded on first use (src/lib/crypto.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "image.h"

struct img_hasher {
	struct crypto_sha256 *h;
};

bool img_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != IMG_DIGEST_LEN)
		return false;
	for (d += 7; *d; d++)
		if (!((*d >= '0' && *d <= '9') || (*d >= 'a' && *d <= 'f')))
			return false;
	return true;
}

struct img_hasher *img_hasher_new(void)
{
	struct img_hasher *h = calloc(1, sizeof(*h));

	/* img_store_open() loaded libcrypto or reported why it could not. */
	if (!h || !(h->h = crypto_sha256_new(NULL))) {
		free(h);
		return NULL;
	}
	return h;
}

void img_hasher_update(struct img_hasher *h, const void *buf, size_t len)
{
	crypto_sha256_update(h->h, buf, len);
}

void img_hasher_final(struct img_hasher *h, char ret[IMG_DIGEST_LEN + 1])
{
	memcpy(ret, "sha256:", 7);
	crypto_sha256_final_hex(h->h, ret + 7);
	ret[IMG_DIGEST_LEN] = '\0';
}

void img_hasher_free(struct img_hasher *h)
{
	if (!h)
		return;
	crypto_sha256_free(h->h);
	free(h);
}

void img_sha256_digest(const void *buf, size_t len, char ret[IMG_DIGEST_LEN + 1])
{
	struct err *err = NULL;

	memcpy(ret, "sha256:", 7);
	if (crypto_sha256_hex(&buf, &len, 1, ret + 7, &err) < 0) {
		/* libcrypto missing past img_store_open(), a bug: as lazylib.h's stubs do. */
		fprintf(stderr, "isola: %s\n", err->msg);
		abort();
	}
	ret[IMG_DIGEST_LEN] = '\0';
}

void img_chain_id(const char *parent, const char *diff_id, char ret[IMG_DIGEST_LEN + 1])
{
	char buf[2 * IMG_DIGEST_LEN + 2];

	if (!parent) {
		memcpy(ret, diff_id, IMG_DIGEST_LEN + 1);
		return;
	}
	snprintf(buf, sizeof(buf), "%s %s", parent, diff_id);
	img_sha256_digest(buf, strlen(buf), ret);
}
