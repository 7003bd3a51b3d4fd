/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * create: parse and prepare in the parent, clone the init with its
 * namespaces, write its id maps and cgroup from outside, let it build its
 * root, and return once it blocks on the exec fifo that `start` opens.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "container.h"
#include "fdutil.h"
#include "hooks.h"
#include "init.h"
#include "jsonutil.h"
#include "state.h"
#include "strv.h"
#include "sync.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct create_ctx {
	const struct ct_create_opts *o;
	struct ct_spec *spec;
	struct ct_init init;
	struct ct_state st;
	struct ct_cgroup *cg;
	struct ct_cgroup_join *join;
	int dirfd, fifo_fd, sock[2], console_rx;
	pid_t pid;
	int clone_flags, unshare_flags;
};

/* ---- child ---- */

static int join_namespaces(const struct ct_spec *s, bool user, struct err **err)
{
	for (int t = 0; t < CT_NS_COUNT; t++) {
		_cleanup_close_ int fd = -1;

		if (!s->ns[t].enabled || !s->ns[t].path || (t == CT_NS_USER) != user ||
		    t == CT_NS_PID || t == CT_NS_TIME)
			continue;
		fd = open(s->ns[t].path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return err_make(err, errno, "open %s namespace `%s`", ct_ns_name(t),
					s->ns[t].path);
		if (setns(fd, ct_ns_clone_flag(t)) < 0)
			return err_make(err, errno, "join %s namespace `%s`", ct_ns_name(t),
					s->ns[t].path);
	}
	return 0;
}

static int child_namespaces(struct create_ctx *c, struct err **err)
{
	const struct ct_spec *s = c->spec;
	int r;

	r = join_namespaces(s, true, err);
	if (r < 0)
		return r;
	if (s->ns[CT_NS_USER].enabled) {
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return err_make(err, errno, "become root in the user namespace");
	}
	r = join_namespaces(s, false, err);
	if (r < 0)
		return r;
	if (c->unshare_flags && unshare(c->unshare_flags) < 0)
		return err_make(err, errno, "unshare namespaces");
	if (s->hostname && s->ns[CT_NS_UTS].enabled &&
	    sethostname(s->hostname, strlen(s->hostname)) < 0)
		return err_make(err, errno, "sethostname");
	if (s->domainname && s->ns[CT_NS_UTS].enabled &&
	    setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return err_make(err, errno, "setdomainname");
	return 0;
}

static int child_setup(struct create_ctx *c, char **state_json, struct err **err)
{
	const struct ct_spec *s = c->spec;
	int fd = c->sock[1], r;

	r = ct_sync_recv(fd, CT_SYNC_GO, NULL, err);
	if (r < 0)
		return r;
	/*
	 * Not dumpable from here to the execve (which makes it dumpable again):
	 * a process of a namespace joined below could otherwise ptrace the init
	 * while it still has the runtime's privileges and no seccomp filter
	 * (runc: CVE-2016-9962).  After GO: the parent has written the ID maps
	 * (a non-dumpable process's /proc files are root's, out of a rootless
	 * parent's reach).
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return err_make(err, errno, "PR_SET_DUMPABLE");
	if ((r = child_namespaces(c, err)) < 0)
		return r;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if ((r = ct_rootfs_prepare(&c->init, err)) < 0)
		return r;
	if (ct_sync_send(fd, CT_SYNC_HOOKS, NULL, 0) < 0)
		return err_make(err, errno, "sync");
	r = ct_sync_recv(fd, CT_SYNC_HOOKS_DONE, state_json, err);
	if (r < 0)
		return r;
	if ((r = ct_hooks_run(s->hooks, CT_HOOK_CREATE_CONTAINER, *state_json, NULL, err)) < 0 ||
	    (r = ct_rootfs_pivot(&c->init, err)) < 0)
		return r;
	if ((r = ct_session_setup(&s->process, c->init.console_fd, !c->init.shared_mntns, err)) < 0)
		return r;
	if ((r = ct_rootfs_finish(&c->init, err)) < 0 ||
	    (r = ct_process_find_exec(&s->process, &c->init.exec_path, err)) < 0 ||
	    (r = ct_process_setup_privileged(&c->init, err)) < 0)
		return r;
	return 0;
}

/*
 * Tell `start` why the process could not be run: the message goes down the
 * exec fifo (start reads it after the first byte), then the init exits.
 */
__attribute__((noreturn)) static void child_exec_failed(int fifo, struct err *err)
{
	const char *msg = err ? err->msg : "exec failed";

	if (fifo < 0 || write(fifo, msg, strlen(msg)) < 0)
		fprintf(stderr, "isola: %s\n", msg);
	_exit(127);
}

/*
 * Block until `start` opens the fifo, write one byte, then run the
 * startContainer hooks and the process.  The fifo stays open (O_CLOEXEC)
 * until execve closes it: `start` returns once it sees the end of file, so
 * the user's program is running by then (runtime-spec: poststart after the
 * process started), and a failure before execve reaches `start` as text.
 */
__attribute__((noreturn)) static void child_main(struct create_ctx *c)
{
	_cleanup_free_ char *state_json = NULL;
	_cleanup_err_ struct err *err = NULL;
	char path[64];
	int fd;

	/* Until its execve: what `state` takes for an init still waiting (state.c). */
	prctl(PR_SET_NAME, CT_INIT_COMM, 0, 0, 0);
	/* The flock lives on the open file: the parent's unlock must not wait for us. */
	close(c->dirfd);
	close(c->sock[0]);
	/* If the runtime dies mid-create, so do we (a credential change clears it). */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if ((c->join && ct_cgroup_join_self(c->join, &err) < 0) ||
	    ct_close_inherited_fds(&c->init, c->sock[1], c->fifo_fd, &err) < 0 ||
	    child_setup(c, &state_json, &err) < 0)
		ct_sync_fail(c->sock[1], &err);
	if (c->init.console_fd >= 0)
		close(c->init.console_fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->fifo_fd);
	/* Created: from now on we outlive `isola create`. */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (ct_sync_send(c->sock[1], CT_SYNC_READY, NULL, 0) < 0)
		_exit(1);
	close(c->sock[1]);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		fprintf(stderr, "isola: open exec fifo: %m\n");
		_exit(1);
	}
	close(c->fifo_fd);
	c->init.exec_fifo_fd = fd;
	if (ct_hooks_run(c->spec->hooks, CT_HOOK_START_CONTAINER, state_json, NULL, &err) >= 0)
		ct_process_exec(&c->init, &err);
	child_exec_failed(fd, err);
}

/* ---- parent ---- */

static int write_idmap(pid_t pid, const char *file, const struct ct_idmap *m, size_t n,
		       struct err **err)
{
	char path[64], buf[340 * 40];
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id,
				m[i].host_id, m[i].size);
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	return write_file_at(AT_FDCWD, path, buf, err);
}

/* Unprivileged, the kernel takes a gid_map only after setgroups is denied. */
static int deny_setgroups(pid_t pid, struct err **err)
{
	char path[64];

	if (geteuid() == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
	return write_file_at(AT_FDCWD, path, "deny", err);
}

/*
 * Unprivileged, the kernel lets us map only our own id: more (subordinate
 * ranges) goes through newuidmap/newgidmap, which check /etc/subuid and
 * /etc/subgid.  setgroups is denied only when we write the gid map ourselves.
 */
static int write_idmaps(struct create_ctx *c, struct err **err)
{
	const struct ct_spec *s = c->spec;
	bool unpriv = geteuid() != 0;
	int r;

	if (unpriv && ct_idmap_needs_helper(s->uid_maps, s->n_uid_maps, geteuid()))
		r = ct_idmap_write_helper(c->pid, false, s->uid_maps, s->n_uid_maps, err);
	else
		r = write_idmap(c->pid, "uid_map", s->uid_maps, s->n_uid_maps, err);
	if (r < 0)
		return r;
	if (unpriv && ct_idmap_needs_helper(s->gid_maps, s->n_gid_maps, getegid()))
		return ct_idmap_write_helper(c->pid, true, s->gid_maps, s->n_gid_maps, err);
	if ((r = deny_setgroups(c->pid, err)) < 0)
		return r;
	return write_idmap(c->pid, "gid_map", s->gid_maps, s->n_gid_maps, err);
}

static int set_time_offsets(const struct ct_spec *s, struct err **err)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "monotonic %lld %lld\nboottime %lld %lld\n",
		 (long long)s->time_offsets[0][0], (long long)s->time_offsets[0][1],
		 (long long)s->time_offsets[1][0], (long long)s->time_offsets[1][1]);
	return write_file_at(AT_FDCWD, "/proc/self/timens_offsets", buf, err);
}

static int join_by_path(const struct ct_namespace *ns, int flag, struct err **err)
{
	_cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, flag) < 0)
		return err_make(err, errno, "join namespace `%s`", ns->path);
	return 0;
}

/* A sysctl's namespace joined by path must not be the runtime's own (the host's). */
static int check_sysctl_namespaces(const struct ct_spec *s, struct err **err)
{
	for (size_t i = 0; s->sysctl && s->sysctl[i]; i += 2) {
		int t = ct_sysctl_namespace(s->sysctl[i]);
		char self[64];
		struct stat a, b;

		if (t < 0 || !s->ns[t].path)
			continue;
		snprintf(self, sizeof(self), "/proc/self/ns/%s",
			 t == CT_NS_NET ? "net" : ct_ns_name(t));
		if (stat(s->ns[t].path, &a) == 0 && stat(self, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return err_make(
			    err, EPERM,
			    "config.json: linux.sysctl.%s: the %s namespace `%s` is the "
			    "host's",
			    s->sysctl[i], ct_ns_name(t), s->ns[t].path);
	}
	return 0;
}

/* pid and time namespaces apply to children: set them up here, before clone. */
static int plan_namespaces(struct create_ctx *c, struct err **err)
{
	const struct ct_spec *s = c->spec;
	bool user_joined = s->ns[CT_NS_USER].enabled && s->ns[CT_NS_USER].path;
	int r;

	for (int t = 0; t < CT_NS_COUNT; t++) {
		if (!s->ns[t].enabled || s->ns[t].path || t == CT_NS_TIME)
			continue;
		if (t == CT_NS_PID || (t == CT_NS_USER) || (!user_joined && t != CT_NS_CGROUP))
			c->clone_flags |= ct_ns_clone_flag(t);
		else
			c->unshare_flags |= ct_ns_clone_flag(t);
	}
	if (s->ns[CT_NS_PID].enabled && s->ns[CT_NS_PID].path &&
	    (r = join_by_path(&s->ns[CT_NS_PID], CLONE_NEWPID, err)) < 0)
		return r;
	if (s->ns[CT_NS_TIME].enabled && s->ns[CT_NS_TIME].path)
		return join_by_path(&s->ns[CT_NS_TIME], CLONE_NEWTIME, err);
	if (s->ns[CT_NS_TIME].enabled) {
		if (unshare(CLONE_NEWTIME) < 0)
			return err_make(err, errno, "create a time namespace");
		if (s->has_time_offsets)
			return set_time_offsets(s, err);
	}
	return 0;
}

/*
 * prestart and createRuntime get the state with status "created", as crun
 * gives it: the runtime environment exists and the init waits for `start`
 * (runtime-spec 1.1 leaves the value open; see docs/runtime.md).
 */
static int run_runtime_hooks(struct create_ctx *c, char **ret_json, struct err **err)
{
	_cleanup_free_ char *json = ct_state_oci_string(&c->st, CT_CREATED);
	int r;

	if (!json)
		return err_make(err, ENOMEM, "state");
	if ((r = ct_hooks_run(c->spec->hooks, CT_HOOK_PRESTART, json, c->st.bundle, err)) < 0 ||
	    (r = ct_hooks_run(c->spec->hooks, CT_HOOK_CREATE_RUNTIME, json, c->st.bundle, err)) < 0)
		return r;
	*ret_json = TAKE_PTR(json);
	return 0;
}

static int parent_sync(struct create_ctx *c, struct err **err)
{
	const struct ct_spec *s = c->spec;
	_cleanup_free_ char *json = NULL;
	int fd = c->sock[0], r;

	if (s->ns[CT_NS_USER].enabled && !s->ns[CT_NS_USER].path && (r = write_idmaps(c, err)) < 0)
		return r;
	if (c->join && (r = ct_cgroup_join_finish(c->join, c->pid, err)) < 0)
		return r;
	c->st.pid = c->pid;
	/* A child that failed before GO (joining its cgroup) queued why: read below. */
	r = ct_sync_send(fd, CT_SYNC_GO, NULL, 0);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return err_make(err, -r, "sync with the container process");
	if ((r = ct_sync_recv(fd, CT_SYNC_HOOKS, NULL, err)) < 0 ||
	    (r = run_runtime_hooks(c, &json, err)) < 0)
		return r;
	if (ct_sync_send(fd, CT_SYNC_HOOKS_DONE, json, strlen(json) + 1) < 0)
		return err_make(err, errno, "sync with the container process");
	return ct_sync_recv(fd, CT_SYNC_READY, NULL, err);
}

static int spawn_init(struct create_ctx *c, struct err **err)
{
	int r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->sock) < 0)
		return err_make(err, errno, "socketpair");
	r = plan_namespaces(c, err);
	if (r < 0)
		return r;
	if (c->cg && (r = ct_cgroup_join_open(c->cg, &c->join, err)) < 0)
		return r;
	c->pid = ct_cgroup_join_clone(c->join, (unsigned long)c->clone_flags);
	if (c->pid < 0)
		return err_make(err, errno, "clone the container process");
	if (c->pid == 0)
		child_main(c);
	close(c->sock[1]);
	c->sock[1] = -1;
	c->st.start_time = ct_proc_start_time(c->pid);
	return parent_sync(c, err);
}

/* root.path: absolute, or relative to the bundle and then not escaping it. */
static int resolve_rootfs(const char *bundle, const char *root_path, char **ret, struct err **err)
{
	_cleanup_free_ char *joined = NULL;
	char real[PATH_MAX];
	struct stat st;
	size_t n = strlen(bundle);

	if (root_path[0] == '/')
		joined = strdup(root_path);
	else if (asprintf(&joined, "%s/%s", bundle, root_path) < 0)
		joined = NULL;
	if (!joined)
		return err_make(err, ENOMEM, "rootfs");
	if (!realpath(joined, real))
		return err_make(err, errno, "config.json: root.path: `%s`", joined);
	if (root_path[0] != '/' && (strncmp(real, bundle, n) != 0 || (real[n] != '/' && real[n])))
		return err_make(err, EXDEV,
				"config.json: root.path: `%s` resolves to `%s`, outside the bundle",
				root_path, real);
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_make(err, ENOTDIR, "config.json: root.path: `%s` is not a directory",
				real);
	*ret = strdup(real);
	return *ret ? 0 : err_make(err, ENOMEM, "rootfs");
}

/*
 * Without a new mount namespace (none listed: the caller's; or one joined by
 * path) the container shares mounts with others: isola chroots into the
 * rootfs and mounts nothing there, since every mount (and pivot_root) would
 * change that namespace for its other users.  What needs mounts is refused.
 */
static int check_shared_mntns(const struct ct_spec *s, struct err **err)
{
	const char *what = NULL;

	if (s->ns[CT_NS_MNT].enabled && !s->ns[CT_NS_MNT].path)
		return 0;
	if (s->n_mounts)
		what = "mounts";
	else if (s->masked_paths && s->masked_paths[0])
		what = "linux.maskedPaths";
	else if (s->readonly_paths && s->readonly_paths[0])
		what = "linux.readonlyPaths";
	else if (s->root_readonly)
		what = "root.readonly";
	else if (s->sysctl && s->sysctl[0])
		what = "linux.sysctl";
	else if (s->n_devices)
		what = "linux.devices";
	if (!what)
		return 0;
	return err_make(err, 0,
			"config.json: %s: needs a new mount namespace (linux.namespaces %s)", what,
			s->ns[CT_NS_MNT].enabled ? "joins one by path" : "has no \"mount\"");
}

/* Socket activation, as runc: the process learns of the fds as its own (pid 1's). */
static int add_listen_env(struct ct_process *p, int n, struct err **err)
{
	char kv[32];

	if (n <= 0)
		return 0;
	snprintf(kv, sizeof(kv), "LISTEN_FDS=%d", n);
	if (strv_env_set(&p->env, kv) < 0 || strv_env_set(&p->env, "LISTEN_PID=1") < 0)
		return err_make(err, ENOMEM, "process.env");
	return 0;
}

static int prepare(struct create_ctx *c, struct err **err)
{
	const struct ct_create_opts *o = c->o;
	char real[PATH_MAX];
	int r;

	if ((r = ct_id_validate(o->id, err)) < 0)
		return r;
	if (!realpath(o->bundle ? o->bundle : ".", real))
		return err_make(err, errno, "bundle `%s`", o->bundle ? o->bundle : ".");
	c->st.bundle = strdup(real);
	c->st.id = strdup(o->id);
	c->st.created = ct_now_rfc3339();
	c->st.owner = strdup("");
	if (!c->st.bundle || !c->st.id || !c->st.created || !c->st.owner)
		return err_make(err, ENOMEM, "state");
	if ((r = ct_spec_load(real, &c->spec, err)) < 0)
		return r;
	if (!c->spec->has_process)
		return err_make(err, 0, "config.json: process: missing");
	if ((r = add_listen_env(&c->spec->process, o->listen_fds, err)) < 0 ||
	    (r = check_sysctl_namespaces(c->spec, err)) < 0)
		return r;
	if ((r = resolve_rootfs(real, c->spec->root_path, &c->st.rootfs, err)) < 0)
		return r;
	if ((r = ct_caps_parse(c->spec->process.capabilities, "config.json: process.capabilities",
			       &c->init.caps, err)) < 0 ||
	    (r = ct_caps_check_bounding(&c->init.caps, "config.json: process.capabilities", err)) <
		0 ||
	    (r = ct_seccomp_prepare_root(c->o->root, c->spec->seccomp, &c->init.seccomp, err)) < 0)
		return r;
	if ((r = check_shared_mntns(c->spec, err)) < 0)
		return r;
	if (c->spec->process.terminal && !o->console_socket && !o->ret_console)
		return err_make(
		    err, 0,
		    "config.json: process.terminal: needs --console-socket (or `run` in "
		    "the foreground, which relays the terminal itself)");
	c->init.spec = c->spec;
	c->init.proc = &c->spec->process;
	c->init.rootfs = c->st.rootfs;
	c->init.no_pivot = o->no_pivot;
	c->init.no_new_keyring = o->no_new_keyring;
	c->init.in_userns = c->spec->ns[CT_NS_USER].enabled;
	c->init.shared_mntns = !c->spec->ns[CT_NS_MNT].enabled || c->spec->ns[CT_NS_MNT].path;
	c->init.preserve_fds = o->listen_fds + o->preserve_fds;
	c->st.annotations = json_incref(c->spec->annotations);
	c->st.hooks = json_incref(c->spec->hooks);
	return 0;
}

/* Write @pid to @path (relative paths from the cwd) atomically, as runc does. */
int ct_write_pid_file(const char *path, pid_t pid, struct err **err)
{
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_close_ int dfd = -1;
	const char *name;
	char buf[32], *slash;
	int n = snprintf(buf, sizeof(buf), "%d", pid);

	if (!dir)
		return err_make(err, ENOMEM, "pid file `%s`", path);
	slash = strrchr(dir, '/');
	name = slash ? path + (slash - dir) + 1 : path;
	if (slash)
		*slash = 0;
	dfd = open(slash ? (*dir ? dir : "/") : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_make(err, errno, "open the directory of pid file `%s`", path);
	return write_file_atomic_at(dfd, name, buf, n, 0644, err);
}

/* Root of the host's user namespace (runc's RunningInUserNS, inverted). */
static bool host_root(void)
{
	_cleanup_free_ char *map = NULL;
	unsigned long a, b, n;

	if (geteuid() != 0 ||
	    read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, NULL, NULL) < 0)
		return false;
	return sscanf(map, "%lu %lu %lu", &a, &b, &n) == 3 && a == 0 && b == 0 && n == 4294967295UL;
}

/*
 * The device rules start from deny-all even when the config has none
 * (runc's emulator starts from a white-list too): without
 * linux.resources.devices the cgroup kept `a *:* rwm`, and CAP_MKNOD made
 * and opened any host device.  Only the defaults (cg_default_devices) are
 * allowed then; they end with `c *:* m` and `b *:* m`, so the init can make
 * linux.devices whatever the rules say, and reading and writing them is for
 * the rules to allow (podman's `--device /dev/sdb:r` is read-only).  As
 * runc, not in a user namespace, whose root cannot write device rules.
 */
static int realize_cgroup(struct create_ctx *c, struct err **err)
{
	const struct ct_spec *s = c->spec;
	json_t *rules = s->resources ? json_object_get(s->resources, "devices") : NULL;
	_cleanup_json_ json_t *res = NULL;

	if ((rules && !json_is_null(rules)) || !host_root())
		return ct_cgroup_realize(c->cg, s->resources, err);
	res = s->resources ? json_deep_copy(s->resources) : json_object();
	if (!res || json_object_set_new(res, "devices", json_array()) < 0)
		return err_make(err, ENOMEM, "linux.resources");
	return ct_cgroup_realize(c->cg, res, err);
}

/*
 * Rootless, as runc: a cgroup we may not create is skipped, unless the
 * config asks for limits (device rules alone need none without a cgroup).
 */
static bool rootless_without_cgroup(const struct ct_spec *s, int r)
{
	const char *key;
	json_t *v;

	if (geteuid() == 0 || (r != -EACCES && r != -EPERM && r != -EROFS))
		return false;
	json_object_foreach (s->resources, key, v)
		if (!streq(key, "devices") && !json_is_null(v))
			return false;
	return true;
}

static int setup_and_spawn(struct create_ctx *c, struct err **err)
{
	const struct ct_create_opts *o = c->o;
	json_t *cg_json;
	int r;

	if (mkfifoat(c->dirfd, "exec.fifo", 0600) < 0)
		return err_make(err, errno, "mkfifo exec.fifo");
	/* The init opens it as root of its user namespace: let that uid in. */
	if (c->spec->ns[CT_NS_USER].enabled && c->spec->n_uid_maps && c->spec->n_gid_maps &&
	    fchownat(c->dirfd, "exec.fifo", c->spec->uid_maps[0].host_id,
		     c->spec->gid_maps[0].host_id, 0) < 0)
		return err_make(err, errno, "chown exec.fifo");
	c->fifo_fd = openat(c->dirfd, "exec.fifo", O_PATH | O_CLOEXEC);
	if (c->fifo_fd < 0)
		return err_make(err, errno, "open exec.fifo");
	if (o->console_socket && c->spec->process.terminal &&
	    (r = ct_console_connect(o->console_socket, &c->init.console_fd, err)) < 0)
		return r;
	/* No socket: the init sends the master to us over a socketpair. */
	if (!o->console_socket && c->spec->process.terminal) {
		int sp[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
			return err_make(err, errno, "socketpair for the terminal");
		c->console_rx = sp[0];
		c->init.console_fd = sp[1];
	}
	r = ct_cgroup_prepare(c->spec->cgroups_path, o->id, o->systemd_cgroup, &c->cg, err);
	if (r == -ENOSYS) {
		/* A build without cgroup support: run without one. */
		err_free(err);
		c->cg = NULL;
	} else if (r < 0) {
		return r;
	}
	c->st.cgroup = c->cg ? ct_cgroup_to_json(c->cg) : NULL;
	/* Recorded before the cgroup and the init exist, so that `delete --force` can
	 * clean up after a create that was killed midway (pid 0 reads as stopped). */
	if ((r = ct_state_write(c->dirfd, &c->st, err)) < 0)
		return r;
	if (c->cg && (r = realize_cgroup(c, err)) < 0) {
		if (!rootless_without_cgroup(c->spec, r))
			return r;
		err_free(err);
		ct_cgroup_free(c->cg);
		c->cg = NULL;
	}
	r = spawn_init(c, err);
	if (r < 0)
		return r;
	if (c->console_rx >= 0 && (r = ct_console_recv(c->console_rx, o->ret_console, err)) < 0)
		return r;
	/* realize knows which directories it really made; cgroup.json is rewritten only
	 * when that changed what it holds (a replacing rename costs a flush on ext4). */
	cg_json = c->cg ? ct_cgroup_to_json(c->cg) : NULL;
	c->st.cgroup_saved = c->st.cgroup && cg_json && json_equal(c->st.cgroup, cg_json);
	json_decref(c->st.cgroup);
	c->st.cgroup = cg_json;
	if ((r = ct_state_write(c->dirfd, &c->st, err)) < 0)
		return r;
	if (o->pid_file && (r = ct_write_pid_file(o->pid_file, c->pid, err)) < 0)
		return r;
	return 0;
}

static void undo_create(struct create_ctx *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	if (c->cg)
		ct_cgroup_destroy(c->cg, NULL);
	if (c->dirfd >= 0)
		ct_state_remove_dir(c->o->root, c->o->id, NULL);
}

int ct_create(const struct ct_create_opts *o, pid_t *ret_pid, struct err **err)
{
	struct create_ctx c = {
	    .o = o, .dirfd = -1, .fifo_fd = -1, .sock = {-1, -1}, .console_rx = -1};
	int r;

	c.init.console_fd = -1;
	c.init.exec_fifo_fd = -1;
	r = prepare(&c, err);
	if (r >= 0)
		r = ct_state_create_dir(o->root, o->id, &c.dirfd, err);
	if (r >= 0)
		r = setup_and_spawn(&c, err);
	if (r < 0)
		undo_create(&c);
	else
		*ret_pid = c.pid;
	for (int i = 0; i < 2; i++)
		if (c.sock[i] >= 0)
			close(c.sock[i]);
	if (c.fifo_fd >= 0)
		close(c.fifo_fd);
	if (c.console_rx >= 0)
		close(c.console_rx);
	if (c.init.console_fd >= 0)
		close(c.init.console_fd);
	if (c.dirfd >= 0)
		close(c.dirfd);
	ct_cgroup_join_free(c.join);
	ct_cgroup_free(c.cg);
	ct_seccomp_free(c.init.seccomp);
	ct_spec_free(c.spec);
	ct_state_clear(&c.st);
	return r;
}
