/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Putting a new process in its cgroup without the kernel's global lock.
 *
 * Writing a pid to cgroup.procs takes cgroup_threadgroup_rwsem for writing;
 * the first writer after a quiet spell waits a whole RCU grace period for it
 * (5-12 ms on this project's machines, more than the rest of `run`).  Two
 * ways in skip that lock:
 *   - cgroup v1: the process writes "0" to the hierarchy's `tasks` file
 *     itself, which moves only the calling thread; the kernel then takes no
 *     threadgroup lock (a single-threaded child is its whole thread group).
 *   - cgroup2: clone3(CLONE_INTO_CGROUP) creates the child in the cgroup.
 * The files are opened by the parent before the fork, so the child needs no
 * path and its own credentials do not matter (v1 checks the opener's).
 * Whatever cannot go these ways (no `tasks` file, clone3 refused) falls back
 * to the parent writing cgroup.procs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "fdutil.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* struct clone_args of <linux/sched.h>, version 2 (88 bytes, with cgroup). */
struct cg_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};

struct ct_cgroup_join {
	struct ct_cgroup *cg;
	int tasks[CG_MAX_HIERARCHIES]; /* v1 `tasks` open for writing, or -1 */
	int v2_dir;		       /* the cgroup2 directory, for CLONE_INTO_CGROUP */
	bool v2_entered;	       /* the clone put the child there already */
};

static bool is_v2(const struct cg_hier *h)
{
	return streq(h->name, "unified");
}

int ct_cgroup_join_open(struct ct_cgroup *cg, struct ct_cgroup_join **ret, struct err **err)
{
	struct ct_cgroup_join *j = calloc(1, sizeof(*j));

	if (!j)
		return err_make(err, ENOMEM, "cgroup");
	j->cg = cg;
	j->v2_dir = -1;
	for (size_t i = 0; i < CG_MAX_HIERARCHIES; i++)
		j->tasks[i] = -1;
	for (size_t i = 0; i < cg->n; i++) {
		_cleanup_close_ int dfd =
		    open(cg->h[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

		if (dfd < 0) {
			ct_cgroup_join_free(j);
			return err_make(err, errno, "open `%s`", cg->h[i].path);
		}
		if (is_v2(&cg->h[i]))
			j->v2_dir = TAKE_FD(dfd);
		else
			j->tasks[i] = openat(dfd, "tasks", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	*ret = j;
	return 0;
}

pid_t ct_cgroup_join_clone(struct ct_cgroup_join *j, unsigned long flags)
{
	if (j && j->v2_dir >= 0) {
		struct cg_clone_args a = {.flags = flags | CLONE_INTO_CGROUP,
					  .exit_signal = SIGCHLD,
					  .cgroup = (uint64_t)j->v2_dir};
		pid_t pid = syscall(SYS_clone3, &a, sizeof(a));

		if (pid >= 0) {
			j->v2_entered = pid > 0;
			return pid;
		}
	}
	return syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

int ct_cgroup_join_self(struct ct_cgroup_join *j, struct err **err)
{
	int r = 0, w;

	for (size_t i = 0; i < j->cg->n; i++) {
		if (j->tasks[i] < 0)
			continue;
		if (r == 0 && (w = write_all(j->tasks[i], "0", 1)) < 0)
			r = err_make(err, -w, "join cgroup `%s`", j->cg->h[i].path);
		close(j->tasks[i]);
		j->tasks[i] = -1;
	}
	if (j->v2_dir >= 0)
		close(j->v2_dir);
	j->v2_dir = -1;
	return r;
}

int ct_cgroup_join_finish(struct ct_cgroup_join *j, pid_t pid, struct err **err)
{
	for (size_t i = 0; i < j->cg->n; i++) {
		int r;

		if (j->tasks[i] >= 0 || (is_v2(&j->cg->h[i]) && j->v2_entered))
			continue;
		r = cg_writef(j->cg->h[i].path, "cgroup.procs", err, "%d", (int)pid);
		if (r < 0)
			return err_wrap(err, "move pid %d into its cgroup", (int)pid);
	}
	return 0;
}

void ct_cgroup_join_free(struct ct_cgroup_join *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < CG_MAX_HIERARCHIES; i++)
		if (j->tasks[i] >= 0)
			close(j->tasks[i]);
	if (j->v2_dir >= 0)
		close(j->v2_dir);
	free(j);
}
