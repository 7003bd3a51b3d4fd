/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libseccomp, loaded with dlopen(3) by the first container whose config has
 * linux.seccomp.  Linked normally, every process of this binary maps it: the
 * VMM, every `isola state`/`kill`, and containers without a filter.
 *
 * Each function seccomp.c calls is defined below with libseccomp's own
 * prototype (<seccomp.h> checks them) and forwards to the loaded symbol.
 * ct_seccomp_lib_load() reports a missing library as an error; a stub
 * reached without it (a bug) aborts.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <seccomp.h>

#include "cleanup.h"
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

#define MEMBER(ret, name, params, args) ret(*name) params;
#define VMEMBER(name, params, args)	MEMBER(void, name, params, args)
#define SYMBOL(ret, name, params, args) {#name, (void **)&fns.name},
#define VSYMBOL(name, params, args)	SYMBOL(void, name, params, args)

static struct {
	SECCOMP_FUNCS(MEMBER, VMEMBER)
} fns;

static const struct {
	const char *name;
	void **slot;
} symbols[] = {SECCOMP_FUNCS(SYMBOL, VSYMBOL)};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256];

static void load(void)
{
	void *h = dlopen(SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(symbols); i++) {
		*symbols[i].slot = dlsym(h, symbols[i].name);
		if (!*symbols[i].slot) {
			snprintf(load_error, sizeof(load_error), "no symbol `%s`", symbols[i].name);
			return;
		}
	}
}

int ct_seccomp_lib_load(struct err **err)
{
	pthread_once(&once, load);
	if (load_error[0])
		return err_make(err, ENOENT, "cannot load %s: %s", SONAME, load_error);
	return 0;
}

static void need(void)
{
	if (ct_seccomp_lib_load(NULL) < 0) {
		fprintf(stderr, "isola: cannot load %s: %s\n", SONAME, load_error);
		abort();
	}
}

#define STUB(ret, name, params, args) \
	ret name params               \
	{                             \
		need();               \
		return fns.name args; \
	}
#define VSTUB(name, params, args) \
	void name params          \
	{                         \
		need();           \
		fns.name args;    \
	}

SECCOMP_FUNCS(STUB, VSTUB)
