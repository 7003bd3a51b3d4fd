/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exec: a helper joins the init's namespaces (after the parent put it in the
 * container's cgroup) and forks the process, so that it is inside the pid
 * namespace too; we are its subreaper and wait for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "container.h"
#include "fdutil.h"
#include "init.h"
#include "jsonutil.h"
#include "parse.h"
#include "state.h"
#include "strv.h"
#include "sync.h"

struct exec_ctx {
	const struct ct_exec_opts *o;
	struct ct_state st;
	struct ct_spec *spec;
	struct ct_process proc;
	json_t *proc_json, *caps_json;
	struct ct_init init;
	struct ct_cgroup *cg;
	struct ct_cgroup_join *join;
	int nsfd[CT_NS_COUNT];
	int rootfd; /* no mount namespace of its own: the init's root (it chroot()ed), or -1 */
	int sock[2];
	int console_rx;	       /* our end of the terminal socketpair, or -1 */
	enum ct_status status; /* when the state was read */
};

static int parse_user_opt(const char *s, struct ct_process *p, struct err **err)
{
	_cleanup_free_ char *c = strdup(s);
	char *colon = c ? strchr(c, ':') : NULL;
	uint32_t uid, gid = 0;

	if (!c)
		return err_make(err, ENOMEM, "--user");
	if (colon)
		*colon = 0;
	if (parse_id(c, &uid) < 0 || (colon && parse_id(colon + 1, &gid) < 0))
		return err_make(err, 0, "--user `%s`: expected uid[:gid], ids 0..4294967294", s);
	p->uid = uid;
	p->gid = gid;
	return 0;
}

/*
 * --additional-gids: added to the groups the process already has (the
 * config's, or none when --user names another user), as runc's exec does.
 */
static int add_groups(char *const *groups, struct ct_process *p, struct err **err)
{
	size_t n = 0;
	gid_t *g;

	while (groups[n])
		n++;
	if (n + p->n_additional_gids > 65536)
		return err_make(err, 0, "--additional-gids: more than 65536 groups");
	g = reallocarray(p->additional_gids, p->n_additional_gids + n, sizeof(gid_t));
	if (!g)
		return err_make(err, ENOMEM, "--additional-gids");
	p->additional_gids = g;
	for (size_t i = 0; i < n; i++) {
		uint32_t gid;

		if (parse_id(groups[i], &gid) < 0)
			return err_make(err, 0,
					"--additional-gids `%s`: expected a gid, 0..4294967294",
					groups[i]);
		g[p->n_additional_gids++] = gid;
	}
	return 0;
}

/* --cap X adds X to every set, as runc does. */
static int add_caps(struct exec_ctx *c, struct err **err)
{
	static const char *const sets[] = {"bounding", "effective", "permitted", "ambient"};
	json_t *caps;

	caps = c->proc.capabilities ? json_deep_copy(c->proc.capabilities) : json_object();
	if (!caps)
		return err_make(err, ENOMEM, "--cap");
	c->caps_json = caps;
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		json_t *a = json_object_get(caps, sets[i]);

		if (!a) {
			a = json_array();
			json_object_set_new(caps, sets[i], a);
		}
		for (size_t k = 0; c->o->caps[k]; k++)
			json_array_append_new(a, json_string(c->o->caps[k]));
	}
	c->proc.capabilities = caps;
	return 0;
}

/*
 * What the container's process has and an exec'd one keeps, as runc's exec:
 * rlimits (else RLIMIT_NPROC and the rest are the caller's), oomScoreAdj,
 * ioPriority, and the supplementary groups unless --user names another user.
 */
static int inherit_limits(const struct ct_process *base, struct ct_process *p, bool groups,
			  struct err **err)
{
	p->has_oom_score_adj = base->has_oom_score_adj;
	p->oom_score_adj = base->oom_score_adj;
	p->io_priority = base->io_priority;
	if (base->n_rlimits) {
		p->rlimits = calloc(base->n_rlimits, sizeof(*p->rlimits));
		if (!p->rlimits)
			return err_make(err, ENOMEM, "rlimits");
		memcpy(p->rlimits, base->rlimits, base->n_rlimits * sizeof(*p->rlimits));
		p->n_rlimits = base->n_rlimits;
	}
	if (groups && base->n_additional_gids) {
		p->additional_gids = calloc(base->n_additional_gids, sizeof(gid_t));
		if (!p->additional_gids)
			return err_make(err, ENOMEM, "additionalGids");
		memcpy(p->additional_gids, base->additional_gids,
		       base->n_additional_gids * sizeof(gid_t));
		p->n_additional_gids = base->n_additional_gids;
	}
	return 0;
}

static int process_from_opts(struct exec_ctx *c, struct err **err)
{
	const struct ct_exec_opts *o = c->o;
	const struct ct_process *base = &c->spec->process;
	struct ct_process *p = &c->proc;
	int r;

	*p = (struct ct_process){.uid = base->uid,
				 .gid = base->gid,
				 .cwd = o->cwd ? o->cwd : base->cwd,
				 .capabilities = base->capabilities,
				 .terminal = o->tty,
				 .no_new_privileges = base->no_new_privileges || o->no_new_privs,
				 .umask = base->umask,
				 .has_umask = base->has_umask};
	for (size_t i = 0; o->args && o->args[i]; i++)
		if (strv_push(&p->args, o->args[i]) < 0)
			return err_make(err, ENOMEM, "args");
	for (size_t i = 0; base->env && base->env[i]; i++)
		if (strv_push(&p->env, base->env[i]) < 0)
			return err_make(err, ENOMEM, "env");
	/* --env replaces the same key (runc's exec keeps the last value of each). */
	for (size_t i = 0; o->env && o->env[i]; i++)
		if (strv_env_set(&p->env, o->env[i]) < 0)
			return err_make(err, ENOMEM, "env");
	if (!p->args)
		return err_make(err, 0, "exec: no command given");
	if (p->cwd[0] != '/')
		return err_make(err, 0, "--cwd `%s`: not an absolute path", p->cwd);
	if (o->user && (r = parse_user_opt(o->user, p, err)) < 0)
		return r;
	if ((r = inherit_limits(base, p, !o->user, err)) < 0)
		return r;
	return o->groups ? add_groups(o->groups, p, err) : 0;
}

static int load_process(struct exec_ctx *c, struct err **err)
{
	int r;

	r = ct_spec_load(c->st.bundle, &c->spec, err);
	if (r < 0)
		return r;
	if (c->o->process_file) {
		r = json_load_file_capped(AT_FDCWD, c->o->process_file, CT_CONFIG_MAX,
					  &c->proc_json, err);
		if (r < 0)
			return r;
		r = ct_process_parse(c->proc_json, c->o->process_file, &c->proc, err);
	} else {
		r = process_from_opts(c, err);
	}
	if (r < 0)
		return r;
	if (c->o->caps && c->o->caps[0] && (r = add_caps(c, err)) < 0)
		return r;
	if (c->proc.terminal && !c->o->console_socket && c->o->detach)
		return err_make(err, 0,
				"exec --tty --detach needs --console-socket (without --detach the "
				"terminal is relayed)");
	if ((r = ct_caps_parse(c->proc.capabilities, "process.capabilities", &c->init.caps, err)) <
		0 ||
	    (r = ct_caps_check_bounding(&c->init.caps, "process.capabilities", err)) < 0 ||
	    (r = ct_seccomp_prepare_root(c->o->root, c->spec->seccomp, &c->init.seccomp, err)) < 0)
		return r;
	c->init.spec = c->spec;
	c->init.proc = &c->proc;
	c->init.in_userns = c->spec->ns[CT_NS_USER].enabled;
	c->init.no_new_keyring = true;
	c->init.preserve_fds = c->o->preserve_fds;
	return 0;
}

static const char *const ns_files[CT_NS_COUNT] = {
    [CT_NS_USER] = "user", [CT_NS_PID] = "pid",	      [CT_NS_NET] = "net",   [CT_NS_IPC] = "ipc",
    [CT_NS_UTS] = "uts",   [CT_NS_CGROUP] = "cgroup", [CT_NS_TIME] = "time", [CT_NS_MNT] = "mnt",
};

/*
 * Open the init's namespaces that differ from ours.  A kind this kernel lacks
 * (no /proc/self/ns/KIND) is skipped; any other failure is an error, never a
 * namespace left unjoined.  Until its execve the init is not dumpable, so
 * /proc/PID/ns/ is root's only: a rootless caller reaches it once the
 * container has started.
 */
static int open_namespaces(struct exec_ctx *c, struct err **err)
{
	for (int t = 0; t < CT_NS_COUNT; t++) {
		char path[64], self[64];
		struct stat a, b;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", c->st.pid, ns_files[t]);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", ns_files[t]);
		if (stat(self, &b) < 0) {
			if (errno == ENOENT)
				continue;
			return err_make(err, errno, "stat `%s`", self);
		}
		if (stat(path, &a) < 0) {
			if ((errno == ENOENT || errno == ESRCH) && !ct_state_alive(&c->st))
				return err_make(err, 0, "container `%s`: its init has ended",
						c->o->id);
			if ((errno == EACCES || errno == EPERM) && c->status == CT_CREATED)
				return err_make(err, errno,
						"container `%s` has not started: its namespaces "
						"(`%s`) are open to root only until it does",
						c->o->id, path);
			return err_make(err, errno, "stat `%s`", path);
		}
		if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		c->nsfd[t] = open(path, O_RDONLY | O_CLOEXEC);
		if (c->nsfd[t] < 0)
			return err_make(err, errno, "open `%s`", path);
	}
	/*
	 * Without a mount namespace of its own (none, or one joined by path) the
	 * init chroot()ed into the rootfs: the namespace's root is the host's, or
	 * whatever the joined one's is, so the process goes where the init is.
	 * The init's namespace being ours says so too, whatever config.json
	 * says now.
	 */
	if (!c->spec->ns[CT_NS_MNT].enabled || c->spec->ns[CT_NS_MNT].path ||
	    c->nsfd[CT_NS_MNT] < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/root", c->st.pid);
		c->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c->rootfd < 0)
			return err_make(err, errno, "open `%s`", path);
	}
	/*
	 * The pid was the init's (start time) before; still the init's now, so
	 * the namespaces and root opened in between are its, not those of a
	 * process that reused the pid after the init ended.
	 */
	if (!ct_state_alive(&c->st))
		return err_make(err, 0, "container `%s`: its init ended while exec joined it",
				c->o->id);
	return 0;
}

static int helper_join(struct exec_ctx *c, struct err **err)
{
	if (c->nsfd[CT_NS_USER] >= 0) {
		if (setns(c->nsfd[CT_NS_USER], CLONE_NEWUSER) < 0)
			return err_make(err, errno, "join the user namespace");
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return err_make(err, errno, "become root in the user namespace");
	}
	for (int t = 0; t < CT_NS_COUNT; t++)
		if (t != CT_NS_USER && c->nsfd[t] >= 0 && setns(c->nsfd[t], 0) < 0)
			return err_make(err, errno, "join the %s namespace", ns_files[t]);
	if (c->rootfd >= 0) {
		if (fchdir(c->rootfd) < 0 || chroot(".") < 0)
			return err_make(err, errno, "enter the container's root");
		close(c->rootfd);
		c->rootfd = -1;
	}
	return 0;
}

__attribute__((noreturn)) static void exec_process(struct exec_ctx *c)
{
	_cleanup_err_ struct err *err = NULL;
	int fd = c->sock[1];

	if (ct_close_inherited_fds(&c->init, fd, -1, &err) < 0 ||
	    ct_session_setup(&c->proc, c->init.console_fd, false, &err) < 0 ||
	    ct_process_find_exec(&c->proc, &c->init.exec_path, &err) < 0 ||
	    ct_process_setup_privileged(&c->init, &err) < 0)
		ct_sync_fail(fd, &err);
	if (c->init.console_fd >= 0)
		close(c->init.console_fd);
	ct_process_exec(&c->init, &err);
	ct_sync_fail(fd, &err);
}

__attribute__((noreturn)) static void helper_main(struct exec_ctx *c)
{
	_cleanup_err_ struct err *err = NULL;
	pid_t pid;

	close(c->sock[0]);
	/*
	 * Not dumpable until the process's execve: the container's root could
	 * otherwise ptrace it, once it is in the PID namespace, before its
	 * capabilities drop and its seccomp filter loads (runc: CVE-2016-9962).
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(EXIT_FAILURE);
	if ((c->join && ct_cgroup_join_self(c->join, &err) < 0) ||
	    ct_sync_recv(c->sock[1], CT_SYNC_GO, NULL, &err) < 0 || helper_join(c, &err) < 0)
		ct_sync_fail(c->sock[1], &err);
	pid = fork();
	if (pid < 0) {
		err_make(&err, errno, "fork");
		ct_sync_fail(c->sock[1], &err);
	}
	if (pid == 0)
		exec_process(c);
	{
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%d", pid);

		ct_sync_send(c->sock[1], CT_SYNC_READY, buf, n + 1);
	}
	_exit(0);
}

/* Fork the helper, place it in the cgroup, and learn the process's pid. */
static int spawn(struct exec_ctx *c, pid_t *ret_pid, struct err **err)
{
	_cleanup_free_ char *pidstr = NULL;
	pid_t helper;
	int pid, r, w, status;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->sock) < 0)
		return err_make(err, errno, "socketpair");
	if (c->cg && (r = ct_cgroup_join_open(c->cg, &c->join, err)) < 0)
		return r;
	helper = ct_cgroup_join_clone(c->join, 0);
	if (helper < 0)
		return err_make(err, errno, "fork");
	if (helper == 0)
		helper_main(c);
	close(c->sock[1]);
	c->sock[1] = -1;
	r = c->join ? ct_cgroup_join_finish(c->join, helper, err) : 0;
	/* A helper that failed before GO (joining its cgroup) queued why: read below. */
	if (r >= 0 && (w = ct_sync_send(c->sock[0], CT_SYNC_GO, NULL, 0)) < 0 && w != -EPIPE &&
	    w != -ECONNRESET)
		r = err_make(err, -w, "sync");
	if (r >= 0)
		r = ct_sync_recv(c->sock[0], CT_SYNC_READY, &pidstr, err);
	if (r < 0)
		kill(helper, SIGKILL);
	waitpid(helper, &status, 0);
	if (r < 0)
		return r;
	if (parse_int(pidstr, &pid) < 0)
		return err_make(err, EPROTO, "exec: bad pid from helper");
	*ret_pid = pid;
	/* EOF once the process has exec'ed (the socket is close-on-exec). */
	r = ct_sync_recv(c->sock[0], 0, NULL, err);
	if (r == -EPIPE) {
		err_free(err);
		return 0;
	}
	if (r < 0)
		waitpid(pid, NULL, 0);
	return r < 0 ? r : err_make(err, EPROTO, "exec: unexpected message");
}

static int read_state(struct exec_ctx *c, struct err **err)
{
	_cleanup_close_ int dirfd = -1;
	enum ct_status status;
	int r;

	r = ct_state_open_dir(c->o->root, c->o->id, &dirfd, err);
	if (r < 0)
		return r;
	r = ct_state_read(dirfd, c->o->id, &c->st, err);
	if (r < 0)
		return r;
	status = c->status = ct_state_status(dirfd, &c->st);
	/* Its pid is a host process (the VM's monitor): entering it would be the host. */
	if (ct_state_is_vm(dirfd))
		return err_make(err, 0,
				"container `%s`: exec into a VM container is not supported yet",
				c->o->id);
	/* runc's words: a process joining a frozen cgroup waits, frozen, for resume. */
	if (status == CT_PAUSED && !c->o->ignore_paused)
		return err_make(
		    err, 0, "cannot exec in a paused container (use --ignore-paused to override)");
	if (status != CT_RUNNING && status != CT_CREATED && status != CT_PAUSED)
		return err_make(err, 0, "cannot exec in a %s container", ct_status_name(status));
	if (c->st.cgroup && (r = ct_cgroup_from_json(c->st.cgroup, &c->cg, err)) < 0)
		return r;
	return 0;
}

static int do_exec(struct exec_ctx *c, int *ret_status, struct err **err)
{
	const struct ct_exec_opts *o = c->o;
	pid_t pid = 0;
	int r;

	if ((r = read_state(c, err)) < 0 || (r = load_process(c, err)) < 0 ||
	    (r = open_namespaces(c, err)) < 0)
		return r;
	if (c->proc.terminal && o->console_socket &&
	    (r = ct_console_connect(o->console_socket, &c->init.console_fd, err)) < 0)
		return r;
	/* No socket: the process sends the master to us and we relay it. */
	if (c->proc.terminal && !o->console_socket) {
		int sp[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
			return err_make(err, errno, "socketpair for the terminal");
		c->console_rx = sp[0];
		c->init.console_fd = sp[1];
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return err_make(err, errno, "PR_SET_CHILD_SUBREAPER");
	r = spawn(c, &pid, err);
	if (r < 0)
		return r;
	if (o->pid_file && (r = ct_write_pid_file(o->pid_file, pid, err)) < 0)
		return r;
	if (c->console_rx >= 0) {
		_cleanup_close_ int master = -1;

		if ((r = ct_console_recv(c->console_rx, &master, err)) < 0)
			return r;
		*ret_status = ct_console_relay(master, pid, STDIN_FILENO, STDOUT_FILENO);
		return 0;
	}
	*ret_status = o->detach ? 0 : ct_wait_forward(pid);
	return 0;
}

int ct_exec(const struct ct_exec_opts *o, int *ret_status, struct err **err)
{
	struct exec_ctx c = {.o = o, .rootfd = -1, .sock = {-1, -1}, .console_rx = -1};
	int r;

	for (int t = 0; t < CT_NS_COUNT; t++)
		c.nsfd[t] = -1;
	c.init.console_fd = -1;
	c.init.exec_fifo_fd = -1;
	r = do_exec(&c, ret_status, err);
	for (int t = 0; t < CT_NS_COUNT; t++)
		if (c.nsfd[t] >= 0)
			close(c.nsfd[t]);
	if (c.rootfd >= 0)
		close(c.rootfd);
	for (int i = 0; i < 2; i++)
		if (c.sock[i] >= 0)
			close(c.sock[i]);
	if (c.init.console_fd >= 0)
		close(c.init.console_fd);
	if (c.console_rx >= 0)
		close(c.console_rx);
	free(c.init.exec_path);
	ct_seccomp_free(c.init.seccomp);
	ct_cgroup_join_free(c.join);
	ct_cgroup_free(c.cg);
	ct_process_clear(&c.proc);
	json_decref(c.proc_json);
	json_decref(c.caps_json);
	ct_spec_free(c.spec);
	ct_state_clear(&c.st);
	return r;
}
