/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lazylib in the static isola: no library is ever loaded; the commands that need one run in
 * isola-dl (src/cli/dynamic.c), so reaching this is a command routed wrongly.
 */
#include <stdio.h>

#include "lazylib.h"

void lazylib_dl_load(struct lazylib *l)
{
	snprintf(l->error, sizeof(l->error),
		 "this isola is linked statically; the command runs in isola-dl");
}
