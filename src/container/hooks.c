/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OCI hooks: fork, feed the state JSON on stdin, wait with an optional
 * timeout.  The state is written without blocking, so a hook that neither
 * reads stdin nor exits cannot hang us past its timeout, and a hook that
 * exits without reading is not an error (EPIPE is expected; SIGPIPE is
 * blocked while we write).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "hooks.h"
#include "jsonutil.h"
#include "log.h"

#define MAX_HOOKS 256

/* The code of the recorded error; callers may pass err == NULL. */
static int err_or_inval(struct err **err)
{
	return err && *err ? err_code(*err) : -EINVAL;
}

static const char *const kind_names[] = {
    [CT_HOOK_PRESTART] = "prestart",
    [CT_HOOK_CREATE_RUNTIME] = "createRuntime",
    [CT_HOOK_CREATE_CONTAINER] = "createContainer",
    [CT_HOOK_START_CONTAINER] = "startContainer",
    [CT_HOOK_POSTSTART] = "poststart",
    [CT_HOOK_POSTSTOP] = "poststop",
};

#define HOOK_TIMEOUT_MAX (366 * 24 * 3600)

struct hook {
	const char *path;
	char **args, **env;
	int64_t timeout; /* seconds, 0 = none; at most HOOK_TIMEOUT_MAX */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int parse_hook(json_t *j, const char *where, struct hook *h, struct err **err)
{
	int r;

	if (!json_is_object(j))
		return err_make(err, 0, "%s: expected an object", where);
	r = json_get_string(j, where, "path", true, &h->path, err);
	if (r < 0)
		return r;
	if (h->path[0] != '/')
		return err_make(err, 0, "%s.path: `%s` is not an absolute path", where, h->path);
	if (json_get_strv(j, where, "args", &h->args, err) < 0 ||
	    json_get_strv(j, where, "env", &h->env, err) < 0 ||
	    json_get_i64(j, where, "timeout", &h->timeout, err) < 0)
		return err_or_inval(err);
	if (json_object_get(j, "timeout") && h->timeout <= 0)
		return err_make(err, 0, "%s.timeout: must be greater than zero", where);
	/* Seconds to a millisecond deadline must not overflow: a year is plenty. */
	if (h->timeout > HOOK_TIMEOUT_MAX)
		return err_make(err, 0, "%s.timeout: %lld s is more than %d (a year)", where,
				(long long)h->timeout, HOOK_TIMEOUT_MAX);
	return 0;
}

static void exec_hook(const struct hook *h, int stdin_fd, const char *cwd)
{
	char *default_argv[] = {(char *)h->path, NULL};

	if (dup2(stdin_fd, STDIN_FILENO) < 0)
		_exit(127);
	if (cwd && chdir(cwd) < 0) {
		/* Keep the caller's directory; see hooks.h. */
	}
	close_fds_from(3);
	signal(SIGPIPE, SIG_DFL);
	execve(h->path, h->args && h->args[0] ? h->args : default_argv,
	       h->env ? h->env : environ); /* no "env": inherit ours, as runc does */
	_exit(127);
}

/* Write what the pipe takes before the deadline; the hook may never read. */
static void feed_state(int fd, const char *state, long long deadline)
{
	size_t len = state ? strlen(state) : 0, off = 0;

	while (off < len) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		long long left = deadline ? deadline - now_ms() : -1;
		ssize_t w;

		if (deadline && left <= 0)
			return;
		/* A timeout of up to a year is more ms than poll's int holds. */
		if (poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left) <= 0 && errno != EINTR)
			return;
		w = write(fd, state + off, len - off);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return; /* EPIPE: the hook does not read stdin */
		if (w > 0)
			off += (size_t)w;
	}
}

/* Wait for pid until deadline (0 = forever); on timeout kill it and fail. */
static int wait_hook(pid_t pid, long long deadline, int *ret_status)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	for (;;) {
		pid_t w = waitpid(pid, ret_status, deadline ? WNOHANG : 0);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			if (pidfd >= 0)
				close(pidfd);
			return -errno;
		}
		if (deadline && now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, ret_status, 0);
			if (pidfd >= 0)
				close(pidfd);
			return -ETIMEDOUT;
		}
		if (pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};
			long long left = deadline - now_ms();

			poll(&p, 1, left > INT_MAX ? INT_MAX : left > 0 ? (int)left : 0);
		} else if (deadline) {
			usleep(2000);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return 0;
}

static int run_one(const struct hook *h, const char *where, const char *state, const char *cwd,
		   struct err **err)
{
	long long deadline = h->timeout ? now_ms() + h->timeout * 1000 : 0;
	sigset_t pipe_set, old_set;
	int fds[2], status = 0, r;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_make(err, errno, "%s: pipe", where);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return err_make(err, errno, "%s: fork", where);
	}
	if (pid == 0)
		exec_hook(h, fds[0], cwd);
	close(fds[0]);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old_set);
	feed_state(fds[1], state, deadline);
	close(fds[1]);
	/* Consume a SIGPIPE raised by the write so it is not delivered on unblock. */
	{
		struct timespec zero = {0, 0};

		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
	}
	sigprocmask(SIG_SETMASK, &old_set, NULL);

	r = wait_hook(pid, deadline, &status);
	if (r == -ETIMEDOUT)
		return err_make(err, 0, "%s: `%s` timed out after %lld s and was killed", where,
				h->path, (long long)h->timeout);
	if (r < 0)
		return err_make(err, -r, "%s: wait for `%s`", where, h->path);
	if (WIFSIGNALED(status))
		return err_make(err, 0, "%s: `%s` killed by signal %d", where, h->path,
				WTERMSIG(status));
	if (WEXITSTATUS(status) == 127)
		return err_make(err, 0, "%s: `%s` could not be executed (exit status 127)", where,
				h->path);
	if (WEXITSTATUS(status) != 0)
		return err_make(err, 0, "%s: `%s` failed with exit status %d", where, h->path,
				WEXITSTATUS(status));
	return 0;
}

static bool failure_is_fatal(enum ct_hook_kind kind)
{
	return kind != CT_HOOK_POSTSTART && kind != CT_HOOK_POSTSTOP;
}

int ct_hooks_run(json_t *hooks, enum ct_hook_kind kind, const char *state_json, const char *cwd,
		 struct err **err)
{
	const char *name;
	json_t *list, *j;
	size_t i;

	if ((unsigned)kind >= ARRAY_SIZE(kind_names))
		return err_make(err, EINVAL, "unknown hook kind %d", (int)kind);
	if (!hooks)
		return 0;
	if (!json_is_object(hooks))
		return err_make(err, 0, "config.json: hooks: expected an object");
	name = kind_names[kind];
	list = json_object_get(hooks, name);
	if (!list)
		return 0;
	if (!json_is_array(list))
		return err_make(err, 0, "config.json: hooks.%s: expected an array", name);
	if (json_array_size(list) > MAX_HOOKS)
		return err_make(err, 0, "config.json: hooks.%s: more than %d hooks", name,
				MAX_HOOKS);
	json_array_foreach (list, i, j) {
		struct hook h = {};
		char where[64];
		int r;

		snprintf(where, sizeof(where), "hooks.%s[%zu]", name, i);
		r = parse_hook(j, where, &h, err);
		if (r < 0) {
			strv_free(h.args);
			strv_free(h.env);
			return err_wrap(err, "config.json");
		}
		if (failure_is_fatal(kind)) {
			r = run_one(&h, where, state_json, cwd, err);
		} else {
			struct err *warn = NULL;

			if (run_one(&h, where, state_json, cwd, &warn) < 0)
				log_warn("%s (ignored for %s hooks)", warn->msg, name);
			err_free(&warn);
			r = 0;
		}
		strv_free(h.args);
		strv_free(h.env);
		if (r < 0)
			return r;
	}
	return 0;
}
