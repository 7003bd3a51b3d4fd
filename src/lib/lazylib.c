/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Libraries loaded with dlopen(3) on first use (lazylib.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "lazylib.h"

bool lazylib_static_binary(void)
{
	/* No program interpreter, no AT_BASE: a static(-pie) binary. */
	return getauxval(AT_BASE) == 0;
}

int lazylib_load(struct lazylib *l, struct err **err)
{
	pthread_mutex_lock(&l->lock);
	if (!l->tried)
		lazylib_dl_load(l);
	l->tried = true;
	pthread_mutex_unlock(&l->lock);
	if (l->error[0])
		return err_make(err, ENOENT, "cannot load %s: %s", l->soname, l->error);
	return 0;
}

void lazylib_need(struct lazylib *l, const char *fn)
{
	if (lazylib_load(l, NULL) < 0) {
		/* No core dump and no SIGABRT for a command routed to the wrong binary. */
		fprintf(stderr, "isola: %s needs %s: %s\n", fn, l->soname, l->error);
		fflush(stderr);
		_exit(127);
	}
}
