/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* The OCI lifecycle: create, start, kill, delete, exec. */
#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

struct ct_create_opts {
	const char *root, *id, *bundle, *pid_file, *console_socket;
	bool no_pivot, no_new_keyring, systemd_cgroup;
	int preserve_fds;
	/* Socket activation (LISTEN_FDS for our pid): fds 3.. passed before the
	 * preserve_fds ones, and LISTEN_FDS=N, LISTEN_PID=1 in the process's env. */
	int listen_fds;
	/* process.terminal without console_socket: the pty master goes here
	 * (foreground `run`); NULL: such a config is an error, as in runc. */
	int *ret_console;
};

/* Returns once the init waits for `start`; *ret_pid is its pid. */
int ct_create(const struct ct_create_opts *o, pid_t *ret_pid, struct err **err);
int ct_start(const char *root, const char *id, struct err **err);
int ct_kill(const char *root, const char *id, int sig, bool all, struct err **err);
int ct_delete(const char *root, const char *id, bool force, struct err **err);

struct ct_exec_opts {
	const char *root, *id, *process_file, *cwd, *user, *pid_file, *console_socket;
	char **args, **env, **caps, **groups; /* groups: --additional-gids, as given */
	bool tty, detach, no_new_privs;
	bool ignore_paused; /* as runc: exec into a paused container (it runs once resumed) */
	int preserve_fds;
};
/* Runs a process in the container; returns its pid (detach) or waits and
 * returns the exit code (128+N on signal N) in *ret_status. */
int ct_exec(const struct ct_exec_opts *o, int *ret_status, struct err **err);

/* Receive a pty master sent over @sock (SCM_RIGHTS). */
int ct_console_recv(int sock, int *ret_fd, struct err **err);
/* Relay in -> master -> out until pid exits (SIGWINCH resizes, other signals are
 * forwarded, a terminal on @in is raw meanwhile); returns the runc-style exit code. */
int ct_console_relay(int master, pid_t pid, int in, int out);
struct termios;
/* Pass @in's pending canonical input (end of file included) to @master, then make @in raw. */
void ct_console_make_raw(int in, const struct termios *saved, int master);

/* Wait for pid, forwarding the usual signals; returns the runc-style exit code. */
int ct_wait_forward(pid_t pid);

/*
 * CVE-2019-5736: before anything enters a container, re-exec once from a
 * detached read-only bind mount of our own binary (a sealed memfd copy when
 * unprivileged), so no process in a container can open /proc/<pid>/exe for
 * writing.  No-op when the binary already cannot be written.
 */
int ct_protect_exe(struct err **err);
