/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmpcopyup: what the image has at a tmpfs's destination is copied into it.
 * The copy (a hostile tree's rules) is src/lib/copytree.c, which the VM
 * containers' guest agent links too; this names the mount in the error.
 */
#include "copytree.h"
#include "init.h"

_Static_assert(CT_COPYUP_DEPTH == CT_COPYTREE_DEPTH, "one depth limit");

int ct_copyup(int src_fd, int dst_fd, const char *dest, struct err **err)
{
	struct ct_copytree_fail f = {};
	int r = ct_copytree(src_fd, dst_fd, &f);

	if (r < 0)
		return err_make(err, -r, "tmpcopyup of `%s`: %s `%s`", dest, f.what, f.path);
	return 0;
}
