/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* File and fd helpers.  All return 0 or a negative errno and fill err. */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

int write_all(int fd, const void *buf, size_t len);
/* Read at most max bytes; a longer input is an error (-EFBIG). NUL-terminated. */
int read_all_fd(int fd, size_t max, char **ret, size_t *ret_len);
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
		 struct err **err);
int write_file_at(int dirfd, const char *path, const char *data, struct err **err);
/*
 * A new temporary file ".NAME.tmp.<random>" in dirfd, for a rename onto NAME: created
 * with O_EXCL | O_NOFOLLOW (a name planted in the directory, symlink or file, is never
 * used) and given exactly @mode, whatever the umask.  Its name in @tmp; returns the fd.
 */
int open_tmp_at(int dirfd, const char *name, mode_t mode, char tmp[PATH_MAX], struct err **err);
/* Write via a temporary file and rename(2): readers see the old or the new file. */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			 struct err **err);
/* The same for a file rewritten in place of an existing one (see fdutil.c). */
int replace_file_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    struct err **err);
int mkdir_p(const char *path, mode_t mode, struct err **err);
/* Remove a tree without crossing into other file systems (never follows mounts). */
int rm_rf_at(int dirfd, const char *name, struct err **err);
bool path_exists(const char *path);
/*
 * One fd over the unix socket s (SCM_RIGHTS) with len bytes of data (none: one zero
 * byte): 0 or -errno.
 */
int fd_send(int s, int fd, const void *data, size_t len);
/*
 * One fd (close-on-exec) and up to len bytes of data from s: the data's length, or
 * -errno; -EPROTO for a message without exactly one fd, whose fds are all closed.
 */
ssize_t fd_recv(int s, void *data, size_t len, int *ret_fd);
/*
 * open(2) of a path named by a user, never through a /proc magic link
 * (/proc/self/fd/N, /proc/PID/root, /dev/stdin): those are the opener's own
 * files, not the path's.  Such a path fails with ELOOP.  O_CLOEXEC is added,
 * and but for O_PATH O_NOCTTY and O_NONBLOCK (a FIFO does not hang the open);
 * -1 and errno.
 */
int open_no_magiclinks(const char *path, int flags);
/* fd (O_PATH will do) is this process's own /proc/PID, or a file below it. */
bool fd_in_own_proc(int fd);
/*
 * A "." or ".." component: "/." or "/a/.." is the root under another name
 * (".." stops at a rootfs, RESOLVE_IN_ROOT), which code comparing a mount's
 * destination with "/" would take for a directory below it.
 */
bool path_has_dot_component(const char *p);
/* p names the absolute path abs, repeated and trailing slashes aside ("//proc/" is "/proc"). */
bool path_same_abs(const char *p, const char *abs);
/*
 * Close fd without waiting for its file's release: for a file whose last
 * close is slow (a KVM VM fd: ~15 ms of irqchip and PIT teardown), so that
 * the process can report and exit at once.  The file goes in flight on a
 * unix socket that then holds only itself; the kernel's unix garbage
 * collector frees that cycle from a worker thread, releasing the file there.
 * Where that fails (fd limits), or on a kernel whose collector runs in the
 * closing task, it costs what close() costs.  fd is closed here either way.
 */
void close_async(int fd);
/*
 * accept4(2) for a listener watched level-triggered, which must not stay
 * readable for ever once the process is out of fds (EMFILE, ENFILE): the
 * loop polling it would spin.  Then one spare fd, kept for this since
 * accept_spare_init(), is given up to take the waiting client, which is
 * closed at once (it sees its connection end), and the spare is taken back.
 * -1 and errno as accept4(2) otherwise.  Thread-safe.
 */
int accept_or_shed(int lfd, int flags);
/* Keep the spare fd (once per process, else at the first accept; while fds are plenty). */
void accept_spare_init(void);
/* Close every fd >= first (close_range(2) where available). */
void close_fds_from(int first);
/* The mount point holding @path (absolute): longest match in /proc/self/mountinfo. */
int mount_point_of(const char *path, char *ret, size_t size, struct err **err);
/*
 * Close every fd >= first except those in keep[] (negative entries are
 * ignored).  Used before anything resolves a path in a container: an
 * inherited fd would be reachable as /proc/self/fd/N (CVE-2024-21626).
 */
int close_fds_except(int first, const int *keep, size_t n_keep);
