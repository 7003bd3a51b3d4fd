/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The copy of tmpcopyup (a runc/crun extension podman sets on every --tmpfs,
 * --mount type=tmpfs and --read-only's /run, /tmp and /var/tmp): what the
 * image has at the destination is copied into the fresh tmpfs, so /run/lock
 * or /var/tmp/x still exist on top of it.  libc only: the container runtime
 * (container/copyup.c) and the static guest agent of VM containers
 * (vmct/agent.c) link it.
 *
 * The tree is the image's, so it is hostile: every name is opened relative to
 * its parent's fd with O_NOFOLLOW (a symlink is copied as a symlink, never
 * followed), the walk stays on the destination's mount (a directory another
 * mount covers is copied as an empty mount point, a file under one is left
 * out; told by statx's mount id, by st_dev where the kernel has none: an
 * overlay whose layers are on two file systems gives its files the lower
 * layer's st_dev, as the guest agent's root does), and it stops at
 * CT_COPYTREE_DEPTH levels with an error naming the path.  Regular files
 * (their holes left holes), directories, symlinks, fifos and device nodes are
 * copied with their owner, mode and times; sockets are left out (nothing
 * listens on them in a copy), and so are device nodes the container may not
 * make (mknod EPERM); hard links stay links (the first 65536 files with
 * several, by device and inode, while their paths take at most 16 MiB; past
 * that, each link is a copy).  The file opened is the file stat'ed (another
 * container sharing the directory may swap names).  What covers a kernel
 * file system (proc, sysfs...) starts empty.  Extended attributes are not
 * copied.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "cleanup.h"
#include "copytree.h"

#define COPYUP_LINKS_MAX 65536 /* files with several links that are remembered */
#define COPYUP_LINK_HASH 4096  /* buckets of them, by inode number */
/* Bytes of their paths kept: 65536 paths of 4 KiB would be 256 MiB in the init. */
#define COPYTREE_LINK_BYTES (16 << 20)

struct copyup {
	struct ct_copytree_fail *fail; /* what failed, where */
	dev_t dev;		       /* the source tree's file system */
	uint64_t mnt_id;	       /* and its mount (0: unknown, dev decides) */
	int root;		       /* the tmpfs's root */
	char path[CT_COPYTREE_PATH];   /* the entry being copied, below the top */
	/* Files with more than one link: the first copy of each, linked again. */
	struct copyup_link {
		dev_t dev;
		ino_t ino;
		char *path;  /* below root, without the leading / */
		size_t next; /* in its bucket; 0: none (entries count from 1) */
	} * links;
	size_t n_links, cap_links, *bucket;
	size_t link_bytes; /* of the paths kept, at most COPYTREE_LINK_BYTES */
};

/* The copy of a file another link of which was copied already, or NULL. */
static const char *link_find(const struct copyup *c, const struct stat *st)
{
	if (!c->bucket)
		return NULL;
	for (size_t i = c->bucket[st->st_ino % COPYUP_LINK_HASH]; i; i = c->links[i - 1].next)
		if (c->links[i - 1].ino == st->st_ino && c->links[i - 1].dev == st->st_dev)
			return c->links[i - 1].path;
	return NULL;
}

/* Remember the copy of a file with other links (past the caps: they are copied). */
static void link_add(struct copyup *c, const struct stat *st)
{
	size_t *head, len = strlen(c->path);
	ino_t ino = st->st_ino;

	if (c->n_links >= COPYUP_LINKS_MAX || c->link_bytes + len > COPYTREE_LINK_BYTES)
		return;
	if (!c->bucket && !(c->bucket = calloc(COPYUP_LINK_HASH, sizeof(*c->bucket))))
		return;
	if (c->n_links == c->cap_links) {
		size_t cap = c->cap_links ? 2 * c->cap_links : 64;
		struct copyup_link *l = realloc(c->links, cap * sizeof(*l));

		if (!l)
			return;
		c->links = l;
		c->cap_links = cap;
	}
	head = &c->bucket[ino % COPYUP_LINK_HASH];
	c->links[c->n_links].path = strdup(c->path + 1);
	if (!c->links[c->n_links].path)
		return;
	c->link_bytes += len;
	c->links[c->n_links].ino = ino;
	c->links[c->n_links].dev = st->st_dev;
	c->links[c->n_links].next = *head;
	*head = ++c->n_links;
}

/* -@e, with what failed and the path in c->fail. */
static int fail(struct copyup *c, int e, const char *what)
{
	c->fail->what = what;
	snprintf(c->fail->path, sizeof(c->fail->path), "%s", c->path[0] ? c->path : "/");
	return -(e ? e : EIO);
}

/* [*off, end) of @from into @to at the same offsets; *off advances. */
static int copy_range(int from, int to, off_t *off, off_t end)
{
	char buf[65536];
	bool plain = false;

	while (*off < end) {
		off_t out = *off;
		size_t want = (size_t)(end - *off);
		ssize_t n = plain ? -1 : copy_file_range(from, off, to, &out, want, 0);

		if (n > 0)
			continue;
		if (n == 0)
			return -EIO; /* the file shrank under us */
		if (!plain && errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
		    errno != EOPNOTSUPP)
			return -errno;
		plain = true;
		/* A pair copy_file_range cannot do: plain reads and writes. */
		n = pread(from, buf, want < sizeof(buf) ? want : sizeof(buf), *off);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		for (ssize_t w = 0, k; w < n; w += k) {
			k = pwrite(to, buf + w, (size_t)(n - w), *off + w);
			if (k < 0)
				return -errno;
		}
		*off += n;
	}
	return 0;
}

/*
 * The data of a file of @size bytes, its holes left holes: an image can hold
 * a sparse file of a terabyte in a few bytes of tar, which a plain copy would
 * write out as zeros into the tmpfs (memory).
 */
static int copy_data(int from, int to, off_t size)
{
	off_t pos = 0;
	int r;

	while (pos < size) {
		off_t data = lseek(from, pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break; /* only a hole is left */
		if (data < 0)
			data = pos; /* no SEEK_DATA here: all of it is data */
		hole = lseek(from, data, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		r = copy_range(from, to, &data, hole);
		if (r < 0)
			return r;
		pos = hole;
	}
	return ftruncate(to, size) < 0 ? -errno : 0;
}

/* Owner, then mode (a chown clears set-id bits), then times; not through symlinks. */
static int copy_meta(struct copyup *c, int dfd, const char *name, const struct stat *st)
{
	struct timespec t[2] = {st->st_atim, st->st_mtim};

	/* EINVAL: an id the container's user namespace does not map; left as made. */
	if (fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
		return fail(c, errno, "chown");
	if (!S_ISLNK(st->st_mode) && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
		return fail(c, errno, "chmod");
	if (utimensat(dfd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, errno, "set the times of");
	return 0;
}

static int copy_dir(struct copyup *c, int sfd, int dfd, unsigned depth);

/* The mount of @name in @dfd (not through a symlink), 0 when the kernel does not say. */
static uint64_t mount_id(int dfd, const char *name)
{
	struct statx stx;

	if (statx(dfd, name, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return stx.stx_mnt_id;
}

/* @name (stat @st) is on a mount other than the tree's top. */
static bool other_mount(const struct copyup *c, int sfd, const char *name, const struct stat *st)
{
	uint64_t id = c->mnt_id ? mount_id(sfd, name) : 0;

	return id ? id != c->mnt_id : st->st_dev != c->dev;
}

/*
 * The file opened is the one stat'ed: another container sharing the
 * directory can swap the name for a device node, a fifo or another
 * directory between the two (O_NOFOLLOW does not refuse a device).
 */
static int check_same(struct copyup *c, int fd, const struct stat *st)
{
	struct stat now;

	if (fstat(fd, &now) < 0)
		return fail(c, errno, "stat");
	if ((now.st_mode & S_IFMT) != (st->st_mode & S_IFMT) || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino)
		return fail(c, 0, "replaced by another file while copying");
	if (other_mount(c, fd, "", &now))
		return fail(c, 0, "replaced by another mount while copying");
	return 0;
}

/*
 * @name opened for reading, refused unless it is the regular file in @st:
 * opened O_PATH first, so a device swapped in is never opened (an open can
 * act on one, or block on a fifo), then reopened through /proc/self/fd.
 */
static int open_regular(struct copyup *c, int sfd, const char *name, const struct stat *st)
{
	_cleanup_close_ int p = openat(sfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	char self[64];
	int r, fd;

	if (p < 0)
		return fail(c, errno, "open");
	if ((r = check_same(c, p, st)) < 0)
		return r;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", p);
	fd = open(self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* No /proc here: the name again, then the same check on what opened. */
		fd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0 && (r = check_same(c, fd, st)) < 0) {
			close(fd);
			return r;
		}
	}
	return fd < 0 ? fail(c, errno, "open") : fd;
}

static int copy_entry(struct copyup *c, int sfd, int dfd, const char *name, unsigned depth)
{
	struct stat st;
	bool other;
	int r;

	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, errno, "stat");
	other = other_mount(c, sfd, name, &st);
	if (S_ISSOCK(st.st_mode) || (other && !S_ISDIR(st.st_mode)))
		return 0; /* a socket, or a file another mount covers: not copied */
	if (S_ISDIR(st.st_mode) && other) {
		/* Another mount: its mount point, empty. */
		if (mkdirat(dfd, name, 0700) < 0)
			return fail(c, errno, "mkdir");
	} else if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int s = -1, d = -1;

		if (depth >= CT_COPYTREE_DEPTH)
			return fail(c, ELOOP, "more than " CT_COPYTREE_DEPTH_STR " levels at");
		s = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0)
			return fail(c, errno, "open");
		if ((r = check_same(c, s, &st)) < 0)
			return r;
		if (mkdirat(dfd, name, 0700) < 0)
			return fail(c, errno, "mkdir");
		d = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (d < 0)
			return fail(c, errno, "open the copy of");
		r = copy_dir(c, s, d, depth + 1);
		if (r < 0)
			return r;
	} else if (S_ISREG(st.st_mode) && st.st_nlink > 1 && link_find(c, &st)) {
		/* Hard links stay links: ten thousand of a big file are not ten thousand copies. */
		if (linkat(c->root, link_find(c, &st), dfd, name, 0) < 0)
			return fail(c, errno, "link");
		return 0;
	} else if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int s = -1, d = -1;

		if (st.st_nlink > 1)
			link_add(c, &st);
		s = open_regular(c, sfd, name, &st);
		if (s < 0)
			return s;
		d = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (d < 0)
			return fail(c, errno, "create the copy of");
		r = copy_data(s, d, st.st_size);
		if (r < 0)
			return fail(c, -r, "copy");
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);

		if (n < 0)
			return fail(c, errno, "readlink");
		target[n] = '\0';
		if (symlinkat(target, dfd, name) < 0)
			return fail(c, errno, "symlink");
	} else if (mknodat(dfd, name, st.st_mode & (S_IFMT | 0600), st.st_rdev) < 0) {
		/*
		 * A device node the devices cgroup or a user namespace does not let
		 * the container make: left out, as it could not open it either
		 * (runc 1.1 fails the container instead).
		 */
		if (errno == EPERM && (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)))
			return 0;
		return fail(c, errno, "mknod");
	}
	return copy_meta(c, dfd, name, &st);
}

static int copy_dir(struct copyup *c, int sfd, int dfd, unsigned depth)
{
	size_t len = strlen(c->path);
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(c, errno, "open");
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return fail(c, errno, "read");
	}
	while (r >= 0 && (errno = 0, de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(c->path + len, sizeof(c->path) - len, "/%s", de->d_name) >=
		    sizeof(c->path) - len) {
			c->path[len] = '\0';
			r = fail(c, ENAMETOOLONG, "a name too long below");
			break;
		}
		r = copy_entry(c, sfd, dfd, de->d_name, depth);
		c->path[len] = '\0';
	}
	if (r >= 0 && errno)
		r = fail(c, errno, "read");
	closedir(d);
	return r;
}

/*
 * A kernel file system: its files describe the host or the runtime's own
 * process (proc, sys), and reading them with the runtime's privileges is no
 * copy of the image.  `--tmpfs /proc` covers such a mount.
 */
static bool is_kernel_fs(int fd)
{
	static const unsigned long types[] = {
	    PROC_SUPER_MAGIC, SYSFS_MAGIC,	CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC,
	    DEBUGFS_MAGIC,    SECURITYFS_MAGIC, TRACEFS_MAGIC,	    BPF_FS_MAGIC,
	};
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return true; /* cannot tell: copy nothing */
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((unsigned long)sf.f_type == types[i])
			return true;
	return false;
}

int ct_copytree(int src_fd, int dst_fd, struct ct_copytree_fail *ret_fail)
{
	struct copyup c = {.fail = ret_fail, .root = dst_fd};
	struct stat st;
	int r;

	if (fstat(src_fd, &st) < 0)
		return fail(&c, errno, "stat");
	/* What covers a kernel file system starts empty, as if the image had nothing. */
	if (is_kernel_fs(src_fd))
		return 0;
	c.dev = st.st_dev;
	c.mnt_id = mount_id(src_fd, "");
	r = copy_dir(&c, src_fd, dst_fd, 0);
	for (size_t i = 0; i < c.n_links; i++)
		free(c.links[i].path);
	free(c.links);
	free(c.bucket);
	if (r < 0)
		return r;
	/* The tmpfs's root takes the directory's owner and mode, as runc's does. */
	if (fchown(dst_fd, st.st_uid, st.st_gid) < 0 && errno != EINVAL)
		return fail(&c, errno, "chown");
	if (fchmod(dst_fd, st.st_mode & 07777) < 0)
		return fail(&c, errno, "chmod");
	return 0;
}
