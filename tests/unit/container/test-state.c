/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state.json round trip, status of dead processes, process start times, kernel threads. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "state.h"
#include "tap.h"

static bool kthreadd_is_pid2(void)
{
	_cleanup_free_ char *comm = NULL;
	size_t len = 0;

	return read_file_at(AT_FDCWD, "/proc/2/comm", 64, &comm, &len, NULL) == 0 &&
	       strncmp(comm, "kthreadd\n", len) == 0 && len == 9;
}

int main(void)
{
	char tmpl[] = "/tmp/isola-test-state.XXXXXX", *root = mkdtemp(tmpl);
	struct ct_state st = {0}, back = {0};
	struct err *err = NULL;
	int dfd = -1, dfd2 = -1;
	pid_t child;

	ok(root != NULL, "temp dir");
	is_int(ct_state_create_dir(root, "c1", &dfd, &err), 0, "create the state dir");
	ok(ct_state_create_dir(root, "c1", &dfd2, &err) < 0 && strstr(err->msg, "already exists"),
	   "a second create fails");
	err_free(&err);
	st.id = "c1";
	st.bundle = "/b";
	st.rootfs = "/b/rootfs";
	st.created = "2026-01-01T00:00:00Z";
	st.owner = "";
	st.pid = getpid();
	st.start_time = ct_proc_start_time(getpid());
	ok(st.start_time > 0, "our own start time");
	is_int(ct_state_write(dfd, &st, &err), 0, "write state.json");
	is_int(ct_state_read(dfd, "c1", &back, &err), 0, "read state.json");
	ok(back.pid == st.pid && streq(back.bundle, "/b") && back.start_time == st.start_time,
	   "round trip");
	is_int(ct_state_status(dfd, &back), CT_RUNNING, "a live process is running");
	back.start_time++;
	is_int(ct_state_status(dfd, &back), CT_STOPPED, "a reused pid is stopped");
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	back.pid = child;
	is_int(ct_proc_start_time(child), 0, "a reaped process has no start time");
	/* The freezer moves kernel threads out of a cgroup it freezes (cgroup.c). */
	if (kthreadd_is_pid2())
		ok(ct_proc_is_kthread(2), "kthreadd (pid 2) is a kernel thread");
	else
		skip("pid 2 is not kthreadd (a pid namespace)", "kthreadd is a kernel thread");
	ok(!ct_proc_is_kthread(getpid()), "we are not a kernel thread");
	ok(!ct_proc_is_kthread(child), "a reaped process is not one");
	ct_state_clear(&back);
	close(dfd);
	is_int(ct_state_remove_dir(root, "c1", &err), 0, "remove the state dir");
	rmdir(root);
	return tap_done();
}
