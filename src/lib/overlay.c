/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Overlay mounts whose options do not fit one page.  mount(2) copies one page
 * of data: a longer lowerdir list is cut short (the kernel ends the page with a
 * NUL), so the mount fails or, worse, stacks fewer layers.  The new mount API
 * has no such limit: "lowerdir+" (Linux 6.8) adds one lower directory a call,
 * taken literally (no escapes), and reports errors in the fs context's log.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cleanup.h"
#include "overlay.h"

/* Cut @s at its first separator not escaped by a backslash; returns the rest or NULL. */
static char *cut(char *s, char sep)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			continue;
		}
		if (*s == sep) {
			*s = '\0';
			return s + 1;
		}
	}
	return NULL;
}

/* Drop the escaping backslashes, as overlayfs does for lowerdir= entries. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (*s == '\\' && s[1])
			s++;
		*d = *s;
	}
	*d = '\0';
}

/* What to do with each option and each lower directory (NULL: only check them). */
struct walk_ops {
	int (*option)(void *ctx, const char *key, const char *val, struct err **err);
	int (*lower)(void *ctx, const char *path, bool data_only, size_t i, struct err **err);
};

/* Each lower directory of a lowerdir= value (changed in place), checked. */
static int each_lower(char *v, const struct walk_ops *ops, void *ctx, size_t *ret_count,
		      struct err **err)
{
	bool data_only = false;
	size_t n = 0;
	int r;

	for (char *s = v, *next; s; s = next) {
		next = cut(s, ':');
		/* "a::b": b and what follows are data-only layers (datadir+). */
		if (!*s && n > 0 && !data_only && next && *next && *next != ':') {
			data_only = true;
			continue;
		}
		if (!*s)
			return err_make(err, 0, "lowerdir: entry %zu is empty", n + 1);
		unescape(s);
		if (s[0] != '/')
			return err_make(err, 0, "lowerdir: entry %zu `%s` is not an absolute path",
					n + 1, s);
		if (ops && (r = ops->lower(ctx, s, data_only, n, err)) < 0)
			return r;
		n++;
	}
	*ret_count = n;
	return 0;
}

/* Each option of @data (changed in place); the lowerdir= values through each_lower. */
static int each_option(char *data, const struct walk_ops *ops, void *ctx, size_t *ret_count,
		       struct err **err)
{
	size_t count = 0;
	int r;

	for (char *o = data, *next; o; o = next) {
		char *eq;

		next = cut(o, ',');
		if (!*o)
			continue;
		eq = strchr(o, '=');
		if (eq)
			*eq++ = '\0';
		if (eq && streq(o, "lowerdir"))
			r = each_lower(eq, ops, ctx, &count, err);
		else
			r = ops ? ops->option(ctx, o, eq, err) : 0;
		if (r < 0)
			return r;
	}
	*ret_count = count;
	return 0;
}

int overlay_lowerdir_check(const char *data, size_t *ret_count, struct err **err)
{
	_cleanup_free_ char *copy = strdup(data ? data : "");

	if (!copy)
		return err_make(err, ENOMEM, "overlay options");
	return each_option(copy, NULL, NULL, ret_count, err);
}

bool overlay_data_fits(const char *data)
{
	long page = sysconf(_SC_PAGESIZE);

	return strlen(data) < (size_t)(page > 0 ? page : 4096);
}

struct fsapi {
	int fs;
	size_t n_lower;
	char log[256];
};

/* The fs context's first error message, without its "e " tag; "" when none. */
static const char *fs_log(struct fsapi *f)
{
	char buf[sizeof(f->log)];
	ssize_t n;

	f->log[0] = '\0';
	while ((n = read(f->fs, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] == 'e' && buf[1] == ' ' && !f->log[0])
			snprintf(f->log, sizeof(f->log), "%s", buf + 2);
	}
	return f->log;
}

/* Fail with errno and the fs context's message after "what". */
static int __attribute__((format(printf, 3, 4)))
fs_fail(struct fsapi *f, struct err **err, const char *fmt, ...)
{
	int e = errno;
	const char *log = fs_log(f);
	char what[PATH_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_make(err, e, "%s%s%s", what, *log ? ": " : "", log);
}

static int fs_lower(void *ctx, const char *path, bool data_only, size_t i, struct err **err)
{
	struct fsapi *f = ctx;

	if (fsconfig(f->fs, FSCONFIG_SET_STRING, data_only ? "datadir+" : "lowerdir+", path, 0) ==
	    0)
		return 0;
	if (i == 0 && errno == EINVAL)
		return fs_fail(f, err, "%zu lower directories need `lowerdir+` (Linux 6.8)",
			       f->n_lower);
	return fs_fail(f, err, "lower directory %zu of %zu `%s`", i + 1, f->n_lower, path);
}

static int fs_option(void *ctx, const char *key, const char *val, struct err **err)
{
	struct fsapi *f = ctx;
	int r = val ? fsconfig(f->fs, FSCONFIG_SET_STRING, key, val, 0)
		    : fsconfig(f->fs, FSCONFIG_SET_FLAG, key, NULL, 0);

	if (r < 0)
		return fs_fail(f, err, "option `%s`", key);
	return 0;
}

static const struct walk_ops fs_walk = {.option = fs_option, .lower = fs_lower};

/* MS_* flags: the superblock's as fsconfig flags, the mount's as MOUNT_ATTR_*. */
static int fs_flags(struct fsapi *f, unsigned long flags, uint64_t *ret_attr, struct err **err)
{
	static const struct {
		unsigned long ms;
		const char *sb;
		uint64_t attr;
	} map[] = {
	    {MS_RDONLY, "ro", MOUNT_ATTR_RDONLY},
	    {MS_NOSUID, NULL, MOUNT_ATTR_NOSUID},
	    {MS_NODEV, NULL, MOUNT_ATTR_NODEV},
	    {MS_NOEXEC, NULL, MOUNT_ATTR_NOEXEC},
	    {MS_NOATIME, NULL, MOUNT_ATTR_NOATIME},
	    {MS_NODIRATIME, NULL, MOUNT_ATTR_NODIRATIME},
	    {MS_STRICTATIME, NULL, MOUNT_ATTR_STRICTATIME},
	    {MS_RELATIME, NULL, MOUNT_ATTR_RELATIME},
	    {MS_NOSYMFOLLOW, NULL, MOUNT_ATTR_NOSYMFOLLOW},
	    {MS_SYNCHRONOUS, "sync", 0},
	    {MS_DIRSYNC, "dirsync", 0},
	    {MS_LAZYTIME, "lazytime", 0},
	    {MS_SILENT, NULL, 0}, /* only quiets the kernel's log */
	};
	uint64_t attr = 0;

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (!(flags & map[i].ms))
			continue;
		flags &= ~map[i].ms;
		attr |= map[i].attr;
		if (map[i].sb && fsconfig(f->fs, FSCONFIG_SET_FLAG, map[i].sb, NULL, 0) < 0)
			return fs_fail(f, err, "option `%s`", map[i].sb);
	}
	if (flags)
		return err_make(err, EINVAL, "mount flags %#lx with more than one page of options",
				flags);
	*ret_attr = attr;
	return 0;
}

static int mount_fsapi(const char *source, const char *target, unsigned long flags, char *data,
		       size_t n_lower, struct err **err)
{
	struct fsapi f = {.fs = fsopen("overlay", FSOPEN_CLOEXEC), .n_lower = n_lower};
	_cleanup_close_ int fs = f.fs, mnt = -1;
	uint64_t attr = 0;
	size_t n;
	int r;

	if (fs < 0)
		return err_make(err, errno, "fsopen overlay");
	r = fs_flags(&f, flags, &attr, err);
	if (r >= 0 && fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		r = fs_fail(&f, err, "source `%s`", source);
	if (r >= 0)
		r = each_option(data, &fs_walk, &f, &n, err);
	if (r < 0)
		return r;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_fail(&f, err, "%zu lower directories", n_lower);
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, attr);
	if (mnt < 0)
		return fs_fail(&f, err, "fsmount");
	if (move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) <
	    0)
		return err_make(err, errno, "move_mount");
	return 0;
}

int overlay_mount(const char *source, const char *target, unsigned long flags, const char *data,
		  struct err **err)
{
	_cleanup_free_ char *copy = strdup(data ? data : "");
	size_t n = 0;
	int r;

	if (!copy)
		return err_make(err, ENOMEM, "overlay options");
	r = overlay_lowerdir_check(copy, &n, err);
	if (r < 0)
		return r;
	if (!overlay_data_fits(copy))
		return mount_fsapi(source, target, flags, copy, n, err);
	if (mount(source, target, "overlay", flags, copy) < 0)
		return err_make(err, errno, "%zu lower directories", n);
	return 0;
}
