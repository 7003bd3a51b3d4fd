/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rootless image stores.  A layer's files belong to many ids (root's, a
 * daemon's, a user's), which an unprivileged user cannot chown to.  As rootless
 * podman does with its storage, what writes or removes a store's layers and
 * containers runs as root of a user namespace with the map that containers get
 * (ct_rootless_idmap(): 0 to the caller, 1.. to its /etc/subuid range through
 * newuidmap): chown works there, the ids land on disk as subordinate ids and
 * appear unchanged inside a container with the same map, and the same
 * namespace can delete them again.  Without a subordinate range only the
 * caller's id exists: files stay the caller's and unpack records the layer's
 * ids in user.containers.override_stat (src/image/unpack.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image-cli.h"
#include "log.h"
#include "spec.h"

/* Single id: the kernel lets the namespace's owner write its own id, groups denied. */
static int write_own_maps(pid_t pid, const struct ct_idmap *u, const struct ct_idmap *g,
			  struct err **err)
{
	char p[64], line[64];
	int r;

	snprintf(p, sizeof(p), "/proc/%d/setgroups", (int)pid);
	r = write_file_at(AT_FDCWD, p, "deny", err);
	snprintf(p, sizeof(p), "/proc/%d/gid_map", (int)pid);
	snprintf(line, sizeof(line), "0 %u 1", g->host_id);
	if (r >= 0)
		r = write_file_at(AT_FDCWD, p, line, err);
	snprintf(p, sizeof(p), "/proc/%d/uid_map", (int)pid);
	snprintf(line, sizeof(line), "0 %u 1", u->host_id);
	if (r >= 0)
		r = write_file_at(AT_FDCWD, p, line, err);
	return r < 0 ? err_wrap(err, "user namespace for the image store") : 0;
}

static int write_maps(pid_t pid, struct err **err)
{
	struct ct_idmap u[2], g[2];
	size_t nu = ct_rootless_idmap(false, u), ng = ct_rootless_idmap(true, g);
	int r;

	if (nu == 1 && ng == 1)
		return write_own_maps(pid, u, g, err);
	r = ct_idmap_write_helper(pid, false, u, nu, err);
	if (r >= 0)
		r = ct_idmap_write_helper(pid, true, g, ng, err);
	return r < 0 ? err_wrap(err, "user namespace for the image store") : 0;
}

/* The child: a user namespace of its own, its maps written by the parent, then fn. */
static void child(int to_parent, int from_parent, const char *store, int (*fn)(void *), void *arg,
		  const sigset_t *mask)
{
	char c = 0;
	int code;

	sigprocmask(SIG_SETMASK, mask, NULL);
	/* Root in there would otherwise pick root's default store. */
	if (setenv("ISOLA_STORE", store, 1) < 0)
		_exit(EXIT_ISOLA);

	if (unshare(CLONE_NEWUSER) < 0) {
		log_error("user namespace for the image store: %s", strerror(errno));
		_exit(EXIT_ISOLA);
	}
	if (write(to_parent, &c, 1) != 1 || read(from_parent, &c, 1) != 1 || c != 1)
		_exit(EXIT_ISOLA); /* the parent said why */
	close(to_parent);
	close(from_parent);
	code = fn(arg);
	fflush(stdout);
	fflush(stderr);
	_exit(code);
}

volatile sig_atomic_t image_cli_store_child;

int image_cli_store_call(int (*fn)(void *), void *arg)
{
	_cleanup_err_ struct err *err = NULL;
	int up[2], down[2], status;
	sigset_t all, old;
	const char *store;
	siginfo_t info;
	char c = 0;
	pid_t pid;

	if (geteuid() == 0)
		return fn(arg);
	store = img_store_default_path(NULL);
	if (pipe2(up, O_CLOEXEC) < 0)
		return log_error("pipe: %s", strerror(errno)), EXIT_ISOLA;
	if (pipe2(down, O_CLOEXEC) < 0) {
		close(up[0]);
		close(up[1]);
		return log_error("pipe: %s", strerror(errno)), EXIT_ISOLA;
	}
	fflush(stdout);
	fflush(stderr);
	/* Known as the child before a signal handler can look (image_cli_store_child). */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		child(up[1], down[0], store, fn, arg, &old);
	}
	if (pid > 0)
		image_cli_store_child = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(up[1]);
	close(down[0]);
	if (pid > 0 && read(up[0], &c, 1) == 1) {
		c = write_maps(pid, &err) < 0 ? 0 : 1;
		if (!c)
			cli_fail(&err);
		if (write(down[1], &c, 1) != 1)
			c = 0;
	}
	close(up[0]);
	close(down[1]);
	if (pid < 0)
		return log_error("fork: %s", strerror(errno)), EXIT_ISOLA;
	/* Ended, not yet reaped: its pid cannot be another's while a handler may use it. */
	while (waitid(P_PID, pid, &info, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			break;
	image_cli_store_child = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EXIT_ISOLA;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
