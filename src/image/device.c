/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host device nodes for config.json: --device HOST[:CTR][:PERMS] (a node or a
 * directory of them) and --privileged's /dev.  One walk serves both: by
 * directory fds, links never followed, bounded in depth, entries and nodes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>
#include <unistd.h>

#include "cleanup.h"
#include "device-internal.h"
#include "fdutil.h"
#include "image.h"
#include "jsonutil.h"

#define WALK_DEPTH_MAX 16

struct dev_walk {
	const char *const *skip; /* names relative to the root not to visit (NULL-ended) */
	bool one_fs;		 /* stay on the root's file system */
	dev_t fs;
	size_t entries, max_entries, nodes, max_nodes;
	int (*fn)(const char *rel, const struct stat *st, void *data);
	void *data;
};

static bool skipped(const struct dev_walk *w, const char *rel)
{
	for (const char *const *s = w->skip; s && *s; s++)
		if (streq(rel, *s))
			return true;
	return false;
}

static int walk_dir(struct dev_walk *w, int dfd, char *rel, size_t len, unsigned depth);

/* One entry of a directory: a node goes to fn, a directory is walked (not another fs's). */
static int walk_entry(struct dev_walk *w, int dfd, const char *name, char *rel, size_t len,
		      unsigned depth)
{
	_cleanup_close_ int sub = -1;
	struct stat st, sst;
	size_t n;

	n = (size_t)snprintf(rel + len, PATH_MAX - len, "%s%s", len ? "/" : "", name);
	if (n >= PATH_MAX - len)
		return -ENAMETOOLONG;
	if (++w->entries > w->max_entries)
		return -E2BIG;
	if (skipped(w, rel) || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* gone meanwhile: not there */
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		if (++w->nodes > w->max_nodes)
			return -E2BIG;
		return w->fn(rel, &st, w->data);
	}
	if (!S_ISDIR(st.st_mode) || (w->one_fs && st.st_dev != w->fs))
		return 0;
	if (depth >= WALK_DEPTH_MAX)
		return -ELOOP;
	sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sub < 0)
		return -errno;
	/* Swapped since the stat: not what was seen, so not walked. */
	if (fstat(sub, &sst) < 0 || sst.st_dev != st.st_dev || sst.st_ino != st.st_ino)
		return 0;
	return walk_dir(w, TAKE_FD(sub), rel, len + n, depth + 1);
}

/* Takes dfd. */
static int walk_dir(struct dev_walk *w, int dfd, char *rel, size_t len, unsigned depth)
{
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	struct dirent *e;
	int r = 0;

	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while (r >= 0 && (errno = 0, e = readdir(d)))
		if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
			r = walk_entry(w, dirfd(d), e->d_name, rel, len, depth);
	if (r >= 0 && errno)
		r = -errno;
	rel[len] = '\0';
	return r;
}

static int walk(struct dev_walk *w, int root)
{
	char rel[PATH_MAX] = "";
	struct stat st;

	if (fstat(root, &st) < 0) {
		close(root);
		return -errno;
	}
	w->fs = st.st_dev;
	return walk_dir(w, root, rel, 0, 0);
}

/* The parts of HOST[:CTR][:PERMS], checked; ret->path CTR, else HOST. */
static int split(const char *arg, char *s, struct img_device *ret, struct err **err)
{
	char *host = s, *ctr = NULL, *perms = NULL, *c;

	if ((c = strchr(host, ':'))) {
		*c++ = '\0';
		if (*c == '/') {
			ctr = c;
			if ((c = strchr(ctr, ':'))) {
				*c++ = '\0';
				perms = c;
			}
		} else {
			perms = c;
		}
	}
	if (host[0] != '/' || (ctr && (path_has_dot_component(ctr) || !ctr[strspn(ctr, "/")])))
		return err_make(err, 0,
				"--device `%.64s`: expected HOST[:CTR][:PERMS], both absolute, CTR "
				"not / and without . or ..",
				arg);
	if (perms && (!*perms || strlen(perms) > 3 || perms[strspn(perms, "rwm")] ||
		      (strchr(perms, 'r') != strrchr(perms, 'r')) ||
		      (strchr(perms, 'w') != strrchr(perms, 'w')) ||
		      (strchr(perms, 'm') != strrchr(perms, 'm'))))
		return err_make(err, 0, "--device `%.64s`: PERMS is some of r, w and m, each once",
				arg);
	/* /proc/self/fd/N and the like would be isola's own files, not a device's path. */
	if (!strncmp(host + strspn(host, "/"), "proc", 4) &&
	    (!host[strspn(host, "/") + 4] || host[strspn(host, "/") + 4] == '/'))
		return err_make(err, 0, "--device `%.64s`: a path under /proc names no device",
				arg);
	if (snprintf(ret->path, sizeof(ret->path), "%s", ctr ? ctr : host) >=
		(int)sizeof(ret->path) ||
	    snprintf(ret->host, sizeof(ret->host), "%s", host) >= (int)sizeof(ret->host))
		return err_make(err, 0, "--device `%.64s`: the path is too long", arg);
	snprintf(ret->access, sizeof(ret->access), "%s", perms ? perms : "rwm");
	return 0;
}

static void set_node(struct img_device *d, const struct stat *st)
{
	d->type = S_ISCHR(st->st_mode) ? 'c' : 'b';
	d->major = major(st->st_rdev);
	d->minor = minor(st->st_rdev);
	d->mode = st->st_mode & 07777;
	d->uid = st->st_uid;
	d->gid = st->st_gid;
}

int img_device_parse(const char *arg, struct img_device *ret, struct err **err)
{
	_cleanup_free_ char *s = strdup(arg);
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (!s)
		return err_make(err, ENOMEM, "--device");
	r = split(arg, s, ret, err);
	if (r < 0)
		return r;
	/* Not through /proc/self/fd/N (or /dev/stdin, /dev/../proc/...): isola's own files. */
	fd = open_no_magiclinks(ret->host, O_PATH);
	if (fd < 0 && errno == ELOOP)
		return err_make(err, 0,
				"--device `%.64s`: %s reaches through a /proc magic link (isola's "
				"own files), not to a device",
				arg, ret->host);
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_make(err, errno, "--device `%.64s`: %s", arg, ret->host);
	if (S_ISDIR(st.st_mode)) {
		ret->type = 'd';
		return 0;
	}
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return err_make(err, 0,
				"--device `%.64s`: %s is not a character or block device, nor a "
				"directory of them",
				arg, ret->host);
	set_node(ret, &st);
	return 0;
}

struct dir_call {
	const struct img_device *dir;
	int (*fn)(const struct img_device *d, void *data);
	void *data;
	const char *arg;
	struct err **err;
};

static int dir_node(const char *rel, const struct stat *st, void *data)
{
	struct dir_call *c = data;
	struct img_device d = *c->dir;

	if ((size_t)snprintf(d.path, sizeof(d.path), "%s/%s", c->dir->path, rel) >=
		sizeof(d.path) ||
	    (size_t)snprintf(d.host, sizeof(d.host), "%s/%s", c->dir->host, rel) >= sizeof(d.host))
		return err_make(c->err, 0, "--device `%.64s`: a path under it is too long", c->arg);
	set_node(&d, st);
	return c->fn(&d, c->data);
}

int img_device_dir_each(const char *arg, const struct img_device *dir, size_t max,
			int (*fn)(const struct img_device *d, void *data), void *data,
			struct err **err)
{
	struct dir_call c = {dir, fn, data, arg, err};
	struct dev_walk w = {.one_fs = true,
			     .max_entries = IMG_DEVICE_DIR_ENTRIES_MAX,
			     .max_nodes = max,
			     .fn = dir_node,
			     .data = &c};
	struct statfs sf;
	int fd, r;

	fd = open_no_magiclinks(dir->host, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return err_make(err, errno, "--device `%.64s`: %s", arg, dir->host);
	if (fstatfs(fd, &sf) < 0 || sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC) {
		close(fd);
		return err_make(err, 0,
				"--device `%.64s`: %s is in /proc or /sys, not a "
				"directory of devices",
				arg, dir->host);
	}
	r = walk(&w, fd);
	if (r == -E2BIG)
		return err_make(err, 0,
				"--device `%.64s`: more than %zu devices or %d entries under %s",
				arg, max, IMG_DEVICE_DIR_ENTRIES_MAX, dir->host);
	if (r == -ELOOP)
		return err_make(err, 0, "--device `%.64s`: deeper than %d directories", arg,
				WALK_DEPTH_MAX);
	if (r < 0 && (!err || !*err))
		return err_make(err, -r, "--device `%.64s`: walk %s", arg, dir->host);
	if (r >= 0 && !w.nodes)
		return err_make(err, 0, "--device `%.64s`: no device nodes under %s", arg,
				dir->host);
	return r < 0 ? r : (int)w.nodes;
}

static void append_node(json_t *devs, json_t *rules, const struct img_device *d)
{
	json_array_append_new(devs,
			      json_pack("{s:s,s:s%,s:I,s:I,s:I,s:I,s:I}", "path", d->path, "type",
					&d->type, (size_t)1, "major", (json_int_t)d->major, "minor",
					(json_int_t)d->minor, "fileMode", (json_int_t)d->mode,
					"uid", (json_int_t)d->uid, "gid", (json_int_t)d->gid));
	if (rules)
		json_array_append_new(rules, json_pack("{s:b,s:s%,s:I,s:I,s:s}", "allow", 1, "type",
						       &d->type, (size_t)1, "major",
						       (json_int_t)d->major, "minor",
						       (json_int_t)d->minor, "access", d->access));
}

struct append_call {
	json_t *devs, *rules;
};

static int append_dir_node(const struct img_device *d, void *data)
{
	struct append_call *c = data;

	append_node(c->devs, c->rules, d);
	return 0;
}

/*
 * --device's nodes in linux.devices and their rules after the default deny (checked by
 * the caller; a directory walked again, what changed since left out).  A directory that
 * grew past IMG_DEVICES_MAX in all since the check gets one node more, so that the
 * runtime's rule cap refuses the spec rather than a silently shorter list.
 */
void img_spec_add_devices(json_t *lx, json_t *rules, char **list)
{
	json_t *had = json_object_get(lx, "devices"), *devs = had ? had : json_array();
	struct append_call c = {devs, rules};
	size_t start = json_array_size(devs), n = 0;

	for (size_t i = 0; devs && list && list[i] && n <= IMG_DEVICES_MAX; i++) {
		struct img_device d;

		if (img_device_parse(list[i], &d, NULL) < 0)
			continue;
		if (d.type != 'd')
			append_node(devs, rules, &d);
		else
			img_device_dir_each(list[i], &d, IMG_DEVICES_MAX + 1 - n, append_dir_node,
					    &c, NULL);
		n = json_array_size(devs) - start;
	}
	if (had)
		return;
	if (devs && json_array_size(devs))
		json_object_set_new(lx, "devices", devs);
	else
		json_decref(devs);
}

static int host_node(const char *rel, const struct stat *st, void *data)
{
	struct img_device d = {};

	snprintf(d.path, sizeof(d.path), "/dev/%s", rel);
	set_node(&d, st);
	append_node(data, NULL, &d);
	return 0;
}

/*
 * --privileged: the host's device nodes under /dev (podman's walk), but the
 * directories the runtime mounts (pts, shm, mqueue) and the nodes it makes
 * itself (ptmx, console); at most 4096, the runtime's cap: what is past it,
 * or past an error, is left out.
 */
json_t *img_spec_host_devices(void)
{
	static const char *const skip[] = {"pts", "shm", "mqueue", "ptmx", "console", NULL};
	json_t *devs = json_array();
	struct dev_walk w = {.skip = skip,
			     .max_entries = 1u << 20,
			     .max_nodes = 4096,
			     .fn = host_node,
			     .data = devs};
	int fd = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (devs && fd >= 0)
		walk(&w, fd);
	else if (fd >= 0)
		close(fd);
	if (devs && !json_array_size(devs)) {
		json_decref(devs);
		devs = NULL;
	}
	return devs;
}
