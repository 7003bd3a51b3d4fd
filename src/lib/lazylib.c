/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Libraries loaded with dlopen(3) on first use (lazylib.h). */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "lazylib.h"

static void load(struct lazylib *l)
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

int lazylib_load(struct lazylib *l, struct err **err)
{
	pthread_mutex_lock(&l->lock);
	if (!l->tried)
		load(l);
	l->tried = true;
	pthread_mutex_unlock(&l->lock);
	if (l->error[0])
		return err_make(err, ENOENT, "cannot load %s: %s", l->soname, l->error);
	return 0;
}

void lazylib_need(struct lazylib *l)
{
	if (lazylib_load(l, NULL) < 0) {
		fprintf(stderr, "isola: cannot load %s: %s\n", l->soname, l->error);
		abort();
	}
}
