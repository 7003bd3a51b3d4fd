/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.json's mounts for a VM container of the OCI mode
 * (docs/vm-containers.md): each is carried or refused with its name, never
 * ignored.  /proc, /sys, /dev and /dev/pts are the agent's own mounts; tmpfs,
 * mqueue and cgroup mounts are made inside the guest (the CONFIG's mount
 * entries); a bind of a regular file is copied into the container's root
 * disk at create (a snapshot, not live: debugfs writes it into the ext4
 * image); a bind of a directory at /dev/shm (podman's shm) becomes a guest
 * tmpfs; any other directory is shared live through the VMM's virtio-fs
 * device (`vm run --fs`), mounted by the agent.  Anything else is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "oci.h"
#include "proto.h"
#include "vmct.h"

#define FILE_MAX  (1u << 20) /* a bind-mounted file copied into the disk, at most */
#define FILES_MAX 64u
#define SHM_DATA  "mode=1777,size=65536k"

/* An absolute path debugfs and the guest can take: no whitespace, quotes, backslash, . or .. */
static bool dest_ok(const char *d)
{
	if (!d || d[0] != '/' || strlen(d) >= VMCT_MOUNT_STR || strpbrk(d, "\"'\\"))
		return false;
	for (const char *c = d; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	for (const char *c = d; c; c = strchr(c + 1, '/')) {
		size_t k = strcspn(c + 1, "/");

		if ((k == 1 && c[1] == '.') || (k == 2 && c[1] == '.' && c[2] == '.'))
			return false;
	}
	return true;
}

static const struct {
	const char *name;
	unsigned long set, clear;
} flag_opts[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"noatime", MS_NOATIME, 0},
    {"nodiratime", MS_NODIRATIME, 0},
    {"relatime", MS_RELATIME, 0},
    {"strictatime", MS_STRICTATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"diratime", 0, MS_NODIRATIME},
    {"bind", 0, 0},
    {"rbind", 0, 0},
    /* Propagation: a guest's mount shares nothing with the host's. */
    {"private", 0, 0},
    {"rprivate", 0, 0},
    {"slave", 0, 0},
    {"rslave", 0, 0},
    {"shared", 0, 0},
    {"rshared", 0, 0},
    {"unbindable", 0, 0},
    {"runbindable", 0, 0},
};

/* The data options a tmpfs may carry into the guest. */
static bool tmpfs_key(const char *o)
{
	static const char *const keys[] = {
	    "mode=", "size=", "nr_inodes=", "nr_blocks=", "uid=", "gid="};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strncmp(o, keys[i], strlen(keys[i])))
			return true;
	return false;
}

/*
 * options into flags and (tmpfs) data, *ret_copyup set by a tmpfs's
 * tmpcopyup; an option we cannot honour is named.
 */
static int parse_options(json_t *opts, bool tmpfs, struct vmct_mount *m, bool *ret_copyup,
			 const char **ret_bad)
{
	size_t i, len = 0;
	json_t *v;

	json_array_foreach (opts, i, v) {
		const char *o = json_string_value(v);
		bool known = false;

		if (!o)
			return *ret_bad = "(not a string)", -EINVAL;
		for (size_t k = 0; k < ARRAY_SIZE(flag_opts) && !known; k++) {
			if (strcmp(o, flag_opts[k].name))
				continue;
			m->flags = (m->flags | flag_opts[k].set) & ~flag_opts[k].clear;
			known = true;
		}
		if (!known && tmpfs && (streq(o, "tmpcopyup") || streq(o, "notmpcopyup"))) {
			*ret_copyup = o[0] == 't';
			known = true;
		}
		if (!known && tmpfs && tmpfs_key(o) && !strpbrk(o, ", \t\n") &&
		    len + strlen(o) + 2 < sizeof(m->data)) {
			len += snprintf(m->data + len, sizeof(m->data) - len, "%s%s",
					len ? "," : "", o);
			known = true;
		}
		if (!known)
			return *ret_bad = o, -EINVAL;
	}
	return 0;
}

static bool is_bind(const char *type, json_t *opts)
{
	size_t i;
	json_t *v;

	if (type && streq(type, "bind"))
		return true;
	json_array_foreach (opts, i, v)
		if (json_string_value(v) &&
		    (streq(json_string_value(v), "bind") || streq(json_string_value(v), "rbind")))
			return true;
	return false;
}

/* The agent's own: /proc, /sys, /dev (its devtmpfs), /dev/pts. */
static bool agent_made(const char *dest, const char *type)
{
	return (streq(dest, "/proc") && streq(type, "proc")) ||
	       (streq(dest, "/sys") && streq(type, "sysfs")) ||
	       (streq(dest, "/dev") && streq(type, "tmpfs")) ||
	       (streq(dest, "/dev/pts") && streq(type, "devpts"));
}

static int add_guest(struct vmct_oci_mounts *p, const struct vmct_mount *m, size_t i,
		     struct err **err)
{
	char line[3 * VMCT_MOUNT_STR];
	char **n;

	if (p->n_guest >= VMCT_MOUNTS_MAX)
		return err_make(err, 0, "mounts[%zu]: more than %u mounts in the guest", i,
				VMCT_MOUNTS_MAX);
	if (vmct_mount_format(m, line, sizeof(line)) < 0)
		return err_make(err, 0, "mounts[%zu] `%s`: cannot be made in the guest", i,
				m->dest);
	n = realloc(p->guest, (p->n_guest + 2) * sizeof(char *));
	if (!n)
		return err_make(err, ENOMEM, "mounts");
	p->guest = n;
	n[p->n_guest] = strdup(line);
	if (!n[p->n_guest])
		return err_make(err, ENOMEM, "mounts");
	n[++p->n_guest] = NULL;
	return 0;
}

static int add_file(struct vmct_oci_mounts *p, const char *src, const char *dest, size_t i,
		    struct err **err)
{
	struct vmct_oci_file *n;

	if (p->n_files >= FILES_MAX)
		return err_make(err, 0, "mounts[%zu]: more than %u file binds", i, FILES_MAX);
	n = realloc(p->files, (p->n_files + 1) * sizeof(*n));
	if (!n)
		return err_make(err, ENOMEM, "mounts");
	p->files = n;
	n[p->n_files] = (struct vmct_oci_file){.src = strdup(src), .dest = strdup(dest)};
	if (!n[p->n_files].src || !n[p->n_files].dest) {
		free(n[p->n_files].src);
		free(n[p->n_files].dest);
		return err_make(err, ENOMEM, "mounts");
	}
	p->n_files++;
	return 0;
}

/*
 * A directory shared with the guest: the VMM's `--fs` value and the agent's
 * virtiofs mount of its tag at m->dest (m->flags from the options: ro is
 * enforced by the VMM too).
 */
static int add_share(struct vmct_oci_mounts *p, const char *src, struct vmct_mount *m, size_t i,
		     struct err **err)
{
	struct vmct_share *s = p->shares;
	int r;

	if (p->n_shares >= VMCT_FS_MAX)
		return err_make(err, 0,
				"mounts[%zu] `%s`: more than %u directories shared with a VM", i,
				m->dest, VMCT_FS_MAX);
	/* The VMM's option syntax: a comma would end the path. */
	if (strchr(src, ','))
		return err_make(err, 0, "mounts[%zu] `%s`: source `%s`: a comma cannot be shared",
				i, m->dest, src);
	s = realloc(s, (p->n_shares + 1) * sizeof(*s));
	if (!s)
		return err_make(err, ENOMEM, "mounts");
	p->shares = s;
	s += p->n_shares;
	*s = (struct vmct_share){.path = strdup(src), .ro = m->flags & MS_RDONLY};
	if (!s->path)
		return err_make(err, ENOMEM, "mounts");
	snprintf(m->type, sizeof(m->type), "virtiofs");
	snprintf(m->data, sizeof(m->data), VMCT_FS_PREFIX "%zu", p->n_shares);
	r = add_guest(p, m, i, err);
	if (r < 0) {
		free(s->path);
		return r;
	}
	p->n_shares++;
	return 0;
}

/*
 * A bind: a regular file is copied; podman's /dev/shm directory becomes a
 * guest tmpfs; another directory is shared.
 */
static int plan_bind(struct vmct_oci_mounts *p, const char *bundle, json_t *mnt, size_t i,
		     struct vmct_mount *m, struct err **err)
{
	const char *src = json_string_value(json_object_get(mnt, "source"));
	_cleanup_free_ char *path = NULL;
	struct stat st;

	if (!src || !*src)
		return err_make(err, 0, "mounts[%zu] `%s`: a bind without a source", i, m->dest);
	if (src[0] != '/' && asprintf(&path, "%s/%s", bundle, src) < 0)
		return err_make(err, ENOMEM, "mounts");
	if (stat(path ? path : src, &st) < 0)
		return err_make(err, errno, "mounts[%zu] `%s`: source `%s`", i, m->dest, src);
	if (S_ISDIR(st.st_mode) && streq(m->dest, "/dev/shm")) {
		snprintf(m->type, sizeof(m->type), "tmpfs");
		snprintf(m->data, sizeof(m->data), "%s", SHM_DATA);
		return add_guest(p, m, i, err);
	}
	if (S_ISDIR(st.st_mode))
		return add_share(p, path ? path : src, m, i, err);
	if (!S_ISREG(st.st_mode))
		return err_make(err, 0,
				"mounts[%zu] `%s`: only a regular file can be bound in a VM", i,
				m->dest);
	if ((uint64_t)st.st_size > FILE_MAX)
		return err_make(err, 0, "mounts[%zu] `%s`: `%s` is over %u bytes", i, m->dest, src,
				FILE_MAX);
	return add_file(p, path ? path : src, m->dest, i, err);
}

static int plan_one(struct vmct_oci_mounts *p, const char *bundle, json_t *mnt, size_t i,
		    struct err **err)
{
	const char *dest = json_string_value(json_object_get(mnt, "destination"));
	const char *type = json_string_value(json_object_get(mnt, "type")), *bad = NULL;
	json_t *opts = json_object_get(mnt, "options");
	struct vmct_mount m = {};
	bool bind = is_bind(type, opts), copyup = false;

	if (!dest_ok(dest))
		return err_make(err, 0,
				"mounts[%zu] `%s`: the destination must be absolute, without "
				". or .. or blanks or quotes",
				i, dest ? dest : "");
	snprintf(m.dest, sizeof(m.dest), "%s", dest);
	if (opts && !json_is_array(opts))
		return err_make(err, 0, "mounts[%zu] `%s`: options: not an array", i, dest);
	if (!bind && !type)
		return err_make(err, 0, "mounts[%zu] `%s`: no type", i, dest);
	if (!bind && agent_made(dest, type))
		return 0;
	if (parse_options(opts, !bind && streq(type, "tmpfs"), &m, &copyup, &bad) < 0)
		return err_make(err, 0, "mounts[%zu] `%s`: option `%s`: not supported in a VM", i,
				dest, bad);
	if (bind)
		return plan_bind(p, bundle, mnt, i, &m, err);
	if (streq(type, "tmpfs") || streq(type, "mqueue")) {
		snprintf(m.type, sizeof(m.type), "%s", type);
		/* tmpcopyup: the agent copies what the root has there (src/lib/copytree.c). */
		m.copyup = copyup && streq(type, "tmpfs");
		return add_guest(p, &m, i, err);
	}
	if ((streq(type, "cgroup") || streq(type, "cgroup2")) && streq(dest, "/sys/fs/cgroup")) {
		snprintf(m.type, sizeof(m.type), "cgroup2");
		return add_guest(p, &m, i, err);
	}
	return err_make(err, 0, "mounts[%zu] `%s`: type `%s` cannot be made in a VM container", i,
			dest, type);
}

int vmct_oci_mounts_plan(json_t *mounts, const char *bundle, struct vmct_oci_mounts *ret,
			 struct err **err)
{
	struct vmct_oci_mounts p = {};
	size_t i;
	json_t *mnt;
	int r = 0;

	if (mounts && !json_is_array(mounts))
		return err_make(err, 0, "mounts: not an array");
	json_array_foreach (mounts, i, mnt) {
		r = plan_one(&p, bundle, mnt, i, err);
		if (r < 0)
			break;
	}
	if (r < 0) {
		vmct_oci_mounts_free(&p);
		return r;
	}
	*ret = p;
	return 0;
}

const char *vmct_oci_mounts_file_left(const struct vmct_oci_mounts *p, bool hosts, bool resolv,
				      bool hostname)
{
	for (size_t i = 0; i < p->n_files; i++) {
		const char *d = p->files[i].dest;

		if (!(streq(d, "/etc/hosts") && hosts) &&
		    !(streq(d, "/etc/resolv.conf") && resolv) &&
		    !(streq(d, "/etc/hostname") && hostname))
			return d;
	}
	return NULL;
}

void vmct_oci_mounts_free(struct vmct_oci_mounts *p)
{
	for (size_t i = 0; i < p->n_guest; i++)
		free(p->guest[i]);
	for (size_t i = 0; i < p->n_files; i++) {
		free(p->files[i].src);
		free(p->files[i].dest);
	}
	for (size_t i = 0; i < p->n_shares; i++)
		free(p->shares[i].path);
	free(p->guest);
	free(p->files);
	free(p->shares);
	memset(p, 0, sizeof(*p));
}

/* The debugfs script: each file's parents made, the old entry removed, the copy written. */
static int write_script(const struct vmct_oci_mounts *p, int dirfd, struct err **err)
{
	_cleanup_free_ char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return err_make(err, errno, "debugfs script");
	for (size_t i = 0; i < p->n_files; i++) {
		const char *d = p->files[i].dest;

		for (const char *c = strchr(d + 1, '/'); c; c = strchr(c + 1, '/'))
			fprintf(f, "mkdir %.*s\n", (int)(c - d), d);
		fprintf(f, "rm %s\nwrite bind-%zu %s\n", d, i, d);
	}
	if (fclose(f) != 0)
		return err_make(err, ENOMEM, "debugfs script");
	return write_file_atomic_at(dirfd, "bind.debugfs", s, len, 0600, err);
}

/* debugfs -w -f bind.debugfs DISK in the state dir; its output in bind.log. */
static int run_debugfs(int dirfd, const char *disk, struct err **err)
{
	_cleanup_free_ char *log = NULL;
	size_t len = 0;
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return err_make(err, errno, "fork");
	if (pid == 0) {
		int fd = openat(dirfd, "bind.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || fchdir(dirfd) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execlp("debugfs", "debugfs", "-w", "-f", "bind.debugfs", disk, (char *)NULL);
		dprintf(2, "write: exec debugfs: %s (install e2fsprogs)\n", strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return err_make(err, errno, "wait for debugfs");
	read_file_at(dirfd, "bind.log", 1 << 16, &log, &len, NULL);
	/* debugfs exits 0 whatever a command did: a failed write says "write: ...". */
	for (char *l = log; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, "write: ", 7)) {
			*strchrnul(l, '\n') = '\0';
			return err_make(err, 0, "copy a bound file into the root disk: %s", l);
		}
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return err_make(err, 0, "debugfs failed on the root disk");
	return 0;
}

int vmct_oci_mounts_copy(const struct vmct_oci_mounts *p, int dirfd, const char *disk,
			 struct err **err)
{
	char name[32];
	int r = 0;

	if (!p->n_files)
		return 0;
	/* Snapshots under plain names: debugfs's parser sees no path of the engine's. */
	for (size_t i = 0; i < p->n_files && r >= 0; i++) {
		_cleanup_free_ char *data = NULL;
		size_t len = 0;

		snprintf(name, sizeof(name), "bind-%zu", i);
		r = read_file_at(AT_FDCWD, p->files[i].src, FILE_MAX, &data, &len, err);
		if (r >= 0)
			r = write_file_atomic_at(dirfd, name, data, len, 0644, err);
		if (r < 0)
			r = err_wrap(err, "bind `%s`", p->files[i].dest);
	}
	if (r >= 0)
		r = write_script(p, dirfd, err);
	if (r >= 0)
		r = run_debugfs(dirfd, disk, err);
	for (size_t i = 0; i < p->n_files; i++) {
		snprintf(name, sizeof(name), "bind-%zu", i);
		unlinkat(dirfd, name, 0);
	}
	unlinkat(dirfd, "bind.debugfs", 0);
	unlinkat(dirfd, "bind.log", 0);
	return r;
}
