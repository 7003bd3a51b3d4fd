/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smaps-peak OUTDIR CMD...: run CMD under ptrace and copy /proc/PID/smaps of every process
 * of its tree right before each execve and at each exit -- the moments a process's RSS
 * high-water mark (what GNU time's %M reports, the maximum over the tree) is final -- to
 * OUTDIR/PID-N-{exec,exit}, after the Name, Tgid, VmHWM and VmRSS lines of its status.
 * bench/rss.sh sums them per mapping (docs/performance.md, "Peak RSS: what is resident").
 * Build: cc -O2 -o smaps-peak bench/smaps-peak.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *outdir;
static int seq;

static void dump(pid_t pid, const char *tag)
{
	char p[256], buf[65536], line[256];
	FILE *st;
	int in, out;
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%d/status", pid);
	st = fopen(p, "r");
	snprintf(p, sizeof(p), "%s/%d-%02d-%s", outdir, pid, seq++, tag);
	out = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (st) {
		while (fgets(line, sizeof(line), st))
			if (!strncmp(line, "VmHWM", 5) || !strncmp(line, "VmRSS", 5) ||
			    !strncmp(line, "Name", 4) || !strncmp(line, "Tgid", 4))
				(void)!write(out, line, strlen(line));
		fclose(st);
	}
	snprintf(p, sizeof(p), "/proc/%d/smaps", pid);
	in = open(p, O_RDONLY);
	while (in >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		(void)!write(out, buf, n);
	close(in);
	close(out);
}

int main(int argc, char **argv)
{
	pid_t child, pid;
	int status;

	outdir = argv[1];
	child = fork();
	if (child == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	waitpid(child, &status, 0);
	ptrace(PTRACE_SETOPTIONS, child, 0,
	       PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		   PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC);
	ptrace(PTRACE_SYSCALL, child, 0, 0);
	int rc = 0;
	while ((pid = waitpid(-1, &status, __WALL)) > 0) {
		int sig = 0;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == child)
				rc = WIFEXITED(status) ? WEXITSTATUS(status)
						       : 128 + WTERMSIG(status);
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		int s = WSTOPSIG(status), ev = status >> 16;
		if (s == (SIGTRAP | 0x80)) {
			struct __ptrace_syscall_info si;
			if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(si), &si) > 0 &&
			    si.op == PTRACE_SYSCALL_INFO_ENTRY &&
			    (si.entry.nr == SYS_execve || si.entry.nr == SYS_execveat))
				dump(pid, "exec");
		} else if (s == SIGTRAP && ev == PTRACE_EVENT_EXIT) {
			dump(pid, "exit");
		} else if (s == SIGTRAP && ev) {
		} else if (s == SIGSTOP && ev == 0) {
			/* new child's initial stop, or a real SIGSTOP: swallow */
		} else {
			sig = s;
		}
		ptrace(PTRACE_SYSCALL, pid, 0, sig);
	}
	return rc;
}
