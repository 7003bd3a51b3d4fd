/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.json → struct ct_spec, with every field checked. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "overlay.h"
#include "parse.h"
#include "spec.h"
#include "strv.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

static const struct {
	const char *name;
	int flag;
} ns_table[CT_NS_COUNT] = {
    [CT_NS_USER] = {"user", CLONE_NEWUSER},  [CT_NS_PID] = {"pid", CLONE_NEWPID},
    [CT_NS_NET] = {"network", CLONE_NEWNET}, [CT_NS_IPC] = {"ipc", CLONE_NEWIPC},
    [CT_NS_UTS] = {"uts", CLONE_NEWUTS},     [CT_NS_CGROUP] = {"cgroup", CLONE_NEWCGROUP},
    [CT_NS_TIME] = {"time", CLONE_NEWTIME},  [CT_NS_MNT] = {"mount", CLONE_NEWNS},
};

const char *ct_ns_name(enum ct_ns_type t)
{
	return ns_table[t].name;
}

int ct_ns_from_name(const char *name)
{
	for (int i = 0; i < CT_NS_COUNT; i++)
		if (streq(ns_table[i].name, name))
			return i;
	return -EINVAL;
}

int ct_ns_clone_flag(enum ct_ns_type t)
{
	return ns_table[t].flag;
}

int ct_id_validate(const char *id, struct err **err)
{
	size_t n = strlen(id);

	if (n == 0)
		return err_make(err, 0, "container id: empty");
	if (n > CT_ID_MAX)
		return err_make(err, 0, "container id: longer than %d bytes", CT_ID_MAX);
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("_.+-", c)))
			return err_make(
			    err, 0, "container id `%s`: invalid (use [A-Za-z0-9][A-Za-z0-9_.+-]*)",
			    id);
	}
	return 0;
}

/* ---- mount options ---- */

struct mount_opt {
	const char *name;
	bool clear;
	unsigned long flag;
	int kind; /* 0 flags, 1 propagation, 2 recursive attr */
};

static const struct mount_opt mount_opts[] = {
    {"ro", false, MS_RDONLY, 0},
    {"rw", true, MS_RDONLY, 0},
    {"nosuid", false, MS_NOSUID, 0},
    {"suid", true, MS_NOSUID, 0},
    {"nodev", false, MS_NODEV, 0},
    {"dev", true, MS_NODEV, 0},
    {"noexec", false, MS_NOEXEC, 0},
    {"exec", true, MS_NOEXEC, 0},
    {"sync", false, MS_SYNCHRONOUS, 0},
    {"async", true, MS_SYNCHRONOUS, 0},
    {"dirsync", false, MS_DIRSYNC, 0},
    {"remount", false, MS_REMOUNT, 0},
    {"mand", false, MS_MANDLOCK, 0},
    {"nomand", true, MS_MANDLOCK, 0},
    {"atime", true, MS_NOATIME, 0},
    {"noatime", false, MS_NOATIME, 0},
    {"diratime", true, MS_NODIRATIME, 0},
    {"nodiratime", false, MS_NODIRATIME, 0},
    {"relatime", false, MS_RELATIME, 0},
    {"norelatime", true, MS_RELATIME, 0},
    {"strictatime", false, MS_STRICTATIME, 0},
    {"nostrictatime", true, MS_STRICTATIME, 0},
    {"lazytime", false, MS_LAZYTIME, 0},
    {"nolazytime", true, MS_LAZYTIME, 0},
    {"silent", false, MS_SILENT, 0},
    {"loud", true, MS_SILENT, 0},
    {"iversion", false, MS_I_VERSION, 0},
    {"noiversion", true, MS_I_VERSION, 0},
    {"nosymfollow", false, MS_NOSYMFOLLOW, 0},
    {"symfollow", true, MS_NOSYMFOLLOW, 0},
    {"bind", false, MS_BIND, 0},
    {"rbind", false, MS_BIND | MS_REC, 0},
    {"private", false, MS_PRIVATE, 1},
    {"rprivate", false, MS_PRIVATE | MS_REC, 1},
    {"shared", false, MS_SHARED, 1},
    {"rshared", false, MS_SHARED | MS_REC, 1},
    {"slave", false, MS_SLAVE, 1},
    {"rslave", false, MS_SLAVE | MS_REC, 1},
    {"unbindable", false, MS_UNBINDABLE, 1},
    {"runbindable", false, MS_UNBINDABLE | MS_REC, 1},
    {"rro", false, MOUNT_ATTR_RDONLY, 2},
    {"rrw", true, MOUNT_ATTR_RDONLY, 2},
    {"rnosuid", false, MOUNT_ATTR_NOSUID, 2},
    {"rsuid", true, MOUNT_ATTR_NOSUID, 2},
    {"rnodev", false, MOUNT_ATTR_NODEV, 2},
    {"rdev", true, MOUNT_ATTR_NODEV, 2},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC, 2},
    {"rexec", true, MOUNT_ATTR_NOEXEC, 2},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME, 2},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME, 2},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW, 2},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW, 2},
};

static const char *const unsupported_opts[] = {"idmap", "ridmap", NULL};

static int apply_mount_opt(struct ct_mount *m, const char *o, const char *where, struct err **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(mount_opts); i++) {
		const struct mount_opt *mo = &mount_opts[i];

		if (!streq(mo->name, o))
			continue;
		if (mo->kind == 1)
			m->propagation = mo->flag;
		else if (mo->kind == 2 && mo->clear)
			m->attr_clr |= mo->flag, m->attr_set &= ~mo->flag;
		else if (mo->kind == 2)
			m->attr_set |= mo->flag, m->attr_clr &= ~mo->flag;
		else if (mo->clear)
			m->flags &= ~mo->flag;
		else
			m->flags |= mo->flag;
		return 0;
	}
	/* runc's and crun's extension (podman sets it on its tmpfs mounts): copyup.c. */
	if (streq(o, "tmpcopyup") || streq(o, "notmpcopyup")) {
		m->copyup = o[0] == 't';
		return 0;
	}
	for (size_t i = 0; unsupported_opts[i]; i++)
		if (streq(unsupported_opts[i], o))
			return err_make(err, ENOTSUP, "%s: option `%s` is not supported yet", where,
					o);
	/* Anything else is file-system data, as runc does. */
	if (!m->data) {
		m->data = strdup(o);
	} else {
		char *d = NULL;

		if (asprintf(&d, "%s,%s", m->data, o) < 0)
			d = NULL;
		free(m->data);
		m->data = d;
	}
	return m->data ? 0 : err_make(err, ENOMEM, "%s", where);
}

static int parse_mount(json_t *j, const char *where, struct ct_mount *m, struct err **err)
{
	static const char *const keys[] = {"destination", "type",	 "source", "options",
					   "uidMappings", "gidMappings", NULL};
	json_t *opts = NULL, *o;
	size_t i;
	int r;

	if (!json_is_object(j))
		return err_make(err, 0, "%s: expected an object", where);
	r = json_check_keys(j, where, keys, err);
	if (r < 0)
		return r;
	if (json_object_get(j, "uidMappings") || json_object_get(j, "gidMappings"))
		return err_make(err, ENOTSUP,
				"%s.uidMappings: idmapped mounts are not supported yet", where);
	r = json_get_string(j, where, "destination", true, &m->destination, err);
	if (r < 0)
		return r;
	if (m->destination[0] != '/')
		return err_make(err, 0, "%s.destination: `%s` is not an absolute path", where,
				m->destination);
	if (path_has_dot_component(m->destination))
		return err_make(err, 0,
				"%s.destination: `%s` must be absolute, without `.` or `..`", where,
				m->destination);
	m->type = "none";
	m->source = "none";
	if ((r = json_get_string(j, where, "type", false, &m->type, err)) < 0 ||
	    (r = json_get_string(j, where, "source", false, &m->source, err)) < 0 ||
	    (r = json_get_array(j, where, "options", &opts, err)) < 0)
		return r;
	json_array_foreach (opts, i, o) {
		if (!json_is_string(o))
			return err_make(err, 0, "%s.options[%zu]: expected a string", where, i);
		r = apply_mount_opt(m, json_string_value(o), where, err);
		if (r < 0)
			return r;
	}
	if (streq(m->type, "bind"))
		m->flags |= MS_BIND;
	/* The runtime and the process need /proc/self after the mounts (runc refuses too). */
	if (path_same_abs(m->destination, "/proc") &&
	    (!streq(m->type, "proc") || (m->flags & MS_BIND)))
		return err_make(err, 0,
				"%s.destination: only a proc mount may go on /proc (this is %s)",
				where, m->flags & MS_BIND ? "a bind" : m->type);
	/* As runc: tmpcopyup means nothing but on a tmpfs. */
	m->copyup = m->copyup && streq(m->type, "tmpfs") && !(m->flags & MS_BIND);
	if (streq(m->type, "overlay") && !(m->flags & MS_BIND) &&
	    overlay_lowerdir_check(m->data, &(size_t){0}, err) < 0)
		return err_wrap(err, "%s.options", where);
	return 0;
}

static int parse_mounts(struct ct_spec *s, const char *what, struct err **err)
{
	json_t *arr = NULL, *j;
	char where[64];
	size_t i;
	int r;

	r = json_get_array(s->json, what, "mounts", &arr, err);
	if (r < 0 || !arr)
		return r;
	if (json_array_size(arr) > 4096)
		return err_make(err, 0, "%s: mounts: more than 4096 entries", what);
	s->mounts = calloc(json_array_size(arr) + 1, sizeof(*s->mounts));
	if (!s->mounts)
		return err_make(err, ENOMEM, "mounts");
	json_array_foreach (arr, i, j) {
		snprintf(where, sizeof(where), "%s: mounts[%zu]", what, i);
		s->n_mounts = i + 1;
		r = parse_mount(j, where, &s->mounts[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- process ---- */

static const struct {
	const char *name;
	int res;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static int parse_rlimits(json_t *proc, const char *where, struct ct_process *p, struct err **err)
{
	json_t *arr = NULL, *j;
	char w[160];
	size_t i;
	int r;

	r = json_get_array(proc, where, "rlimits", &arr, err);
	if (r < 0 || !arr)
		return r;
	p->rlimits = calloc(json_array_size(arr) + 1, sizeof(*p->rlimits));
	if (!p->rlimits)
		return err_make(err, ENOMEM, "rlimits");
	json_array_foreach (arr, i, j) {
		const char *type = NULL;
		size_t k;

		snprintf(w, sizeof(w), "%s.rlimits[%zu]", where, i);
		if (!json_is_object(j))
			return err_make(err, 0, "%s: expected an object", w);
		if ((r = json_get_string(j, w, "type", true, &type, err)) < 0 ||
		    (r = json_get_u64(j, w, "soft", &p->rlimits[i].soft, err)) < 0 ||
		    (r = json_get_u64(j, w, "hard", &p->rlimits[i].hard, err)) < 0)
			return r;
		for (k = 0; k < ARRAY_SIZE(rlimit_names); k++)
			if (streq(rlimit_names[k].name, type))
				break;
		if (k == ARRAY_SIZE(rlimit_names))
			return err_make(err, 0, "%s.type: unknown rlimit `%s`", w, type);
		p->rlimits[i].resource = rlimit_names[k].res;
		p->n_rlimits = i + 1;
	}
	return 0;
}

static int parse_user(json_t *proc, const char *where, struct ct_process *p, struct err **err)
{
	json_t *user = NULL, *gids = NULL, *g;
	char w[160];
	size_t i;
	int r;

	snprintf(w, sizeof(w), "%s.user", where);
	r = json_get_object(proc, where, "user", &user, err);
	if (r < 0 || !user)
		return r;
	if ((r = json_get_id(user, w, "uid", &p->uid, err)) < 0 ||
	    (r = json_get_id(user, w, "gid", &p->gid, err)) < 0)
		return r;
	if (json_object_get(user, "umask")) {
		r = json_get_u32(user, w, "umask", &p->umask, err);
		if (r < 0)
			return r;
		p->has_umask = true;
	}
	if (json_object_get(user, "username"))
		return err_make(err, ENOTSUP, "%s.username: not supported (give uid and gid)", w);
	r = json_get_array(user, w, "additionalGids", &gids, err);
	if (r < 0 || !gids)
		return r;
	if (json_array_size(gids) > 65536)
		return err_make(err, 0, "%s.additionalGids: too many entries", w);
	p->additional_gids = calloc(json_array_size(gids) + 1, sizeof(gid_t));
	if (!p->additional_gids)
		return err_make(err, ENOMEM, "additionalGids");
	json_array_foreach (gids, i, g) {
		if (!json_is_integer(g) || !id_valid(json_integer_value(g)))
			return err_make(
			    err, 0, "%s.additionalGids[%zu]: expected a gid from 0 to 4294967294",
			    w, i);
		p->additional_gids[i] = json_integer_value(g);
		p->n_additional_gids = i + 1;
	}
	return 0;
}

/*
 * Fields isola does not implement are refused when set, never ignored
 * (runtime-spec: a runtime that cannot apply a setting MUST error).  An
 * empty string, array or object, or null, counts as not set.
 */
static int refuse_unsupported(json_t *o, const char *where, const char *const *keys,
			      struct err **err)
{
	for (; *keys; keys++) {
		json_t *j = json_object_get(o, *keys);

		if (!j || json_is_null(j) || (json_is_string(j) && !*json_string_value(j)) ||
		    (json_is_array(j) && !json_array_size(j)) ||
		    (json_is_object(j) && !json_object_size(j)))
			continue;
		return err_make(err, ENOTSUP,
				"%s.%s: not supported by isola (see `isola features`)", where,
				*keys);
	}
	return 0;
}

static const char *const process_unsupported[] = {
    "apparmorProfile", /* AppArmor and SELinux are not enabled on the hosts isola targets */
    "selinuxLabel",    "scheduler", "execCPUAffinity", NULL,
};

static const char *const linux_unsupported[] = {
    "mountLabel", "intelRdt", "memoryPolicy", "netDevices", NULL,
};

/* process.ioPriority: class and priority for ioprio_set(2). */
static int parse_io_priority(json_t *proc, const char *where, struct ct_process *p,
			     struct err **err)
{
	static const char *const classes[] = {"", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
					      "IOPRIO_CLASS_IDLE"};
	json_t *io = NULL;
	const char *cls = NULL;
	int64_t prio = 0;
	char w[160];
	int r;

	if ((r = json_get_object(proc, where, "ioPriority", &io, err)) < 0 || !io)
		return r;
	snprintf(w, sizeof(w), "%s.ioPriority", where);
	if ((r = json_get_string(io, w, "class", true, &cls, err)) < 0)
		return r;
	if (json_object_get(io, "priority") &&
	    (r = json_get_i64(io, w, "priority", &prio, err)) < 0)
		return r;
	for (int c = 1; c < 4; c++)
		if (streq(cls, classes[c]))
			p->io_priority = c << 13;
	if (!p->io_priority)
		return err_make(err, 0, "%s.class: unknown `%s`", w, cls);
	if (prio < 0 || prio > 7)
		return err_make(err, 0, "%s.priority: %lld is not 0..7", w, (long long)prio);
	p->io_priority |= (int)prio;
	return 0;
}

bool ct_env_valid(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq && eq != kv;
}

int ct_process_parse(json_t *proc, const char *where, struct ct_process *p, struct err **err)
{
	json_t *cs = NULL;
	int64_t oom;
	char w[160];
	int r;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(proc))
		return err_make(err, 0, "%s: expected an object", where);
	if ((r = json_get_bool(proc, where, "terminal", &p->terminal, err)) < 0 ||
	    (r = json_get_object(proc, where, "consoleSize", &cs, err)) < 0 ||
	    (r = parse_user(proc, where, p, err)) < 0 ||
	    (r = json_get_strv(proc, where, "args", &p->args, err)) < 0 ||
	    (r = json_get_strv(proc, where, "env", &p->env, err)) < 0 ||
	    (r = json_get_string(proc, where, "cwd", true, &p->cwd, err)) < 0 ||
	    (r = parse_rlimits(proc, where, p, err)) < 0 ||
	    (r = json_get_bool(proc, where, "noNewPrivileges", &p->no_new_privileges, err)) < 0 ||
	    (r = refuse_unsupported(proc, where, process_unsupported, err)) < 0 ||
	    (r = parse_io_priority(proc, where, p, err)) < 0)
		return r;
	if (json_object_get(proc, "commandLine"))
		return err_make(err, ENOTSUP, "%s.commandLine: not supported on Linux", where);
	if (!p->args || !p->args[0])
		return err_make(err, 0, "%s.args: missing or empty", where);
	for (size_t i = 0; p->env && p->env[i]; i++)
		if (!ct_env_valid(p->env[i]))
			return err_make(err, 0, "%s.env[%zu]: `%s`: expected NAME=VALUE", where, i,
					p->env[i]);
	if (p->cwd[0] != '/')
		return err_make(err, 0, "%s.cwd: `%s` is not an absolute path", where, p->cwd);
	if (cs) {
		snprintf(w, sizeof(w), "%s.consoleSize", where);
		if ((r = json_get_u32(cs, w, "height", &p->console_height, err)) < 0 ||
		    (r = json_get_u32(cs, w, "width", &p->console_width, err)) < 0)
			return r;
	}
	if (json_object_get(proc, "oomScoreAdj")) {
		r = json_get_i64(proc, where, "oomScoreAdj", &oom, err);
		if (r < 0)
			return r;
		if (oom < -1000 || oom > 1000)
			return err_make(err, 0, "%s.oomScoreAdj: %lld out of range", where,
					(long long)oom);
		p->oom_score_adj = oom;
		p->has_oom_score_adj = true;
	}
	p->capabilities = json_object_get(proc, "capabilities");
	return 0;
}

void ct_process_clear(struct ct_process *p)
{
	free(p->additional_gids);
	strv_free(p->args);
	strv_free(p->env);
	free(p->rlimits);
	memset(p, 0, sizeof(*p));
}

/* ---- linux ---- */

static int parse_namespaces(struct ct_spec *s, json_t *lx, const char *w, struct err **err)
{
	json_t *arr = NULL, *j;
	char wi[160];
	size_t i;
	int r;

	r = json_get_array(lx, w, "namespaces", &arr, err);
	if (r < 0 || !arr)
		return r;
	json_array_foreach (arr, i, j) {
		const char *type = NULL, *path = NULL;
		int t;

		snprintf(wi, sizeof(wi), "%s.namespaces[%zu]", w, i);
		if (!json_is_object(j))
			return err_make(err, 0, "%s: expected an object", wi);
		if ((r = json_get_string(j, wi, "type", true, &type, err)) < 0 ||
		    (r = json_get_string(j, wi, "path", false, &path, err)) < 0)
			return r;
		t = ct_ns_from_name(type);
		if (t < 0)
			return err_make(err, 0, "%s.type: unknown namespace type `%s`", wi, type);
		if (s->ns[t].enabled)
			return err_make(err, 0, "%s.type: duplicate namespace `%s`", wi, type);
		if (path && path[0] != '/')
			return err_make(err, 0, "%s.path: `%s` is not an absolute path", wi, path);
		s->ns[t].enabled = true;
		s->ns[t].path = path && *path ? path : NULL;
	}
	return 0;
}

static int parse_idmaps(json_t *lx, const char *w, const char *key, struct ct_idmap **ret,
			size_t *ret_n, struct err **err)
{
	json_t *arr = NULL, *j;
	char wi[160];
	size_t i;
	int r;

	r = json_get_array(lx, w, key, &arr, err);
	if (r < 0 || !arr)
		return r;
	if (json_array_size(arr) > 340)
		return err_make(err, 0, "%s.%s: more than 340 entries", w, key);
	*ret = calloc(json_array_size(arr) + 1, sizeof(**ret));
	if (!*ret)
		return err_make(err, ENOMEM, "%s", key);
	json_array_foreach (arr, i, j) {
		snprintf(wi, sizeof(wi), "%s.%s[%zu]", w, key, i);
		if (!json_is_object(j))
			return err_make(err, 0, "%s: expected an object", wi);
		if ((r = json_get_id(j, wi, "containerID", &(*ret)[i].container_id, err)) < 0 ||
		    (r = json_get_id(j, wi, "hostID", &(*ret)[i].host_id, err)) < 0 ||
		    (r = json_get_u32(j, wi, "size", &(*ret)[i].size, err)) < 0)
			return r;
		/* Every id of the range must be valid: none may reach (uid_t)-1. */
		if ((*ret)[i].size == 0 ||
		    (uint64_t)(*ret)[i].container_id + (*ret)[i].size - 1 > ID_MAX ||
		    (uint64_t)(*ret)[i].host_id + (*ret)[i].size - 1 > ID_MAX)
			return err_make(
			    err, 0,
			    "%s.size: the range must hold 1 or more ids, all below 4294967295", wi);
		*ret_n = i + 1;
	}
	return 0;
}

static int parse_devices(struct ct_spec *s, json_t *lx, const char *w, struct err **err)
{
	json_t *arr = NULL, *j;
	char wi[160];
	size_t i;
	int r;

	r = json_get_array(lx, w, "devices", &arr, err);
	if (r < 0 || !arr)
		return r;
	if (json_array_size(arr) > 4096)
		return err_make(err, 0, "%s.devices: more than 4096 entries", w);
	s->devices = calloc(json_array_size(arr) + 1, sizeof(*s->devices));
	if (!s->devices)
		return err_make(err, ENOMEM, "devices");
	json_array_foreach (arr, i, j) {
		struct ct_device *d = &s->devices[i];
		const char *type = NULL;

		snprintf(wi, sizeof(wi), "%s.devices[%zu]", w, i);
		if (!json_is_object(j))
			return err_make(err, 0, "%s: expected an object", wi);
		if ((r = json_get_string(j, wi, "path", true, &d->path, err)) < 0 ||
		    (r = json_get_string(j, wi, "type", true, &type, err)) < 0 ||
		    (r = json_get_i64(j, wi, "major", &d->major, err)) < 0 ||
		    (r = json_get_i64(j, wi, "minor", &d->minor, err)) < 0 ||
		    (r = json_get_id(j, wi, "uid", &d->uid, err)) < 0 ||
		    (r = json_get_id(j, wi, "gid", &d->gid, err)) < 0)
			return r;
		if (json_object_get(j, "fileMode")) {
			r = json_get_u32(j, wi, "fileMode", &d->mode, err);
			if (r < 0)
				return r;
			d->has_mode = true;
		}
		if (d->path[0] != '/' || path_has_dot_component(d->path) ||
		    d->path[strlen(d->path) - 1] == '/')
			return err_make(err, 0,
					"%s.path: `%s` must be absolute, without `.` or `..`, and "
					"name a file",
					wi, d->path);
		if (!strchr("cubp", type[0]) || type[1])
			return err_make(err, 0, "%s.type: `%s`: expected c, u, b or p", wi, type);
		d->type = type[0] == 'u' ? 'c' : type[0];
		s->n_devices = i + 1;
	}
	return 0;
}

/*
 * The namespace that keeps a sysctl away from the host, or -1 when the key is
 * not namespaced (runc's list: IPC keys, fs.mqueue.*, net.*, UTS names).
 */
int ct_sysctl_namespace(const char *key)
{
	static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",	    "kernel.msgmni",
					  "kernel.sem",	   "kernel.shmall",	    "kernel.shmmax",
					  "kernel.shmmni", "kernel.shm_rmid_forced"};

	for (size_t i = 0; i < ARRAY_SIZE(ipc); i++)
		if (streq(key, ipc[i]))
			return CT_NS_IPC;
	if (strncmp(key, "fs.mqueue.", 10) == 0)
		return CT_NS_IPC;
	if (strncmp(key, "net.", 4) == 0)
		return CT_NS_NET;
	if (streq(key, "kernel.hostname") || streq(key, "kernel.domainname"))
		return CT_NS_UTS;
	return -1;
}

static int check_sysctl(const struct ct_spec *s, const char *w, const char *k, struct err **err)
{
	int t;

	if (!*k || strstr(k, "..") || strchr(k, '/') || k[0] == '.')
		return err_make(err, 0, "%s.sysctl: invalid key `%s`", w, k);
	t = ct_sysctl_namespace(k);
	if (t < 0)
		return err_make(err, EPERM,
				"%s.sysctl.%s: not a namespaced sysctl: it would change the host",
				w, k);
	if (!s->ns[t].enabled)
		return err_make(err, EPERM,
				"%s.sysctl.%s: needs a %s namespace (it would change the host)", w,
				k, ct_ns_name(t));
	return 0;
}

static int parse_sysctl(struct ct_spec *s, json_t *lx, const char *w, struct err **err)
{
	json_t *obj = NULL, *v;
	const char *k;
	int r;

	r = json_get_object(lx, w, "sysctl", &obj, err);
	if (r < 0 || !obj)
		return r;
	json_object_foreach (obj, k, v) {
		if (!json_is_string(v))
			return err_make(err, 0, "%s.sysctl.%s: expected a string", w, k);
		if ((r = check_sysctl(s, w, k, err)) < 0)
			return r;
		if (strv_push(&s->sysctl, k) < 0 || strv_push(&s->sysctl, json_string_value(v)) < 0)
			return err_make(err, ENOMEM, "sysctl");
	}
	return 0;
}

static int parse_propagation(const char *v, unsigned long *ret)
{
	static const struct {
		const char *n;
		unsigned long f;
	} t[] = {{"private", MS_PRIVATE},	{"rprivate", MS_PRIVATE | MS_REC},
		 {"shared", MS_SHARED},		{"rshared", MS_SHARED | MS_REC},
		 {"slave", MS_SLAVE},		{"rslave", MS_SLAVE | MS_REC},
		 {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC}};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (streq(t[i].n, v)) {
			*ret = t[i].f;
			return 0;
		}
	return -EINVAL;
}

static int parse_time_offsets(struct ct_spec *s, json_t *lx, const char *w, struct err **err)
{
	static const char *const clocks[2] = {"monotonic", "boottime"};
	json_t *obj = NULL, *c;
	char wi[160];
	int r;

	r = json_get_object(lx, w, "timeOffsets", &obj, err);
	if (r < 0 || !obj)
		return r;
	for (int i = 0; i < 2; i++) {
		snprintf(wi, sizeof(wi), "%s.timeOffsets", w);
		r = json_get_object(obj, wi, clocks[i], &c, err);
		if (r < 0)
			return r;
		c = json_object_get(obj, clocks[i]);
		if (!c)
			continue;
		snprintf(wi, sizeof(wi), "%s.timeOffsets.%s", w, clocks[i]);
		if ((r = json_get_i64(c, wi, "secs", &s->time_offsets[i][0], err)) < 0 ||
		    (r = json_get_i64(c, wi, "nanosecs", &s->time_offsets[i][1], err)) < 0)
			return r;
	}
	s->has_time_offsets = true;
	return 0;
}

static int parse_personality(struct ct_spec *s, json_t *lx, const char *w, struct err **err)
{
	json_t *obj = NULL;
	const char *dom = NULL;
	char wi[160];
	int r;

	r = json_get_object(lx, w, "personality", &obj, err);
	if (r < 0 || !obj)
		return r;
	snprintf(wi, sizeof(wi), "%s.personality", w);
	r = json_get_string(obj, wi, "domain", true, &dom, err);
	if (r < 0)
		return r;
	if (streq(dom, "LINUX"))
		s->personality = PER_LINUX;
	else if (streq(dom, "LINUX32"))
		s->personality = PER_LINUX32;
	else
		return err_make(err, 0, "%s.domain: unknown `%s`", wi, dom);
	if (json_array_size(json_object_get(obj, "flags")))
		return err_make(err, ENOTSUP, "%s.flags: not supported yet", wi);
	s->has_personality = true;
	return 0;
}

/* The spec: "The values MUST be absolute paths in the container namespace." */
static int check_absolute(char **v, const char *where, const char *key, struct err **err)
{
	for (size_t i = 0; v && v[i]; i++)
		if (v[i][0] != '/')
			return err_make(err, 0, "%s.%s[%zu]: `%.64s`: not an absolute path", where,
					key, i, v[i]);
	return 0;
}

static int parse_linux(struct ct_spec *s, const char *what, struct err **err)
{
	json_t *lx = NULL;
	const char *prop = NULL;
	char w[96];
	int r;

	r = json_get_object(s->json, what, "linux", &lx, err);
	if (r < 0 || !lx)
		return r;
	snprintf(w, sizeof(w), "%s: linux", what);
	if ((r = parse_namespaces(s, lx, w, err)) < 0 ||
	    (r = parse_idmaps(lx, w, "uidMappings", &s->uid_maps, &s->n_uid_maps, err)) < 0 ||
	    (r = parse_idmaps(lx, w, "gidMappings", &s->gid_maps, &s->n_gid_maps, err)) < 0 ||
	    (r = parse_devices(s, lx, w, err)) < 0 || (r = parse_sysctl(s, lx, w, err)) < 0 ||
	    (r = json_get_strv(lx, w, "maskedPaths", &s->masked_paths, err)) < 0 ||
	    (r = json_get_strv(lx, w, "readonlyPaths", &s->readonly_paths, err)) < 0 ||
	    (r = json_get_string(lx, w, "rootfsPropagation", false, &prop, err)) < 0 ||
	    (r = json_get_string(lx, w, "cgroupsPath", false, &s->cgroups_path, err)) < 0 ||
	    (r = parse_time_offsets(s, lx, w, err)) < 0 ||
	    (r = parse_personality(s, lx, w, err)) < 0)
		return r;
	if ((r = check_absolute(s->masked_paths, w, "maskedPaths", err)) < 0 ||
	    (r = check_absolute(s->readonly_paths, w, "readonlyPaths", err)) < 0)
		return r;
	if (prop && parse_propagation(prop, &s->rootfs_propagation) < 0)
		return err_make(err, 0, "%s.rootfsPropagation: unknown `%s`", w, prop);
	if (s->ns[CT_NS_USER].enabled && !s->ns[CT_NS_USER].path &&
	    (!s->n_uid_maps || !s->n_gid_maps))
		return err_make(err, 0, "%s.uidMappings: required with a new user namespace", w);
	if (s->has_time_offsets && !s->ns[CT_NS_TIME].enabled)
		return err_make(err, 0, "%s.timeOffsets: needs a time namespace", w);
	s->resources = json_object_get(lx, "resources");
	s->seccomp = json_object_get(lx, "seccomp");
	if (s->seccomp && json_is_null(s->seccomp))
		s->seccomp = NULL;
	return refuse_unsupported(lx, w, linux_unsupported, err);
}

static int parse_root(struct ct_spec *s, const char *what, struct err **err)
{
	json_t *root = NULL;
	char w[96];
	int r;

	r = json_get_object(s->json, what, "root", &root, err);
	if (r < 0)
		return r;
	if (!root)
		return err_make(err, 0, "%s: root: missing", what);
	snprintf(w, sizeof(w), "%s: root", what);
	if ((r = json_get_string(root, w, "path", true, &s->root_path, err)) < 0 ||
	    (r = json_get_bool(root, w, "readonly", &s->root_readonly, err)) < 0)
		return r;
	return 0;
}

int ct_spec_parse(json_t *json, const char *what, struct ct_spec **ret, struct err **err)
{
	struct ct_spec *s;
	const char *ver = NULL;
	json_t *proc = NULL;
	char w[96];
	int r;

	if (!json_is_object(json))
		return err_make(err, 0, "%s: expected a JSON object", what);
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_make(err, ENOMEM, "%s", what);
	s->json = json_incref(json);
	s->rootfs_propagation = MS_SLAVE | MS_REC;
	snprintf(w, sizeof(w), "%s: process", what);
	if ((r = json_get_string(json, what, "ociVersion", true, &ver, err)) < 0 ||
	    (r = parse_root(s, what, err)) < 0 ||
	    (r = json_get_object(json, what, "process", &proc, err)) < 0 ||
	    (proc && (r = ct_process_parse(proc, w, &s->process, err)) < 0) ||
	    (r = json_get_string(json, what, "hostname", false, &s->hostname, err)) < 0 ||
	    (r = json_get_string(json, what, "domainname", false, &s->domainname, err)) < 0 ||
	    (r = parse_mounts(s, what, err)) < 0 || (r = parse_linux(s, what, err)) < 0 ||
	    (r = json_get_object(json, what, "hooks", &s->hooks, err)) < 0 ||
	    (r = json_get_object(json, what, "annotations", &s->annotations, err)) < 0)
		goto fail;
	if (strncmp(ver, "1.", 2) != 0) {
		r = err_make(err, 0, "%s: ociVersion: `%s` is not supported (want 1.x)", what, ver);
		goto fail;
	}
	s->has_process = proc != NULL;
	*ret = s;
	return 0;
fail:
	ct_spec_free(s);
	return r;
}

int ct_spec_load(const char *bundle, struct ct_spec **ret, struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_close_ int dfd = -1;
	int r;

	dfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_make(err, errno, "bundle `%s`", bundle);
	r = json_load_file_capped(dfd, "config.json", CT_CONFIG_MAX, &j, err);
	if (r < 0)
		return r;
	return ct_spec_parse(j, "config.json", ret, err);
}

void ct_spec_free(struct ct_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_mounts; i++)
		free(s->mounts[i].data);
	free(s->mounts);
	ct_process_clear(&s->process);
	free(s->uid_maps);
	free(s->gid_maps);
	free(s->devices);
	strv_free(s->masked_paths);
	strv_free(s->readonly_paths);
	strv_free(s->sysctl);
	json_decref(s->json);
	free(s);
}
