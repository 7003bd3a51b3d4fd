/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int read_all_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *n;

			if (cap > max)
				return -EFBIG;
			cap *= 2;
			n = realloc(buf, cap + 1);
			if (!n)
				return -ENOMEM;
			buf = n;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
		 struct err **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int r;

	if (fd < 0)
		return err_make(err, errno, "open `%s`", path);
	r = read_all_fd(fd, max, ret, ret_len);
	if (r == -EFBIG)
		return err_make(err, 0, "`%s` is larger than %zu bytes", path, max);
	if (r < 0)
		return err_make(err, -r, "read `%s`", path);
	return 0;
}

int write_file_at(int dirfd, const char *path, const char *data, struct err **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_TRUNC);
	int r;

	if (fd < 0)
		return err_make(err, errno, "open `%s`", path);
	r = write_all(fd, data, strlen(data));
	if (r < 0)
		return err_make(err, -r, "write `%s` to `%s`", data, path);
	return 0;
}

int open_tmp_at(int dirfd, const char *name, mode_t mode, char tmp[PATH_MAX], struct err **err)
{
	for (int i = 0; i < 16; i++) {
		uint64_t rnd;
		int fd;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			return err_make(err, errno, "getrandom");
		if (snprintf(tmp, PATH_MAX, ".%s.tmp.%016" PRIx64, name, rnd) >= PATH_MAX)
			return err_make(err, ENAMETOOLONG, "`%s`", name);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return err_make(err, errno, "create `%s`", tmp);
		if (fchmod(fd, mode) < 0) {
			int e = errno;

			close(fd);
			unlinkat(dirfd, tmp, 0);
			return err_make(err, e, "chmod `%s`", tmp);
		}
		return fd;
	}
	return err_make(err, EEXIST, "create a temporary file for `%s`", name);
}

/* @data in a new temporary file beside @name (open_tmp_at); its name in @tmp. */
static int write_tmp_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			char tmp[PATH_MAX], struct err **err)
{
	int fd, r;

	fd = open_tmp_at(dirfd, name, mode, tmp, err);
	if (fd < 0)
		return fd;
	r = write_all(fd, data, len);
	if (r == 0 && close(fd) < 0)
		r = -errno;
	else if (r < 0)
		close(fd);
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return err_make(err, -r, "write `%s`", name);
	}
	return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			 struct err **err)
{
	char tmp[PATH_MAX];
	int r = write_tmp_at(dirfd, name, data, len, mode, tmp, err);

	if (r < 0)
		return r;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = err_make(err, errno, "write `%s`", name);
		unlinkat(dirfd, tmp, 0);
	}
	return r;
}

/*
 * write_file_atomic_at for a file that is rewritten: the new text is swapped in
 * with renameat2(RENAME_EXCHANGE) and the old one unlinked.  Readers still see
 * one whole version or the other, but ext4 does not write the new file's data out
 * at once as it does for a rename over an existing file (auto_da_alloc).  A plain
 * rename where there is nothing to exchange with or no RENAME_EXCHANGE.
 */
int replace_file_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		    struct err **err)
{
	char tmp[PATH_MAX];
	int r = write_tmp_at(dirfd, name, data, len, mode, tmp, err);

	if (r < 0)
		return r;
	if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
		unlinkat(dirfd, tmp, 0); /* now the old text */
		return 0;
	}
	if ((errno != ENOENT && errno != EINVAL && errno != ENOSYS) ||
	    renameat(dirfd, tmp, dirfd, name) < 0) {
		r = err_make(err, errno, "write `%s`", name);
		unlinkat(dirfd, tmp, 0);
	}
	return r;
}

int mkdir_p(const char *path, mode_t mode, struct err **err)
{
	_cleanup_free_ char *p = strdup(path);
	char *s;

	if (!p)
		return err_make(err, ENOMEM, "mkdir `%s`", path);
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return err_make(err, errno, "mkdir `%s`", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return err_make(err, errno, "mkdir `%s`", p);
	return 0;
}

/*
 * The tree remover.  It walks iteratively and keeps at most RM_OPEN_MAX
 * directories open, however deep the tree: a level whose directory was closed
 * is re-opened through ".." from its child, and checked to be the same
 * directory (dev, ino) so that a rename during the walk cannot redirect it.
 * A re-opened directory is read again from its start; what was removed is gone.
 * It never descends into a mount point (another st_dev, or a bind mount's root).
 */
#define RM_OPEN_MAX 16

struct rm_level {
	char *name; /* in the parent level */
	dev_t dev;
	ino_t ino;
	DIR *d; /* NULL while closed to bound the fds */
};

struct rm_walk {
	struct rm_level *lv;
	size_t n, cap;
	dev_t dev;
};

static bool is_mount_root(int dfd, const char *name, const struct stat *st, dev_t dev)
{
	struct statx stx;

	if (st->st_dev != dev)
		return true;
	if (statx(dfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &stx) == 0 &&
	    (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return stx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
	return false;
}

/* Open directory name in dfd and check that it is (dev, ino). */
static int rm_open(int dfd, const char *name, dev_t dev, ino_t ino, DIR **ret, struct err **err)
{
	struct stat st;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_make(err, errno, "open `%s`", name);
	if (fstat(fd, &st) < 0 || st.st_dev != dev || st.st_ino != ino) {
		close(fd);
		return err_make(err, EBUSY, "`%s` changed while it was being removed", name);
	}
	*ret = fdopendir(fd);
	if (!*ret) {
		int r = err_make(err, errno, "fdopendir `%s`", name);

		close(fd);
		return r;
	}
	return 0;
}

static int rm_push(struct rm_walk *w, int dfd, const char *name, const struct stat *st,
		   struct err **err)
{
	struct rm_level *l;
	int r;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct rm_level *nl = reallocarray(w->lv, cap, sizeof(*nl));

		if (!nl)
			return err_make(err, ENOMEM, "remove");
		w->lv = nl;
		w->cap = cap;
	}
	l = &w->lv[w->n];
	*l = (struct rm_level){.dev = st->st_dev, .ino = st->st_ino};
	l->name = strdup(name);
	if (!l->name)
		return err_make(err, ENOMEM, "remove");
	r = rm_open(dfd, name, st->st_dev, st->st_ino, &l->d, err);
	if (r < 0) {
		free(l->name);
		return r;
	}
	w->n++;
	if (w->n > RM_OPEN_MAX && w->lv[w->n - 1 - RM_OPEN_MAX].d) {
		closedir(w->lv[w->n - 1 - RM_OPEN_MAX].d);
		w->lv[w->n - 1 - RM_OPEN_MAX].d = NULL;
	}
	return 0;
}

/* The top level is empty: remove it and make its parent current (re-opened if closed). */
static int rm_pop(struct rm_walk *w, int top_dfd, struct err **err)
{
	struct rm_level *l = &w->lv[w->n - 1], *p = w->n > 1 ? &w->lv[w->n - 2] : NULL;
	int r = 0;

	if (p && !p->d)
		r = rm_open(dirfd(l->d), "..", p->dev, p->ino, &p->d, err);
	if (r >= 0) {
		closedir(l->d);
		l->d = NULL;
		if (unlinkat(p ? dirfd(p->d) : top_dfd, l->name, AT_REMOVEDIR) < 0 &&
		    errno != ENOENT)
			r = err_make(err, errno, "rmdir `%s`", l->name);
	}
	if (r < 0)
		return r;
	free(l->name);
	w->n--;
	return 0;
}

/* Remove one entry of the current level, or descend into it. */
static int rm_entry(struct rm_walk *w, const char *name, struct err **err)
{
	int dfd = dirfd(w->lv[w->n - 1].d);
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_make(err, errno, "stat `%s`", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return err_make(err, errno, "unlink `%s`", name);
		return 0;
	}
	/* Never descend into another file system (a leftover mount). */
	if (is_mount_root(dfd, name, &st, w->dev))
		return err_make(err, EBUSY, "`%s` is a mount point", name);
	return rm_push(w, dfd, name, &st, err);
}

static int rm_walk_run(struct rm_walk *w, int top_dfd, struct err **err)
{
	while (w->n > 0) {
		struct dirent *de;

		errno = 0;
		de = readdir(w->lv[w->n - 1].d);
		if (!de) {
			int r;

			if (errno)
				return err_make(err, errno, "readdir `%s`", w->lv[w->n - 1].name);
			r = rm_pop(w, top_dfd, err);
			if (r < 0)
				return r;
			continue;
		}
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		int r = rm_entry(w, de->d_name, err);

		if (r < 0)
			return r;
	}
	return 0;
}

int rm_rf_at(int dirfd, const char *name, struct err **err)
{
	struct rm_walk w = {};
	struct stat st;
	int r;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_make(err, errno, "stat `%s`", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return err_make(err, errno, "unlink `%s`", name);
		return 0;
	}
	w.dev = st.st_dev;
	r = rm_push(&w, dirfd, name, &st, err);
	if (r >= 0)
		r = rm_walk_run(&w, dirfd, err);
	for (size_t i = 0; i < w.n; i++) {
		if (w.lv[i].d)
			closedir(w.lv[i].d);
		free(w.lv[i].name);
	}
	free(w.lv);
	if (r < 0 && err && *err)
		return err_wrap(err, "remove `%s`", name);
	return r < 0 ? r : 0;
}

/* n (at most 2) fds and len bytes of data (none: one zero byte) in one message. */
static int send_fds(int s, const int *fds, size_t n, const void *data, size_t len, int flags)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u = {0};
	char zero = 0;
	struct iovec iov = {.iov_base = len ? (void *)data : &zero, .iov_len = len ? len : 1};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = u.buf,
	    .msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	ssize_t r;

	if (n == 0 || n > 2 || !cm)
		return -EINVAL;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	do
		r = sendmsg(s, &msg, flags | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int fd_send(int s, int fd, const void *data, size_t len)
{
	return send_fds(s, &fd, 1, data, len, 0);
}

ssize_t fd_recv(int s, void *data, size_t len, int *ret_fd)
{
	/* Room for a few: a peer that sends more gets them all closed, not kept by us. */
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} u = {0};
	struct iovec iov = {.iov_base = data, .iov_len = len};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = u.buf,
	    .msg_controllen = sizeof(u.buf),
	};
	int got = -1, count = 0;
	ssize_t n;

	do
		n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++, count++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (count == 0)
				got = fd;
			else
				close(fd);
		}
	}
	if (count != 1 || (msg.msg_flags & MSG_CTRUNC)) {
		if (got >= 0)
			close(got);
		return -EPROTO;
	}
	*ret_fd = got;
	return n;
}

/*
 * As this process sees it: its effective ids and capabilities, not access(2)'s real
 * ones (stat, not faccessat(AT_EACCESS): that is faccessat2, which older seccomp
 * profiles refuse with EPERM, where glibc falls back only on ENOSYS).
 */
bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int open_no_magiclinks(const char *path, int flags)
{
	/* openat2 refuses O_PATH with any flag it ignores. */
	uint64_t more = (flags & O_PATH) ? O_CLOEXEC : O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct open_how how = {.flags = (uint64_t)flags | more, .resolve = RESOLVE_NO_MAGICLINKS};

	return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
}

bool fd_in_own_proc(int fd)
{
	char link[64], real[PATH_MAX], own[32];
	struct statfs sf;
	ssize_t n;
	size_t len;

	if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, sizeof(real) - 1);
	if (n < 0)
		return true; /* in procfs and unnamed: not one to trust */
	real[n] = '\0';
	len = (size_t)snprintf(own, sizeof(own), "/proc/%d", (int)getpid());
	return !strncmp(real, own, len) && (real[len] == '\0' || real[len] == '/');
}

bool path_has_dot_component(const char *p)
{
	for (const char *c = p; (c = strchr(c, '.')); c++) {
		size_t n = c[1] == '.' ? 2 : 1;

		if ((c == p || c[-1] == '/') && (c[n] == '/' || !c[n]))
			return true;
	}
	return false;
}

bool path_same_abs(const char *p, const char *abs)
{
	if ((*p == '/') != (*abs == '/'))
		return false;
	for (;;) {
		while (*p == '/' && p[1] == '/')
			p++;
		while (*abs == '/' && abs[1] == '/')
			abs++;
		if (*p == '/' && !p[strspn(p, "/")])
			p += strlen(p);
		if (*abs == '/' && !abs[strspn(abs, "/")])
			abs += strlen(abs);
		if (*p != *abs)
			return false;
		if (!*p)
			return true;
		p++;
		abs++;
	}
}

static int close_range_fds(unsigned int lo, unsigned int hi)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
#endif
	for (unsigned int fd = lo; fd <= hi && fd < 65536; fd++)
		close((int)fd);
	return 0;
}

int close_fds_except(int first, const int *keep, size_t n_keep)
{
	unsigned int lo = (unsigned int)first;
	int r;

	/* Walk the kept fds in ascending order, closing the gaps between them. */
	for (;;) {
		int next = -1;

		for (size_t i = 0; i < n_keep; i++)
			if (keep[i] >= 0 && (unsigned int)keep[i] >= lo &&
			    (next < 0 || keep[i] < next))
				next = keep[i];
		if (next < 0)
			return close_range_fds(lo, ~0U);
		if ((unsigned int)next > lo &&
		    (r = close_range_fds(lo, (unsigned int)next - 1)) < 0)
			return r;
		lo = (unsigned int)next + 1;
	}
}

void close_fds_from(int first)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
		return;
#endif
	for (int fd = first; fd < 65536; fd++)
		close(fd);
}

/* The longest /proc/self/mountinfo mount point that is @path or above it. */
int mount_point_of(const char *path, char *ret, size_t size, struct err **err)
{
	_cleanup_free_ char *info = NULL;
	char *line, *save = NULL;
	size_t best = 0;

	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16 << 20, &info, NULL, err) < 0)
		return err_wrap(err, "find the mount of `%s`", path);
	snprintf(ret, size, "/");
	for (line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char mp[4096], *o = mp, *f = line;
		size_t n;

		/* Field 5: the mount point, with space, tab, newline and \ octal-escaped. */
		for (int i = 0; i < 4 && f; i++)
			f = strchr(f + 1, ' ');
		if (!f)
			continue;
		for (f++; *f && *f != ' ' && o < mp + sizeof(mp) - 1; f++) {
			if (f[0] == '\\' && f[1] >= '0' && f[1] <= '3' && f[2] && f[3]) {
				*o++ = (char)((f[1] - '0') * 64 + (f[2] - '0') * 8 + (f[3] - '0'));
				f += 3;
			} else {
				*o++ = *f;
			}
		}
		*o = 0;
		n = strlen(mp);
		if (n > best && strncmp(path, mp, n) == 0 && (path[n] == '/' || !path[n]) &&
		    n < size) {
			best = n;
			memcpy(ret, mp, n + 1);
		}
	}
	return 0;
}

void close_async(int fd)
{
	int sv[2], fds[2];

	if (fd < 0)
		return;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		close(fd);
		return;
	}
	/* sv[1] and fd, queued on sv[1] itself: once both ends are closed, only the cycle holds
	 * them. */
	fds[0] = sv[1];
	fds[1] = fd;
	(void)send_fds(sv[0], fds, 2, NULL, 0, MSG_DONTWAIT);
	/*
	 * The order matters: the collector is scheduled when a unix socket is
	 * released, and only sv[0]'s release is one (sv[1] lives on in flight).
	 * Closed last, sv[0] schedules it after the cycle lost its last outside
	 * reference; closed first, the collector could run before close(sv[1])
	 * and leave the cycle for the next unix socket release on the host
	 * (10-30% of 50 calls in a row did, on Linux 6.18).
	 */
	close(fd);
	close(sv[1]);
	close(sv[0]);
}

static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static int spare_fd = -1;

void accept_spare_init(void)
{
	pthread_mutex_lock(&spare_lock);
	if (spare_fd < 0)
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&spare_lock);
}

int accept_or_shed(int lfd, int flags)
{
	int fd = accept4(lfd, NULL, NULL, flags), e;

	if (fd >= 0 && __atomic_load_n(&spare_fd, __ATOMIC_RELAXED) < 0)
		accept_spare_init(); /* the first call, or a spare lost to another thread */
	if (fd >= 0 || (errno != EMFILE && errno != ENFILE))
		return fd;
	e = errno;
	pthread_mutex_lock(&spare_lock);
	/*
	 * Another thread may take the slot between our close and accept (then the
	 * next call sheds); a spare lost that way is taken again whenever a slot is
	 * free, here or in accept_spare_init().
	 */
	if (spare_fd >= 0) {
		close(spare_fd);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
	}
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&spare_lock);
	errno = e;
	return -1;
}
