/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A child that reports back (spawn.c): fork with a CLOEXEC pipe (or a socketpair,
 * for a child that is also told things) whose write end the child uses to say how its
 * setup or exec went, while the parent reads the other end and reaps the child.
 */
#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

enum spawn_channel {
	SPAWN_PIPE,	  /* the child writes, we read */
	SPAWN_SOCKETPAIR, /* both ways */
};

/*
 * Fork; the child runs @child(@arg, fd) with its end of the channel (our end closed),
 * which must not return (it _exit()s or execs).  We get its pid and our end, CLOEXEC.
 */
int spawn_reporting(enum spawn_channel kind, void (*child)(void *arg, int fd), void *arg,
		    pid_t *ret_pid, int *ret_fd, struct err **err);
/* Read up to @size bytes until end of file: the count read, or -errno. */
ssize_t spawn_read_report(int fd, void *buf, size_t size);
/* waitpid(@pid) retried on EINTR: 0 with *ret_status (may be NULL), or -errno. */
int spawn_reap(pid_t pid, int *ret_status);
/*
 * In a fork child: every signal its parent catches back to the default (the parent's
 * handler would swallow one meant to end the child before it execs, or for good in one
 * that does not), the ignored ones left ignored, none blocked.
 */
void spawn_child_signals(void);
