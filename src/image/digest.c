/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sha256 digests with OpenSSL's libcrypto, loaded on first use (src/lib/crypto.c). */
#include <errno.h>
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

struct img_hasher *img_hasher_new(struct err **err)
{
	struct img_hasher *h = calloc(1, sizeof(*h));

	if (!h) {
		err_make(err, ENOMEM, "sha256");
		return NULL;
	}
	h->h = crypto_sha256_new(err);
	if (!h->h) {
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

int img_sha256_digest(const void *buf, size_t len, char ret[IMG_DIGEST_LEN + 1], struct err **err)
{
	char hex[65];
	int r = crypto_sha256_hex(&buf, &len, 1, hex, err);

	if (r < 0)
		return r;
	snprintf(ret, IMG_DIGEST_LEN + 1, "sha256:%s", hex);
	return 0;
}

int img_chain_id(const char *parent, const char *diff_id, char ret[IMG_DIGEST_LEN + 1],
		 struct err **err)
{
	char buf[2 * IMG_DIGEST_LEN + 2];

	if (!parent) {
		memcpy(ret, diff_id, IMG_DIGEST_LEN + 1);
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s %s", parent, diff_id);
	return img_sha256_digest(buf, strlen(buf), ret, err);
}
