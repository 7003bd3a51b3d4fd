/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lazylib's dlopen(3), in a file of its own: the static isola links lazylib-static.c in its
 * place (src/cli/meson.build), so that it references no dlopen (glibc's static one would load
 * a second libc beside the linked one).
 */
#include <dlfcn.h>
#include <stdio.h>

#include "lazylib.h"

void lazylib_dl_load(struct lazylib *l)
{
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(l->error, sizeof(l->error), "%s", dlerror());
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		*l->symbols[i].slot = dlsym(h, l->symbols[i].name);
		if (!*l->symbols[i].slot) {
			snprintf(l->error, sizeof(l->error), "no symbol `%s`", l->symbols[i].name);
			return;
		}
	}
}
