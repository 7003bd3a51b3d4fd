/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Layer unpack.  Every path in a layer is hostile: it is cleaned (no "..",
 * leading "/" dropped), its parent is resolved with openat2(RESOLVE_IN_ROOT)
 * so symlinks cannot lead out of the layer, and the last component is
 * created with *at() calls that never follow it.  Whiteouts are written in
 * overlayfs form.  The decompressed stream is hashed while it is read and
 * must match the diff_id from the image config.
 *
 * Ownership depends on who unpacks (img_unpack_ids_detect()): real root chowns
 * to every id and writes trusted.overlay.* whiteouts; a rootless store is
 * unpacked as root of a user namespace (src/cli/userns.c) that maps the
 * user's subordinate ids, so chown works within that range and the ids land
 * on disk as subordinate ids, as rootless podman's storage does; with only
 * one id mapped (no /etc/subuid range) nothing is chowned and the layer's
 * ids and mode are recorded in user.containers.override_stat.  Rootless
 * stores use user.overlay.* (overlayfs' userxattr), skip device nodes (no
 * mknod in a user namespace; counted for a note) and ignore layer xattrs the
 * namespace may not set (trusted.*, EPERM).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image.h"
#include "unpack-internal.h"

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
#define ENTRIES_MAX   1000000u
#define DIRS_MAX      200000u

struct deferred_dir {
	char *path;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
};

struct unpack {
	int root;
	struct archive *a;
	struct deferred_dir *dirs;
	size_t n_dirs;
	/* The parent directory of the last entry, reused while entries share it. */
	int parent_fd;
	char parent[PATH_MAX];
	bool root_ids; /* we are 0:0: files we create need no chown to 0:0 */
	mode_t umask;
	struct img_unpack_ids ids;
	unsigned skipped_devices;
};

#define OVERRIDE_STAT "user.containers.override_stat"

/* The ids 0..n-1 that a map ("inside outside count" lines) covers without a gap. */
static uint32_t map_prefix(const char *file)
{
	char buf[8192];
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	uint64_t covered = 0;
	bool grew = true;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	while (grew) {
		const char *p = buf;
		unsigned long in, out, count;
		int used;

		grew = false;
		while (sscanf(p, "%lu %lu %lu%n", &in, &out, &count, &used) == 3) {
			p += used;
			if (in <= covered && in + count > covered) {
				covered = in + count;
				grew = true;
			}
		}
	}
	return covered > UINT32_MAX ? UINT32_MAX : (uint32_t)covered;
}

void img_unpack_ids_detect(struct img_unpack_ids *ret)
{
	uint32_t nu = map_prefix("/proc/self/uid_map"), ng = map_prefix("/proc/self/gid_map");

	*ret = (struct img_unpack_ids){.mode = IMG_IDS_SINGLE, .n_uids = 1, .n_gids = 1};
	if (geteuid() != 0 || getegid() != 0)
		return;
	if (nu == UINT32_MAX && ng == UINT32_MAX) {
		ret->mode = IMG_IDS_ALL;
	} else if (nu > 1 || ng > 1) {
		ret->mode = IMG_IDS_RANGE;
		ret->n_uids = nu ? nu : 1;
		ret->n_gids = ng ? ng : 1;
	}
}

static const char *opaque_xattr(const struct unpack *u)
{
	return u->ids.mode == IMG_IDS_ALL ? "trusted.overlay.opaque" : "user.overlay.opaque";
}

/*
 * One id only: the layer's ids and mode, as containers/storage records them
 * ("UID:GID:MODE:TYPE", mode in octal).  Best effort: a file system without
 * user xattrs keeps the files (owned by us) without the record.
 */
static int record_stat(int fd, struct archive_entry *e, struct err **err)
{
	mode_t type = archive_entry_filetype(e);
	char v[64];
	int n;

	n = snprintf(v, sizeof(v), "%u:%u:%04o:%s", (unsigned)archive_entry_uid(e),
		     (unsigned)archive_entry_gid(e), (unsigned)(archive_entry_mode(e) & 07777),
		     type == AE_IFDIR ? "dir" : "file");
	/* (user xattrs exist only on files and directories: not on fifos, symlinks) */
	if (fsetxattr(fd, OVERRIDE_STAT, v, n, 0) < 0 && errno != EOPNOTSUPP)
		return err_make(err, errno, "set %s", OVERRIDE_STAT);
	return 0;
}

/*
 * chown to the entry's ids where they exist here: everywhere as real root,
 * within the mapped range in a user namespace (beyond it: a clear error), and
 * in single-id mode nowhere (the ids are recorded instead).
 */
static int own(struct unpack *u, int fd, const char *base, uid_t uid, gid_t gid, struct err **err)
{
	int r;

	if (u->root_ids && uid == 0 && gid == 0)
		return 0;
	if (u->ids.mode == IMG_IDS_SINGLE)
		return 0;
	if (u->ids.mode == IMG_IDS_RANGE && (uid >= u->ids.n_uids || gid >= u->ids.n_gids))
		return err_make(err, 0,
				"owner %u:%u is outside the %u uids and %u gids this user may map "
				"(/etc/subuid, /etc/subgid)",
				(unsigned)uid, (unsigned)gid, u->ids.n_uids, u->ids.n_gids);
	r = base ? fchownat(fd, base, uid, gid, AT_SYMLINK_NOFOLLOW) : fchown(fd, uid, gid);
	return r < 0 ? err_make(err, errno, "chown") : 0;
}

static int openat2_in_root(int root, const char *path, int flags)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = RESOLVE_FLAGS};

	return syscall(SYS_openat2, root, path, &how, sizeof(how));
}

int img_open_in_root(int root, const char *path)
{
	return openat2_in_root(root, path, O_RDONLY);
}

/*
 * Opening is an action for a FIFO (it blocks) or a device (a driver runs): the
 * path is first opened with O_PATH and must be a regular file; the real open
 * is O_NONBLOCK and must find the same inode.
 */
int img_open_regular_in_root(int root, const char *path, struct err **err)
{
	_cleanup_close_ int pfd = -1, fd = -1;
	struct stat ps, st;

	pfd = openat2_in_root(root, path, O_PATH);
	if (pfd < 0 || fstat(pfd, &ps) < 0)
		return err_make(err, errno, "open `%s`", path);
	if (!S_ISREG(ps.st_mode))
		return err_make(err, 0, "`%s` is not a regular file", path);
	fd = openat2_in_root(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_make(err, errno, "open `%s`", path);
	if (st.st_dev != ps.st_dev || st.st_ino != ps.st_ino || !S_ISREG(st.st_mode))
		return err_make(err, EBUSY, "`%s` changed while it was opened", path);
	return TAKE_FD(fd);
}

int img_read_regular_in_root(int root, const char *path, size_t max, char **ret, size_t *ret_len,
			     struct err **err)
{
	_cleanup_close_ int fd = img_open_regular_in_root(root, path, err);
	struct stat st;
	int r;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return err_make(err, errno, "stat `%s`", path);
	if ((uint64_t)st.st_size > max)
		return err_make(err, EFBIG, "`%s` is larger than %zu bytes", path, max);
	r = read_all_fd(fd, max, ret, ret_len);
	if (r == -EFBIG)
		return err_make(err, EFBIG, "`%s` is larger than %zu bytes", path, max);
	return r < 0 ? err_make(err, -r, "read `%s`", path) : 0;
}

int img_path_clean(const char *in, char *out, size_t size)
{
	size_t o = 0;
	const char *p = in, *end;

	while (*p) {
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		if (end - p == 0)
			break;
		if (end - p == 2 && !strncmp(p, "..", 2))
			return -EXDEV;
		if (!(end - p == 1 && *p == '.')) {
			if (o + (end - p) + 2 > size)
				return -ENAMETOOLONG;
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, end - p);
			o += end - p;
		}
		p = end;
	}
	out[o] = '\0';
	return (int)o;
}

/*
 * Open (creating missing directories) the directory rel inside root, walking
 * from from_fd, the directory rel[0..from) (root when from is 0).  Each
 * component is opened relative to the last one, never re-resolving the prefix:
 * linear in the path, where resolving every prefix from the root was
 * quadratic (cubic over a layer of ever deeper entries).  A component that is
 * a symlink (or not a directory) is resolved from the root with
 * openat2(RESOLVE_IN_ROOT), so a symlink in the layer never leads out of it.
 */
static int walk_dir(int root, int from_fd, const char *rel, size_t from, bool create,
		    struct err **err)
{
	char buf[PATH_MAX];
	int fd = fcntl(from_fd, F_DUPFD_CLOEXEC, 3);
	size_t len = strlen(rel);

	if (fd < 0)
		return err_make(err, errno, "dup");
	if (len >= sizeof(buf)) {
		close(fd);
		return err_make(err, ENAMETOOLONG, "`%s`", rel);
	}
	memcpy(buf, rel, len + 1);
	for (size_t i = from; i < len;) {
		char *comp = buf + i, *slash = strchr(comp, '/');
		int nfd;

		if (slash)
			*slash = '\0';
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
				nfd = -1;
			else
				nfd = openat(fd, comp,
					     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0 && (errno == ELOOP || errno == ENOTDIR))
			nfd = openat2_in_root(root, buf, O_RDONLY | O_DIRECTORY);
		if (nfd < 0) {
			int r = err_make(err, errno, "`%s`", buf);

			close(fd);
			return r;
		}
		close(fd);
		fd = nfd;
		if (!slash)
			break;
		*slash = '/';
		i = slash - buf + 1;
	}
	return fd;
}

static int open_dir(int root, const char *rel, bool create, struct err **err)
{
	return walk_dir(root, root, rel, 0, create, err);
}

/* Split a clean path into its parent dir fd and base name. */
static int open_parent(int root, char *path, const char **ret_base, bool create, struct err **err)
{
	char *slash = strrchr(path, '/');
	int fd;

	if (!slash) {
		*ret_base = path;
		return open_dir(root, "", false, err);
	}
	*slash = '\0';
	fd = open_dir(root, path, create, err);
	*slash = '/';
	*ret_base = slash + 1;
	return fd;
}

/* Make room for a new entry: what has its name goes (a directory with its contents). */
static int clear_entry(int pfd, const char *base, struct err **err)
{
	struct stat st;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_make(err, errno, "stat `%s`", base);
	return rm_rf_at(pfd, base, err);
}

static int set_xattrs(const struct unpack *u, struct archive_entry *e, int fd, struct err **err)
{
	const char *name;
	const void *val;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
		/* overlayfs' own attributes come only from whiteouts, never from a layer. */
		if (!strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13) ||
		    streq(name, OVERRIDE_STAT))
			continue;
		if (fsetxattr(fd, name, val, size, 0) < 0 && errno != EOPNOTSUPP &&
		    !(errno == EPERM && u->ids.mode != IMG_IDS_ALL))
			return err_make(err, errno, "set xattr `%s`", name);
	}
	return 0;
}

#define HOLE_BLOCK 4096

static bool all_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/*
 * pwrite() buf at off into a new (all-hole) file, skipping aligned blocks of
 * zeros: they read back as zeros and cost no disk (a gzip layer of 316 KB may
 * hold a 300 MB file of zeros).
 */
static int write_sparse(int fd, const char *buf, size_t size, int64_t off)
{
	while (size) {
		size_t n = HOLE_BLOCK - (size_t)(off % HOLE_BLOCK), run;

		if (n > size)
			n = size;
		if (all_zero(buf, n)) {
			buf += n, off += n, size -= n;
			continue;
		}
		for (run = n; run < size;) {
			size_t m = size - run < HOLE_BLOCK ? size - run : HOLE_BLOCK;

			if (all_zero(buf + run, m))
				break;
			run += m;
		}
		for (size_t done = 0; done < run;) {
			ssize_t w = pwrite(fd, buf + done, run - done, off + done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			done += w;
		}
		buf += run, off += run, size -= run;
	}
	return 0;
}

/*
 * Write the entry's data: libarchive hands out the data blocks of a sparse
 * entry at their offsets (the holes are skipped), and zero blocks are not
 * written either; the caller sets the size.
 */
static int write_data(struct unpack *u, int fd, struct err **err)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(u->a, &buf, &size, &off)) == ARCHIVE_OK) {
		if (off < 0)
			return err_make(err, EINVAL, "negative data offset");
		r = write_sparse(fd, buf, size, off);
		if (r < 0)
			return err_make(err, -r, "write");
	}
	if (r != ARCHIVE_EOF)
		return err_make(err, EIO, "read layer: %s", archive_error_string(u->a));
	return 0;
}

/*
 * Ownership, then xattrs (chown drops security.capability), then mode; the
 * calls that would change nothing are skipped (file creation costs enough on
 * a busy filesystem): no chown to 0:0 when we are 0:0, no chmod when the
 * create mode survived the umask and holds no setuid/setgid/sticky bit
 * (which chown clears and create may not set).
 */
static int set_attrs(struct unpack *u, struct archive_entry *e, int fd, struct err **err)
{
	uid_t uid = archive_entry_uid(e);
	gid_t gid = archive_entry_gid(e);
	mode_t mode = archive_entry_mode(e) & 07777;
	int r;

	r = own(u, fd, NULL, uid, gid, err);
	if (r >= 0)
		r = set_xattrs(u, e, fd, err);
	if (r >= 0 && u->ids.mode == IMG_IDS_SINGLE && (uid || gid))
		r = record_stat(fd, e, err);
	if (r < 0)
		return r;
	if (((mode & 07000) || (mode & u->umask)) && fchmod(fd, mode) < 0)
		return err_make(err, errno, "chmod");
	return 0;
}

static int extract_file(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
			struct err **err)
{
	_cleanup_close_ int fd = -1;
	struct timespec ts[2];
	struct stat st;
	int r;

	fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    archive_entry_mode(e) & 0777);
	if (fd < 0)
		return errno == EEXIST ? -EEXIST : err_make(err, errno, "create");
	r = write_data(u, fd, err);
	if (r < 0)
		return r;
	/* The file may end in a hole (or in zeros that were not written). */
	if (fstat(fd, &st) < 0)
		return err_make(err, errno, "stat");
	if (st.st_size != archive_entry_size(e) && ftruncate(fd, archive_entry_size(e)) < 0)
		return err_make(err, errno, "truncate");
	r = set_attrs(u, e, fd, err);
	if (r < 0)
		return r;
	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (futimens(fd, ts) < 0)
		return err_make(err, errno, "utimes");
	return 0;
}

static int extract_hardlink(struct unpack *u, const char *target, int pfd, const char *base,
			    struct err **err)
{
	char clean[PATH_MAX];
	_cleanup_close_ int tfd = -1;
	const char *tbase;
	int r;

	r = img_path_clean(target, clean, sizeof(clean));
	if (r <= 0)
		return err_make(err, r < 0 ? -r : EINVAL, "hard link target `%s` leaves the layer",
				target);
	tfd = open_parent(u->root, clean, &tbase, false, err);
	if (tfd < 0)
		return err_wrap(err, "hard link target");
	/* flags 0: a symlink target is linked itself, never followed. */
	if (linkat(tfd, tbase, pfd, base, 0) < 0)
		return errno == EEXIST ? -EEXIST
				       : err_make(err, errno, "hard link to `%s`", target);
	return 0;
}

static int extract_other(struct unpack *u, struct archive_entry *e, int pfd, const char *base,
			 struct err **err)
{
	mode_t type = archive_entry_filetype(e), mode = archive_entry_mode(e) & 07777;
	struct timespec ts[2] = {{.tv_sec = archive_entry_mtime(e)},
				 {.tv_sec = archive_entry_mtime(e)}};
	uid_t uid = archive_entry_uid(e);
	gid_t gid = archive_entry_gid(e);

	if (type == AE_IFLNK) {
		const char *t = archive_entry_symlink(e);

		if (!t || strlen(t) >= PATH_MAX)
			return err_make(err, 0, "bad symlink target");
		if (symlinkat(t, pfd, base) < 0)
			return errno == EEXIST ? -EEXIST : err_make(err, errno, "symlink");
	} else if ((type == AE_IFCHR || type == AE_IFBLK) && u->ids.mode != IMG_IDS_ALL) {
		/* No mknod in a user namespace: skipped, as rootless podman does; counted. */
		u->skipped_devices++;
		return 0;
	} else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO) {
		if (mknodat(pfd, base, type | mode, archive_entry_rdev(e)) < 0)
			return errno == EEXIST ? -EEXIST : err_make(err, errno, "mknod");
	} else {
		return 0; /* sockets and unknown types are skipped, as tar does */
	}
	if (own(u, pfd, base, uid, gid, err) < 0)
		return err_code(*err);
	if (type != AE_IFLNK && fchmodat(pfd, base, mode, 0) < 0)
		return err_make(err, errno, "chmod");
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return err_make(err, errno, "utimes");
	return 0;
}

static int extract_dir(struct unpack *u, struct archive_entry *e, const char *path, int pfd,
		       const char *base, struct err **err)
{
	struct deferred_dir *d;
	_cleanup_close_ int fd = -1;

	if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST)
		return err_make(err, errno, "mkdir");
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
		return -EEXIST; /* something else has the name: replace it */
	if (fd < 0)
		return err_make(err, errno, "open directory");
	if (set_xattrs(u, e, fd, err) < 0)
		return err_code(*err);
	if (u->ids.mode == IMG_IDS_SINGLE && (archive_entry_uid(e) || archive_entry_gid(e)) &&
	    record_stat(fd, e, err) < 0)
		return err_code(*err);
	if (u->n_dirs >= DIRS_MAX)
		return err_make(err, E2BIG, "more than %u directories", DIRS_MAX);
	if (!(u->n_dirs % 256)) {
		d = realloc(u->dirs, (u->n_dirs + 256) * sizeof(*d));
		if (!d)
			return err_make(err, ENOMEM, "unpack");
		u->dirs = d;
	}
	d = &u->dirs[u->n_dirs];
	d->path = strdup(path);
	if (!d->path)
		return err_make(err, ENOMEM, "unpack");
	d->mode = archive_entry_mode(e) & 07777;
	d->uid = archive_entry_uid(e);
	d->gid = archive_entry_gid(e);
	d->mtime.tv_sec = archive_entry_mtime(e);
	d->mtime.tv_nsec = archive_entry_mtime_nsec(e);
	u->n_dirs++;
	return 0;
}

/* ".wh..wh..opq" marks its directory opaque; ".wh.NAME" deletes NAME below. */
static int extract_whiteout(const struct unpack *u, int pfd, const char *base, struct err **err)
{
	const char *name = base + 4;

	if (streq(base, ".wh..wh..opq")) {
		if (fsetxattr(pfd, opaque_xattr(u), "y", 1, 0) < 0)
			return err_make(err, errno, "set %s", opaque_xattr(u));
		return 0;
	}
	if (!*name || streq(name, ".") || streq(name, ".."))
		return err_make(err, 0, "bad whiteout");
	if (clear_entry(pfd, name, err) < 0)
		return err_code(*err);
	if (mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		return err_make(err, errno, "whiteout device");
	return 0;
}

/* The parent directory of path (cleaned, modified in place), cached across entries. */
static int entry_parent(struct unpack *u, char *path, const char **ret_base, struct err **err)
{
	char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;

	*ret_base = slash ? slash + 1 : path;
	size_t plen = u->parent_fd >= 0 ? strlen(u->parent) : 0;
	int fd;

	if (u->parent_fd >= 0 && plen == len && !strncmp(u->parent, path, len))
		return u->parent_fd;
	if (slash)
		*slash = '\0';
	/* A parent below the cached one is walked to from there (deep trees, in tar order). */
	if (u->parent_fd >= 0 && plen && plen < len && !strncmp(u->parent, path, plen) &&
	    path[plen] == '/')
		fd = walk_dir(u->root, u->parent_fd, path, plen + 1, true, err);
	else
		fd = open_dir(u->root, slash ? path : "", true, err);
	if (slash)
		*slash = '/';
	if (u->parent_fd >= 0)
		close(u->parent_fd);
	u->parent_fd = fd;
	if (u->parent_fd < 0)
		return u->parent_fd;
	memcpy(u->parent, path, len);
	u->parent[len] = '\0';
	return u->parent_fd;
}

static int create_entry(struct unpack *u, struct archive_entry *e, const char *path, int pfd,
			const char *base, struct err **err)
{
	const char *hl = archive_entry_hardlink(e);

	if (hl)
		return extract_hardlink(u, hl, pfd, base, err);
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		return extract_dir(u, e, path, pfd, base, err);
	case AE_IFREG:
		return extract_file(u, e, pfd, base, err);
	default:
		return extract_other(u, e, pfd, base, err);
	}
}

static int extract_entry(struct unpack *u, struct archive_entry *e, struct err **err)
{
	char path[PATH_MAX];
	const char *base;
	bool plain;
	int pfd, r;

	r = img_path_clean(archive_entry_pathname(e) ?: "", path, sizeof(path));
	if (r < 0)
		return err_make(err, -r, "path leaves the layer");
	if (r == 0)
		return 0; /* "./" itself */
	pfd = entry_parent(u, path, &base, err);
	if (pfd < 0)
		return err_wrap(err, "parent directory");
	/*
	 * Only a new plain file or hard link leaves every path resolving as before; after
	 * anything else the parent is opened afresh (we own pfd: the cache lets go of it).
	 */
	plain = strncmp(base, ".wh.", 4) &&
		(archive_entry_filetype(e) == AE_IFREG || archive_entry_hardlink(e));
	if (!plain)
		u->parent_fd = -1;
	if (!strncmp(base, ".wh.", 4)) {
		r = extract_whiteout(u, pfd, base, err);
		goto out;
	}
	/* Create; when the name is taken, remove what is there and create again. */
	r = create_entry(u, e, path, pfd, base, err);
	if (r == -EEXIST) {
		if (plain)
			u->parent_fd = -1, plain = false;
		r = clear_entry(pfd, base, err);
		if (r >= 0)
			r = create_entry(u, e, path, pfd, base, err);
		if (r == -EEXIST)
			r = err_make(err, EEXIST, "create");
	}
	/* A directory is the next entry's parent in tar order: cache it. */
	if (r >= 0 && !plain && archive_entry_filetype(e) == AE_IFDIR &&
	    !archive_entry_hardlink(e) && u->parent_fd < 0 && strlen(path) < sizeof(u->parent)) {
		u->parent_fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (u->parent_fd >= 0)
			snprintf(u->parent, sizeof(u->parent), "%s", path);
	}
out:
	if (!plain)
		close(pfd);
	return r;
}

/* Directory metadata last, deepest first, so children do not disturb it. */
static int finish_dirs(struct unpack *u, struct err **err)
{
	for (size_t i = u->n_dirs; i-- > 0;) {
		struct deferred_dir *d = &u->dirs[i];
		struct timespec ts[2] = {d->mtime, d->mtime};
		/* Not through a final symlink: a later `dir -> /` would hand its mode to the root.
		 */
		_cleanup_close_ int fd =
		    openat2_in_root(u->root, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

		if (fd < 0)
			continue; /* replaced by a later entry */
		if (own(u, fd, NULL, d->uid, d->gid, err) < 0)
			return err_wrap(err, "directory `%s`", d->path);
		if (fchmod(fd, d->mode) < 0 || futimens(fd, ts) < 0)
			return err_make(err, errno, "directory `%s`", d->path);
	}
	return 0;
}

static int unpack_loop(struct unpack *u, struct err **err)
{
	struct archive_entry *e;
	unsigned n = 0;
	int r;

	while ((r = archive_read_next_header(u->a, &e)) == ARCHIVE_OK) {
		if (++n > ENTRIES_MAX)
			return err_make(err, E2BIG, "more than %u entries", ENTRIES_MAX);
		r = extract_entry(u, e, err);
		if (r < 0)
			return err_wrap(err, "`%s`", archive_entry_pathname(e) ?: "");
	}
	if (r != ARCHIVE_EOF)
		return err_make(err, EIO, "read layer: %s", archive_error_string(u->a));
	return finish_dirs(u, err);
}

static void unpack_free(struct unpack *u)
{
	if (u->parent_fd >= 0)
		close(u->parent_fd);
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
}

int img_unpack_stream_ids(int fd, int root, const struct img_unpack_ids *ids,
			  char ret_diff_id[IMG_DIGEST_LEN + 1], unsigned *ret_skipped,
			  struct err **err)
{
	struct img_tar_stream s;
	struct unpack u = {.root = root, .parent_fd = -1, .ids = *ids};
	int r, tar_fd;

	tar_fd = img_tar_stream_open(&s, fd, err);
	if (tar_fd < 0)
		return tar_fd;
	u.root_ids = geteuid() == 0 && getegid() == 0;
	u.umask = umask(0);
	umask(u.umask);
	u.a = archive_read_new();
	if (!u.a) {
		r = err_make(err, ENOMEM, "unpack");
		goto out;
	}
	archive_read_support_format_tar(u.a);
	archive_read_support_format_gnutar(u.a);
	if (archive_read_open_fd(u.a, tar_fd, 65536) != ARCHIVE_OK) {
		r = err_make(err, EIO, "read layer: %s", archive_error_string(u.a));
		goto out;
	}
	r = unpack_loop(&u, err);
out:
	if (r >= 0)
		r = img_tar_stream_finish(&s, ret_diff_id, err);
	else
		img_tar_stream_abort(&s, err);
	if (u.a)
		archive_read_free(u.a);
	unpack_free(&u);
	if (r >= 0 && ret_skipped)
		*ret_skipped = u.skipped_devices;
	return r;
}

int img_unpack_stream(int fd, int root, char ret_diff_id[IMG_DIGEST_LEN + 1], struct err **err)
{
	struct img_unpack_ids ids;

	img_unpack_ids_detect(&ids);
	return img_unpack_stream_ids(fd, root, &ids, ret_diff_id, NULL, err);
}

int img_unpack_into(int fd, int root_fd, struct err **err)
{
	return img_unpack_stream(fd, root_fd, NULL, err);
}

bool img_layer_exists(struct img_store *s, const char *chain_id)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "layers/%s", img_digest_hex(chain_id));
	return faccessat(s->dfd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int img_layer_unpack(struct img_store *s, int fd, const char *diff_id, const char *chain_id,
		     struct err **err)
{
	char tmp[PATH_MAX], dst[PATH_MAX], got[IMG_DIGEST_LEN + 1];
	_cleanup_close_ int root = -1;
	struct img_unpack_ids ids;
	unsigned skipped = 0;
	int r;

	snprintf(tmp, sizeof(tmp), "tmp/layer-%.16s-%d", img_digest_hex(chain_id), getpid());
	snprintf(dst, sizeof(dst), "layers/%s", img_digest_hex(chain_id));
	rm_rf_at(s->dfd, tmp, NULL);
	if (mkdirat(s->dfd, tmp, 0755) < 0)
		return err_make(err, errno, "mkdir `%s/%s`", s->path, tmp);
	root = openat(s->dfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		r = err_make(err, errno, "open `%s/%s`", s->path, tmp);
		goto fail;
	}
	img_unpack_ids_detect(&ids);
	r = img_unpack_stream_ids(fd, root, &ids, got, &skipped, err);
	if (r < 0)
		goto fail;
	s->skipped_devices += skipped;
	if (!streq(got, diff_id)) {
		r = err_make(err, EIO, "layer content hashes to %s, the image config says %s", got,
			     diff_id);
		goto fail;
	}
	if (renameat(s->dfd, tmp, s->dfd, dst) < 0) {
		r = err_make(err, errno, "rename into `%s/%s`", s->path, dst);
		goto fail;
	}
	return 0;
fail:
	rm_rf_at(s->dfd, tmp, NULL);
	return err_wrap(err, "unpack layer %s", diff_id);
}
