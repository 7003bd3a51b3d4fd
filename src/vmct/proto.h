/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The host <-> isola-agent protocol (version 3) over virtio-vsock streams.  The
 * first session: the guest connects to the host (CID 2, port VMCT_PORT).  Then
 * the agent listens on VMCT_EXEC_PORT: every further session (an exec) is one
 * connection the host opens through the VMM's hybrid-vsock socket ("CONNECT
 * 1025\n", answered "OK <port>\n").  Each session: the agent sends HELLO, the
 * host CONFIG, then stdio/SIGNAL/WINCH frames until the agent's EXIT (or
 * ERROR).  Every message is a frame:
 *
 *   u32 type (little-endian) | u32 length (little-endian) | length bytes
 *
 * A length above VMCT_FRAME_MAX is a protocol error (the connection ends).
 * docs/vm-containers.md describes each frame.  This file uses libc only: the
 * static agent and the host share it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps-sys.h"

#define VMCT_PORT	 1024u /* the host listens (first session) */
#define VMCT_EXEC_PORT	 1025u /* the agent listens (further sessions) */
#define VMCT_HDR	 8u
#define VMCT_FRAME_MAX	 (1u << 20)  /* payload bytes */
#define VMCT_DATA_MAX	 (64u << 10) /* what a sender puts in one stdio frame */
#define VMCT_ARGS_MAX	 4096u	     /* argv and env entries, each */
#define VMCT_VERSION	 "isola-agent 3"
#define VMCT_CONNECT_MAX 64u   /* the VMM's "OK <port>\n" answer, at most */
#define VMCT_MOUNTS_MAX	 64u   /* mount entries of a CONFIG */
#define VMCT_MOUNT_STR	 256u  /* a mount's destination or data, with its NUL */
#define VMCT_PATHS_MAX	 64u   /* path entries (masked, read-only) of a CONFIG */
#define VMCT_SYSCTLS_MAX 32u   /* sysctl entries of a CONFIG */
#define VMCT_SYSCTL_STR	 256u  /* a sysctl entry, "KEY VALUE", with its NUL */
#define VMCT_GROUPS_MAX	 256u  /* supplementary groups of a process */
#define VMCT_RLIMITS_MAX 16u   /* rlimit entries (RLIM_NLIMITS: one per resource) */
#define VMCT_BPF_MAX	 4096u /* seccomp filter instructions (BPF_MAXINSNS) */
#define VMCT_BPF_INSN	 8u    /* bytes of one (struct sock_filter) */
/* The SECCOMP_FILTER_FLAG_*s a filter may carry: TSYNC, LOG, SPEC_ALLOW, WAIT_KILLABLE_RECV. */
#define VMCT_SECCOMP_FLAGS ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 5))

enum vmct_type {
	VMCT_HELLO = 1,	 /* guest: VMCT_VERSION */
	VMCT_CONFIG = 2, /* host: the process (vmct_config_encode) */
	VMCT_STDIN = 3,	 /* host: bytes for the process's stdin; empty = EOF */
	VMCT_SIGNAL = 4, /* host: u32 signal number for the process */
	VMCT_STDOUT = 5, /* guest: the process's stdout */
	VMCT_STDERR = 6, /* guest: the process's stderr */
	VMCT_EXIT = 7,	 /* guest: u32 status, the exit code or 128 + signal */
	VMCT_ERROR = 8,	 /* guest: the process could not be started: a message */
	VMCT_WINCH = 9,	 /* host: u32 rows, u32 cols: the terminal's new size */
	VMCT_WARM = 10,	 /* host, before CONFIG of a warm start: the time and fresh entropy */
	VMCT_TYPE_MAX = VMCT_WARM,
};

#define VMCT_FILE_MAX	  (256u << 10) /* each etc_* file's contents */
#define VMCT_HOSTNAME_MAX 64u

/*
 * The guest's eth0, from the CNI result (first session only; docs/vm-containers.md
 * "Networking").  Addresses in host byte order.  set: the VM has a NIC.
 */
struct vmct_net {
	bool set;
	uint32_t addr, gw; /* gw 0: no default route */
	uint8_t prefix;	   /* 1..32 */
	uint16_t mtu;	   /* 68..65535, 0: the driver's */
	bool has_mac;	   /* mac: eth0's, set in the guest before the address */
	uint8_t mac[6];	   /* unicast, not 0 */
};

/* A process.rlimits entry: setrlimit(resource (0..15), {soft, hard}), soft <= hard. */
struct vmct_rlimit {
	uint32_t resource;
	uint64_t soft, hard;
};

/* The container's process.  argv/env point into buf (one allocation each). */
struct vmct_config {
	char **argv; /* NULL-terminated, at least one */
	char **env;  /* NULL-terminated, K=V */
	char *cwd;   /* absolute */
	uint32_t uid, gid;
	bool tty;
	uint16_t rows, cols; /* the terminal's size (tty), 0: unknown */
	/*
	 * The first session only (`run --vm --init`): PID 1 of the container's
	 * PID namespace is the agent's init, which reaps and forwards signals
	 * to the process; else the process is PID 1 itself.
	 */
	bool init;
	struct vmct_net net;
	/* The UTS name and /etc/{hosts,resolv.conf,hostname} for the root; NULL: none. */
	char *hostname, *etc_hosts, *etc_resolv, *etc_hostname;
	/*
	 * The first session only: mounts the agent makes in the container's
	 * root before the process starts, each "TYPE FLAGS DEST DATA"
	 * (vmct_mount_parse); NULL-terminated, NULL: none.
	 */
	char **mounts;
	/*
	 * The first session only: linux.maskedPaths as "M PATH" and
	 * readonlyPaths as "R PATH" (vmct_path_ok), applied in the container's
	 * mount namespace once its /proc is the PID namespace's;
	 * NULL-terminated, NULL: none.
	 */
	char **paths;
	/*
	 * The first session only: linux.sysctl as "KEY VALUE" entries
	 * (vmct_sysctl_ok), written to the guest's /proc/sys before the
	 * process starts; NULL-terminated, NULL: none.
	 */
	char **sysctls;
	/*
	 * The process's privileges (docs/vm-containers.md "Privileges"): with
	 * has_caps its capability sets, else it keeps the agent's (all of
	 * them, for root); no_new_privs; its supplementary groups; a seccomp
	 * filter, NULL for none: seccomp_len bytes of struct sock_filter (the
	 * parser points it into buf) with its SECCOMP_FILTER_FLAG_*s.
	 */
	bool has_caps;
	struct ct_caps caps;
	bool no_new_privs;
	uint32_t n_groups;
	uint32_t groups[VMCT_GROUPS_MAX];
	const void *seccomp;
	uint32_t seccomp_len, seccomp_flags;
	/* process.rlimits, user.umask (has_umask), oomScoreAdj (has_oom), ioPriority. */
	uint32_t n_rlimits;
	struct vmct_rlimit rlimits[VMCT_RLIMITS_MAX];
	bool has_umask, has_oom;
	uint32_t umask;	       /* 0..0777 */
	int32_t oom_score_adj; /* -1000..1000 */
	uint32_t ioprio;       /* process.ioPriority as ioprio_set(2) takes it, 0: unset */
	/*
	 * exec -u NAME[:GROUP] (vmct_user_valid), resolved by the agent in the
	 * container's /etc/passwd and /etc/group; NULL: uid and gid as given.
	 */
	char *user;
	char *buf;
};

/*
 * A VM's virtio-fs shares (the VMM's --fs tag=TAG,path=DIR[,ro]): at most
 * VMCT_FS_MAX, each tag VMCT_FS_PREFIX followed by its index.
 */
#define VMCT_FS_MAX    8u
#define VMCT_FS_PREFIX "isola-fs"

/*
 * A mount made inside the guest: the OCI mode's tmpfs, mqueue and cgroup
 * mounts, and a directory shared by the host (virtiofs, data = the tag).
 */
struct vmct_mount {
	char type[16];		   /* tmpfs, mqueue, cgroup2 or virtiofs */
	unsigned long flags;	   /* MS_RDONLY MS_NOSUID MS_NODEV MS_NOEXEC and atime flags */
	char dest[VMCT_MOUNT_STR]; /* absolute, no "..", no whitespace */
	char data[VMCT_MOUNT_STR]; /* "" for none ("-" on the wire) */
	bool copyup;		   /* tmpfs only: tmpcopyup, the root's files at dest copied in */
};

/* @m as its CONFIG entry value into @out (@cap bytes); -EINVAL if @m is not valid. */
int vmct_mount_format(const struct vmct_mount *m, char *out, size_t cap);
/* "M PATH" or "R PATH": PATH absolute, no "." or ".." part, no blank, under 256 bytes. */
bool vmct_path_ok(const char *entry);
/*
 * "KEY VALUE": KEY dot-separated parts of [a-z0-9_-] (no empty one), VALUE
 * printable bytes, blanks and tabs, not empty; under VMCT_SYSCTL_STR in all.
 */
bool vmct_sysctl_ok(const char *entry);
/*
 * A "TYPE FLAGS DEST DATA" entry, or "tmpfs FLAGS DEST DATA copyup" for a
 * tmpcopyup (an agent older than the field refuses it rather than ignore
 * it): -EINVAL for any other type, flag, path, size or fifth word, or a
 * virtiofs entry whose data is not a tag VMCT_FS_PREFIX<0..VMCT_FS_MAX-1>.
 */
int vmct_mount_parse(const char *s, struct vmct_mount *ret);

/*
 * Bytes waiting for a non-blocking descriptor: the host's frames to the agent,
 * the agent's stdin bytes to the process.  A sender queues instead of
 * blocking, so a peer that has stopped reading (a process that never reads
 * its stdin) cannot stall the other direction; it stops taking new input
 * while more than VMCT_OUTQ_HIGH bytes wait (docs/vm-containers.md "Flow
 * control").
 */
#define VMCT_OUTQ_HIGH (1u << 20)
struct vmct_outq {
	uint8_t *buf;
	size_t off, len, cap; /* waiting: buf[off..len) */
};
/* Append @n bytes (-ENOMEM). */
int vmct_outq_put(struct vmct_outq *q, const void *p, size_t n);
/* Append a frame (-ENOMEM). */
int vmct_outq_frame(struct vmct_outq *q, uint32_t type, const void *p, uint32_t n);
/*
 * Write what waits to @fd without blocking (send() with MSG_DONTWAIT when
 * @sock, else write() on an O_NONBLOCK fd): 0 when the rest must wait for
 * POLLOUT (or nothing is left), -errno when @fd failed (EPIPE: no reader).
 */
int vmct_outq_flush(struct vmct_outq *q, int fd, bool sock);
static inline size_t vmct_outq_pending(const struct vmct_outq *q)
{
	return q->len - q->off;
}
void vmct_outq_free(struct vmct_outq *q);

/* The @n bytes at @s as a decimal u32: digits only (no sign), at most 10, no overflow. */
int vmct_parse_u32n(const char *s, size_t n, uint32_t *ret);

/* USER[:GROUP], each 1..32 of [A-Za-z0-9._-], not starting with '-'. */
bool vmct_user_valid(const char *s);

/* Write a frame header for @type and @len into @hdr. */
void vmct_frame_header(uint8_t hdr[VMCT_HDR], uint32_t type, uint32_t len);

/*
 * The first frame in @buf[0..@len): 0 when more bytes are needed, the frame's
 * total size (header + payload) when complete (its type and payload in the
 * ret_* out-parameters), -EPROTO for an unknown type, -EMSGSIZE for a length
 * over VMCT_FRAME_MAX.
 */
long vmct_frame_next(const uint8_t *buf, size_t len, uint32_t *ret_type,
		     const uint8_t **ret_payload, uint32_t *ret_len);

/*
 * The payload of a VMCT_CONFIG frame: NUL-terminated "key=value" entries,
 * keys arg (repeated, in order), env (repeated), cwd, uid, gid, tty (0/1),
 * rows and cols (decimal, at most 65535; only with tty=1); with c->net.set
 * net_addr, net_prefix, net_gw (when not 0), net_mtu (when not 0), net_mac
 * (xx:xx:xx:xx:xx:xx, with has_mac); hostname,
 * etc_hosts, etc_resolv, etc_hostname when not NULL; caps (with has_caps:
 * the bounding, effective, inheritable, permitted and ambient sets, five hex
 * numbers split by spaces), nnp=1 (with no_new_privs), groups (decimal,
 * split by commas; when any), seccomp (the filter's bytes in hex) and
 * seccomp_flags (decimal, when not 0); rlimit (repeated: "RESOURCE SOFT HARD",
 * decimal), umask, oom_score_adj and ioprio (decimal) when set; user when
 * not NULL.
 * Returns a malloc'd buffer and its size in *ret_len, NULL on ENOMEM or E2BIG.
 */
uint8_t *vmct_config_encode(const struct vmct_config *c, uint32_t *ret_len);

/*
 * Parse a VMCT_CONFIG payload into @ret (free with vmct_config_free).  Hostile
 * input is refused with -EINVAL: no final NUL, an entry without '=', an
 * unknown or repeated key, a bad number, no arg, a relative cwd, an env entry
 * without '=', more than VMCT_ARGS_MAX entries, a payload over VMCT_FRAME_MAX;
 * for the network: an address that is not a dotted quad or is 0, loopback,
 * multicast, broadcast or the subnet's own network/broadcast address, a
 * prefix outside 1..32, a gateway that is 0, the address itself or off the
 * subnet, an MTU outside 68..65535, a MAC that is not six hex pairs or is
 * multicast or all zero, net_* keys without both net_addr and
 * net_prefix; a hostname that is not 1..64 of [A-Za-z0-9._-]; a file over
 * VMCT_FILE_MAX; caps that are not five hex numbers of at most 16 digits;
 * nnp other than 1; groups that are not 1..VMCT_GROUPS_MAX decimal u32s; a
 * seccomp filter that is not hex of 1..VMCT_BPF_MAX instructions;
 * seccomp_flags without a filter or with flags outside VMCT_SECCOMP_FLAGS;
 * an rlimit that is not three decimals, names a resource over 15 or twice,
 * or has soft over hard, more than VMCT_RLIMITS_MAX of them; a umask over
 * 0777; an oom_score_adj outside -1000..1000; an ioprio whose class is not
 * 1..3 (RT, BE, IDLE) or whose level is over 7; a user that is not
 * vmct_user_valid.
 * @ret_why (optional) names the problem.
 */
int vmct_config_parse(const uint8_t *p, size_t len, struct vmct_config *ret, const char **ret_why);
void vmct_config_free(struct vmct_config *c);

/*
 * A gratuitous ARP (an ARP request for @ip from @mac to @ip, broadcast; RFC 5227
 * "ARP Announcement"): the Ethernet frame the agent sends once eth0 is up, so
 * that neighbours and bridges learn the guest's address and MAC at once.
 */
#define VMCT_GARP_LEN 42
void vmct_garp_frame(uint8_t out[VMCT_GARP_LEN], const uint8_t mac[6], uint32_t ip);

/* A VMCT_WINCH payload (8 bytes). */
void vmct_winch_encode(uint8_t out[8], uint16_t rows, uint16_t cols);
/* -EINVAL unless @len is 8 and both values fit in 16 bits. */
int vmct_winch_parse(const uint8_t *p, uint32_t len, uint16_t *ret_rows, uint16_t *ret_cols);

/*
 * The VMM's answer to "CONNECT <port>\n", @line without its '\n': "OK <port>"
 * with a decimal u32.  Anything else is -EPROTO.
 */
int vmct_connect_reply_parse(const char *line, uint32_t *ret_port);

/*
 * A VMCT_WARM payload: the host's CLOCK_REALTIME (u32 seconds low, u32
 * seconds high, u32 nanoseconds) and VMCT_SEED_MIN..VMCT_SEED_MAX bytes of
 * fresh entropy, for a VM restored from a shared template (warm.c).
 */
#define VMCT_SEED_MIN 32u
#define VMCT_SEED_MAX 256u
#define VMCT_WARM_HDR 12u
/* @out holds VMCT_WARM_HDR + @n bytes; @n must be within the bounds. */
void vmct_warm_encode(uint8_t *out, uint64_t sec, uint32_t nsec, const uint8_t *seed, uint32_t n);
/* -EINVAL for a seed out of bounds or nanoseconds >= 1e9; the seed points into @p. */
int vmct_warm_parse(const uint8_t *p, uint32_t len, uint64_t *ret_sec, uint32_t *ret_nsec,
		    const uint8_t **ret_seed, uint32_t *ret_n);

/* Little-endian u32 helpers for the EXIT and SIGNAL payloads. */
void vmct_put_u32(uint8_t *p, uint32_t v);
uint32_t vmct_get_u32(const uint8_t *p);
