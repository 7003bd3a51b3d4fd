/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The copy of a tmpfs's tmpcopyup (copytree.c): libc only, so that the
 * container runtime (container/copyup.c) and the static guest agent of VM
 * containers (vmct/agent.c) share it.
 */
#define CT_COPYTREE_DEPTH     128 /* directory levels below the top, at most */
#define CT_COPYTREE_DEPTH_STR "128"
#define CT_COPYTREE_PATH      4096

/* What a copy failed at: a step ("open", "copy", ...) and the path below the top. */
struct ct_copytree_fail {
	const char *what;
	char path[CT_COPYTREE_PATH];
};

/*
 * Copy what directory @src_fd holds into @dst_fd (a new tmpfs's root), not
 * following symlinks nor leaving @src_fd's file system, and give @dst_fd the
 * owner and mode of @src_fd.  -errno, with the step and path in *ret_fail.
 */
int ct_copytree(int src_fd, int dst_fd, struct ct_copytree_fail *ret_fail);
