/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Encryption and authentication of the migration stream (docs/migration.md):
 * a pre-shared key, and per direction a session key
 *   K = HMAC-SHA256(psk, label || nonce_source || nonce_destination)
 * where both nonces are fresh random bytes of this connection.  Every
 * payload is sealed with AES-256-GCM under K, the IV being 4 zero bytes and
 * the frame's u64 seq (counting that direction's frames from 0), the
 * additional data the seq and the frame header: a frame cannot be read,
 * altered, replayed, reordered, reflected back or spliced in from another
 * session, and nothing of it is used before its tag checked out.
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
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "crypto.h"
#include "migrate-internal.h"

int mig_key_load(const char *path, struct mig_key *ret, struct err **err)
{
	/* O_NONBLOCK: a FIFO named as the key fails the check below, not hang the open. */
	_cleanup_close_ int fd =
	    open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	ssize_t n;
	int r;

	ret->len = 0; /* mig_key_wipe() skips a key that was never read */
	if (fd < 0)
		return err_make(err, errno, "--key-file `%s`", path);
	/* libcrypto (dlopen'd) seals the stream: load it now, or say why not. */
	r = crypto_load(err);
	if (r < 0)
		return err_wrap(err, "--key-file `%s`", path);
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
	/* len 0: nothing was read (and libcrypto, loaded first, may be absent) */
	if (k && k->len)
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

#define HMAC_SHA256_LEN 32u
_Static_assert(MIG_PROOF == HMAC_SHA256_LEN && MIG_SESSION_KEY == HMAC_SHA256_LEN,
	       "the hello's proof and the session keys are whole HMAC-SHA256 outputs");

/* HMAC-SHA256(psk, label || parts[0] || parts[1] ...) */
static bool hmac_parts(const struct mig_key *k, const char *label, const struct iovec *parts,
		       size_t n, uint8_t out[HMAC_SHA256_LEN])
{
	EVP_MAC_CTX *c = hmac_new(k->bytes, k->len);
	size_t len = 0;
	bool ok = c && EVP_MAC_update(c, (const uint8_t *)label, strlen(label));

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(c, parts[i].iov_base, parts[i].iov_len);
	ok = ok && EVP_MAC_final(c, out, &len, HMAC_SHA256_LEN) && len == HMAC_SHA256_LEN;
	EVP_MAC_CTX_free(c);
	return ok;
}

int mig_hello_proof(const struct mig_key *k, const uint8_t hello[MIG_HEADER_SIZE],
		    uint8_t out[MIG_PROOF], struct err **err)
{
	const struct iovec part = {(void *)hello, MIG_HEADER_SIZE};

	if (crypto_load(err) < 0)
		return -1;
	if (!hmac_parts(k, MIG_LABEL_HELLO, &part, 1, out))
		return err_make(err, EIO, "HMAC-SHA256 of the hello");
	return 0;
}

int mig_read_hello(const struct mig_reader *rd, const struct mig_key *key, uint32_t *ret_flags,
		   uint8_t ret_nonce[MIG_NONCE], struct err **err)
{
	uint8_t h[MIG_HEADER_SIZE], proof[MIG_PROOF], want[MIG_PROOF];
	int r = mig_read_header(rd, ret_flags, ret_nonce, err);

	if (r < 0 || !(*ret_flags & MIG_F_AUTH))
		return r;
	r = rd->read(rd->ctx, proof, sizeof(proof), err);
	if (r < 0 || !key)
		return r;
	mig_put_header(h, *ret_flags, ret_nonce);
	r = mig_hello_proof(key, h, want, err);
	if (r >= 0 && CRYPTO_memcmp(proof, want, MIG_PROOF) != 0)
		r = err_make(err, EPERM,
			     "the source's hello does not prove the key (a different --key-file?)");
	OPENSSL_cleanse(want, sizeof(want));
	return r;
}

int mig_mac_init(struct mig_mac *m, const struct mig_key *k, const char *label,
		 const uint8_t ns[MIG_NONCE], const uint8_t nd[MIG_NONCE], struct err **err)
{
	uint8_t key[MIG_SESSION_KEY];
	bool ok;

	*m = (struct mig_mac){0};
	if (crypto_load(err) < 0)
		return err_wrap(err, "AES-256-GCM");
	ok = hmac_parts(k, label,
			(const struct iovec[]){{(void *)ns, MIG_NONCE}, {(void *)nd, MIG_NONCE}}, 2,
			key);
	m->ctx = ok ? EVP_CIPHER_CTX_new() : NULL;
	m->dec = m->ctx ? EVP_CIPHER_CTX_new() : NULL;
	ok = m->dec && EVP_EncryptInit_ex(m->ctx, EVP_aes_256_gcm(), NULL, key, NULL) &&
	     EVP_DecryptInit_ex(m->dec, EVP_aes_256_gcm(), NULL, key, NULL);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok) {
		mig_mac_free(m);
		return err_make(err, ENOMEM, "AES-256-GCM (libcrypto)");
	}
	return 0;
}

void mig_mac_free(struct mig_mac *m)
{
	/* An untagged stream never set them up: no libcrypto to load for that. */
	if (m->ctx)
		EVP_CIPHER_CTX_free(m->ctx);
	if (m->dec)
		EVP_CIPHER_CTX_free(m->dec);
	free(m->scratch);
	*m = (struct mig_mac){0};
}

/* The frame's IV (0, 0, 0, 0, seq big-endian) and additional data (seq, header). */
static void frame_iv(const struct mig_mac *m, const uint8_t hdr[MIG_FRAME_HDR], uint8_t iv[12],
		     uint8_t aad[8 + MIG_FRAME_HDR])
{
	memset(iv, 0, 4);
	for (int i = 0; i < 8; i++)
		iv[4 + i] = m->seq >> (56 - 8 * i);
	mig_put_u64(aad, m->seq);
	memcpy(aad + 8, hdr, MIG_FRAME_HDR);
}

/* Run the pieces through ctx in place (GCM: encrypt or decrypt, as ctx was set up). */
static bool gcm_update(void *ctx, const struct iovec *iov, int n,
		       int (*update)(EVP_CIPHER_CTX *, unsigned char *, int *,
				     const unsigned char *, int))
{
	int len;

	for (int i = 0; i < n; i++)
		if (iov[i].iov_len &&
		    !update(ctx, iov[i].iov_base, &len, iov[i].iov_base, (int)iov[i].iov_len))
			return false;
	return true;
}

int mig_mac_seal(struct mig_mac *m, const uint8_t hdr[MIG_FRAME_HDR], const struct iovec *iov,
		 int n, uint8_t out[MIG_TAG])
{
	uint8_t iv[12], aad[8 + MIG_FRAME_HDR], end[16];
	int len;

	frame_iv(m, hdr, iv, aad);
	if (!EVP_EncryptInit_ex(m->ctx, NULL, NULL, NULL, iv) ||
	    !EVP_EncryptUpdate(m->ctx, NULL, &len, aad, sizeof(aad)) ||
	    !gcm_update(m->ctx, iov, n, EVP_EncryptUpdate) ||
	    !EVP_EncryptFinal_ex(m->ctx, end, &len) ||
	    !EVP_CIPHER_CTX_ctrl(m->ctx, EVP_CTRL_GCM_GET_TAG, MIG_TAG, out))
		return -ENOMEM;
	m->seq++;
	return 0;
}

int mig_mac_open(struct mig_mac *m, const uint8_t hdr[MIG_FRAME_HDR], const struct iovec *iov,
		 int n, const uint8_t t[MIG_TAG], struct err **err)
{
	uint8_t iv[12], aad[8 + MIG_FRAME_HDR], end[16], tag[MIG_TAG];
	int len;

	memcpy(tag, t, sizeof(tag));
	frame_iv(m, hdr, iv, aad);
	if (!EVP_DecryptInit_ex(m->dec, NULL, NULL, NULL, iv) ||
	    !EVP_DecryptUpdate(m->dec, NULL, &len, aad, sizeof(aad)) ||
	    !gcm_update(m->dec, iov, n, EVP_DecryptUpdate) ||
	    !EVP_CIPHER_CTX_ctrl(m->dec, EVP_CTRL_GCM_SET_TAG, MIG_TAG, tag))
		return err_make(err, ENOMEM, "AES-256-GCM (libcrypto)");
	/* The pieces hold plaintext now, but the caller uses them only if this checks out. */
	if (EVP_DecryptFinal_ex(m->dec, end, &len) <= 0)
		return err_make(err, EBADMSG,
				"frame %llu: bad MAC (a different key, or the stream was "
				"altered, replayed or cut in)",
				(unsigned long long)m->seq);
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
