/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The `cgroup` mount on a cgroup v1 or hybrid host, as runc makes it: a tmpfs
 * holding, for each hierarchy the host mounts under /sys/fs/cgroup (and the
 * cgroup2 `unified` one of a hybrid host), the container's own cgroup of that
 * hierarchy: a new mount in its cgroup namespace, or without one a bind of
 * its own directory only.  The host's symlinks there (cpuacct -> cpu,cpuacct)
 * are made again.  Where /sys/fs/cgroup is itself cgroup2 nothing here applies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "init.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CGV_MAX 32

struct cgv_hier {
	char name[64];	/* the mount point's basename: "memory", "cpu,cpuacct", "unified" */
	char opts[128]; /* its controllers and name=: "memory", "name=systemd"; "" on cgroup2 */
	char root[256]; /* the mount's root within the hierarchy */
	char src[512];	/* without a cgroup namespace: our own cgroup's directory */
	bool v2;
	bool at_root; /* our cgroup of it is the root of the host's mount */
	bool hide;    /* an empty directory: see cgv_hide_unplaced() */
};

struct cgv {
	struct cgv_hier h[CGV_MAX];
	size_t n;
};

/* Super options that are not controllers (cgroup1_show_options). */
static bool cgv_flag_opt(const char *o)
{
	static const char *const flags[] = {
	    "rw",	    "ro",  "noprefix", "xattr", "clone_children", "cpuset_v2_mode",
	    "favordynmods", "none"};

	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (streq(o, flags[i]))
			return true;
	return strchr(o, '=') && strncmp(o, "name=", 5) != 0;
}

/* "rw,cpu,cpuacct" -> "cpu,cpuacct", in the kernel's order (as /proc/self/cgroup has it). */
static void cgv_controllers(char *super, char *out, size_t len)
{
	char *save = NULL;
	size_t n = 0;

	*out = '\0';
	for (char *o = strtok_r(super, ",", &save); o; o = strtok_r(NULL, ",", &save))
		if (!cgv_flag_opt(o) && n < len)
			n += snprintf(out + n, len - n, "%s%s", n ? "," : "", o);
}

static void cgv_add(struct cgv *v, const char *mp, const char *root, const char *type, char *super)
{
	const char *name = mp + strlen(CG_ROOT "/");
	struct cgv_hier *h = NULL;

	if (strchr(name, '/') || strchr(name, '\\') || strlen(name) >= sizeof(h->name))
		return;
	/* The last mount on a mount point is the one on top. */
	for (size_t i = 0; i < v->n && !h; i++)
		if (streq(v->h[i].name, name))
			h = &v->h[i];
	if (!h && v->n == CGV_MAX)
		return;
	if (!h)
		h = &v->h[v->n++];
	*h = (struct cgv_hier){.v2 = streq(type, "cgroup2")};
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->root, sizeof(h->root), "%s", root);
	if (!h->v2)
		cgv_controllers(super, h->opts, sizeof(h->opts));
}

/* The cgroup hierarchies mounted right under /sys/fs/cgroup, from mountinfo. */
static int cgv_scan(struct cgv *v)
{
	_cleanup_free_ char *info = NULL;
	char *save = NULL;
	int r;

	r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16 << 20, &info, NULL, NULL);
	if (r < 0)
		return r;
	for (char *l = strtok_r(info, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char root[256], mp[256], type[32], super[512];
		const char *sep = strstr(l, " - ");

		if (!sep || sscanf(l, "%*s %*s %*s %255s %255s", root, mp) != 2 ||
		    sscanf(sep + 3, "%31s %*s %511s", type, super) != 2)
			continue;
		if (streq(mp, CG_ROOT)) /* a new mount there hides the ones below */
			v->n = 0;
		else if (strncmp(mp, CG_ROOT "/", strlen(CG_ROOT "/")) == 0 &&
			 (streq(type, "cgroup") || streq(type, "cgroup2")))
			cgv_add(v, mp, root, type, super);
	}
	return 0;
}

/* Our own cgroup's path in the hierarchy with controllers @opts ("" for cgroup2), or NULL. */
static const char *cgv_own_path(char *data, const char *opts)
{
	char *save = NULL;

	for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *ctrls = strchr(l, ':'), *path;

		if (!ctrls || !(path = strchr(ctrls + 1, ':')))
			continue;
		*path++ = '\0';
		if (streq(ctrls + 1, opts))
			return path;
	}
	return NULL;
}

/* Where our own cgroup of each hierarchy is on the host's mounts; false if one is not. */
static bool cgv_sources(struct cgv *v)
{
	_cleanup_free_ char *data = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &data, NULL, NULL) < 0)
		return false;
	for (size_t i = 0; i < v->n; i++) {
		struct cgv_hier *h = &v->h[i];
		size_t rl = streq(h->root, "/") ? 0 : strlen(h->root);
		_cleanup_free_ char *copy = strdup(data);
		const char *path = copy ? cgv_own_path(copy, h->opts) : NULL;

		/* Our cgroup must lie within what the host's mount shows. */
		if (!path || strncmp(path, h->root, rl) != 0 ||
		    (path[rl] != '/' && path[rl] != '\0'))
			return false;
		if (snprintf(h->src, sizeof(h->src), CG_ROOT "/%s%s", h->name, path + rl) >=
		    (int)sizeof(h->src))
			return false;
		h->at_root = path[rl] == '\0' || streq(path + rl, "/");
	}
	return true;
}

/*
 * A named hierarchy other than name=systemd (elogind's, a user's): isola
 * places no container there, so the container is wherever its caller was,
 * and the caller's cgroup (a session's, with its siblings) is not the
 * container's to see or write.
 */
static bool cgv_named_other(const struct cgv_hier *h)
{
	return !h->v2 && strstr(h->opts, "name=") && !streq(h->opts, "name=systemd");
}

/*
 * A hierarchy the container was not placed in (a named one other than
 * name=systemd: always) would show the host's whole tree: where it has
 * cgroups of its own elsewhere, such a hierarchy gets an empty directory.
 * In a cgroup namespace, the host mount's root shows as "/" exactly when the
 * namespace is rooted there.
 */
static void cgv_hide_unplaced(struct cgv *v, bool cgroupns)
{
	bool placed = false;

	for (size_t i = 0; i < v->n; i++) {
		if (cgroupns)
			v->h[i].at_root = streq(v->h[i].root, "/");
		placed |= !v->h[i].at_root;
	}
	for (size_t i = 0; i < v->n; i++)
		v->h[i].hide = (placed && v->h[i].at_root) || cgv_named_other(&v->h[i]);
}

static int cgv_setattr(int fd, unsigned at_flags, struct mount_attr *a)
{
	return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | at_flags, a, sizeof(*a));
}

/* One hierarchy on @dir, a directory of the tmpfs, with the mount's flags. */
static int cgv_mount_one(const struct cgv_hier *h, const struct ct_mount *m, int dir, bool cgroupns,
			 struct err **err)
{
	unsigned long flags = m->flags & ~(MS_REC | MS_BIND);
	char target[64];

	if (!cgroupns) {
		struct ct_mount b = {.destination = m->destination, .source = h->src};

		b.flags = flags | MS_BIND;
		return ct_rootfs_bind(&b, dir, true, err);
	}
	snprintf(target, sizeof(target), "/proc/self/fd/%d", dir);
	if (mount(h->v2 ? "cgroup2" : "cgroup", target, h->v2 ? "cgroup2" : "cgroup", flags,
		  h->v2 ? NULL : h->opts) < 0)
		return err_make(err, errno, "mount cgroup `%s` on `%s/%s`", h->opts, m->destination,
				h->name);
	return 0;
}

/* The host's symlinks in /sys/fs/cgroup (cpuacct -> cpu,cpuacct), made in @mnt. */
static int cgv_links(int mnt, struct err **err)
{
	_cleanup_closedir_ DIR *d = opendir(CG_ROOT);
	struct dirent *de;

	if (!d)
		return err_make(err, errno, "open `%s`", CG_ROOT);
	while ((de = readdir(d))) {
		char link[256];
		ssize_t n;

		if (de->d_type != DT_LNK)
			continue;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (symlinkat(link, mnt, de->d_name) < 0 && errno != EEXIST)
			return err_make(err, errno, "symlink `%s/%s`", CG_ROOT, de->d_name);
	}
	return 0;
}

static int cgv_fill(const struct cgv *v, const struct ct_mount *m, int mnt, bool cgroupns,
		    struct err **err)
{
	for (size_t i = 0; i < v->n; i++) {
		_cleanup_close_ int dir = -1;

		if (mkdirat(mnt, v->h[i].name, 0755) < 0 ||
		    (dir = openat(mnt, v->h[i].name,
				  O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return err_make(err, errno, "create `%s/%s`", m->destination, v->h[i].name);
		if (!v->h[i].hide && cgv_mount_one(&v->h[i], m, dir, cgroupns, err) < 0)
			return -1;
	}
	return cgv_links(mnt, err);
}

/* The tmpfs's flags once it is filled: read-only, propagation, attributes. */
static int cgv_finish(const struct ct_mount *m, int mnt, struct err **err)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};

	if ((m->flags & MS_RDONLY) && cgv_setattr(mnt, 0, &a) < 0)
		return err_make(err, errno, "make `%s` read-only", m->destination);
	a = (struct mount_attr){.propagation = m->propagation & ~MS_REC};
	if (m->propagation &&
	    cgv_setattr(mnt, (m->propagation & MS_REC) ? AT_RECURSIVE : 0, &a) < 0)
		return err_make(err, errno, "set propagation of `%s`", m->destination);
	a = (struct mount_attr){.attr_set = m->attr_set, .attr_clr = m->attr_clr};
	if ((m->attr_set || m->attr_clr) && cgv_setattr(mnt, AT_RECURSIVE, &a) < 0)
		return err_make(err, errno, "mount_setattr `%s`", m->destination);
	return 0;
}

/*
 * 1 once the view is on @target_fd; 0 where it does not apply (/sys/fs/cgroup
 * is cgroup2, no hierarchy under it) or could not be made (a v1 mount or a
 * bind refused in a user namespace; the tmpfs is detached again): the caller
 * then makes the cgroup2 view.
 */
int ct_rootfs_cgroup_v1(const struct ct_mount *m, int target_fd, bool cgroupns, struct err **err)
{
	_cleanup_free_ struct cgv *v = calloc(1, sizeof(*v));
	_cleanup_close_ int fs = -1, mnt = -1;
	_cleanup_err_ struct err *fill_err = NULL;
	char path[64];
	struct statfs sf;
	int r;

	if (!v)
		return err_make(err, ENOMEM, "cgroup mount");
	if (statfs(CG_ROOT, &sf) < 0 || sf.f_type == CGROUP2_SUPER_MAGIC || cgv_scan(v) < 0 ||
	    v->n == 0 || (!cgroupns && !cgv_sources(v)))
		return 0;
	cgv_hide_unplaced(v, cgroupns);
	/* Nothing is attached yet: any failure here leaves the cgroup2 view. */
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return 0;
	mnt =
	    fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0 || move_mount(mnt, "", target_fd, "",
				  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return 0;
	if (cgv_fill(v, m, mnt, cgroupns, &fill_err) < 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", mnt);
		if (umount2(path, MNT_DETACH) < 0)
			return err_make(err, errno, "detach the tmpfs on `%s`", m->destination);
		return 0;
	}
	r = cgv_finish(m, mnt, err);
	return r < 0 ? r : 1;
}
