/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			 struct err **err)
{
	char tmp[PATH_MAX];
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", name, getpid()) >= (int)sizeof(tmp))
		return err_make(err, ENAMETOOLONG, "`%s`", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return err_make(err, errno, "create `%s`", tmp);
	r = write_all(fd, data, len);
	if (r == 0 && close(fd) < 0)
		r = -errno;
	else if (r < 0)
		close(fd);
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return err_make(err, -r, "write `%s`", name);
	}
	return 0;
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

static int rm_children(int dfd, dev_t dev, struct err **err)
{
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		return err_make(err, errno, "fdopendir");
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return err_make(err, errno, "stat `%s`", de->d_name);
		if (S_ISDIR(st.st_mode)) {
			int r;

			/* Never descend into another file system (a leftover mount). */
			if (st.st_dev != dev)
				return err_make(err, EBUSY, "`%s` is a mount point", de->d_name);
			r = rm_rf_at(dirfd(d), de->d_name, err);
			if (r < 0)
				return r;
		} else if (unlinkat(dirfd(d), de->d_name, 0) < 0) {
			return err_make(err, errno, "unlink `%s`", de->d_name);
		}
	}
	return 0;
}

int rm_rf_at(int dirfd, const char *name, struct err **err)
{
	struct stat st;
	int fd, r;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : err_make(err, errno, "stat `%s`", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return err_make(err, errno, "unlink `%s`", name);
		return 0;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_make(err, errno, "open `%s`", name);
	r = rm_children(fd, st.st_dev, err);
	if (r < 0)
		return err_wrap(err, "remove `%s`", name);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return err_make(err, errno, "rmdir `%s`", name);
	return 0;
}

bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
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
