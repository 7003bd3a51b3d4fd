/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Live migration (docs/migration.md): the wire protocol, addresses, and the
 * two ends.  wire.c and addr.c's parser are pure (no KVM, no sockets) so the
 * unit tests and the fuzzer drive them on their own.
 *
 * Both ends first send a hello: "ISOLAMIG"  u32 version  u32 flags  u8 nonce[32];
 * a keyed source's is followed by u8 proof[32] (mig_hello_proof).
 * Then frames { u32 type, u32 len, u8 payload[len], u8 tag[32] if MIG_F_AUTH }
 * (auth.c).  Source -> destination: CONFIG once and first, PAGES/ZERO any
 * number, STATE once, then COMMIT once the destination said OK.
 * Destination -> source: ACCEPT (proves the key), READY once its VM is
 * built, OK once the state is loaded (prepared), STARTED after COMMIT; FAIL
 * instead of any of them (not after COMMIT) ends the migration.
 * Little-endian.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "err.h"
#include "guest-mem.h"

#define MIG_MAGIC	   "ISOLAMIG"
#define MIG_MAGIC_LEN	   8u
#define MIG_VERSION	   4u  /* 3: DEVCFG after CONFIG; 4: the source's hello proves the key */
#define MIG_HEADER_SIZE	   48u /* magic, version, flags, nonce */
#define MIG_F_AUTH	   1u  /* frames are AES-256-GCM sealed, tag after each */
#define MIG_NONCE	   32u
#define MIG_PROOF	   32u /* HMAC-SHA256 after a keyed source's hello */
#define MIG_TAG		   16u /* AES-256-GCM's */
#define MIG_SESSION_KEY	   32u
#define MIG_KEY_MIN	   32u
#define MIG_KEY_MAX	   4096u
#define MIG_FRAME_HDR	   8u
#define MIG_PAGE	   4096u
#define MIG_MAX_RUN	   256u	      /* pages of data in one PAGES frame (1 MiB) */
#define MIG_MAX_ZERO_RUN   (1u << 20) /* pages in one ZERO frame (4 GiB) */
#define MIG_MAX_MSG	   1024u      /* FAIL message */
#define MIG_CONFIG_SIZE	   24u	      /* struct snap_config */
#define MIG_IO_TIMEOUT_S   30	      /* silence on the stream that fails a migration */
#define MIG_AUTH_TIMEOUT_S 10	      /* a TCP peer's time to prove the key (vm receive) */

enum mig_frame_type {
	MIG_CONFIG = 1,	  /* struct snap_config: the machine shape */
	MIG_PAGES = 2,	  /* u64 gpa, then 1..MIG_MAX_RUN pages */
	MIG_ZERO = 3,	  /* u64 gpa, u64 npages: pages that are all zero */
	MIG_STATE = 4,	  /* a snapshot state file (snap-format.h), checked as one */
	MIG_OK = 5,	  /* destination: restored, its vCPUs start now */
	MIG_FAIL = 6,	  /* destination: why not (text, <= MIG_MAX_MSG) */
	MIG_READY = 7,	  /* destination: its VM is built, waiting for the state */
	MIG_ACCEPT = 8,	  /* destination: first frame, its tag proves the key */
	MIG_COMMIT = 9,	  /* source: run it; the source stops for good */
	MIG_STARTED = 10, /* destination: committed, its vCPUs start now */
	MIG_DEVCFG = 11,  /* source, right after CONFIG: a snapshot state holding SNAP_DEVCFG */
};

/* auth.c: the pre-shared key and one direction's frame MAC. */
struct mig_key {
	uint8_t bytes[MIG_KEY_MAX];
	size_t len;
};
/* MIG_KEY_MIN..MAX bytes of a regular file that only its owner may read. */
int mig_key_load(const char *path, struct mig_key *ret, struct err **err);
void mig_key_wipe(struct mig_key *k);
int mig_nonce(uint8_t out[MIG_NONCE], struct err **err);
/* ctx NULL: frames in this direction are neither encrypted nor tagged. */
struct mig_mac {
	void *ctx; /* EVP_CIPHER_CTX: AES-256-GCM sealing with the session key */
	void *dec; /* the same, opening */
	uint64_t seq;
	uint8_t *scratch; /* mig_send_frame() encrypts a copy here */
	size_t scratch_len;
};
#define MIG_LABEL_S2D	"isola-migrate-2 source->destination"
#define MIG_LABEL_D2S	"isola-migrate-2 destination->source"
#define MIG_LABEL_HELLO "isola-migrate-4 source hello"
/*
 * HMAC-SHA256(psk, MIG_LABEL_HELLO || hello): a keyed source proves the key
 * in its first flight, so a TCP receiver tells its source from a flood of
 * connections before any round trip (recv.c never evicts a proven peer).
 */
int mig_hello_proof(const struct mig_key *k, const uint8_t hello[MIG_HEADER_SIZE],
		    uint8_t out[MIG_PROOF], struct err **err);
struct mig_reader;
/*
 * The source's hello: its flags and nonce, and with MIG_F_AUTH its proof,
 * checked against key if given (-EPERM: a different key, nothing answered).
 */
int mig_read_hello(const struct mig_reader *rd, const struct mig_key *key, uint32_t *ret_flags,
		   uint8_t ret_nonce[MIG_NONCE], struct err **err);
int mig_mac_init(struct mig_mac *m, const struct mig_key *k, const char *label,
		 const uint8_t ns[MIG_NONCE], const uint8_t nd[MIG_NONCE], struct err **err);
void mig_mac_free(struct mig_mac *m);
/* Encrypt the payload pieces in place and tag them with seq and the header; seq++. */
int mig_mac_seal(struct mig_mac *m, const uint8_t hdr[MIG_FRAME_HDR], const struct iovec *iov,
		 int n, uint8_t out[MIG_TAG]);
/* Decrypt the pieces in place and check the tag (-EBADMSG: use nothing); seq++. */
int mig_mac_open(struct mig_mac *m, const uint8_t hdr[MIG_FRAME_HDR], const struct iovec *iov,
		 int n, const uint8_t tag[MIG_TAG], struct err **err);
/* A buffer of at least len bytes owned by m (NULL: out of memory). */
void *mig_mac_scratch(struct mig_mac *m, size_t len);

/* The machine shape, as the snapshot's config section (snapshot/snapshot.h). */
struct mig_config {
	uint32_t cpus;
	uint32_t flags;
	uint64_t memory;
	uint64_t tsc_khz;
};

/* Reads exactly len bytes or fails with a message; frames are checked with mac if set. */
struct mig_reader {
	int (*read)(void *ctx, void *buf, size_t len, struct err **err);
	void *ctx;
	struct mig_mac *mac; /* NULL or no ctx: no tags */
};

/* wire.c */
void mig_put_header(uint8_t out[MIG_HEADER_SIZE], uint32_t flags, const uint8_t nonce[MIG_NONCE]);
/* The peer's hello: its flags and nonce. */
int mig_read_header(const struct mig_reader *rd, uint32_t *ret_flags, uint8_t ret_nonce[MIG_NONCE],
		    struct err **err);
void mig_put_frame(uint8_t out[MIG_FRAME_HDR], uint32_t type, uint32_t len);
void mig_put_u64(uint8_t *out, uint64_t v);
void mig_put_config(uint8_t out[MIG_CONFIG_SIZE], const struct mig_config *c);
/* The CONFIG frame, right after the hellos. */
int mig_read_config(const struct mig_reader *rd, struct mig_config *ret, struct err **err);
/* The DEVCFG frame (<= SNAP_MAX_SECTION + 4 KiB): its bytes, malloc'ed, tag checked. */
int mig_read_devcfg(const struct mig_reader *rd, uint8_t **ret, size_t *ret_len, struct err **err);
/*
 * PAGES and ZERO frames into mem until STATE, whose bytes (malloc'ed) are
 * returned.  Every address and length is checked against mem, which must be
 * all zero to begin with (a fresh VM's RAM).
 */
int mig_read_memory(const struct mig_reader *rd, const struct guest_mem *mem, uint8_t **ret_state,
		    size_t *ret_len, struct err **err);
/*
 * The peer's next frame must be an empty `expect` (ACCEPT, READY, OK,
 * STARTED; COMMIT); a FAIL (with a good tag) is an -EREMOTEIO error that
 * says `from` failed, a bad tag -EBADMSG.
 */
int mig_read_reply(const struct mig_reader *rd, uint32_t expect, const char *from,
		   struct err **err);
/* A memory reader over a buffer (tests, fuzzer); ctx is a struct mig_buf. */
struct mig_buf {
	const uint8_t *data;
	size_t len, off;
};
int mig_buf_read(void *ctx, void *buf, size_t len, struct err **err);

/* addr.c: "tcp:HOST:PORT" or "unix:PATH". */
struct mig_addr {
	bool is_unix;
	char host[256];
	char port[8];
	char path[108];
};
int mig_addr_parse(const char *s, struct mig_addr *ret, struct err **err);
int mig_connect(const char *s, struct err **err);
/* I/O timeouts, TCP_NODELAY (no Nagle delay between small frames): both ends. */
void mig_socket_setup(int fd);
/* A listening socket; a Unix socket's path is unlinked by mig_unlisten(). */
int mig_listen(const char *s, struct mig_addr *ret_addr, struct err **err);
void mig_unlisten(int fd, const struct mig_addr *a);
/*
 * An fd reader that gives up after MIG_IO_TIMEOUT_S of silence, on a signal
 * in sigfd (which it reads), when cancel_fd becomes readable (left as is) or
 * at deadline_ns (CLOCK_MONOTONIC; 0: none).  Unused fds are -1.
 */
struct mig_fd {
	int fd, sigfd, cancel_fd;
	const char *peer;
	uint64_t deadline_ns;
};
/* Read one signal from a signalfd; its number, or 0. */
unsigned mig_take_signal(int sigfd);
int mig_fd_read(void *ctx, void *buf, size_t len, struct err **err);
uint64_t mig_now_ns(void); /* CLOCK_MONOTONIC */
/* Write all of iov (MSG_NOSIGNAL); -errno. */
int mig_send_iov(int fd, struct iovec *iov, int n);
/* A frame of the payload pieces a and b, tagged when mac has a ctx; -errno. */
int mig_send_frame(int fd, struct mig_mac *mac, uint32_t type, const void *a, size_t alen,
		   const void *b, size_t blen);
/* A Unix socket may carry an unauthenticated stream, TCP may not. */
int mig_check_auth(const char *addr, bool have_key, struct err **err);

bool mig_page_is_zero(const uint8_t *p);

struct vm;
struct vmm_migrate_stats;
/* send.c: migrate vm to dest; on success the VM is stopped (exit 0), else it runs on. */
int vm_migrate_send(struct vm *vm, const char *dest, const char *key_file,
		    struct vmm_migrate_stats *st, struct err **err);
