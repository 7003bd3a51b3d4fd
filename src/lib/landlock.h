/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Landlock (Documentation/userspace-api/landlock.rst): an unprivileged process takes
 * away its own access to files and TCP ports, for good.  A small builder over the three
 * system calls; what the running kernel does not know (its ABI) is left out, so the same
 * code restricts as much as each kernel can.
 */
#include <stdint.h>
#include <sys/stat.h>

/* File rights, as the kernel's LANDLOCK_ACCESS_FS_* bits. */
#define LL_FS_READ_FILE (UINT64_C(1) << 2)
#define LL_FS_READ_DIR	(UINT64_C(1) << 3)
/* TCP rights (ABI 4), as LANDLOCK_ACCESS_NET_*. */
#define LL_NET_BIND_TCP	   (UINT64_C(1) << 0)
#define LL_NET_CONNECT_TCP (UINT64_C(1) << 1)

struct ll_ruleset {
	int fd;
	int abi;
	uint64_t fs, net; /* what the ruleset handles: everything not allowed is denied */
};

/*
 * A ruleset that denies every file access, every TCP bind and connect (ABI >= 4),
 * signals to and abstract unix sockets of processes outside the domain (ABI >= 6).
 * -EOPNOTSUPP when the kernel has no Landlock (or it is disabled).
 */
int ll_ruleset_new(struct ll_ruleset *rs);
/* Allow @access (LL_FS_*) on path and everything beneath it; a file: on that file only. */
int ll_allow_path(struct ll_ruleset *rs, const char *path, uint64_t access);
/*
 * Allow @access on the regular file path (opened once, following links); -EISDIR else.
 * ret_st (if not NULL): what the rule is on.
 */
int ll_allow_file(struct ll_ruleset *rs, const char *path, uint64_t access, struct stat *ret_st);
/* Allow @access (LL_NET_*) to TCP port @port; nothing where the kernel has no TCP rules. */
int ll_allow_port(struct ll_ruleset *rs, uint16_t port, uint64_t access);
/* Enforce it on the calling thread (no_new_privs must be set); closes the ruleset. */
int ll_restrict(struct ll_ruleset *rs);
void ll_ruleset_free(struct ll_ruleset *rs);
