/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * What the container's init (or an exec'ed process) needs once forked: the
 * plan prepared by the parent.  Only the child touches these functions.
 */
#include <stdbool.h>
#include <sys/types.h>

#include "caps.h"
#include "err.h"
#include "seccomp.h"
#include "spec.h"

struct ct_init {
	const struct ct_spec *spec;
	const struct ct_process *proc;
	const char *rootfs; /* absolute */
	bool no_pivot, no_new_keyring, in_userns;
	bool shared_mntns; /* no new mount namespace: chroot, no mounts */
	int preserve_fds;
	int console_fd;	  /* connected --console-socket, or -1 */
	int exec_fifo_fd; /* write end of exec.fifo, O_CLOEXEC: kept open until execve */
	struct ct_caps caps;
	struct ct_seccomp *seccomp;
	char *exec_path; /* args[0] resolved in the container */
};

/* rootfs.c: mounts, devices, pivot_root, then the post-pivot paths. */
/* Write a runc-style pid file (create.c); also used by exec. */
int ct_write_pid_file(const char *path, pid_t pid, struct err **err);

int ct_rootfs_prepare(const struct ct_init *in, struct err **err);
int ct_rootfs_pivot(const struct ct_init *in, struct err **err);
int ct_rootfs_finish(const struct ct_init *in, struct err **err);
/* A bind made detached with @m's flags, then attached on target_fd; 1 when done. */
int ct_rootfs_bind(const struct ct_mount *m, int target_fd, bool private, struct err **err);
/* rootfs-cgroup.c: the `cgroup` mount on a v1/hybrid host; 0 where it does not apply. */
int ct_rootfs_cgroup_v1(const struct ct_mount *m, int target_fd, bool cgroupns, struct err **err);
/* Write to /proc/REL ("sys/kernel/x", "self/oom_score_adj") through the
 * container's own procfs, refusing a file another mount covers. */
int ct_proc_write(const char *rel, const char *data, struct err **err);

/* copyup.c: a tmpfs's tmpcopyup. */
#define CT_COPYUP_DEPTH 128
/*
 * Copy what directory @src_fd holds into @dst_fd (the new tmpfs's root), not
 * following symlinks nor leaving @src_fd's file system; errors name @dest.
 */
int ct_copyup(int src_fd, int dst_fd, const char *dest, struct err **err);

/* process.c */
int ct_process_find_exec(const struct ct_process *p, char **ret, struct err **err);
/* Things that need root in the container: rlimits, oom score, keyring, personality. */
int ct_process_setup_privileged(const struct ct_init *in, struct err **err);
/*
 * Close every fd but stdio, the preserved ones, the console and keep_a/keep_b
 * (-1: none), before anything resolves a path in the container: an fd left
 * open would be reachable as /proc/self/fd/N (CVE-2024-21626).
 */
int ct_close_inherited_fds(const struct ct_init *in, int keep_a, int keep_b, struct err **err);
/* User switch, caps, cwd, fd cleanup, seccomp, execve.  Returns only on failure. */
int ct_process_exec(struct ct_init *in, struct err **err);

/*
 * terminal.c: a session of its own for the container's process, as runc's
 * init makes.  In the caller's session, a process handed the caller's
 * terminal as stdin could push input into the caller's shell with TIOCSTI
 * (bubblewrap's CVE-2017-5226), and it would share the caller's process group
 * (conmon's --timeout kills its own group, and took itself with it).  With
 * process.terminal: open a pty in the container, send the master over
 * console_fd, make the slave our controlling terminal and stdio, and with
 * @console (the init in a mount namespace of its own) bind it on /dev/console.
 */
int ct_session_setup(const struct ct_process *p, int console_fd, bool console, struct err **err);
/* Connect to a --console-socket path. */
int ct_console_connect(const char *path, int *ret_fd, struct err **err);
/* Send @fd (a pty master) over @sock with SCM_RIGHTS, @name as its data, as runc does. */
int ct_console_send(int sock, int fd, const char *name, struct err **err);
