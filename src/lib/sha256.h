/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * SHA-256 (FIPS 180-4), for small inputs on paths that must not load
 * libcrypto (the seccomp cache key of every container start).  Image
 * digests of large blobs use OpenSSL, loaded on demand.
 */
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256_ctx {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	uint8_t buf[64];
	size_t n; /* bytes in buf */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t ret[SHA256_LEN]);
void sha256(const void *data, size_t len, uint8_t ret[SHA256_LEN]);
