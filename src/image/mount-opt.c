/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --mount type=bind|volume|tmpfs,KEY[=VALUE],... as podman and docker take it.  Each
 * becomes the entry -v or --tmpfs would have made, so that what those check and do
 * (named volumes, /etc files the user mounts, --vm's shares, tmpcopyup) applies as is.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image.h"
#include "parse.h"

enum { K_TYPE, K_SRC, K_DST, K_RO, K_RW, K_PROP, K_SIZE, K_MODE, K_N };

struct mount_keys {
	const char *v[K_N];
};

static int key_index(const char *k)
{
	static const struct {
		const char *name;
		int idx;
	} keys[] = {
	    {"type", K_TYPE},	    {"source", K_SRC},
	    {"src", K_SRC},	    {"target", K_DST},
	    {"destination", K_DST}, {"dst", K_DST},
	    {"readonly", K_RO},	    {"ro", K_RO},
	    {"rw", K_RW},	    {"bind-propagation", K_PROP},
	    {"tmpfs-size", K_SIZE}, {"tmpfs-mode", K_MODE},
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(k, keys[i].name))
			return keys[i].idx;
	return -1;
}

/* KEY[=VALUE],...: each key once (an alias counts as its key); a flag alone is "true". */
static int split_keys(const char *arg, char *s, struct mount_keys *ret, struct err **err)
{
	char *save = NULL;

	for (char *f = strtok_r(s, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(f, '=');
		int k;

		if (eq)
			*eq++ = '\0';
		k = key_index(f);
		if (k < 0)
			return err_make(err, 0, "--mount `%.64s`: unknown option `%.32s`", arg, f);
		if (ret->v[k])
			return err_make(err, 0, "--mount `%.64s`: `%.32s` given twice", arg, f);
		if (eq && !*eq)
			return err_make(err, 0, "--mount `%.64s`: `%.32s=` without a value", arg,
					f);
		ret->v[k] = eq ? eq : "true";
	}
	return 0;
}

static int bool_value(const char *arg, const char *key, const char *v, bool *ret, struct err **err)
{
	if (!v)
		return 0;
	if (streq(v, "true") || streq(v, "1"))
		*ret = true;
	else if (streq(v, "false") || streq(v, "0"))
		*ret = false;
	else
		return err_make(err, 0, "--mount `%.64s`: %s is true or false, not `%.32s`", arg,
				key, v);
	return 0;
}

/* An absolute path without . or .. components, nor the ':' the -v form splits on. */
static int path_ok(const char *arg, const char *what, const char *p, struct err **err)
{
	if (p[0] != '/' || path_has_dot_component(p) || strchr(p, ':') || strlen(p) >= 4096)
		return err_make(err, 0,
				"--mount `%.64s`: the %s must be an absolute path without . or .. "
				"components or ':'",
				arg, what);
	return 0;
}

/*
 * A tmpfs's size= as podman writes it: a number of bytes, K, M, G or T after it (and a
 * B, "1m", "1MiB", "1mb").  0 is refused: tmpfs takes it as no limit at all, which is
 * not what anyone typing a size means; so is a size the kernel's round-up to pages
 * would wrap to 0 (podman mounts 18446744073709551615 as size=0k): at most 1 EiB.
 */
int img_tmpfs_size_parse(const char *s, uint64_t *ret)
{
	char buf[64];
	size_t n = strlen(s);
	uint64_t v;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n + 1);
	/* "1b": parse_size takes "1", "1m", "1mb" and "1MiB", not a B alone. */
	if (n >= 2 && (buf[n - 1] == 'b' || buf[n - 1] == 'B') &&
	    isdigit((unsigned char)buf[n - 2]))
		buf[n - 1] = '\0';
	if (parse_size(buf, &v) < 0 || v == 0 || v > (1ULL << 60))
		return -EINVAL;
	*ret = v;
	return 0;
}

static int check_target(const char *arg, const char *dst, struct err **err)
{
	if (!dst)
		return err_make(err, 0, "--mount `%.64s`: no target", arg);
	if (path_ok(arg, "target", dst, err) < 0)
		return -EINVAL;
	if (!dst[strspn(dst, "/")])
		return err_make(err, 0, "--mount `%.64s`: the target cannot be /", arg);
	if (path_same_abs(dst, "/proc"))
		return err_make(err, 0, "--mount `%.64s`: /proc is the container's procfs", arg);
	return 0;
}

/*
 * Whether p (absolute, no . or ..) names the runtime's own /proc/self,
 * /proc/thread-self or what /dev/fd and /dev/std* link into, however many
 * slashes separate its components ("//proc/self/root" is /proc/self/root).
 */
static bool runtime_own_path(const char *p)
{
	static const char *const own[] = {"/proc/self", "/proc/thread-self", "/dev/fd",
					  "/dev/stdin", "/dev/stdout",	     "/dev/stderr"};
	char norm[4096];
	size_t n = 0;

	for (; *p && n < sizeof(norm) - 1; p++)
		if (*p != '/' || n == 0 || norm[n - 1] != '/')
			norm[n++] = *p;
	norm[n] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(own); i++) {
		size_t len = strlen(own[i]);

		if (!strncmp(norm, own[i], len) && (norm[len] == '\0' || norm[len] == '/'))
			return true;
	}
	return false;
}

int img_bind_source_check(const char *opt, const char *arg, const char *src, bool must_exist,
			  struct err **err)
{
	_cleanup_close_ int fd = -1;

	if (runtime_own_path(src))
		return err_make(err, 0,
				"%s `%.64s`: a source under /proc/self (or /dev/fd) is the "
				"runtime's, not yours",
				opt, arg);
	fd = open_no_magiclinks(src, O_PATH);
	if (fd < 0 && errno == ELOOP)
		return err_make(err, ELOOP,
				"%s `%.64s`: the source reaches through a /proc magic link (a "
				"process's fd or root), or loops",
				opt, arg);
	if (fd < 0)
		return must_exist
			   ? err_make(err, errno, "%s `%.64s`: source `%.64s`", opt, arg, src)
			   : 0;
	if (fd_in_own_proc(fd))
		return err_make(err, 0,
				"%s `%.64s`: the source leads into /proc/self, which is the "
				"runtime's, not yours",
				opt, arg);
	return 0;
}

/*
 * A bind's source: an existing host path (podman: "statfs: no such file"), not one of
 * the runtime's own /proc/self or /proc/thread-self (its fds, its root).
 */
static int check_bind_source(const char *arg, const char *src, struct err **err)
{
	if (!src)
		return err_make(err, 0, "--mount `%.64s`: a bind needs a source", arg);
	if (path_ok(arg, "source", src, err) < 0)
		return -EINVAL;
	return img_bind_source_check("--mount", arg, src, true, err);
}

/* 0 to 7777, octal digits only (a tmpfs's mode=, which the kernel reads in octal). */
int img_tmpfs_mode_parse(const char *v, unsigned *ret)
{
	unsigned m = 0;

	if (!*v || v[strspn(v, "01234567")])
		return -EINVAL;
	for (; *v; v++)
		if ((m = m * 8 + (unsigned)(*v - '0')) > 07777)
			return -ERANGE;
	*ret = m;
	return 0;
}

static bool propagation_ok(const char *p)
{
	static const char *const names[] = {"private", "rprivate", "shared",
					    "rshared", "slave",	   "rslave"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(p, names[i]))
			return true;
	return false;
}

/* SRC:DST:ro|rw[,PROPAGATION], as -v takes it; SRC a path or a volume's name. */
static int bind_entry(const char *arg, const struct mount_keys *k, bool volume, bool ro, char **ret,
		      struct err **err)
{
	const char *src = k->v[K_SRC];
	int r;

	if (k->v[K_SIZE] || k->v[K_MODE])
		return err_make(err, 0, "--mount `%.64s`: tmpfs-size and tmpfs-mode are a tmpfs's",
				arg);
	if (k->v[K_PROP] && (volume || !propagation_ok(k->v[K_PROP])))
		return err_make(err, 0,
				"--mount `%.64s`: bind-propagation is a bind's, one of private, "
				"rprivate, shared, rshared, slave, rslave",
				arg);
	if (volume && (!src || !*src || strpbrk(src, "/:") || strlen(src) > 32))
		return err_make(err, 0,
				"--mount `%.64s`: a volume needs a source, its name "
				"([A-Za-z0-9_.-], at most 32)",
				arg);
	r = volume ? 0 : check_bind_source(arg, src, err);
	if (r == 0)
		r = check_target(arg, k->v[K_DST], err);
	if (r < 0)
		return r;
	if (asprintf(ret, "%s:%s:%s%s%s", src, k->v[K_DST], ro ? "ro" : "rw",
		     k->v[K_PROP] ? "," : "", k->v[K_PROP] ? k->v[K_PROP] : "") < 0)
		return err_make(err, ENOMEM, "--mount");
	return 0;
}

/*
 * DST:exec[,ro][,size=N][,mode=M], as --tmpfs takes it: podman mounts a --mount tmpfs
 * rw,nosuid,nodev (exec, unlike its --tmpfs).
 */

static int tmpfs_entry(const char *arg, const struct mount_keys *k, bool ro, char **ret,
		       struct err **err)
{
	char size[32] = "", mode[32] = "";
	uint64_t n;
	unsigned m = 0;

	if (k->v[K_SRC])
		return err_make(err, 0, "--mount `%.64s`: a tmpfs has no source", arg);
	if (k->v[K_PROP])
		return err_make(err, 0, "--mount `%.64s`: bind-propagation is a bind's", arg);
	if (k->v[K_SIZE] && img_tmpfs_size_parse(k->v[K_SIZE], &n) < 0)
		return err_make(
		    err, 0,
		    "--mount `%.64s`: tmpfs-size `%.32s`: expected a size from 1 to 1048576T", arg,
		    k->v[K_SIZE]);
	if (k->v[K_SIZE])
		snprintf(size, sizeof(size), ",size=%llu", (unsigned long long)n);
	if (k->v[K_MODE] && img_tmpfs_mode_parse(k->v[K_MODE], &m) < 0)
		return err_make(err, 0,
				"--mount `%.64s`: tmpfs-mode `%.32s`: expected octal, at most 7777",
				arg, k->v[K_MODE]);
	if (k->v[K_MODE])
		snprintf(mode, sizeof(mode), ",mode=%o", m);
	if (check_target(arg, k->v[K_DST], err) < 0)
		return -EINVAL;
	if (asprintf(ret, "%s:exec%s%s%s", k->v[K_DST], ro ? ",ro" : "", size, mode) < 0)
		return err_make(err, ENOMEM, "--mount");
	return 0;
}

int img_mount_parse(const char *arg, enum img_mount_kind *ret_kind, char **ret_entry,
		    struct err **err)
{
	_cleanup_free_ char *s = NULL;
	struct mount_keys k = {};
	const char *type;
	bool ro = false, rw = false;
	int r;

	if (strlen(arg) > 16384)
		return err_make(err, 0, "--mount `%.64s`: longer than 16384", arg);
	s = strdup(arg);
	if (!s)
		return err_make(err, ENOMEM, "--mount");
	r = split_keys(arg, s, &k, err);
	if (r == 0)
		r = bool_value(arg, "readonly", k.v[K_RO], &ro, err);
	if (r == 0)
		r = bool_value(arg, "rw", k.v[K_RW], &rw, err);
	if (r < 0)
		return r;
	if (k.v[K_RO] && k.v[K_RW] && ro == rw)
		return err_make(err, 0, "--mount `%.64s`: readonly and rw disagree", arg);
	ro = ro || (k.v[K_RW] && !rw);
	type = k.v[K_TYPE];
	if (!type)
		return err_make(err, 0,
				"--mount `%.64s`: expected type=bind|volume|tmpfs,"
				"[source=SRC,]target=DST[,OPTIONS]",
				arg);
	if (streq(type, "tmpfs")) {
		*ret_kind = IMG_MOUNT_TMPFS;
		return tmpfs_entry(arg, &k, ro, ret_entry, err);
	}
	if (!streq(type, "bind") && !streq(type, "volume"))
		return err_make(err, 0,
				"--mount `%.64s`: type `%.32s`: expected bind, volume or tmpfs",
				arg, type);
	*ret_kind = IMG_MOUNT_VOLUME;
	return bind_entry(arg, &k, streq(type, "volume"), ro, ret_entry, err);
}
