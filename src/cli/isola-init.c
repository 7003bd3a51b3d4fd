/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola-init: PID 1 for `isola run --init`, linked statically so that it runs in any
 * image (bind-mounted read-only at /dev/init).  It starts the command, forwards every
 * signal it can catch to it, reaps every child (orphans re-parented to PID 1 included)
 * and exits with the command's status (128 + signal when it was killed).  Not PID 1
 * (--pid host), it is the child subreaper, so orphans are still its to reap.
 *   /dev/init -- CMD [ARG...]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Reap what has exited; returns the command's exit code once it is among them, else -1. */
static int reap(pid_t child)
{
	int st, code = -1;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == child)
			code = status_code(st);
	return code;
}

int main(int argc, char **argv)
{
	sigset_t all, old;
	int i = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1, code;
	pid_t child;

	if (i >= argc) {
		fprintf(stderr, "isola-init: usage: isola-init -- CMD [ARG...]\n");
		return 125;
	}
	/* Not PID 1 (--pid host): orphans come to us rather than to the host's init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	child = fork();
	if (child < 0) {
		perror("isola-init: fork");
		return 125;
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[i], argv + i);
		fprintf(stderr, "isola-init: exec `%s`: %s\n", argv[i], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		code = reap(child);
		if (code >= 0)
			return code;
	}
}
