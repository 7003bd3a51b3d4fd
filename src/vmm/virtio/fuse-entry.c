/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE operations on names in a directory: make (mknod, mkdir, symlink,
 * link, create), remove, rename.  Each is one *at() call relative to the
 * parent's O_PATH fd with a single checked component, never following a
 * symlink; new entries belong to the calling guest user and never carry
 * set-id bits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuse-srv.h"
#include "log.h"

#define NO_SETID(mode) ((mode)&01777) /* permission bits and sticky, never S_ISUID/S_ISGID */

/* The parent directory's node and the entry's name, the first arguments after `fixed`. */
static int take_parent_name(struct fuse_req *r, void *fixed, size_t len, struct fuse_node **ret_p,
			    const char **ret_name)
{
	int ret;

	if (len && (ret = fuse_take(r, fixed, len)) < 0)
		return ret;
	if ((ret = fuse_take_name(r, ret_name)) < 0)
		return ret;
	*ret_p = fuse_req_node(r);
	return *ret_p ? 0 : -ENOENT;
}

/*
 * A new entry: owned by the caller, with exactly `mode` (the guest applied its
 * umask already; the VMM's own must not apply again), then looked up as the
 * reply.  mode < 0: a symlink, left as it is.  A hard link is no new inode:
 * @link leaves its owner and mode alone (the caller would take over the
 * file it linked to, /etc/shadow of a shared rootfs included).
 */
static int reply_new_entry(struct fuse_req *r, int dirfd, const char *name, int mode, bool link)
{
	struct fuse_entry_out e;
	char path[32];
	struct stat st;
	int fd, ret;

	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/*
	 * Best effort: a share on a filesystem without chown keeps root's.  On the
	 * inode opened, and only one with no other name: another writer of the
	 * share that swapped a hard link of its file in since gets nothing chowned.
	 */
	if (!link && fstat(fd, &st) == 0 && (S_ISDIR(st.st_mode) || st.st_nlink == 1) &&
	    fchownat(fd, "", r->h->uid, r->h->gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		log_debug("virtio-fs: chown `%s`: %m", name);
	/* chmod through /proc resolves to the inode itself: never for a symlink. */
	if (!link && mode >= 0 && fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode) &&
	    (st.st_mode & 07777) != (unsigned)mode) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (chmod(path, mode) < 0)
			log_debug("virtio-fs: chmod `%s`: %m", name);
	}
	ret = fuse_node_enter(r->s, fd, &e);
	return ret < 0 ? ret : fuse_put(r, &e, sizeof(e));
}

int fuse_do_mknod(struct fuse_req *r)
{
	struct fuse_mknod_in in;
	struct fuse_node *p;
	const char *name;
	int ret = take_parent_name(r, &in, sizeof(in), &p, &name);

	if (ret < 0)
		return ret;
	/* No device nodes: a guest must not reach host devices through the share. */
	if (!S_ISREG(in.mode) && !S_ISFIFO(in.mode) && !S_ISSOCK(in.mode))
		return -EPERM;
	if (mknodat(p->fd, name, (in.mode & S_IFMT) | NO_SETID(in.mode), 0) < 0)
		return -errno;
	return reply_new_entry(r, p->fd, name, NO_SETID(in.mode), false);
}

int fuse_do_mkdir(struct fuse_req *r)
{
	struct fuse_mkdir_in in;
	struct fuse_node *p;
	const char *name;
	int ret = take_parent_name(r, &in, sizeof(in), &p, &name);

	if (ret < 0)
		return ret;
	if (mkdirat(p->fd, name, NO_SETID(in.mode)) < 0)
		return -errno;
	return reply_new_entry(r, p->fd, name, NO_SETID(in.mode), false);
}

/* SYMLINK: the new entry's name, then the target (stored as is, never followed here). */
int fuse_do_symlink(struct fuse_req *r)
{
	const char *name, *target, *end;
	struct fuse_node *p;
	int ret = take_parent_name(r, NULL, 0, &p, &name);

	if (ret < 0)
		return ret;
	target = (const char *)r->arg + r->pos;
	end = memchr(target, '\0', r->arg_len - r->pos);
	if (!end || end == target)
		return -EINVAL;
	if (end - target >= PATH_MAX)
		return -ENAMETOOLONG;
	if (symlinkat(target, p->fd, name) < 0)
		return -errno;
	return reply_new_entry(r, p->fd, name, -1, false);
}

int fuse_do_link(struct fuse_req *r)
{
	struct fuse_link_in in;
	struct fuse_node *p, *old;
	const char *name;
	int ret = take_parent_name(r, &in, sizeof(in), &p, &name);

	if (ret < 0)
		return ret;
	old = fuse_node_get(r->s, in.oldnodeid);
	if (!old)
		return -ENOENT;
	/* The inode itself (AT_EMPTY_PATH): a symlink is linked, not followed. */
	if (linkat(old->fd, "", p->fd, name, AT_EMPTY_PATH) < 0)
		return -errno;
	return reply_new_entry(r, p->fd, name, -1, true);
}

static int remove_entry(struct fuse_req *r, int flags)
{
	struct fuse_node *p;
	const char *name;
	int ret = take_parent_name(r, NULL, 0, &p, &name);

	if (ret < 0)
		return ret;
	return unlinkat(p->fd, name, flags) < 0 ? -errno : 0;
}

int fuse_do_unlink(struct fuse_req *r)
{
	return remove_entry(r, 0);
}

int fuse_do_rmdir(struct fuse_req *r)
{
	return remove_entry(r, AT_REMOVEDIR);
}

static int rename_entry(struct fuse_req *r, uint64_t newdir, unsigned flags)
{
	struct fuse_node *p = fuse_req_node(r), *np = fuse_node_get(r->s, newdir);
	const char *old, *new;
	int ret;

	if ((ret = fuse_take_name(r, &old)) < 0 || (ret = fuse_take_name(r, &new)) < 0)
		return ret;
	if (!p || !np)
		return -ENOENT;
	/* RENAME_WHITEOUT would make a character device: refused with the rest. */
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	return renameat2(p->fd, old, np->fd, new, flags) < 0 ? -errno : 0;
}

int fuse_do_rename(struct fuse_req *r)
{
	struct fuse_rename_in in;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	return rename_entry(r, in.newdir, 0);
}

int fuse_do_rename2(struct fuse_req *r)
{
	struct fuse_rename2_in in;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	return rename_entry(r, in.newdir, in.flags);
}

/* CREATE: an existing entry must be a regular file (a FIFO's open would block the device). */
int fuse_do_create(struct fuse_req *r)
{
	struct fuse_open_out oo = {0};
	struct fuse_entry_out e;
	struct fuse_create_in in;
	struct fuse_node *p;
	const char *name;
	struct stat st;
	char path[32];
	bool made;
	int fd, pfd, ret = take_parent_name(r, &in, sizeof(in), &p, &name);

	if (ret < 0)
		return ret;
	made = fstatat(p->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0;
	if (!made && (in.flags & O_EXCL))
		return -EEXIST;
	if (!made && !S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : S_ISLNK(st.st_mode) ? -ELOOP : -EACCES;
	/*
	 * A name that was free is created with O_EXCL: if another writer of the
	 * share (a host process, another VM) made it since, the open fails rather
	 * than hand its file to the chown below.
	 */
	fd = openat(p->fd, name,
		    (in.flags & (FUSE_OPEN_FLAGS | O_EXCL)) | (made ? O_EXCL : 0) | O_CREAT |
			O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		    NO_SETID(in.mode) & 0777);
	if (fd < 0)
		return -errno;
	/* A host process may have swapped the name since the check: look again. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EACCES;
	}
	if (made && (fchown(fd, r->h->uid, r->h->gid) < 0 || fchmod(fd, in.mode & 0777) < 0))
		log_debug("virtio-fs: chown/chmod `%s`: %m", name);
	fuse_kill_suid(fd);
	/* The node is the inode just opened, whatever the name points at by now. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0 || (ret = fuse_node_enter(r->s, pfd, &e)) < 0) {
		ret = pfd < 0 ? -errno : ret;
		close(fd);
		return ret;
	}
	if ((ret = fuse_handle_new(r->s, fd, false, &oo.fh)) < 0) {
		fuse_node_forget(r->s, e.nodeid, 1);
		return ret;
	}
	if ((ret = fuse_put(r, &e, sizeof(e))) < 0 || (ret = fuse_put(r, &oo, sizeof(oo))) < 0) {
		fuse_handle_close(r->s, oo.fh);
		fuse_node_forget(r->s, e.nodeid, 1);
	}
	return ret;
}
