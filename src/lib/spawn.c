/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A child that reports back through a CLOEXEC pipe (spawn.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

int spawn_reporting(enum spawn_channel kind, void (*child)(void *arg, int fd), void *arg,
		    pid_t *ret_pid, int *ret_fd, struct err **err)
{
	int p[2], r;
	pid_t pid;

	/* p[0] ours, p[1] the child's. */
	if (kind == SPAWN_SOCKETPAIR)
		r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
	else
		r = pipe2(p, O_CLOEXEC);
	if (r < 0)
		return err_make(err, errno, kind == SPAWN_SOCKETPAIR ? "socketpair" : "pipe");
	pid = fork();
	if (pid < 0) {
		r = errno;
		close(p[0]);
		close(p[1]);
		return err_make(err, r, "fork");
	}
	if (pid == 0) {
		close(p[0]);
		child(arg, p[1]);
		_exit(127); /* child() must not return */
	}
	close(p[1]);
	*ret_pid = pid;
	*ret_fd = p[0];
	return 0;
}

ssize_t spawn_read_report(int fd, void *buf, size_t size)
{
	size_t len = 0;

	while (len < size) {
		ssize_t n = read(fd, (char *)buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += n;
	}
	return (ssize_t)len;
}

int spawn_reap(pid_t pid, int *ret_status)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (ret_status)
		*ret_status = status;
	return 0;
}

void spawn_child_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 &&
		    sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}
