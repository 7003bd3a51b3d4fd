/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OpenSSL's libcrypto, loaded with dlopen(3) the first time a digest is needed
 * (crypto.h).  Each function this binary calls is defined below with
 * OpenSSL's own prototype (the headers check them) and forwards to the loaded
 * symbol: sha256 and sha512 here, the migration stream's HMAC and AES-GCM in
 * src/vmm/migrate/auth.c, which calls crypto_load() first.
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

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "crypto.h"
#include "lazylib.h"

#define SHA_FUNCS(X, V)                                                             \
	X(int, SHA256_Init, (SHA256_CTX * c), (c))                                  \
	X(int, SHA256_Update, (SHA256_CTX * c, const void *d, size_t n), (c, d, n)) \
	X(int, SHA256_Final, (unsigned char *md, SHA256_CTX *c), (md, c))           \
	X(int, SHA512_Init, (SHA512_CTX * c), (c))                                  \
	X(int, SHA512_Update, (SHA512_CTX * c, const void *d, size_t n), (c, d, n)) \
	X(int, SHA512_Final, (unsigned char *md, SHA512_CTX *c), (md, c))

/* The migration stream's HMAC-SHA256 and AES-256-GCM (src/vmm/migrate/auth.c). */
#define MAC_FUNCS(X, V)                                                                            \
	V(OPENSSL_cleanse, (void *p, size_t n), (p, n))                                            \
	X(int, CRYPTO_memcmp, (const void *a, const void *b, size_t n), (a, b, n))                 \
	X(OSSL_PARAM, OSSL_PARAM_construct_utf8_string, (const char *k, char *b, size_t n),        \
	  (k, b, n))                                                                               \
	X(OSSL_PARAM, OSSL_PARAM_construct_end, (void), ())                                        \
	X(EVP_MAC *, EVP_MAC_fetch, (OSSL_LIB_CTX * l, const char *a, const char *p), (l, a, p))   \
	V(EVP_MAC_free, (EVP_MAC * m), (m))                                                        \
	X(EVP_MAC_CTX *, EVP_MAC_CTX_new, (EVP_MAC * m), (m))                                      \
	V(EVP_MAC_CTX_free, (EVP_MAC_CTX * c), (c))                                                \
	X(int, EVP_MAC_init,                                                                       \
	  (EVP_MAC_CTX * c, const unsigned char *k, size_t n, const OSSL_PARAM p[]), (c, k, n, p)) \
	X(int, EVP_MAC_update, (EVP_MAC_CTX * c, const unsigned char *d, size_t n), (c, d, n))     \
	X(int, EVP_MAC_final, (EVP_MAC_CTX * c, unsigned char *o, size_t *n, size_t max),          \
	  (c, o, n, max))

#define CIPHER_INIT(X, name)                                                           \
	X(int, name,                                                                   \
	  (EVP_CIPHER_CTX * c, const EVP_CIPHER *t, ENGINE *e, const unsigned char *k, \
	   const unsigned char *iv),                                                   \
	  (c, t, e, k, iv))
#define CIPHER_UPDATE(X, name)                                                             \
	X(int, name,                                                                       \
	  (EVP_CIPHER_CTX * c, unsigned char *o, int *n, const unsigned char *i, int len), \
	  (c, o, n, i, len))
#define CIPHER_FINAL(X, name) \
	X(int, name, (EVP_CIPHER_CTX * c, unsigned char *o, int *n), (c, o, n))

#define CIPHER_FUNCS(X, V)                                  \
	X(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_new, (void), ()) \
	V(EVP_CIPHER_CTX_free, (EVP_CIPHER_CTX * c), (c))   \
	X(const EVP_CIPHER *, EVP_aes_256_gcm, (void), ())  \
	CIPHER_INIT(X, EVP_EncryptInit_ex)                  \
	CIPHER_INIT(X, EVP_DecryptInit_ex)                  \
	CIPHER_UPDATE(X, EVP_EncryptUpdate)                 \
	CIPHER_UPDATE(X, EVP_DecryptUpdate)                 \
	CIPHER_FINAL(X, EVP_EncryptFinal_ex)                \
	CIPHER_FINAL(X, EVP_DecryptFinal_ex)                \
	X(int, EVP_CIPHER_CTX_ctrl, (EVP_CIPHER_CTX * c, int t, int a, void *p), (c, t, a, p))

#define CRYPTO_FUNCS(X, V) SHA_FUNCS(X, V) MAC_FUNCS(X, V) CIPHER_FUNCS(X, V)

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

int crypto_sha512(const void *const *bufs, const size_t *lens, size_t n,
		  unsigned char md[SHA512_LEN], struct err **err)
{
	SHA512_CTX c;
	int r = crypto_load(err);

	if (r < 0)
		return err_wrap(err, "sha512");
	SHA512_Init(&c);
	for (size_t i = 0; i < n; i++)
		SHA512_Update(&c, bufs[i], lens[i]);
	SHA512_Final(md, &c);
	return 0;
}
