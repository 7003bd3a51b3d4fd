/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's file system, built in its mount namespace: rootfs bind,
 * config mounts (targets resolved with openat2(RESOLVE_IN_ROOT) so a symlink
 * in the image cannot point a mount outside), /dev, pivot_root, then the
 * masked and read-only paths, sysctls and a read-only root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "init.h"
#include "overlay.h"

static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = flags | O_CLOEXEC,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* Make path (and its parents) inside the root; the last one a dir or a file. */
static int mkpath_in_root(int rootfd, const char *path, bool dir, int *ret_fd, struct err **err)
{
	_cleanup_free_ char *p = strdup(path);
	char *s;
	int fd;

	if (!p)
		return err_make(err, ENOMEM, "%s", path);
	for (s = p + 1;; s++) {
		bool last = *s == 0;

		if (*s != '/' && !last)
			continue;
		*s = 0;
		fd = open_in_root(rootfd, p, O_PATH);
		if (fd == -ENOENT) {
			_cleanup_close_ int pfd = -1;
			char *slash = strrchr(p, '/');

			*slash = 0;
			pfd = open_in_root(rootfd, *p ? p : "/", O_PATH | O_DIRECTORY);
			*slash = '/';
			if (pfd < 0)
				return err_make(err, -pfd, "resolve `%s` in the rootfs", p);
			if (!last || dir)
				fd = mkdirat(pfd, slash + 1, 0755);
			else
				fd = mknodat(pfd, slash + 1, S_IFREG | 0644, 0);
			if (fd < 0 && errno != EEXIST)
				return err_make(err, errno, "create `%s` in the rootfs", p);
			fd = open_in_root(rootfd, p, O_PATH);
		}
		if (fd < 0)
			return err_make(err, -fd, "resolve `%s` in the rootfs", p);
		if (last) {
			*ret_fd = fd;
			return 0;
		}
		close(fd);
		*s = '/';
	}
}

static unsigned long locked_flags(const char *target)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(target, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	return f;
}

/*
 * A cgroup2 mount of the caller's (at /sys/fs/cgroup, or /sys/fs/cgroup/unified
 * on a hybrid host) whose root is the root of our cgroup namespace: a bind of
 * it shows what a new cgroup2 mount would, without the RCU grace period the
 * kernel waits for when cgroup2 is mounted outside a new cgroup namespace
 * (5-15 ms here, the largest single cost of `run`).  With a cgroup namespace
 * of its own the container's view is rooted elsewhere (mountinfo shows the
 * host mount's root as "/.."), so it gets a new mount, which is cheap there.
 */
static bool cgroup2_bind_source(char *buf, size_t len)
{
	static const char *const where[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	_cleanup_free_ char *info = NULL;
	bool ok[2] = {false, false};
	char *save = NULL;
	struct statfs sf;

	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16 << 20, &info, NULL, NULL) < 0)
		return false;
	for (char *l = strtok_r(info, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char root[256], mp[256], type[32];
		const char *sep = strstr(l, " - ");

		if (!sep || sscanf(l, "%*s %*s %*s %255s %255s", root, mp) != 2 ||
		    sscanf(sep + 3, "%31s", type) != 1)
			continue;
		/* The last mount on a mount point is the one on top. */
		for (size_t i = 0; i < 2; i++)
			if (streq(mp, where[i]))
				ok[i] = streq(type, "cgroup2") && streq(root, "/");
	}
	for (size_t i = 0; i < 2; i++)
		if (ok[i] && statfs(where[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
			snprintf(buf, len, "%s", where[i]);
			return true;
		}
	return false;
}

/* Our cgroup2 cgroup is the root of our cgroup namespace ("0::/"). */
static bool in_cgroupns_root(void)
{
	_cleanup_free_ char *data = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &data, NULL, NULL) < 0)
		return false;
	return strncmp(data, "0::/\n", 5) == 0 || strstr(data, "\n0::/\n") != NULL;
}

/*
 * A new cgroup2 mount.  Made outside a new cgroup namespace, the kernel waits
 * for an RCU grace period and re-applies the hierarchy's root options.  When
 * our cgroup is our namespace's root, a namespace unshared just for the mount
 * has the same root, so the mount shows the same; then we go back to ours.
 */
static int mount_cgroup2(const char *target, unsigned long flags)
{
	_cleanup_close_ int own = -1;
	int r, saved;

	/* Joining the namespace we are in checks that we may come back to it. */
	if (!in_cgroupns_root() || (own = open("/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC)) < 0 ||
	    setns(own, CLONE_NEWCGROUP) < 0 || unshare(CLONE_NEWCGROUP) < 0)
		return mount("cgroup2", target, "cgroup2", flags, NULL);
	r = mount("cgroup2", target, "cgroup2", flags, NULL);
	saved = errno;
	if (setns(own, CLONE_NEWCGROUP) < 0)
		return -1; /* errno says why we could not go back: the caller fails */
	errno = saved;
	return r;
}

static int setattr_fd(int fd, bool recursive, struct mount_attr *a)
{
	return (int)syscall(SYS_mount_setattr, fd, "",
			    AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), a, sizeof(*a));
}

/* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (| MS_REC: the whole tree) on a mount's fd. */
static int mount_propagation(int fd, unsigned long p)
{
	struct mount_attr a = {.propagation = p & ~MS_REC};

	return setattr_fd(fd, p & MS_REC, &a);
}

/*
 * A bind's per-mount flags as mount_setattr(2) attributes, by remount's rule:
 * the flags given, ro and the atime ones cleared when not given; nosuid, nodev
 * and noexec that the source has are kept (what locked_flags() did).
 */
static void bind_attrs(unsigned long f, struct mount_attr *a)
{
	*a = (struct mount_attr){.attr_clr = MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME};
	if (f & MS_RDONLY)
		a->attr_set |= MOUNT_ATTR_RDONLY;
	else
		a->attr_clr |= MOUNT_ATTR_RDONLY;
	if (f & MS_NOSUID)
		a->attr_set |= MOUNT_ATTR_NOSUID;
	if (f & MS_NODEV)
		a->attr_set |= MOUNT_ATTR_NODEV;
	if (f & MS_NOEXEC)
		a->attr_set |= MOUNT_ATTR_NOEXEC;
	if (f & MS_NODIRATIME)
		a->attr_set |= MOUNT_ATTR_NODIRATIME;
	a->attr_set |= f & MS_NOATIME	    ? MOUNT_ATTR_NOATIME
		       : f & MS_STRICTATIME ? MOUNT_ATTR_STRICTATIME
					    : MOUNT_ATTR_RELATIME;
}

/*
 * A bind is made detached (open_tree), gets its flags and attributes there,
 * and only then is attached onto the destination's fd; its propagation is
 * set through the same fd afterwards.  Nothing is looked up again by path: a
 * volume shared with another container could swap a component of it in
 * between and send the `ro` to another mount.
 */
static int do_bind(const struct ct_mount *m, int target_fd, bool private, struct err **err)
{
	unsigned long rest = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
	unsigned flags =
	    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((m->flags & MS_REC) ? AT_RECURSIVE : 0);
	_cleanup_close_ int t = (int)syscall(SYS_open_tree, AT_FDCWD, m->source, flags);
	struct mount_attr a;

	if (t < 0)
		return err_make(err, errno, "bind `%s` on `%s`", m->source, m->destination);
	bind_attrs(rest, &a);
	if (rest && setattr_fd(t, false, &a) < 0)
		return err_make(err, errno, "remount `%s`", m->destination);
	a = (struct mount_attr){.attr_set = m->attr_set, .attr_clr = m->attr_clr};
	if ((m->attr_set || m->attr_clr) && setattr_fd(t, true, &a) < 0)
		return err_make(err, errno, "mount_setattr `%s`", m->destination);
	if (move_mount(t, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return err_make(err, errno, "bind `%s` on `%s`", m->source, m->destination);
	/* t is the attached mount now. */
	if (m->propagation && mount_propagation(t, m->propagation) < 0)
		return err_make(err, errno, "set propagation of `%s`", m->destination);
	/* The bind of the caller's cgroup2 mount: nothing made inside reaches the host. */
	if (private && !m->propagation && mount_propagation(t, MS_PRIVATE) < 0)
		return err_make(err, errno, "make `%s` private", m->destination);
	return 1;
}

int ct_rootfs_bind(const struct ct_mount *m, int target_fd, bool private, struct err **err)
{
	return do_bind(m, target_fd, private, err);
}

/*
 * Mount @m on @target (target_fd's magic link); 1 if it is complete (a bind,
 * do_bind, or a cgroup v1 view).  @cgroupns: the container has a cgroup namespace.
 */
static int do_mount_one(const struct ct_mount *m, int target_fd, const char *target, bool cgroupns,
			struct err **err)
{
	unsigned long flags = m->flags & ~(MS_REC);
	int r;

	if (m->flags & MS_BIND)
		return do_bind(m, target_fd, false, err);
	if (streq(m->type, "cgroup")) {
		char src[32];

		/* A v1 or hybrid host: its hierarchies, as runc shows them. */
		if ((r = ct_rootfs_cgroup_v1(m, target_fd, cgroupns, err)) != 0)
			return r;
		if (cgroup2_bind_source(src, sizeof(src))) {
			/* The mount's own flags (ro, nosuid, ...) on a bind of that one mount. */
			struct ct_mount b = *m;

			b.source = src;
			b.flags = (m->flags & ~MS_REC) | MS_BIND;
			return do_bind(&b, target_fd, true, err);
		}
		/* A cgroup2 view, scoped by the cgroup ns. */
		if (mount_cgroup2(target, flags) < 0)
			return err_make(err, errno, "mount cgroup2 on `%s`", m->destination);
		return 0;
	}
	/* Any number of lower directories: fsconfig(lowerdir+) past one page of data. */
	if (streq(m->type, "overlay")) {
		if (overlay_mount(m->source, target, flags, m->data, err) < 0)
			return err_wrap(err, "mount overlay on `%s`", m->destination);
		return 0;
	}
	if (mount(m->source, target, m->type, flags, m->data) < 0) {
		/* sysfs in a network namespace we do not own: fall back to a bind. */
		if (streq(m->type, "sysfs") && (errno == EPERM || errno == EBUSY)) {
			struct ct_mount b = *m;

			b.source = "/sys";
			b.flags |= MS_BIND | MS_REC;
			return do_bind(&b, target_fd, false, err);
		}
		return err_make(err, errno, "mount %s `%s` on `%s`", m->type, m->source,
				m->destination);
	}
	return 0;
}

/*
 * Propagation and attributes of a mount just made, not a bind (do_bind).  @target must name the
 * new mount's root: the O_PATH fd used for the mount itself still points at the
 * inode underneath, where remount and propagation changes fail with EINVAL.
 */
static int finish_mount(const struct ct_mount *m, const char *target, struct err **err)
{
	if (m->propagation && mount(NULL, target, NULL, m->propagation, NULL) < 0)
		return err_make(err, errno, "set propagation of `%s`", m->destination);
	if (m->attr_set || m->attr_clr) {
		struct mount_attr a = {.attr_set = m->attr_set, .attr_clr = m->attr_clr};

		if (syscall(SYS_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &a, sizeof(a)) < 0)
			return err_make(err, errno, "mount_setattr `%s`", m->destination);
	}
	return 0;
}

static bool is_tmpfs(const struct ct_mount *m)
{
	return streq(m->type, "tmpfs") && !(m->flags & MS_BIND);
}

/* A mount on "/" (an image's overlay, rootless): it covers the rootfs itself. */
static bool is_root_dest(const char *d)
{
	return d[strspn(d, "/")] == '\0';
}

/* The /proc files a bind of a file may cover (lxcfs's), runc's list. */
static const char *const proc_bind_ok[] = {"/proc/cpuinfo",
					   "/proc/diskstats",
					   "/proc/meminfo",
					   "/proc/stat",
					   "/proc/swaps",
					   "/proc/uptime",
					   "/proc/loadavg",
					   "/proc/slabinfo",
					   "/proc/net/dev",
					   "/proc/sys/kernel/ns_last_pid",
					   "/proc/sys/crypto/fips_enabled"};

/*
 * A mount whose target, resolved in the root, is on the container's procfs:
 * a symlink in the image (`/data -> /proc`) takes a mount past the text check
 * of spec.c, and a bind or tmpfs over /proc would give the init a /proc of
 * the image's making (the exec fifo is opened through /proc/self/fd).  Only
 * a proc mount at /proc and a bind of a file on runc's list may go there.
 */
static int check_proc_target(const struct ct_mount *m, int fd, bool dir, struct err **err)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return err_make(err, errno, "mount `%s`", m->destination);
	if (sf.f_type != PROC_SUPER_MAGIC)
		return 0;
	if (streq(m->type, "proc") && !(m->flags & MS_BIND) &&
	    path_same_abs(m->destination, "/proc"))
		return 0;
	for (size_t i = 0; !dir && (m->flags & MS_BIND) && i < ARRAY_SIZE(proc_bind_ok); i++)
		if (path_same_abs(m->destination, proc_bind_ok[i]))
			return 0;
	return err_make(err, 0,
			"mounts: `%s` is in the container's /proc (after its symlinks), where "
			"only a proc mount and a bind of a file runc allows (lxcfs's) may go",
			m->destination);
}

static int mount_entry(int rootfd, const char *rootfs, const struct ct_mount *orig, bool cgroupns,
		       struct err **err)
{
	_cleanup_close_ int fd = -1, below = -1;
	const struct ct_mount *m = orig;
	struct ct_mount rw = *orig;
	char target[64];
	bool dir = true;
	struct stat st;
	int r;

	if (m->flags & MS_BIND) {
		if (stat(m->source, &st) < 0)
			return err_make(err, errno, "mount source `%s`", m->source);
		dir = S_ISDIR(st.st_mode);
	}
	/*
	 * tmpcopyup: the directory the tmpfs will cover, read once it is mounted.
	 * One the image does not have is made empty, and the tmpfs keeps its mode=.
	 */
	if (m->copyup) {
		_cleanup_close_ int t = open_in_root(rootfd, m->destination, O_PATH | O_DIRECTORY);

		below = t < 0 ? -1 : openat(t, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (t >= 0 && below < 0)
			return err_make(err, errno, "tmpcopyup: open `%s`", m->destination);
	}
	r = mkpath_in_root(rootfd, m->destination, dir, &fd, err);
	if (r < 0)
		return err_wrap(err, "mount `%s`", m->destination);
	if ((r = check_proc_target(m, fd, dir, err)) < 0)
		return r;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	/*
	 * A read-only tmpfs is made so once every mount is done (ro_tmpfs_finish):
	 * one on "/" too, which needs the copy and every mount point made in it.
	 */
	if (is_tmpfs(m) && (m->flags & MS_RDONLY)) {
		rw.flags &= ~MS_RDONLY;
		m = &rw;
	}
	r = do_mount_one(m, fd, target, cgroupns, err);
	if (r != 0)
		return r < 0 ? r : 0; /* a bind has all it needs (do_bind) */
	if (!m->propagation && !m->attr_set && !m->attr_clr && below < 0)
		return 0;
	close(fd);
	fd =
	    is_root_dest(m->destination)
		? open(rootfs, (below < 0 ? O_PATH : O_RDONLY) | O_DIRECTORY | O_CLOEXEC)
		: open_in_root(rootfd, m->destination, below < 0 ? O_PATH : O_RDONLY | O_DIRECTORY);
	if (fd < 0 && is_root_dest(m->destination))
		fd = -errno;
	if (fd < 0)
		return err_make(err, -fd, "reopen `%s` after mounting", m->destination);
	if (below >= 0 && (r = ct_copyup(below, fd, m->destination, err)) < 0)
		return r;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	return finish_mount(m, target, err);
}

/* Whether mounts[i] is on "/" and a later mount on "/" covers it (and hides it). */
static bool covered_root(const struct ct_spec *s, size_t i)
{
	if (!is_root_dest(s->mounts[i].destination))
		return false;
	for (size_t j = i + 1; j < s->n_mounts; j++)
		if (is_root_dest(s->mounts[j].destination))
			return true;
	return false;
}

/*
 * The read-only tmpfs mounts, made so last, as runc does: the mounts below
 * them (podman's /etc/hosts under --tmpfs /etc:ro) need their mount points
 * created first.
 */
static int ro_tmpfs_finish(const struct ct_spec *s, int rootfd, struct err **err)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};

	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct ct_mount *m = &s->mounts[i];
		_cleanup_close_ int fd = -1;

		if (!is_tmpfs(m) || !(m->flags & MS_RDONLY) || covered_root(s, i))
			continue;
		/* rootfd is the topmost mount on "/", reopened after each (ct_rootfs_prepare). */
		fd = is_root_dest(m->destination)
			 ? openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)
			 : open_in_root(rootfd, m->destination, O_PATH);
		if (fd < 0 && is_root_dest(m->destination))
			fd = -errno;
		if (fd < 0)
			return err_make(err, -fd, "reopen `%s` to make it read-only",
					m->destination);
		if (setattr_fd(fd, false, &a) < 0)
			return err_make(err, errno, "make `%s` read-only", m->destination);
	}
	return 0;
}

static const struct {
	const char *name;
	unsigned maj, min;
} default_devices[] = {
    {"null", 1, 3},   {"zero", 1, 5},	 {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

/* mknod, or in a user namespace (no mknod there) a bind of the host's node. */
static int make_device(int rootfd, const char *path, mode_t mode, dev_t dev, bool bind,
		       struct err **err)
{
	_cleanup_close_ int fd = -1, dfd = -1;
	const char *name = strrchr(path, '/') + 1;
	_cleanup_free_ char *dir = strndup(path, name - path);
	char target[64];
	int r;

	if (!dir)
		return err_make(err, ENOMEM, "%s", path);
	r = mkpath_in_root(rootfd, dir, true, &dfd, err);
	if (r < 0)
		return r;
	unlinkat(dfd, name, 0);
	if (!bind) {
		/* The mode asked for, not cut by the caller's umask (/dev/null 0644 under 022). */
		mode_t mask = umask(0);

		r = mknodat(dfd, name, mode, dev);
		umask(mask);
		if (r < 0)
			return err_make(err, errno, "mknod `%s`", path);
		return 0;
	}
	if (mknodat(dfd, name, S_IFREG | 0600, 0) < 0)
		return err_make(err, errno, "create `%s`", path);
	fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_make(err, errno, "open `%s`", path);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (mount(path, target, NULL, MS_BIND, NULL) < 0)
		return err_make(err, errno, "bind device `%s`", path);
	return 0;
}

static int setup_dev(const struct ct_init *in, int rootfd, struct err **err)
{
	static const char *const links[][2] = {
	    {"/proc/self/fd", "fd"},	   {"/proc/self/fd/0", "stdin"},
	    {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	    {"pts/ptmx", "ptmx"},
	};
	const struct ct_spec *s = in->spec;
	_cleanup_close_ int dev = -1;
	struct stat st;
	char path[64];
	int r;

	/*
	 * A /dev that is a symbolic link (into a volume, say: mounts are made
	 * first) would take the nodes, links and the unlinks before them
	 * elsewhere, to the host's files.  It is refused; a missing one is made.
	 */
	dev = open_in_root(rootfd, "/dev", O_PATH | O_NOFOLLOW);
	if (dev >= 0 && fstat(dev, &st) == 0 && S_ISLNK(st.st_mode))
		return err_make(err, ELOOP, "the rootfs's /dev is a symbolic link");
	if (dev >= 0)
		close(dev);
	for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
		snprintf(path, sizeof(path), "/dev/%s", default_devices[i].name);
		r = make_device(rootfd, path, S_IFCHR | 0666,
				makedev(default_devices[i].maj, default_devices[i].min),
				in->in_userns, err);
		if (r < 0)
			return r;
	}
	dev = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW);
	if (dev < 0)
		return err_make(err, -dev, "open /dev in the rootfs");
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		unlinkat(dev, links[i][1], 0);
		if (symlinkat(links[i][0], dev, links[i][1]) < 0)
			return err_make(err, errno, "symlink /dev/%s", links[i][1]);
	}
	for (size_t i = 0; i < s->n_devices; i++) {
		const struct ct_device *d = &s->devices[i];
		mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
		_cleanup_close_ int fd = -1;

		r = make_device(rootfd, d->path, type | (d->has_mode ? d->mode & 07777 : 0666),
				makedev(d->major, d->minor), in->in_userns && d->type != 'p', err);
		if (r < 0)
			return r;
		fd = open_in_root(rootfd, d->path, O_PATH | O_NOFOLLOW);
		if (fd >= 0 && !in->in_userns &&
		    fchownat(fd, "", d->uid, d->gid, AT_EMPTY_PATH) < 0)
			return err_make(err, errno, "chown `%s`", d->path);
	}
	return 0;
}

static bool dev_is_bind(const struct ct_spec *s)
{
	bool bind = false;

	for (size_t i = 0; i < s->n_mounts; i++)
		if (path_same_abs(s->mounts[i].destination, "/dev")) /* "/dev/", "//dev" too */
			bind = s->mounts[i].flags & MS_BIND;
	return bind;
}

/*
 * "/" gets the configured propagation (rslave by default) so that volumes
 * keep the host's peer groups: an rshared volume is a peer of its source, as
 * Kubernetes' Bidirectional propagation needs.  pivot_root only needs the new
 * root, its parent and the old root unshared: make just the mount holding the
 * rootfs and "/" itself private (not recursively), as runc does.  Unbindable
 * is applied after pivot_root (the rootfs bind would fail on it).
 */
static int prepare_propagation(const struct ct_init *in, struct err **err)
{
	unsigned long prop = in->spec->rootfs_propagation, type = prop & ~MS_REC;
	char mp[4096];
	int r;

	if (type == MS_UNBINDABLE)
		prop = MS_SLAVE | MS_REC;
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return err_make(err, errno, "set propagation of /");
	if (type != MS_SHARED)
		return 0;
	if ((r = mount_point_of(in->rootfs, mp, sizeof(mp), err)) < 0)
		return r;
	if (mount(NULL, mp, NULL, MS_PRIVATE, NULL) < 0 ||
	    mount(NULL, "/", NULL, MS_PRIVATE, NULL) < 0)
		return err_make(err, errno, "make the mount of the rootfs `%s` private", mp);
	return 0;
}

/*
 * A process.cwd missing from the rootfs is made (0755, root's), as runc does; an image's
 * WorkingDir need not exist in it either.  Made after the mounts and /dev, so a cwd inside
 * one is made there; resolved inside the root, so a symlink in the image cannot lead out.
 * (A container without a mount namespace of its own is left as it is.)
 */
static int make_cwd(const struct ct_init *in, int rootfd, struct err **err)
{
	_cleanup_close_ int fd = -1;
	const char *cwd = in->proc ? in->proc->cwd : NULL;

	if (!cwd || cwd[0] != '/')
		return 0;
	fd = open_in_root(rootfd, cwd, O_PATH);
	if (fd != -ENOENT)
		return 0; /* there, or an error that the chdir names */
	if (mkpath_in_root(rootfd, cwd, true, &fd, err) < 0)
		return err_wrap(err, "process.cwd `%s`", cwd);
	return 0;
}

int ct_rootfs_prepare(const struct ct_init *in, struct err **err)
{
	const struct ct_spec *s = in->spec;
	_cleanup_close_ int rootfd = -1;
	int r;

	if (in->shared_mntns)
		return 0;
	if ((r = prepare_propagation(in, err)) < 0)
		return r;
	if (mount(in->rootfs, in->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_make(err, errno, "bind rootfs `%s`", in->rootfs);
	rootfd = open(in->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err_make(err, errno, "open rootfs `%s`", in->rootfs);
	for (size_t i = 0; i < s->n_mounts; i++) {
		r = mount_entry(rootfd, in->rootfs, &s->mounts[i], s->ns[CT_NS_CGROUP].enabled,
				err);
		if (r < 0)
			return r;
		/* What follows goes into the new mount on "/", not under it. */
		if (is_root_dest(s->mounts[i].destination)) {
			close(rootfd);
			rootfd = open(in->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (rootfd < 0)
				return err_make(err, errno, "open rootfs `%s`", in->rootfs);
		}
	}
	/* The default devices only when /dev is ours (not a bind of the host's). */
	if (!dev_is_bind(s)) {
		r = setup_dev(in, rootfd, err);
		if (r < 0)
			return r;
	}
	/* After /dev (a cwd of /dev/null is the device, not a directory made first). */
	if ((r = make_cwd(in, rootfd, err)) < 0)
		return r;
	return ro_tmpfs_finish(s, rootfd, err);
}

int ct_rootfs_pivot(const struct ct_init *in, struct err **err)
{
	_cleanup_close_ int oldroot = -1, newroot = -1;

	newroot = open(in->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (newroot < 0)
		return err_make(err, errno, "open rootfs `%s`", in->rootfs);
	if (fchdir(newroot) < 0)
		return err_make(err, errno, "chdir rootfs");
	if (in->shared_mntns) /* pivot_root would move every process of the namespace */
		return chroot(".") < 0 || chdir("/") < 0 ? err_make(err, errno, "chroot rootfs")
							 : 0;
	if (in->no_pivot) {
		if (mount(in->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
			return err_make(err, errno, "move rootfs to /");
		if (chroot(".") < 0)
			return err_make(err, errno, "chroot");
		return chdir("/") < 0 ? err_make(err, errno, "chdir /") : 0;
	}
	oldroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0)
		return err_make(err, errno, "open /");
	/* pivot_root(".", "."): the old root ends up stacked on "/"; detach it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_make(err, errno, "pivot_root `%s`", in->rootfs);
	if (fchdir(oldroot) < 0)
		return err_make(err, errno, "chdir old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return err_make(err, errno, "make old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return err_make(err, errno, "detach old root");
	if (chdir("/") < 0)
		return err_make(err, errno, "chdir /");
	return 0;
}

/*
 * What the runtime writes to /proc in the container (sysctls, oom_score_adj)
 * goes through its own procfs only: /proc must be a proc mount, and the path
 * may not leave that mount.  A /proc file covered by a bind of another file
 * (core_pattern, a host file), which a mount shared with another container
 * can let someone make, is refused, not written: runc's CVE-2025-52881.
 */
int ct_proc_write(const char *rel, const char *data, struct err **err)
{
	struct open_how how = {
	    .flags = O_WRONLY | O_TRUNC | O_NOCTTY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int proc = -1, fd = -1;
	struct statfs sf;
	int r;

	proc = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (proc < 0 || fstatfs(proc, &sf) < 0)
		return err_make(err, errno, "open the container's /proc");
	if (sf.f_type != PROC_SUPER_MAGIC)
		return err_make(err, 0, "the container's /proc is not a proc mount");
	fd = (int)syscall(SYS_openat2, proc, rel, &how, sizeof(how));
	if (fd < 0 && errno == EXDEV)
		return err_make(err, 0, "/proc/%s is covered by another mount, not written", rel);
	if (fd < 0)
		return err_make(err, errno, "open /proc/%s", rel);
	r = write_all(fd, data, strlen(data));
	if (r < 0)
		return err_make(err, -r, "write `%s` to /proc/%s", data, rel);
	return 0;
}

static int write_sysctls(char **kv, struct err **err)
{
	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
		char path[512];

		if (snprintf(path, sizeof(path), "sys/%s", kv[i]) >= (int)sizeof(path))
			return err_make(err, ENAMETOOLONG, "sysctl %s: key too long", kv[i]);
		for (char *p = path + 4; *p; p++)
			if (*p == '.')
				*p = '/';
		if (ct_proc_write(path, kv[i + 1], err) < 0)
			return err_wrap(err, "sysctl %s", kv[i]);
	}
	return 0;
}

/*
 * Files are masked with the container's /dev/null, as in runc.  A /dev that
 * another container shares can have it swapped meanwhile, for a symlink to a
 * /proc/sys file say, and a bind of "/dev/null" would then put that file,
 * writable, over the masked path (runc's CVE-2025-31133).  So it is opened
 * once, not through a symlink, must be the null device (1:3), and each mask
 * clones that open file.
 */
static int open_null(struct err **err)
{
	_cleanup_close_ int fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return err_make(err, errno, "maskedPaths: open the container's /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return err_make(
		    err, 0, "maskedPaths: the container's /dev/null is not the null device (1:3)");
	return TAKE_FD(fd);
}

/* The path is opened once: what is checked is what gets the mount.  The
 * null device is opened at the first file to mask (*null_fd < 0 before). */
static int mask_path(const char *p, int *null_fd, struct err **err)
{
	_cleanup_close_ int t = open(p, O_PATH | O_CLOEXEC), fs = -1, mnt = -1;
	struct stat st;

	if (t < 0)
		return errno == ENOENT ? 0 : err_make(err, errno, "maskedPaths `%s`", p);
	if (fstat(t, &st) < 0)
		return err_make(err, errno, "maskedPaths `%s`", p);
	if (S_ISDIR(st.st_mode)) {
		fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
		if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			return err_make(err, errno, "mask `%s`: tmpfs", p);
		mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	} else {
		if (*null_fd < 0 && (*null_fd = open_null(err)) < 0)
			return *null_fd;
		mnt = (int)syscall(SYS_open_tree, *null_fd, "",
				   AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	}
	if (mnt < 0 ||
	    move_mount(mnt, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return err_make(err, errno, "mask `%s`", p);
	return 0;
}

static int readonly_path(const char *p, struct err **err)
{
	if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 : err_make(err, errno, "readonlyPaths `%s`", p);
	if (mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(p), NULL) < 0)
		return err_make(err, errno, "remount `%s` read-only", p);
	return 0;
}

/*
 * A stdio fd on the null device (conmon gives the init a read-only /dev/null
 * as stdin) is reopened read-write on the container's /dev/null, as runc's
 * reOpenDevNull does: a write to it is then not EBADF, and it is the
 * container's file, not the host's.  Best effort: no usable /dev/null or /proc,
 * no change.
 */
static void reopen_null_stdio(void)
{
	_cleanup_close_ int null_fd = -1, rw = -1;
	_cleanup_err_ struct err *e = NULL;
	struct stat st;
	char p[64];

	for (int fd = 0; fd < 3; fd++) {
		if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
			continue;
		if (rw < 0) {
			if ((null_fd = open_null(&e)) < 0)
				return;
			snprintf(p, sizeof(p), "/proc/self/fd/%d", null_fd);
			if ((rw = open(p, O_RDWR | O_CLOEXEC)) < 0)
				return;
		}
		dup3(rw, fd, 0);
	}
}

int ct_rootfs_finish(const struct ct_init *in, struct err **err)
{
	const struct ct_spec *s = in->spec;
	_cleanup_close_ int null_fd = -1;
	int r;

	if (in->shared_mntns)
		return 0;
	reopen_null_stdio();
	r = write_sysctls(s->sysctl, err);
	if (r < 0)
		return r;
	for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++)
		if ((r = mask_path(s->masked_paths[i], &null_fd, err)) < 0)
			return r;
	for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++)
		if ((r = readonly_path(s->readonly_paths[i], err)) < 0)
			return r;
	if (s->root_readonly &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/"), NULL) < 0)
		return err_make(err, errno, "remount / read-only");
	/* rootfsPropagation applies to the new root: shared and unbindable only now. */
	if (((s->rootfs_propagation & ~MS_REC) == MS_SHARED ||
	     (s->rootfs_propagation & ~MS_REC) == MS_UNBINDABLE) &&
	    mount(NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
		return err_make(err, errno, "set rootfsPropagation of /");
	return 0;
}
