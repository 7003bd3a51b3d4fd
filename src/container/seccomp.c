/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stddef.h>

#include "seccomp.h"

int ct_seccomp_prepare(json_t *linux_seccomp, const char *cache_dir, struct ct_seccomp **ret,
		       struct err **err)
{
	if (!linux_seccomp) {
		*ret = NULL;
		return 0;
	}
	return err_make(err, ENOSYS, "linux.seccomp: not implemented yet");
}

int ct_seccomp_load(struct ct_seccomp *s, struct err **err)
{
	if (!s)
		return 0;
	return err_make(err, ENOSYS, "seccomp: not implemented yet");
}

void ct_seccomp_free(struct ct_seccomp *s)
{
}
