/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libseccomp, loaded with dlopen(3) (src/lib/lazylib.c) by the first container whose config has
 * linux.seccomp.  Linked normally, every process of this binary maps it: the
 * VMM, every `isola state`/`kill`, and containers without a filter.
 *
 * Each function seccomp.c calls is defined below with libseccomp's own
 * prototype (<seccomp.h> checks them) and forwards to the loaded symbol.
 * ct_seccomp_lib_load() reports a missing library as an error; a stub
 * reached without it (a bug) aborts.
 *
 * Everything here is weak: the static isola (src/cli/meson.build) links libseccomp.a whole
 * and seccomp-static.c, whose definitions replace these.
 */

#include <seccomp.h>

#include "lazylib.h"
#include "seccomp.h"

#define SONAME "libseccomp.so.2"

/* X(return type, name, (parameters), (arguments)); V(...) for void functions. */
#define SECCOMP_FUNCS(X, V)                                                                      \
	X(scmp_filter_ctx, seccomp_init, (uint32_t def), (def))                                  \
	V(seccomp_release, (scmp_filter_ctx c), (c))                                             \
	X(int, seccomp_attr_set, (scmp_filter_ctx c, enum scmp_filter_attr a, uint32_t v),       \
	  (c, a, v))                                                                             \
	X(int, seccomp_arch_add, (scmp_filter_ctx c, uint32_t a), (c, a))                        \
	X(uint32_t, seccomp_arch_resolve_name, (const char *n), (n))                             \
	X(uint32_t, seccomp_arch_native, (void), ())                                             \
	X(int, seccomp_syscall_resolve_name, (const char *n), (n))                               \
	X(int, seccomp_rule_add_array,                                                           \
	  (scmp_filter_ctx c, uint32_t a, int nr, unsigned int n, const struct scmp_arg_cmp *v), \
	  (c, a, nr, n, v))                                                                      \
	X(int, seccomp_export_bpf, (const scmp_filter_ctx c, int fd), (c, fd))                   \
	X(const struct scmp_version *, seccomp_version, (void), ())

static struct {
	SECCOMP_FUNCS(LAZYLIB_MEMBER, LAZYLIB_VMEMBER)
} fns;

static const struct lazylib_symbol symbols[] = {SECCOMP_FUNCS(LAZYLIB_SYMBOL, LAZYLIB_VSYMBOL)};
static struct lazylib libseccomp = LAZYLIB_INIT(SONAME, symbols);

__attribute__((weak)) int ct_seccomp_lib_load(struct err **err)
{
	return lazylib_load(&libseccomp, err);
}

#define STUB(ret, name, params, args) \
	__attribute__((weak)) LAZYLIB_STUB(&libseccomp, ret, name, params, args)
#define VSTUB(name, params, args) \
	__attribute__((weak)) LAZYLIB_VSTUB(&libseccomp, name, params, args)
SECCOMP_FUNCS(STUB, VSTUB)
