/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * sha256 with OpenSSL's libcrypto, loaded on first use (crypto.c): mapped, its
 * relocations alone cost ~1.4 MB of resident memory, which the processes that
 * hash nothing (the VMM, a container without a seccomp filter) do not pay.
 * OpenSSL's own functions that crypto.c defines (SHA256_*, EVP_MAC_*,
 * EVP_CIPHER_CTX_*, EVP_Encrypt/Decrypt*, OPENSSL_cleanse, CRYPTO_memcmp) may be called
 * after crypto_load() succeeded; before, they load libcrypto or exit 127 (lazylib_need).
 */
#include <stddef.h>

#include "err.h"

#define SHA256_LEN 32
#define SHA512_LEN 64

/* Load libcrypto now; an error names it when it cannot be loaded. */
int crypto_load(struct err **err);

struct crypto_sha256;
/* NULL with an error when libcrypto cannot be loaded or memory is short. */
struct crypto_sha256 *crypto_sha256_new(struct err **err);
void crypto_sha256_update(struct crypto_sha256 *h, const void *buf, size_t len);
/* 64 lower-case hex digits; h can then only be freed. */
void crypto_sha256_final_hex(struct crypto_sha256 *h, char hex[65]);
void crypto_sha256_free(struct crypto_sha256 *h);
/* sha256 of the concatenation of n buffers, as 64 lower-case hex digits. */
int crypto_sha256_hex(const void *const *bufs, const size_t *lens, size_t n, char hex[65],
		      struct err **err);
/* sha512 of the concatenation of n buffers (the CNI plugins' chain names, src/net/masq.c). */
int crypto_sha512(const void *const *bufs, const size_t *lens, size_t n,
		  unsigned char md[SHA512_LEN], struct err **err);
