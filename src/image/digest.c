/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sha256 digests: blobs with OpenSSL's EVP interface (fast, loaded on first
 * use; the in-tree sha256 if it cannot be loaded), short inputs (manifests,
 * chain ids) with the in-tree sha256 so that they need no libcrypto.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "image.h"
#include "sha256.h"

struct img_hasher {
	EVP_MD_CTX *ctx; /* NULL: sw */
	struct sha256_ctx sw;
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

	if (!h)
		return NULL;
	sha256_init(&h->sw);
	if (img_lazylib_load(IMG_LIB_CRYPTO, NULL) < 0)
		return h;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

void img_hasher_update(struct img_hasher *h, const void *buf, size_t len)
{
	if (h->ctx)
		EVP_DigestUpdate(h->ctx, buf, len);
	else
		sha256_update(&h->sw, buf, len);
}

void img_hasher_final(struct img_hasher *h, char ret[IMG_DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = SHA256_LEN;

	if (h->ctx)
		EVP_DigestFinal_ex(h->ctx, md, &n);
	else
		sha256_final(&h->sw, md);
	memcpy(ret, "sha256:", 7);
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(ret + 7 + 2 * i, 3, "%02x", md[i]);
	ret[IMG_DIGEST_LEN] = '\0';
}

void img_hasher_free(struct img_hasher *h)
{
	if (!h)
		return;
	if (h->ctx)
		EVP_MD_CTX_free(h->ctx);
	free(h);
}

void img_sha256_digest(const void *buf, size_t len, char ret[IMG_DIGEST_LEN + 1])
{
	uint8_t md[SHA256_LEN];

	sha256(buf, len, md);
	memcpy(ret, "sha256:", 7);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(ret + 7 + 2 * i, 3, "%02x", md[i]);
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
