/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE operations on open files and directories: open, read, write, fsync,
 * release, readdir, lseek.  A handle (fh) is an fd opened through
 * /proc/self/fd of a node that fstat says is a regular file or a directory;
 * every size the guest gives is capped at FUSE_MAX_WRITE and by its buffers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuse-srv.h"

static int open_node(struct fuse_req *r, bool dir, int flags)
{
	struct fuse_node *n = fuse_req_node(r);
	struct fuse_open_out out = {0};
	char path[32];
	int fd, ret;

	if (!n)
		return -ENOENT;
	if ((ret = fuse_node_path(n, dir, path)) < 0)
		return ret;
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((flags & O_ACCMODE) != O_RDONLY)
		fuse_kill_suid(fd);
	if ((ret = fuse_handle_new(r->s, fd, dir, &out.fh)) < 0)
		return ret;
	if ((ret = fuse_put(r, &out, sizeof(out))) < 0)
		fuse_handle_close(r->s, out.fh);
	return ret;
}

int fuse_do_open(struct fuse_req *r)
{
	struct fuse_open_in in;
	int flags;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	flags = in.flags & FUSE_OPEN_FLAGS;
	if (r->s->readonly && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return -EROFS;
	return open_node(r, false, flags);
}

int fuse_do_opendir(struct fuse_req *r)
{
	struct fuse_open_in in;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	return open_node(r, true, O_RDONLY | O_DIRECTORY);
}

/* The handle of a read/write/readdir/fsync argument, of the right kind. */
static int handle_of(struct fuse_req *r, uint64_t fh, bool dir, int *ret_fd)
{
	struct fuse_handle *h = fuse_handle_get(r->s, fh);

	if (!h)
		return -EBADF;
	if (h->dir != dir)
		return dir ? -ENOTDIR : -EISDIR;
	*ret_fd = h->fd;
	return 0;
}

/* READ: straight into the reply, capped at FUSE_MAX_WRITE and the guest's buffer. */
int fuse_do_read(struct fuse_req *r)
{
	struct fuse_read_in in;
	size_t want, done = 0;
	int fd, ret;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	if ((ret = handle_of(r, in.fh, false, &fd)) < 0)
		return ret;
	if (in.offset > INT64_MAX)
		return -EINVAL;
	want = in.size;
	if (want > FUSE_MAX_WRITE)
		want = FUSE_MAX_WRITE;
	if (want > r->out_cap)
		want = r->out_cap;
	while (done < want) {
		ssize_t n = pread(fd, r->out + done, want - done, in.offset + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += n;
	}
	r->out_len = done;
	return 0;
}

int fuse_do_write(struct fuse_req *r)
{
	struct fuse_write_out out = {0};
	struct fuse_write_in in;
	int fd, ret;
	ssize_t n;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	/* The data is the rest of the request: size may claim no more than that. */
	if (in.size > FUSE_MAX_WRITE || in.size > r->arg_len - r->pos)
		return -EINVAL;
	if (in.offset > INT64_MAX || in.size > INT64_MAX - in.offset)
		return -EFBIG;
	if ((ret = handle_of(r, in.fh, false, &fd)) < 0)
		return ret;
	do
		n = pwrite(fd, r->arg + r->pos, in.size, in.offset);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	out.size = n;
	return fuse_put(r, &out, sizeof(out));
}

/* RELEASE and RELEASEDIR: the handle goes, of whichever kind. */
int fuse_do_release(struct fuse_req *r)
{
	struct fuse_release_in in;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	if (!fuse_handle_get(r->s, in.fh))
		return -EBADF;
	fuse_handle_close(r->s, in.fh);
	return 0;
}

/* FSYNC and FSYNCDIR. */
int fuse_do_fsync(struct fuse_req *r)
{
	struct fuse_handle *h;
	struct fuse_fsync_in in;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	h = fuse_handle_get(r->s, in.fh);
	if (!h)
		return -EBADF;
	if ((in.fsync_flags & 1) && !h->dir)
		return fdatasync(h->fd) < 0 ? -errno : 0;
	return fsync(h->fd) < 0 ? -errno : 0;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* One host entry as a fuse_dirent at the reply's end; false when it does not fit. */
static bool put_dirent(struct fuse_req *r, size_t cap, const struct linux_dirent64 *d)
{
	size_t namelen = strnlen(d->d_name, d->d_reclen - offsetof(struct linux_dirent64, d_name));
	struct fuse_dirent fd = {
	    .ino = d->d_ino, .off = d->d_off, .namelen = namelen, .type = d->d_type};
	size_t size = FUSE_DIRENT_SIZE(&fd);

	if (cap - r->out_len < size)
		return false;
	memset(r->out + r->out_len, 0, size);
	memcpy(r->out + r->out_len, &fd, FUSE_NAME_OFFSET);
	memcpy(r->out + r->out_len + FUSE_NAME_OFFSET, d->d_name, namelen);
	r->out_len += size;
	return true;
}

/*
 * READDIR: getdents64 from the guest's offset (a cookie the host gave in
 * d_off); each entry carries its own cookie, so stopping when the guest's
 * buffer is full loses nothing: the next request seeks to the last one sent.
 */
int fuse_do_readdir(struct fuse_req *r)
{
	struct fuse_read_in in;
	size_t cap;
	int fd, ret;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	if ((ret = handle_of(r, in.fh, true, &fd)) < 0)
		return ret;
	cap = in.size < r->out_cap ? in.size : r->out_cap;
	if (cap > FUSE_MAX_WRITE)
		cap = FUSE_MAX_WRITE;
	if (in.offset > INT64_MAX || lseek(fd, in.offset, SEEK_SET) < 0)
		return -EINVAL;
	for (;;) {
		/* Never more host entries than the reply could hold: none are skipped. */
		size_t want = cap - r->out_len < 65536 ? cap - r->out_len : 65536;
		long n = syscall(SYS_getdents64, fd, r->s->dirbuf, want);

		if (n < 0)
			return r->out_len ? 0 : -errno;
		if (n == 0)
			return 0;
		for (long off = 0; off < n;) {
			const struct linux_dirent64 *d = (void *)(r->s->dirbuf + off);

			if (!put_dirent(r, cap, d))
				return 0;
			off += d->d_reclen;
		}
	}
}

int fuse_do_lseek(struct fuse_req *r)
{
	struct fuse_lseek_out out;
	struct fuse_lseek_in in;
	off_t pos;
	int fd, ret;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	if (in.whence != SEEK_DATA && in.whence != SEEK_HOLE)
		return -EINVAL;
	if ((ret = handle_of(r, in.fh, false, &fd)) < 0)
		return ret;
	if (in.offset > INT64_MAX)
		return -ENXIO;
	pos = lseek(fd, in.offset, in.whence);
	if (pos < 0)
		return -errno;
	out.offset = pos;
	return fuse_put(r, &out, sizeof(out));
}
