/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Encryption and authentication of the migration stream (docs/migration.md):
 * a pre-shared key, and per direction two session keys
 *   K_mac = HMAC-SHA256(psk, label || nonce_source || nonce_destination)
 *   K_enc = HMAC-SHA256(psk, label || " aes" || nonce_source || nonce_destination)
 * where both nonces are fresh random bytes of this connection.  Encrypt then
 * MAC: every payload is AES-256-CTR under K_enc with the IV u64 seq || 0, and
 * the frame carries HMAC-SHA256(K_mac, u64 seq || type || len || ciphertext),
 * seq counting that direction's frames from 0: a frame cannot be read,
 * altered, replayed, reordered, reflected back or spliced in from another
 * session, and the receiver decrypts only what checked out.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "migrate-internal.h"

int mig_key_load(const char *path, struct mig_key *ret, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return err_make(err, errno, "--key-file `%s`", path);
	if (fstat(fd, &st) < 0)
		return err_make(err, errno, "--key-file `%s`", path);
	if (!S_ISREG(st.st_mode))
		return err_make(err, EINVAL, "--key-file `%s`: not a regular file", path);
	if (st.st_mode & 077)
		return err_make(err, EPERM,
				"--key-file `%s`: readable or writable by group or others "
				"(mode %03o; chmod 600 it)",
				path, (unsigned)st.st_mode & 0777);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return err_make(err, EPERM, "--key-file `%s`: owned by another user", path);
	if (st.st_size < MIG_KEY_MIN || st.st_size > MIG_KEY_MAX)
		return err_make(err, EINVAL, "--key-file `%s`: %lld bytes (%u to %u random bytes)",
				path, (long long)st.st_size, MIG_KEY_MIN, MIG_KEY_MAX);
	n = read(fd, ret->bytes, st.st_size);
	if (n != st.st_size) {
		OPENSSL_cleanse(ret->bytes, sizeof(ret->bytes));
		return err_make(err, n < 0 ? errno : EIO, "--key-file `%s`: read", path);
	}
	ret->len = n;
	return 0;
}

void mig_key_wipe(struct mig_key *k)
{
	if (k)
		OPENSSL_cleanse(k, sizeof(*k));
}

int mig_nonce(uint8_t out[MIG_NONCE], struct err **err)
{
	if (getrandom(out, MIG_NONCE, 0) != MIG_NONCE)
		return err_make(err, errno ? errno : EIO, "getrandom");
	return 0;
}

static EVP_MAC_CTX *hmac_new(const uint8_t *key, size_t len)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;

	EVP_MAC_free(mac); /* the context holds its own reference */
	if (c && !EVP_MAC_init(c, key, len, params)) {
		EVP_MAC_CTX_free(c);
		c = NULL;
	}
	return c;
}

/* HMAC-SHA256(psk, label || sub || ns || nd) */
static bool derive(const struct mig_key *k, const char *label, const char *sub,
		   const uint8_t ns[MIG_NONCE], const uint8_t nd[MIG_NONCE], uint8_t out[MIG_TAG])
{
	EVP_MAC_CTX *c = hmac_new(k->bytes, k->len);
	size_t n = 0;
	bool ok = c && EVP_MAC_update(c, (const uint8_t *)label, strlen(label)) &&
		  EVP_MAC_update(c, (const uint8_t *)sub, strlen(sub)) &&
		  EVP_MAC_update(c, ns, MIG_NONCE) && EVP_MAC_update(c, nd, MIG_NONCE) &&
		  EVP_MAC_final(c, out, &n, MIG_TAG) && n == MIG_TAG;

	EVP_MAC_CTX_free(c);
	return ok;
}

int mig_mac_init(struct mig_mac *m, const struct mig_key *k, const char *label,
		 const uint8_t ns[MIG_NONCE], const uint8_t nd[MIG_NONCE], struct err **err)
{
	uint8_t km[MIG_TAG], ke[MIG_TAG];
	bool ok = derive(k, label, "", ns, nd, km) && derive(k, label, " aes", ns, nd, ke);

	*m = (struct mig_mac){0};
	if (ok)
		m->ctx = hmac_new(km, sizeof(km));
	if (m->ctx)
		m->enc = EVP_CIPHER_CTX_new();
	if (m->enc && !EVP_EncryptInit_ex(m->enc, EVP_aes_256_ctr(), NULL, ke, NULL))
		ok = false;
	OPENSSL_cleanse(km, sizeof(km));
	OPENSSL_cleanse(ke, sizeof(ke));
	if (!ok || !m->ctx || !m->enc) {
		mig_mac_free(m);
		return err_make(err, ENOMEM, "HMAC-SHA256, AES-256-CTR (libcrypto)");
	}
	return 0;
}

void mig_mac_free(struct mig_mac *m)
{
	EVP_MAC_CTX_free(m->ctx);
	EVP_CIPHER_CTX_free(m->enc);
	free(m->scratch);
	*m = (struct mig_mac){0};
}

/* AES-256-CTR over the pieces in place, the IV being this frame's seq (CTR: both ways). */
static bool ctr_crypt(struct mig_mac *m, const struct iovec *iov, int n)
{
	uint8_t iv[16] = {0};
	int len;

	for (int i = 0; i < 8; i++)
		iv[i] = m->seq >> (56 - 8 * i);
	if (!EVP_EncryptInit_ex(m->enc, NULL, NULL, NULL, iv))
		return false;
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len && !EVP_EncryptUpdate(m->enc, iov[i].iov_base, &len,
							 iov[i].iov_base, (int)iov[i].iov_len))
			return false;
	return true;
}

/* The tag of the next frame over its (encrypted) pieces. */
static int tag(struct mig_mac *m, const uint8_t hdr[MIG_FRAME_HDR], const struct iovec *iov, int n,
	       uint8_t out[MIG_TAG])
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(m->ctx);
	uint8_t seq[8];
	size_t len = 0;
	bool ok;

	mig_put_u64(seq, m->seq);
	ok = c && EVP_MAC_update(c, seq, sizeof(seq)) && EVP_MAC_update(c, hdr, MIG_FRAME_HDR);
	for (int i = 0; ok && i < n; i++)
		ok = !iov[i].iov_len || EVP_MAC_update(c, iov[i].iov_base, iov[i].iov_len);
	ok = ok && EVP_MAC_final(c, out, &len, MIG_TAG) && len == MIG_TAG;
	EVP_MAC_CTX_free(c);
	return ok ? 0 : -ENOMEM;
}

int mig_mac_seal(struct mig_mac *m, const uint8_t hdr[MIG_FRAME_HDR], const struct iovec *iov,
		 int n, uint8_t out[MIG_TAG])
{
	if (!ctr_crypt(m, iov, n) || tag(m, hdr, iov, n, out) < 0)
		return -ENOMEM;
	m->seq++;
	return 0;
}

int mig_mac_open(struct mig_mac *m, const uint8_t hdr[MIG_FRAME_HDR], const struct iovec *iov,
		 int n, const uint8_t t[MIG_TAG], struct err **err)
{
	uint8_t want[MIG_TAG];

	if (tag(m, hdr, iov, n, want) < 0)
		return err_make(err, ENOMEM, "HMAC-SHA256 (libcrypto)");
	if (CRYPTO_memcmp(want, t, MIG_TAG))
		return err_make(err, EBADMSG,
				"frame %llu: bad MAC (a different key, or the stream was "
				"altered, replayed or cut in)",
				(unsigned long long)m->seq);
	if (!ctr_crypt(m, iov, n))
		return err_make(err, ENOMEM, "AES-256-CTR (libcrypto)");
	m->seq++;
	return 0;
}

void *mig_mac_scratch(struct mig_mac *m, size_t len)
{
	if (len > m->scratch_len) {
		free(m->scratch);
		m->scratch = malloc(len);
		m->scratch_len = m->scratch ? len : 0;
	}
	return m->scratch;
}
