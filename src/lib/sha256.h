/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * SHA-256 in plain C (FIPS 180-4), for small inputs in processes that should
 * not map libcrypto for one digest: the seccomp filter cache key of every
 * `run` (src/container/seccomp.c).  The full hash, not a shorter or weaker
 * one: the key names a cached BPF program, and a collision would hand a
 * container another config's filter.  Large inputs (image blobs) use
 * libcrypto's (crypto.h), whose assembly is several times faster.
 */
#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed */
	uint8_t buf[64];
	size_t n; /* bytes in buf */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[32]);
/* The digest of the concatenation of n buffers, as 64 lower-case hex digits. */
void sha256_hex(const void *const *bufs, const size_t *lens, size_t n, char hex[65]);
