/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An OCI runtime config (config.json) from an image config: the defaults of
 * `runc spec` (namespaces, mounts, capabilities, masked paths) with the
 * image's Entrypoint/Cmd/Env/WorkingDir/User and the run options on top.
 */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cleanup.h"
#include "config.h"
#include "device-internal.h"
#include "image.h"
#include "jsonutil.h"
#include "strv.h"
#include "fdutil.h"
#include "parse.h"

/*
 * Podman 4's default set (containers.conf default_capabilities): runc's and
 * Docker's 14 less CAP_NET_RAW, CAP_MKNOD and CAP_AUDIT_WRITE, CapBnd
 * 0x800405fb.  CAP_NET_RAW let a container forge frames on the bridge it
 * shares with others (ARP and IP spoofing of its neighbours); ping works
 * without it through ICMP datagram sockets (ping_group_range below).
 * --cap-add NET_RAW (or ALL) gives it back.
 */
/* clang-format off */
const char *const img_default_caps[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_NET_BIND_SERVICE",
	"CAP_SETFCAP",
	"CAP_SETGID",
	"CAP_SETPCAP",
	"CAP_SETUID",
	"CAP_SYS_CHROOT",
	NULL,
};
/* clang-format on */

static const char *const masked_paths[] = {
    "/proc/acpi",	   "/proc/asound",     "/proc/kcore",	    "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/sys/firmware",	   "/proc/scsi",
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static json_t *str_array(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* Does the container have gid (rootless: only within its gid maps)? */
static bool has_gid(const struct img_run_opts *o, uint32_t gid)
{
	if (!o->rootless)
		return true;
	for (size_t i = 0; i < o->n_gid_maps; i++)
		if (gid >= o->gid_maps[i].container_id &&
		    gid - o->gid_maps[i].container_id < o->gid_maps[i].size)
			return true;
	return false;
}

static json_t *default_mounts(const struct img_run_opts *o)
{
	bool host_net = o->host_network;
	const char *rw = o->privileged ? "rw" : "ro"; /* /sys and its cgroups */
	char shm[48] = "size=65536k";
	json_t *m, *pts;

	if (o->shm_size) /* --shm-size, in bytes: the kernel rounds up to a page */
		snprintf(shm, sizeof(shm), "size=%llu", (unsigned long long)o->shm_size);
	m = json_pack("[{s:s,s:s,s:s}, {s:s,s:s,s:s,s:[s,s,s,s]}, {s:s,s:s,s:s,s:[s,s,s,s,s,s]},"
		      " {s:s,s:s,s:s,s:[s,s,s,s,s]}, {s:s,s:s,s:s,s:[s,s,s]}]",
		      "destination", "/proc", "type", "proc", "source", "proc", "destination",
		      "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid",
		      "strictatime", "mode=755", "size=65536k", "destination", "/dev/pts", "type",
		      "devpts", "source", "devpts", "options", "nosuid", "noexec", "newinstance",
		      "ptmxmode=0666", "mode=0620", "gid=5", "destination", "/dev/shm", "type",
		      "tmpfs", "source", "shm", "options", "nosuid", "noexec", "nodev", "mode=1777",
		      shm, "destination", "/dev/mqueue", "type", "mqueue", "source", "mqueue",
		      "options", "nosuid", "noexec", "nodev");
	pts = json_object_get(json_array_get(m, 2), "options");
	/*
	 * The host's IPC namespace, or another container's: its POSIX shared memory too, as
	 * podman binds it.
	 */
	if (o->host_ipc || o->shm_source) {
		json_t *b =
		    json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination", "/dev/shm", "type",
			      "bind", "source", o->shm_source ? o->shm_source : "/dev/shm",
			      "options", "rbind", "nosuid", "noexec", "nodev");

		if (o->shm_ro)
			json_array_append_new(json_object_get(b, "options"), json_string("ro"));
		json_array_set_new(m, 3, b);
	}

	/* Rootless with only our own gid: no tty group to own the ptys. */
	if (pts && !has_gid(o, 5))
		json_array_remove(pts, json_array_size(pts) - 1);
	/* sysfs needs a network namespace of our own; with the host's, bind it. */
	json_array_append_new(
	    m, host_net
		   ? json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination", "/sys", "type", "none",
			       "source", "/sys", "options", "rbind", "nosuid", "nodev", rw)
		   : json_pack("{s:s,s:s,s:s,s:[s,s,s,s]}", "destination", "/sys", "type", "sysfs",
			       "source", "sysfs", "options", "nosuid", "noexec", "nodev", rw));
	/*
	 * The container's own cgroups, read-only, as podman's and runc's spec have
	 * them: programs size themselves by their limits (a JVM reads
	 * memory.limit_in_bytes or memory.max).  The runtime shows only the
	 * container's own cgroup of each hierarchy (docs/cgroups.md).
	 */
	json_array_append_new(m, json_pack("{s:s,s:s,s:s,s:[s,s,s,s,s,s]}", "destination",
					   "/sys/fs/cgroup", "type", "cgroup", "source", "cgroup",
					   "options", "rprivate", "nosuid", "noexec", "nodev",
					   "relatime", rw));
	return m;
}

/*
 * -v SRC:DST[:OPTIONS], OPTIONS ro or rw and a propagation (private, rprivate, shared,
 * rshared, slave, rslave), comma separated, as podman takes them.
 */
static int volume_options(const char *arg, char *mode, json_t *o, struct err **err)
{
	static const char *const props[] = {"private", "rprivate", "shared",
					    "rshared", "slave",	   "rslave"};
	bool ro = false, rw = false, prop = false;
	char *save = NULL;

	for (char *w = mode ? strtok_r(mode, ",", &save) : NULL; w;
	     w = strtok_r(NULL, ",", &save)) {
		bool is_prop = false;

		for (size_t i = 0; i < ARRAY_SIZE(props); i++)
			is_prop |= streq(w, props[i]);
		if (streq(w, "ro") || streq(w, "rw")) {
			if (ro || rw)
				return err_make(err, 0, "-v `%s`: ro or rw, once", arg);
			ro = streq(w, "ro");
			rw = !ro;
		} else if (!is_prop || prop) {
			return err_make(err, 0,
					"-v `%s`: options are ro or rw and one propagation "
					"(private, rprivate, shared, rshared, slave, rslave)",
					arg);
		} else {
			prop = true;
		}
		json_array_append_new(o, json_string(w));
	}
	if (!ro && !rw)
		json_array_append_new(o, json_string("rw"));
	return 0;
}

static int add_volumes(json_t *mounts, char **vols, struct err **err)
{
	for (size_t i = 0; vols && vols[i]; i++) {
		_cleanup_free_ char *v = strdup(vols[i]);
		_cleanup_json_ json_t *o = json_pack("[s]", "rbind");
		char *dst, *mode;

		if (!v || !o)
			return err_make(err, ENOMEM, "volume");
		dst = strchr(v, ':');
		if (!dst || dst == v || dst[1] != '/' || v[0] != '/')
			return err_make(err, 0, "-v `%s`: expected /SRC:/DST[:ro]", vols[i]);
		*dst++ = '\0';
		mode = strchr(dst, ':');
		if (mode)
			*mode++ = '\0';
		if (volume_options(vols[i], mode, o, err) < 0)
			return -EINVAL;
		if (path_same_abs(dst, "/proc"))
			return err_make(err, 0, "-v `%s`: /proc is the container's procfs",
					vols[i]);
		if (img_bind_source_check("-v", vols[i], v, false, err) < 0)
			return -EINVAL;
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:O}", "destination", dst,
							"type", "bind", "source", v, "options", o));
	}
	return 0;
}

static const char *const ulimit_names[] = {
    "core",   "cpu",   "data", "fsize",	 "locks",  "memlock",	 "msgqueue", "nice",
    "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack",    "as"};
static const char *const ulimit_types[] = {
    "RLIMIT_CORE",   "RLIMIT_CPU",	  "RLIMIT_DATA",     "RLIMIT_FSIZE",
    "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",	  "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
    "RLIMIT_NOFILE", "RLIMIT_NPROC",	  "RLIMIT_RSS",	     "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",    "RLIMIT_AS"};

static int ulimit_value(const char *v, uint64_t *ret)
{
	if (streq(v, "-1") || streq(v, "unlimited")) {
		*ret = UINT64_MAX;
		return 0;
	}
	return parse_u64(v, ret);
}

int img_ulimit_parse(const char *arg, const char **ret_type, uint64_t *ret_soft, uint64_t *ret_hard,
		     struct err **err)
{
	const char *eq = strchr(arg, '='), *colon;
	_cleanup_free_ char *soft = NULL;
	size_t i;

	for (i = 0; eq && i < ARRAY_SIZE(ulimit_names); i++)
		if (strlen(ulimit_names[i]) == (size_t)(eq - arg) &&
		    !strncmp(arg, ulimit_names[i], (size_t)(eq - arg)))
			break;
	if (!eq || i == ARRAY_SIZE(ulimit_names))
		return err_make(err, 0,
				"--ulimit `%.64s`: expected NAME=SOFT[:HARD], NAME one of core, "
				"cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, "
				"rss, rtprio, rttime, sigpending, stack, as",
				arg);
	colon = strchr(eq + 1, ':');
	soft = strndup(eq + 1, colon ? (size_t)(colon - eq - 1) : strlen(eq + 1));
	if (!soft)
		return err_make(err, ENOMEM, "--ulimit");
	if (ulimit_value(soft, ret_soft) < 0 ||
	    ulimit_value(colon ? colon + 1 : soft, ret_hard) < 0)
		return err_make(err, 0, "--ulimit `%.64s`: expected a number, -1 or unlimited",
				arg);
	if (*ret_soft > *ret_hard)
		return err_make(err, 0, "--ulimit `%.64s`: the soft limit is over the hard one",
				arg);
	*ret_type = ulimit_types[i];
	return 0;
}

static void add_privileged(json_t *lx, const struct img_run_opts *o)
{
	json_t *res = json_object_get(lx, "resources"), *devs;

	json_object_set_new(lx, "maskedPaths", json_array());
	json_object_set_new(lx, "readonlyPaths", json_array());
	json_object_set_new(res, "devices", json_pack("[{s:b,s:s}]", "allow", 1, "access", "rwm"));
	/* Rootless: the user namespace cannot make nodes; /dev is the runtime's. */
	if (o->rootless)
		return;
	devs = img_spec_host_devices();
	if (devs)
		json_object_set_new(lx, "devices", devs);
}

/*
 * A number as the kernel's memparse() reads tmpfs's size= and nr_*=: decimal digits
 * and at most one of k, m, g, t, p, e (either case), or a percentage of the memory.
 */
static bool memparse_ok(const char *v)
{
	size_t n = strspn(v, "0123456789");

	if (n == 0 || n > 19)
		return false;
	v += n;
	return !*v || ((strchr("kKmMgGtTpPeE", *v) || *v == '%') && !v[1]);
}

/* A tmpfs key's value, as the kernel would take it (it answers a bare EINVAL). */
static bool tmpfs_value_ok(const char *key, const char *v)
{
	uint32_t id;
	unsigned mode;

	if (streq(key, "mode="))
		return img_tmpfs_mode_parse(v, &mode) == 0;
	if (streq(key, "uid=") || streq(key, "gid="))
		return parse_id(v, &id) == 0;
	return memparse_ok(v); /* size=, nr_inodes=, nr_blocks= */
}

/*
 * An option of --tmpfs: a flag the runtime knows, or a tmpfs key=value.  0, or
 * -ENOENT for another option, -EINVAL for a bad value.
 */
static int tmpfs_option_check(const char *o)
{
	static const char *const words[] = {
	    "ro",	"rw",	      "exec",	     "noexec",	      "suid",	   "nosuid",
	    "dev",	"nodev",      "atime",	     "noatime",	      "diratime",  "nodiratime",
	    "relatime", "norelatime", "strictatime", "nostrictatime", "tmpcopyup", "notmpcopyup"};
	static const char *const keys[] = {
	    "size=", "mode=", "uid=", "gid=", "nr_inodes=", "nr_blocks="};

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (streq(o, words[i]))
			return 0;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strncmp(o, keys[i], strlen(keys[i])))
			return tmpfs_value_ok(keys[i], o + strlen(keys[i])) ? 0 : -EINVAL;
	return -ENOENT;
}

int img_tmpfs_check(const char *arg, struct err **err)
{
	_cleanup_free_ char *s = strdup(arg);
	char *opts, *save = NULL;

	if (!s)
		return err_make(err, ENOMEM, "--tmpfs");
	opts = strchr(s, ':');
	if (opts)
		*opts++ = '\0';
	if (s[0] != '/' || !s[strspn(s, "/")] || path_has_dot_component(s))
		return err_make(err, 0,
				"--tmpfs `%.64s`: expected DEST[:OPTIONS], DEST absolute, not / "
				"and without . or ..",
				arg);
	if (path_same_abs(s, "/proc"))
		return err_make(err, 0, "--tmpfs `%.64s`: /proc is the container's procfs", arg);
	for (char *o = opts ? strtok_r(opts, ",", &save) : NULL; o;
	     o = strtok_r(NULL, ",", &save)) {
		int r = tmpfs_option_check(o);

		if (r == -ENOENT)
			return err_make(err, 0,
					"--tmpfs `%.64s`: option `%.32s` is not one for a tmpfs",
					arg, o);
		if (r < 0)
			return err_make(
			    err, 0,
			    "--tmpfs `%.64s`: option `%.32s`: a bad value (size, nr_*: "
			    "digits with k, m, g... or %%; mode: octal up to 7777; uid, "
			    "gid: ids)",
			    arg, o);
	}
	return 0;
}

/*
 * --tmpfs DEST[:OPTIONS], as podman mounts it: rw, noexec, nosuid, nodev
 * unless OPTIONS say otherwise, and tmpcopyup (the image's files at DEST show
 * through) unless notmpcopyup is given; a VM's agent copies too.
 */
static int add_tmpfs(json_t *mounts, char **list, struct err **err)
{
	for (size_t i = 0; list && list[i]; i++) {
		_cleanup_free_ char *s = strdup(list[i]);
		char *opts, *save = NULL;
		json_t *o = json_pack("[s,s,s,s]", "rw", "noexec", "nosuid", "nodev");
		bool no_copy = false;

		if (!s || !o) {
			json_decref(o);
			return err_make(err, ENOMEM, "--tmpfs");
		}
		opts = strchr(s, ':');
		if (opts)
			*opts++ = '\0';
		for (char *w = opts ? strtok_r(opts, ",", &save) : NULL; w;
		     w = strtok_r(NULL, ",", &save)) {
			no_copy |= streq(w, "notmpcopyup");
			if (!streq(w, "tmpcopyup") && !streq(w, "notmpcopyup"))
				json_array_append_new(o, json_string(w));
		}
		if (!no_copy)
			json_array_append_new(o, json_string("tmpcopyup"));
		json_array_append_new(mounts,
				      json_pack("{s:s,s:s,s:s,s:o}", "destination", s, "type",
						"tmpfs", "source", "tmpfs", "options", o));
	}
	return 0;
}

/* --sysctl KEY=VALUE into linux.sysctl, over what we set ourselves. */
static void add_sysctls(json_t *l, char **list)
{
	json_t *obj = json_object_get(l, "sysctl");

	if (!list)
		return;
	if (!obj) {
		obj = json_object();
		json_object_set_new(l, "sysctl", obj);
	}
	for (size_t i = 0; list[i]; i++) {
		const char *eq = strchr(list[i], '=');
		_cleanup_free_ char *k = eq ? strndup(list[i], (size_t)(eq - list[i])) : NULL;

		if (k)
			json_object_set_new(obj, k, json_string(eq + 1));
	}
}

/* RLIMIT_NOFILE 1024 as runc's spec has it, then --ulimit's (checked), the same type replaced. */
static json_t *rlimits(const struct img_run_opts *o)
{
	json_t *a = json_array(), *v;
	bool nofile = false;
	size_t i;

	for (size_t k = 0; a && o->ulimits && o->ulimits[k]; k++) {
		const char *type;
		uint64_t soft, hard;

		if (img_ulimit_parse(o->ulimits[k], &type, &soft, &hard, NULL) < 0)
			continue;
		json_array_foreach (a, i, v)
			if (streq(json_string_value(json_object_get(v, "type")), type)) {
				json_array_remove(a, i);
				break;
			}
		nofile |= streq(type, "RLIMIT_NOFILE");
		/* UINT64_MAX as -1 here (int64); config.json gets it unsigned (bundle.c). */
		json_array_append_new(a, json_pack("{s:s,s:I,s:I}", "type", type, "hard",
						   (json_int_t)hard, "soft", (json_int_t)soft));
	}
	if (a && !nofile)
		json_array_insert_new(a, 0,
				      json_pack("{s:s,s:I,s:I}", "type", "RLIMIT_NOFILE", "hard",
						(json_int_t)1024, "soft", (json_int_t)1024));
	return a;
}

/* Image Env, then -e K=V replacing the same key; PATH defaulted. */
static json_t *merge_env(json_t *image_env, char **extra)
{
	json_t *env = json_array(), *v;
	size_t i;
	bool has_path = false;

	json_array_foreach (image_env, i, v)
		if (json_is_string(v))
			json_array_append(env, v);
	for (size_t k = 0; extra && extra[k]; k++) {
		size_t kl = strcspn(extra[k], "=");
		size_t j;

		json_array_foreach (env, j, v) {
			const char *s = json_string_value(v);

			if (!strncmp(s, extra[k], kl) && s[kl] == '=') {
				json_array_remove(env, j);
				break;
			}
		}
		json_array_append_new(env, json_string(extra[k]));
	}
	json_array_foreach (env, i, v)
		has_path |= !strncmp(json_string_value(v), "PATH=", 5);
	if (!has_path)
		json_array_insert_new(env, 0,
				      json_string("PATH=/usr/local/sbin:/usr/local/bin:"
						  "/usr/sbin:/usr/bin:/sbin:/bin"));
	return env;
}

/* Entrypoint + (CMD... from the command line, or the image's Cmd). */
/* Entrypoint + (args or Cmd); --entrypoint replaces Entrypoint and drops the image's Cmd. */
static int make_args(json_t *cfg, const char *entrypoint, char **args, json_t **ret,
		     struct err **err)
{
	json_t *a = json_array(), *v;
	size_t i;

	if (entrypoint && *entrypoint)
		json_array_append_new(a, json_string(entrypoint));
	else if (!entrypoint)
		json_array_foreach (json_object_get(cfg, "Entrypoint"), i, v)
			json_array_append(a, v);
	if (entrypoint || (args && args[0])) {
		for (i = 0; args && args[i]; i++)
			json_array_append_new(a, json_string(args[i]));
	} else {
		json_array_foreach (json_object_get(cfg, "Cmd"), i, v)
			json_array_append(a, v);
	}
	if (json_array_size(a) == 0) {
		json_decref(a);
		return err_make(err, 0, "no command: the image has no Entrypoint or Cmd");
	}
	*ret = a;
	return 0;
}

#define PASSWD_MAX (4u << 20)

/*
 * The next line of an /etc/passwd-like buffer (*rest starts at it), split at
 * ':' into its first four fields, NULL when absent; false at the end.
 */
static bool next_entry(char **rest, char *f[4])
{
	char *line;

	if (!*rest)
		return false;
	line = strsep(rest, "\n");
	for (int i = 0; i < 4; i++)
		f[i] = line ? strsep(&line, ":") : NULL;
	return true;
}

/* Find name (field 0) in an /etc/passwd-like file of the rootfs; field 2 (and 3). */
static int lookup_db(int rootfs, const char *file, const char *name, uint32_t *ret_id,
		     uint32_t *ret_gid, struct err **err)
{
	_cleanup_free_ char *buf = NULL;
	char *rest, *f[4];
	size_t len;

	if (img_read_regular_in_root(rootfs, file, PASSWD_MAX, &buf, &len, err) < 0)
		return err_wrap(err, "user `%s`: cannot read %s in the image", name, file);
	for (rest = buf; next_entry(&rest, f);) {
		uint32_t id, gid = 0;

		if (!f[2] || !streq(f[0], name))
			continue;
		/* An entry with a bad id is an error, never root. */
		if (parse_id(f[2], &id) < 0 || (ret_gid && (!f[3] || parse_id(f[3], &gid) < 0)))
			return err_make(
			    err, EINVAL,
			    "user `%s`: the image's %s gives an invalid id (0..4294967294)", name,
			    file);
		*ret_id = id;
		if (ret_gid)
			*ret_gid = gid;
		return 0;
	}
	return err_make(err, ENOENT, "user `%s`: no such entry in the image's %s", name, file);
}

/*
 * A numeric uid's first well-formed entry in the image's /etc/passwd: its
 * group and name (*name NULL when there is none, no file: gid 0), as docker
 * and podman read it.
 */
static uint32_t uid_entry(int rootfs, uint32_t uid, char **name)
{
	_cleanup_free_ char *buf = NULL;
	char *rest, *f[4];
	size_t len;

	*name = NULL;
	if (img_read_regular_in_root(rootfs, "/etc/passwd", PASSWD_MAX, &buf, &len, NULL) < 0)
		return 0;
	for (rest = buf; next_entry(&rest, f);) {
		uint32_t id, gid;

		if (f[3] && parse_id(f[2], &id) == 0 && id == uid && parse_id(f[3], &gid) == 0) {
			*name = strdup(f[0]);
			return gid;
		}
	}
	return 0;
}

#define GROUPS_MAX 256 /* as the VM agent takes (VMCT_GROUPS_MAX) */

/*
 * The groups of the image's /etc/group that list name as a member, but the
 * primary gid: process.user.additionalGids, as podman sets them.  At most
 * GROUPS_MAX; a malformed line is skipped; NULL when there are none.
 */
static json_t *member_groups(int rootfs, const char *name, uint32_t primary)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *gids = json_array();
	char *rest, *f[4];
	size_t len;

	if (!name || !gids ||
	    img_read_regular_in_root(rootfs, "/etc/group", PASSWD_MAX, &buf, &len, NULL) < 0)
		return NULL;
	for (rest = buf; json_array_size(gids) < GROUPS_MAX && next_entry(&rest, f);) {
		char *m, *msave = NULL;
		uint32_t gid;
		bool dup = false;
		size_t i;
		json_t *v;

		if (!f[3] || parse_id(f[2], &gid) < 0 || gid == primary)
			continue;
		for (m = strtok_r(f[3], ",", &msave); m && !streq(m, name);
		     m = strtok_r(NULL, ",", &msave))
			;
		json_array_foreach (gids, i, v)
			dup |= json_integer_value(v) == (json_int_t)gid;
		if (m && !dup)
			json_array_append_new(gids, json_integer(gid));
	}
	return json_array_size(gids) ? TAKE_PTR(gids) : NULL;
}

/*
 * "uid", "uid:gid", "name", "name:group"; names resolved in the image.  Without
 * a group, the user's supplementary groups from /etc/group go to *groups.
 */
static int resolve_user(const char *spec, int rootfs, uint32_t *uid, uint32_t *gid, json_t **groups,
			struct err **err)
{
	_cleanup_free_ char *u = strdup(spec ? spec : ""), *name = NULL;
	char *g;
	uint32_t pgid = 0;
	int r;

	*uid = *gid = 0;
	*groups = NULL;
	if (!u)
		return err_make(err, ENOMEM, "user");
	if (!*u)
		return 0;
	g = strchr(u, ':');
	if (g)
		*g++ = '\0';
	if (isdigit((unsigned char)*u)) {
		if (parse_id(u, uid) < 0)
			return err_make(err, EINVAL,
					"user `%s`: expected a uid from 0 to 4294967294", spec);
		*gid = uid_entry(rootfs, *uid, &name);
	} else {
		r = lookup_db(rootfs, "/etc/passwd", u, uid, &pgid, err);
		if (r < 0)
			return r;
		*gid = pgid;
		name = strdup(u);
	}
	if (!g) {
		*groups = member_groups(rootfs, name, *gid);
		return 0;
	}
	if (isdigit((unsigned char)*g)) {
		if (parse_id(g, gid) < 0)
			return err_make(err, EINVAL,
					"user `%s`: expected a gid from 0 to 4294967294", spec);
		return 0;
	}
	return lookup_db(rootfs, "/etc/group", g, gid, NULL, err);
}

/* --group-add NAME|GID: a name from the image's /etc/group, a number as is; each once. */
static int add_groups(json_t **groups, char **list, int rootfs, struct err **err)
{
	for (size_t i = 0; list && list[i]; i++) {
		uint32_t gid;
		bool dup = false;
		size_t j;
		json_t *v;

		if (isdigit((unsigned char)list[i][0]) && parse_id(list[i], &gid) < 0)
			return err_make(err, 0,
					"--group-add `%.64s`: expected a gid from 0 to 4294967294",
					list[i]);
		if (!isdigit((unsigned char)list[i][0]) &&
		    lookup_db(rootfs, "/etc/group", list[i], &gid, NULL, err) < 0)
			return err_wrap(err, "--group-add `%.64s`", list[i]);
		if (!*groups && !(*groups = json_array()))
			return err_make(err, ENOMEM, "--group-add");
		json_array_foreach (*groups, j, v)
			dup |= json_integer_value(v) == (json_int_t)gid;
		if (!dup && json_array_size(*groups) >= GROUPS_MAX)
			return err_make(err, 0, "--group-add `%.64s`: at most %d groups", list[i],
					GROUPS_MAX);
		if (!dup)
			json_array_append_new(*groups, json_integer(gid));
	}
	return 0;
}

static json_t *resources(const struct img_run_opts *o)
{
	json_t *r = json_object();

	json_object_set_new(r, "devices", json_pack("[{s:b,s:s}]", "allow", 0, "access", "rwm"));
	if (o->memory)
		json_object_set_new(r, "memory",
				    json_pack("{s:I}", "limit", (json_int_t)o->memory));
	if (o->cpus_milli)
		json_object_set_new(r, "cpu",
				    json_pack("{s:I,s:I}", "quota",
					      (json_int_t)(o->cpus_milli * 100), "period", 100000));
	if (o->pids_limit)
		json_object_set_new(r, "pids",
				    json_pack("{s:I}", "limit", (json_int_t)o->pids_limit));
	return r;
}

static json_t *idmaps(const struct img_idmap *m, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:I,s:I,s:I}", "containerID",
						   (json_int_t)m[i].container_id, "hostID",
						   (json_int_t)m[i].host_id, "size",
						   (json_int_t)m[i].size));
	return a;
}

/*
 * run IMAGE's default seccomp filter: every syscall allowed but those a
 * container with the default capabilities has no use for and that widen the
 * kernel's attack surface -- new namespaces (unshare, setns, clone with a
 * CLONE_NEW* flag: a user namespace gives its root CAP_SYS_ADMIN over
 * mounts and much else), keyrings, bpf, perf events, userfaultfd, io_uring,
 * module and kexec loading, mounts, clock and swap changes, and the
 * obsolete ones.  clone3 says ENOSYS (its flags are behind a pointer no
 * filter can read), so libc falls back to clone.  AF_VSOCK sockets are
 * refused as Docker's profile does: in a VM container (run --vm) the guest's
 * agent listens on vsock, and on the host vsock reaches VMs.  On the i386
 * ABI a socket() may also come through socketcall(), whose arguments sit
 * behind a pointer: libseccomp turns the rule into one on
 * socketcall(SYS_SOCKET) without the family, so a 32-bit program whose libc
 * uses socketcall (glibc built for kernels before 4.3) gets EPERM for every
 * socket -- closed rather than open; such a program needs
 * seccomp=unconfined or a profile of its own.  Docker's and podman's
 * defaults deny these too (theirs are allow-lists); --security-opt
 * seccomp=unconfined drops the filter, seccomp=FILE replaces it.
 */
static const char *const denied_syscalls[] = {
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "init_module",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "quotactl",
    "reboot",
    "request_key",
    "setns",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "sysfs",
    "_sysctl",
    "umount",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
};

static json_t *default_seccomp(void)
{
	static const json_int_t clone_new[] = {0x00000080 /* CLONE_NEWTIME */,
					       CLONE_NEWNS,
					       CLONE_NEWCGROUP,
					       CLONE_NEWUTS,
					       CLONE_NEWIPC,
					       CLONE_NEWUSER,
					       CLONE_NEWPID,
					       CLONE_NEWNET};
	json_t *rules = json_pack(
	    "[{s:o,s:s,s:i},{s:[s],s:s,s:i},{s:[s],s:s,s:i,s:[{s:i,s:i,s:s}]}]", "names",
	    str_array(denied_syscalls, ARRAY_SIZE(denied_syscalls)), "action", "SCMP_ACT_ERRNO",
	    "errnoRet", EPERM, "names", "clone3", "action", "SCMP_ACT_ERRNO", "errnoRet", ENOSYS,
	    "names", "socket", "action", "SCMP_ACT_ERRNO", "errnoRet", EPERM, "args", "index", 0,
	    "value", AF_VSOCK, "op", "SCMP_CMP_EQ");

	/* One rule per flag: the conditions of one rule are ANDed, rules ORed. */
	for (size_t i = 0; rules && i < ARRAY_SIZE(clone_new); i++)
		json_array_append_new(rules, json_pack("{s:[s],s:s,s:i,s:[{s:i,s:I,s:I,s:s}]}",
						       "names", "clone", "action", "SCMP_ACT_ERRNO",
						       "errnoRet", EPERM, "args", "index", 0,
						       "value", clone_new[i], "valueTwo",
						       clone_new[i], "op", "SCMP_CMP_MASKED_EQ"));
	return json_pack("{s:s,s:[s,s,s],s:o}", "defaultAction", "SCMP_ACT_ALLOW", "architectures",
			 "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "syscalls", rules);
}

/*
 * The namespaces, limits, masked paths, seccomp filter and, as podman does,
 * net.ipv4.ping_group_range "0 0" in a network namespace made for the
 * container (a bridge network's or none's): root in it pings through ICMP
 * datagram sockets without CAP_NET_RAW.  Like podman, only in a netns we
 * made: one joined by --network ns:PATH is someone else's to configure, and
 * --network host's is the host's.
 */
static void add_ns(json_t *ns, const char *type, bool host, const char *path)
{
	if (!host)
		json_array_append_new(ns, path ? json_pack("{s:s,s:s}", "type", type, "path", path)
					       : json_pack("{s:s}", "type", type));
}

static json_t *linux_section(const struct img_run_opts *o)
{
	json_t *ns = json_array(), *l;

	add_ns(ns, "pid", o->host_pid, o->pidns_path);
	add_ns(ns, "ipc", o->host_ipc, o->ipcns_path);
	add_ns(ns, "uts", o->host_uts, o->utsns_path);
	add_ns(ns, "mount", false, NULL);
	if (!o->host_network && o->netns_path)
		json_array_append_new(
		    ns, json_pack("{s:s,s:s}", "type", "network", "path", o->netns_path));
	else if (!o->host_network)
		json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
	if (o->rootless)
		json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
	l = json_pack("{s:o, s:o, s:o, s:o}", "namespaces", ns, "resources", resources(o),
		      "maskedPaths", str_array(masked_paths, ARRAY_SIZE(masked_paths)),
		      "readonlyPaths", str_array(readonly_paths, ARRAY_SIZE(readonly_paths)));
	if (l && o->rootless) {
		json_object_set_new(l, "uidMappings", idmaps(o->uid_maps, o->n_uid_maps));
		json_object_set_new(l, "gidMappings", idmaps(o->gid_maps, o->n_gid_maps));
	}
	if (l && !o->host_network && (!o->netns_path || o->netns_private))
		json_object_set_new(l, "sysctl",
				    json_pack("{s:s}", "net.ipv4.ping_group_range", "0 0"));
	if (l)
		add_sysctls(l, o->sysctls);
	if (l && o->privileged)
		add_privileged(l, o);
	if (l && o->devices)
		img_spec_add_devices(l, json_object_get(json_object_get(l, "resources"), "devices"),
				     o->devices);
	if (l && (o->seccomp || !o->seccomp_unconfined))
		json_object_set_new(l, "seccomp",
				    o->seccomp ? json_incref(o->seccomp) : default_seccomp());
	return l;
}

static json_t *process_section(json_t *cfg, const struct img_run_opts *o, json_t *args,
			       uint32_t uid, uint32_t gid, json_t *groups)
{
	const char *wd =
	    o->workdir ? o->workdir : json_string_value(json_object_get(cfg, "WorkingDir"));
	json_t *caps = o->caps ? str_array((const char *const *)o->caps, strv_length(o->caps))
			       : str_array(img_default_caps, ARRAY_SIZE(img_default_caps) - 1);

	return json_pack(
	    "{s:b, s:{s:I,s:I,s:o*}, s:o, s:o, s:s, s:{s:O,s:O,s:o}, s:o, s:b}", "terminal",
	    o->terminal, "user", "uid", (json_int_t)uid, "gid", (json_int_t)gid, "additionalGids",
	    groups, "args", args, "env", merge_env(json_object_get(cfg, "Env"), o->env), "cwd",
	    wd && *wd ? wd : "/", "capabilities", "bounding", caps, "effective", caps, "permitted",
	    caps, "rlimits", rlimits(o), "noNewPrivileges", !o->new_privileges);
}

/*
 * As podman: a shared volume makes "/" shared, else a slave one makes it rslave, so
 * that the volume's propagation reaches its source (a private "/" cuts it off).
 */
static void root_propagation(json_t *spec, json_t *mounts)
{
	const char *prop = NULL;
	json_t *m, *o;
	size_t i, j;

	json_array_foreach (mounts, i, m)
		json_array_foreach (json_object_get(m, "options"), j, o) {
			const char *w = json_string_value(o);

			if (w && (streq(w, "shared") || streq(w, "rshared")))
				prop = "shared";
			else if (w && !prop && (streq(w, "slave") || streq(w, "rslave")))
				prop = "rslave";
		}
	if (prop)
		json_object_set_new(json_object_get(spec, "linux"), "rootfsPropagation",
				    json_string(prop));
}

int img_spec_generate(const char *config_buf, size_t config_len, const struct img_run_opts *o,
		      int rootfs_fd, json_t **ret, struct err **err)
{
	_cleanup_json_ json_t *image = NULL, *spec = NULL, *mounts = NULL;
	json_t *cfg, *args = NULL, *proc, *groups = NULL;
	const char *user;
	uint32_t uid, gid;
	int r;

	r = json_load_buf_capped("image config", config_buf, config_len, IMG_MANIFEST_MAX, &image,
				 err);
	if (r < 0)
		return r;
	cfg = json_object_get(image, "config");
	user = o->user ? o->user : json_string_value(json_object_get(cfg, "User"));
	r = resolve_user(user, rootfs_fd, &uid, &gid, &groups, err);
	/* Rootless, the groups may be unmapped or setgroups(2) denied: none, as before. */
	if (o->rootless) {
		json_decref(groups);
		groups = NULL;
	}
	if (r >= 0)
		r = add_groups(&groups, o->group_add, rootfs_fd, err);
	if (r >= 0)
		r = make_args(cfg, o->entrypoint, o->args, &args, err);
	if (r >= 0 && o->init) {
		json_array_insert_new(args, 0, json_string("--"));
		json_array_insert_new(args, 0, json_string("/dev/init"));
	}
	if (r < 0) {
		json_decref(groups);
		return r;
	}
	mounts = default_mounts(o);
	r = add_volumes(mounts, o->volumes, err);
	if (r >= 0)
		r = add_tmpfs(mounts, o->tmpfs, err);
	if (r < 0) {
		json_decref(args);
		json_decref(groups);
		return r;
	}
	proc = process_section(cfg, o, args, uid, gid, groups);
	/* No UTS namespace of its own: no hostname, which would be another's. */
	spec = json_pack("{s:s, s:o, s:{s:s,s:b}, s:s*, s:O, s:o}", "ociVersion", OCI_SPEC_VERSION,
			 "process", proc, "root", "path", "rootfs", "readonly", o->read_only,
			 "hostname",
			 o->host_uts || o->utsns_path ? NULL
			 : o->hostname		      ? o->hostname
			 : o->name		      ? o->name
						      : "isola",
			 "mounts", mounts, "linux", linux_section(o));
	if (!spec)
		return err_make(err, ENOMEM, "config.json");
	root_propagation(spec, mounts);
	*ret = TAKE_PTR(spec);
	return 0;
}
