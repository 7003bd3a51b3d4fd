/* SPDX-License-Identifier: GPL-2.0-or-later */
/* OOM notifications on cgroup v2: inotify on a fake memory.events file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "fdutil.h"
#include "tap.h"

static char top[] = "/tmp/isola-test-cgroup-events.XXXXXX";

static void put(const char *dir, const char *file, const char *data)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		write_all(fd, data, strlen(data));
		close(fd);
	}
}

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 1000) == 1 && (p.revents & POLLIN);
}

int main(void)
{
	struct ct_oom_watch *w = NULL;
	struct ct_cgroup *cg = NULL;
	struct err *err = NULL;
	char dir[PATH_MAX];
	uint64_t n = 99;

	if (!mkdtemp(top))
		return 1;
	put(top, "cgroup.controllers", "memory pids\n");
	put(top, "cgroup.subtree_control", "");
	snprintf(dir, sizeof(dir), "%s/c", top);
	mkdir(dir, 0755);
	put(dir, "cgroup.procs", "");
	put(dir, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
	is_int(ct_cgroup_create_at(top, "/c", "c", NULL, false, &cg, &err), 0, "v2 cgroup (%s)",
	       err ? err->msg : "ok");
	if (!cg)
		return tap_done();
	is_int(ct_cgroup_oom_watch(cg, &w, &err), 0, "watch memory.events (%s)",
	       err ? err->msg : "ok");
	if (w) {
		/* Another counter moves: the fd wakes, but that is no OOM kill. */
		put(dir, "memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
		ok(readable(ct_oom_watch_fd(w)), "a change wakes the fd");
		is_int(ct_oom_watch_read(w, &n, &err), 0, "read");
		ok(n == 0, "kills before the watch and other counters do not count (%llu)",
		   (unsigned long long)n);
		put(dir, "memory.events", "low 0\nhigh 0\nmax 9\noom 3\noom_kill 3\n");
		ok(readable(ct_oom_watch_fd(w)), "an OOM kill wakes the fd");
		is_int(ct_oom_watch_read(w, &n, &err), 0, "read");
		ok(n == 2, "two new OOM kills (%llu)", (unsigned long long)n);
	}
	ct_oom_watch_free(w);
	ct_cgroup_free(cg);
	/* No memory controller files: a clear ENOENT the stream turns into a warning. */
	snprintf(dir, sizeof(dir), "%s/d", top);
	mkdir(dir, 0755);
	put(dir, "cgroup.procs", "");
	cg = NULL;
	w = NULL;
	is_int(ct_cgroup_create_at(top, "/d", "d", NULL, false, &cg, &err), 0, "v2 cgroup d");
	if (!cg)
		return tap_done();
	ok(ct_cgroup_oom_watch(cg, &w, &err) == -ENOENT && !w, "no memory.events: -ENOENT");
	ok(err && strstr(err->msg, "memory.events"), "message names the file: %s",
	   err ? err->msg : "(none)");
	err_free(&err);
	ct_cgroup_free(cg);
	rm_rf_at(AT_FDCWD, top, &err);
	err_free(&err);
	return tap_done();
}
