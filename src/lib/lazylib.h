/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A shared library loaded with dlopen(3) the first time it is needed, so that
 * the processes of this binary that do not use it (the VMM, `isola state`, a
 * container without a seccomp filter) neither map nor relocate it.
 *
 * The user compiles against the library's own header and defines each
 * function it calls with the library's prototype, forwarding to the loaded
 * symbol (LAZYLIB_STUB).  lazylib_load() reports a missing library or symbol
 * as an error: every path into a library's functions calls it (or a caller of it,
 * crypto_load(), img_lazylib_load()) first and passes the error up.  A stub reached
 * without a library (a path that skipped that, a bug) still never aborts: it prints
 * one line naming the library and the function and exits 127 (lazylib_need).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct lazylib_symbol {
	const char *name;
	void **slot;
};

struct lazylib {
	const char *soname;
	const struct lazylib_symbol *symbols;
	size_t n;
	/* Private. */
	pthread_mutex_t lock;
	bool tried;
	char error[256];
};

#define LAZYLIB_INIT(so, syms)                                                            \
	{                                                                                 \
		.soname = (so), .symbols = (syms), .n = sizeof(syms) / sizeof((syms)[0]), \
		.lock = PTHREAD_MUTEX_INITIALIZER                                         \
	}

/* True in a statically linked isola, which loads no library (src/cli/dynamic.c). */
bool lazylib_static_binary(void);
/* Load l with dlopen (lazylib-dl.c; lazylib-static.c in the static isola): errors in l->error. */
void lazylib_dl_load(struct lazylib *l);
/* Load l now (once per process); an error names the library when it cannot be. */
int lazylib_load(struct lazylib *l, struct err **err);
/*
 * For the stubs, which cannot return an error: load l, or print "isola: FN needs LIB: why"
 * and _exit(127).  Only a path that skipped lazylib_load() can get there.
 */
void lazylib_need(struct lazylib *l, const char *fn);

/*
 * Tables of functions: X(return type, name, (parameters), (arguments)), V(...)
 * for the void ones.  LAZYLIB_MEMBER declares the pointer in a struct `fns`,
 * LAZYLIB_SYMBOL its entry in a struct lazylib_symbol array.
 */
#define LAZYLIB_MEMBER(ret, name, params, args) ret(*name) params;
#define LAZYLIB_VMEMBER(name, params, args)	LAZYLIB_MEMBER(void, name, params, args)
#define LAZYLIB_SYMBOL(ret, name, params, args) {#name, (void **)&fns.name},
#define LAZYLIB_VSYMBOL(name, params, args)	LAZYLIB_SYMBOL(void, name, params, args)
#define LAZYLIB_STUB(lib, ret, name, params, args) \
	ret name params                            \
	{                                          \
		lazylib_need(lib, #name);          \
		return fns.name args;              \
	}
#define LAZYLIB_VSTUB(lib, name, params, args) \
	void name params                       \
	{                                      \
		lazylib_need(lib, #name);      \
		fns.name args;                 \
	}
