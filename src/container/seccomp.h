/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * linux.seccomp: compiled to a BPF program in the parent (cached on disk,
 * keyed by a sha256 of the canonical JSON and the native arch), loaded in the
 * child right before execve().
 */
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "err.h"

struct ct_seccomp;

/* Parent, before fork.  A NULL json sets *ret = NULL and returns 0.
 * NOTE for callers: cache_dir NULL means the default cache CT_SECCOMP_CACHE_DIR
 * (shared by every --root, mode 0700); "" disables the cache. */
#define CT_SECCOMP_CACHE_DIR "/run/isola/seccomp-cache"
int ct_seccomp_prepare(json_t *linux_seccomp, const char *cache_dir, struct ct_seccomp **ret,
		       struct err **err);
/* The same, with the cache under the runtime's --root (create and exec). */
int ct_seccomp_prepare_root(const char *root, json_t *linux_seccomp, struct ct_seccomp **ret,
			    struct err **err);
/* Child, right before execve; does not allocate.  s == NULL is a no-op. */
int ct_seccomp_load(struct ct_seccomp *s, struct err **err);
/* Load libseccomp (dlopen'd on first use, seccomp-lib.c); ct_seccomp_prepare() does. */
int ct_seccomp_lib_load(struct err **err);
void ct_seccomp_free(struct ct_seccomp *s);
/* The compiled program (struct sock_filter[], *ret_len bytes) and its SECCOMP_FILTER_FLAG_*s. */
const void *ct_seccomp_program(const struct ct_seccomp *s, size_t *ret_len, unsigned *ret_flags);
/* Whether prepare found the program in the cache (for tests and --debug). */
bool ct_seccomp_from_cache(const struct ct_seccomp *s);
