/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * SHA-256 (FIPS 180-4) in plain C, for the static isola's VMM, which cannot
 * dlopen libcrypto (crypto.h): the bzImage unpack cache is keyed by it.
 */
#include <stddef.h>
#include <stdint.h>

struct sha256sw {
	uint32_t h[8];
	uint64_t len; /* bytes hashed */
	uint8_t buf[64];
	size_t fill;
};

void sha256sw_init(struct sha256sw *s);
void sha256sw_update(struct sha256sw *s, const void *data, size_t len);
/* 64 lower-case hex digits and a NUL. */
void sha256sw_final_hex(struct sha256sw *s, char hex[65]);
