/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exec in a VM container of the OCI mode (docs/vm-containers.md): the
 * process runs in the guest through the agent's exec port (vmct_exec).
 * Engines exec with --detach --pid-file: they need a host pid that lives as
 * long as the process and exits with its status.  That is the exec monitor, a
 * child we fork (setsid, stdio kept, every other fd closed) that holds the
 * session and relays signals; we return once the agent has the process.  A
 * terminal is a pty the exec monitor opens: its master goes to the
 * --console-socket, its slave is the session's stdio and controlling tty, so
 * the engine's resize of the master reaches the monitor as SIGWINCH and the
 * guest as a WINCH frame with the slave's new size.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "container.h"
#include "fdutil.h"
#include "init.h"
#include "jsonutil.h"
#include "oci.h"
#include "parse.h"
#include "seccomp.h"
#include "spawn.h"
#include "spec.h"
#include "state.h"
#include "strv.h"
#include "vmct.h"

#define STATUS_FAILED 125 /* the session failed: as podman's "the runtime failed" */
#define SYNC_MAX      1024

/* What the exec runs: the process (strings borrowed from the JSON, args and env). */
struct xproc {
	json_t *json;
	struct vmct_config c;
	char **base_env;	    /* the process's own env (the array is ours) */
	char **env;		    /* c.env: a copy of base_env after --env (strv_env_merge) */
	bool own_argv;		    /* c.argv is load_process's array, not the caller's args */
	struct ct_seccomp *seccomp; /* the container's filter: c.seccomp points into it */
};

static void xproc_clear(struct xproc *x)
{
	if (x->own_argv)
		free(x->c.argv);
	free(x->base_env);
	strv_free(x->env);
	ct_seccomp_free(x->seccomp);
	json_decref(x->json);
}

/*
 * --cap X: X joins the bounding, effective, permitted and ambient sets, as
 * runc's exec and isola's own do (ambient only takes what is also
 * inheritable: caps-sys.c).  A process sent without sets (run --vm's exec
 * --privileged) keeps every one of the agent's already: nothing to add.
 */
static int add_caps(char **names, struct vmct_config *c, struct err **err)
{
	uint64_t add = 0;

	for (size_t i = 0; names[i]; i++) {
		int cap = ct_cap_from_name(names[i]);

		if (cap < 0)
			return err_make(err, 0, "--cap `%.64s`: not a capability", names[i]);
		add |= UINT64_C(1) << cap;
	}
	if (!c->has_caps)
		return 0;
	c->caps.bounding |= add;
	c->caps.effective |= add;
	c->caps.permitted |= add;
	c->caps.ambient |= add;
	return 0;
}

static int apply_opts(const struct vmct_oci_exec_opts *o, struct xproc *x, struct err **err)
{
	_cleanup_free_ char *u = NULL;
	char *colon;
	int r;

	if (o->caps && (r = add_caps(o->caps, &x->c, err)) < 0)
		return r;
	x->c.no_new_privs |= o->no_new_privs;

	for (size_t j = 0; o->env && o->env[j]; j++)
		if (!strchr(o->env[j], '=') || o->env[j][0] == '=')
			return err_make(err, 0, "--env `%s`: expected KEY=VALUE", o->env[j]);
	x->env = strv_env_merge(x->base_env, o->env);
	if (!x->env)
		return err_make(err, ENOMEM, "env");
	x->c.env = x->env;
	if (o->cwd && o->cwd[0] != '/')
		return err_make(err, 0, "--cwd `%s`: not an absolute path", o->cwd);
	x->c.cwd = o->cwd ? (char *)o->cwd : x->c.cwd;
	x->c.tty = x->c.tty || o->tty;
	if (!o->user)
		return 0;
	u = strdup(o->user);
	if (!u)
		return err_make(err, ENOMEM, "--user");
	colon = strchr(u, ':');
	if (colon)
		*colon = '\0';
	if (parse_id(u, &x->c.uid) < 0 || (colon && parse_id(colon + 1, &x->c.gid) < 0))
		return err_make(err, 0, "--user `%s`: expected numeric uid[:gid] in a VM container",
				o->user);
	if (!colon)
		x->c.gid = 0;
	return 0;
}

/* The container's seccomp filter (config.json: @spec, or read from @bundle): an exec's too. */
static int load_seccomp(const char *bundle, json_t *spec, struct xproc *x, struct err **err)
{
	_cleanup_json_ json_t *own = NULL;
	_cleanup_free_ char *cfg = NULL;
	int r;

	if (asprintf(&cfg, "%s/config.json", bundle) < 0)
		return err_make(err, ENOMEM, "config");
	if (!spec && (r = json_load_file_capped(AT_FDCWD, cfg, CT_CONFIG_MAX, &own, err)) < 0)
		return r;
	r = vmct_oci_load_seccomp(spec ? spec : own, &x->seccomp, &x->c, err);
	return r < 0 ? err_wrap(err, "`%s`", cfg) : 0;
}

/* --process FILE, else the container's process with args replaced; then the options. */
static int load(const struct vmct_oci_exec_opts *o, const char *bundle, struct xproc *x,
		struct err **err)
{
	_cleanup_free_ char *cfg = NULL;
	const char *path = o->process_file;
	size_t n = 0;
	int r;

	if (!path && asprintf(&cfg, "%s/config.json", bundle) < 0)
		return err_make(err, ENOMEM, "config");
	r = json_load_file_capped(AT_FDCWD, path ? path : cfg, CT_CONFIG_MAX, &x->json, err);
	if (r >= 0)
		r = vmct_oci_load_process(path ? x->json : json_object_get(x->json, "process"),
					  &x->c, err);
	x->own_argv = true;
	x->base_env = TAKE_PTR(x->c.env);
	if (r < 0)
		return err_wrap(err, "`%s`", path ? path : cfg);
	r = load_seccomp(bundle, path ? NULL : x->json, x, err);
	if (r < 0)
		return r;
	if (!path) {
		while (o->args && o->args[n])
			n++;
		if (!n || n >= VMCT_ARGS_MAX)
			return err_make(err, 0, "exec: no command, or more than %d args",
					VMCT_ARGS_MAX - 1);
		free(x->c.argv);
		x->c.argv = o->args;
		x->own_argv = false;
		/* The container's terminal is not the exec's: -t asks for one. */
		x->c.tty = false;
	}
	return apply_opts(o, x, err);
}

int vmct_oci_check_tty(bool tty, bool detach, const char *console_socket, struct err **err)
{
	if (tty && detach && !console_socket)
		return err_make(err, EINVAL,
				"cannot allocate tty if runc will detach without setting console "
				"socket");
	if (!tty && console_socket)
		return err_make(err, EINVAL,
				"cannot use console socket if runc will not allocate tty");
	return 0;
}

int vmct_oci_console(const char *console_socket, uint16_t rows, uint16_t cols, int *ret_slave,
		     struct err **err)
{
	_cleanup_close_ int master = -1, slave = -1, sock = -1;
	int unlock = 0, r;

	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return err_make(err, errno, "open /dev/ptmx");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return err_make(err, errno, "unlock the pty");
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return err_make(err, errno, "open the pty's peer");
	if (rows && cols)
		ioctl(slave, TIOCSWINSZ, &(struct winsize){.ws_row = rows, .ws_col = cols});
	r = ct_console_connect(console_socket, &sock, err);
	if (r >= 0)
		r = ct_console_send(sock, master, "/dev/ptmx", err);
	if (r < 0)
		return r;
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return err_make(err, errno, "make the pty the controlling terminal");
	*ret_slave = TAKE_FD(slave);
	return 0;
}

struct xmon {
	int sync;     /* to the parent: "R" once the agent has the process, or "E <why>" */
	pid_t parent; /* exec, which waits for "R" */
};

static void session_ready(void *arg)
{
	struct xmon *m = arg;

	/*
	 * From now on we outlive exec (an engine, a subreaper, reaps us): the
	 * death signal goes before "R", or exec's exit could still kill us.  An
	 * exec that died before it is gone for good: the session ends with us.
	 */
	prctl(PR_SET_PDEATHSIG, 0);
	if (getppid() != m->parent)
		_exit(STATUS_FAILED);
	write_all(m->sync, "R", 1);
	close(m->sync);
	m->sync = -1;
}

/* The process on our stdio, signals forwarded (all of them, as runc's exec does). */
static struct vmct_exec_opts stdio_opts(struct vmct_config *c)
{
	return (struct vmct_exec_opts){
	    .proc = c,
	    .in_fd = STDIN_FILENO,
	    .out_fd = STDOUT_FILENO,
	    .err_fd = STDERR_FILENO,
	    .forward_signals = true,
	    .relay_all_signals = true,
	};
}

/*
 * The exec monitor: our child; exits with the process's status.  null_stdio:
 * its stdio is /dev/null (an image container's exec -d: nothing attached).
 */
static __attribute__((noreturn)) void exec_monitor(const char *uds, struct vmct_config *c,
						   const char *console_socket, bool null_stdio,
						   int sync, pid_t parent)
{
	_cleanup_err_ struct err *err = NULL;
	struct xmon m = {.sync = 3, .parent = parent};
	struct vmct_exec_opts o = stdio_opts(c);
	int slave = -1, status = STATUS_FAILED, r = 0, null;

	o.session_ready = session_ready;
	o.hook_arg = &m;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent || setsid() < 0 ||
	    dup2(sync, 3) < 0)
		_exit(STATUS_FAILED);
	close_range(4, ~0u, 0);
	if (null_stdio) {
		/* Nothing attached, and no directory of the caller's kept busy. */
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
		    chdir("/") < 0)
			_exit(STATUS_FAILED);
		if (null > 2)
			close(null);
	}
	signal(SIGPIPE, SIG_IGN);
	if (c->tty)
		r = vmct_oci_console(console_socket, 0, 0, &slave, &err);
	if (r >= 0 && c->tty) {
		o.in_fd = o.out_fd = o.err_fd = slave;
		vmct_term_size(slave, &c->rows, &c->cols);
	}
	if (r >= 0)
		r = vmct_exec(uds, &o, &status, &err);
	if (r < 0 && m.sync >= 0)
		dprintf(m.sync, "E %s", err ? err->msg : "exec failed");
	else if (r < 0)
		dprintf(o.err_fd, "isola-vm: exec: %s\n", err ? err->msg : "exec failed");
	_exit(r < 0 ? STATUS_FAILED : status);
}

/* The exec monitor's "R", or its error; the monitor is reaped on failure. */
static int wait_ready(int fd, pid_t pid, struct err **err)
{
	char buf[SYNC_MAX];
	ssize_t len = spawn_read_report(fd, buf, sizeof(buf) - 1);

	buf[len > 0 ? len : 0] = '\0';
	if (len >= 1 && buf[0] == 'R')
		return 0;
	kill(pid, SIGKILL);
	spawn_reap(pid, NULL);
	if (len > 2 && buf[0] == 'E')
		return err_make(err, 0, "%s", buf + 2);
	return err_make(err, 0, "the exec's monitor ended before the process started");
}

struct monitor_args {
	const char *uds, *console_socket;
	struct vmct_config *c;
	bool null_stdio;
	pid_t parent;
};

static void monitor_child(void *arg, int fd)
{
	struct monitor_args *a = arg;

	exec_monitor(a->uds, a->c, a->console_socket, a->null_stdio, fd, a->parent);
}

/* Fork the exec monitor; *ret_pid once the agent has the process. */
static int spawn_monitor(const char *uds, struct vmct_config *c, const char *console_socket,
			 bool null_stdio, pid_t *ret_pid, struct err **err)
{
	struct monitor_args a = {.uds = uds,
				 .console_socket = console_socket,
				 .c = c,
				 .null_stdio = null_stdio,
				 .parent = getpid()};
	_cleanup_close_ int rd = -1;
	pid_t pid;
	int r;

	r = spawn_reporting(SPAWN_PIPE, monitor_child, &a, &pid, &rd, err);
	if (r >= 0)
		r = wait_ready(rd, pid, err);
	if (r < 0)
		return r;
	*ret_pid = pid;
	return 0;
}

/* In the foreground on our own stdio (a terminal on our stdin): we are the exec's pid. */
static int run_here(const char *uds, struct vmct_config *c, const char *pid_file, int *ret_status,
		    struct err **err)
{
	struct vmct_exec_opts o = stdio_opts(c);
	int r = 0;

	if (pid_file)
		r = ct_write_pid_file(pid_file, getpid(), err);
	if (r < 0)
		return r;
	if (c->tty)
		vmct_term_size(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, &c->rows,
			       &c->cols);
	signal(SIGPIPE, SIG_IGN);
	return vmct_exec(uds, &o, ret_status, err);
}

int vmct_exec_detached(const char *uds, struct vmct_config *c, pid_t *ret_pid, struct err **err)
{
	if (c->tty)
		return err_make(err, EINVAL, "a detached exec has no terminal to hold");
	return spawn_monitor(uds, c, NULL, true, ret_pid, err);
}

int vmct_oci_exec(const struct vmct_oci_exec_opts *o, int *ret_status, struct err **err)
{
	_cleanup_free_ char *uds = NULL, *bundle = NULL;
	struct xproc x = {};
	pid_t pid = 0;
	int r;

	r = vmct_oci_vsock(o->root, o->id, &uds, &bundle, err);
	if (r >= 0)
		r = load(o, bundle, &x, err);
	if (r >= 0)
		r = vmct_oci_check_tty(x.c.tty, o->detach, o->console_socket, err);
	if (r < 0)
		goto out;
	if (!o->detach && !o->console_socket) {
		r = run_here(uds, &x.c, o->pid_file, ret_status, err);
		goto out;
	}
	r = spawn_monitor(uds, &x.c, o->console_socket, false, &pid, err);
	if (r >= 0 && o->pid_file)
		r = ct_write_pid_file(o->pid_file, pid, err);
	if (r < 0 && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (r >= 0)
		*ret_status = o->detach ? 0 : ct_wait_forward(pid);
out:
	xproc_clear(&x);
	return r;
}
