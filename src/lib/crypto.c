/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OpenSSL's libcrypto, loaded with dlopen(3) the first time a digest is needed
 * (crypto.h).  Each function this binary calls is defined below with
 * OpenSSL's own prototype (<openssl/sha.h> checks them) and forwards to the
 * loaded symbol.
 *
 * The SHA256_Init/Update/Final interface rather than EVP's: both run the same
 * assembly, but the first EVP digest initialises libcrypto's library context
 * (configuration, the default provider, the table of every algorithm's names),
 * which costs ~2.4 MB of resident memory against ~0.4 MB (OpenSSL 3.0, GNU time
 * %M of a one-digest program).  OpenSSL 3 marks these functions deprecated
 * but ships them; a libcrypto without them fails to load with a clear error.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/sha.h>

#include "crypto.h"
#include "lazylib.h"

#define CRYPTO_FUNCS(X, V)                                                          \
	X(int, SHA256_Init, (SHA256_CTX * c), (c))                                  \
	X(int, SHA256_Update, (SHA256_CTX * c, const void *d, size_t n), (c, d, n)) \
	X(int, SHA256_Final, (unsigned char *md, SHA256_CTX *c), (md, c))

static struct {
	CRYPTO_FUNCS(LAZYLIB_MEMBER, LAZYLIB_VMEMBER)
} fns;

static const struct lazylib_symbol symbols[] = {CRYPTO_FUNCS(LAZYLIB_SYMBOL, LAZYLIB_VSYMBOL)};
static struct lazylib libcrypto = LAZYLIB_INIT("libcrypto.so.3", symbols);

#define STUB(ret, name, params, args) LAZYLIB_STUB(&libcrypto, ret, name, params, args)
#define VSTUB(name, params, args)     LAZYLIB_VSTUB(&libcrypto, name, params, args)
CRYPTO_FUNCS(STUB, VSTUB)

struct crypto_sha256 {
	SHA256_CTX c;
};

int crypto_load(struct err **err)
{
	return lazylib_load(&libcrypto, err);
}

struct crypto_sha256 *crypto_sha256_new(struct err **err)
{
	struct crypto_sha256 *h;

	if (crypto_load(err) < 0) {
		err_wrap(err, "sha256");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h || SHA256_Init(&h->c) != 1) {
		free(h);
		err_make(err, ENOMEM, "sha256");
		return NULL;
	}
	return h;
}

void crypto_sha256_update(struct crypto_sha256 *h, const void *buf, size_t len)
{
	SHA256_Update(&h->c, buf, len);
}

void crypto_sha256_final_hex(struct crypto_sha256 *h, char hex[65])
{
	unsigned char md[SHA256_LEN];

	SHA256_Final(md, &h->c);
	for (unsigned int i = 0; i < SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void crypto_sha256_free(struct crypto_sha256 *h)
{
	free(h);
}

int crypto_sha256_hex(const void *const *bufs, const size_t *lens, size_t n, char hex[65],
		      struct err **err)
{
	struct crypto_sha256 h;
	int r = crypto_load(err);

	if (r < 0)
		return err_wrap(err, "sha256");
	SHA256_Init(&h.c);
	for (size_t i = 0; i < n; i++)
		crypto_sha256_update(&h, bufs[i], lens[i]);
	crypto_sha256_final_hex(&h, hex);
	return 0;
}
