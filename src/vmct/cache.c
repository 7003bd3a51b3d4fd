/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM caches (docs/vm-containers.md "The caches and what prunes them"):
 * <store>/vm (run --vm) and <root>/.vm-cache (the OCI mode) hold root disks,
 * initramfs images, warm templates and the temporary files of their builds.
 * Prune removes what this binary would never use again, and nothing in use:
 * a disk a VMM or a starting run --vm holds (flock), a temporary file its
 * builder holds (flock), a template build dir while a build holds the cache's
 * build lock.  A name that is not one of ours is left alone; one of ours that
 * is not what we make (a symlink, a directory for a file) is removed as it is,
 * never followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "strv.h"
#include "vmct.h"

#define DU_DEPTH 8 /* a template is one level deep; more is not ours, counted no further */

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* "." DIGITS ".tmp" or ".log" to the end: a build's temporary file; *ret_log for a log. */
static bool tmp_suffix(const char *s, bool *ret_log)
{
	size_t n = strspn(s + 1, "0123456789");

	if (s[0] != '.' || !n || (strcmp(s + 1 + n, ".tmp") && strcmp(s + 1 + n, ".log")))
		return false;
	*ret_log = !strcmp(s + 1 + n, ".log");
	return true;
}

/*
 * What a cache entry is by its name, and its key (pointing into @name; for an
 * initramfs the agent's tag, NULL for the old names without one).
 */
static enum vmct_cache_kind classify(const char *name, const char **ret_key, bool *ret_log)
{
	const size_t dl = 7 + VMCT_ROOTFS_KEY_LEN, tl = 7 + VMCT_AGENT_TAG_LEN;
	const char *key = NULL;
	bool log = false;
	enum vmct_cache_kind k = VMCT_CACHE_OTHER;

	if (!strncmp(name, "rootfs-", 7) && strlen(name) >= dl + 5 &&
	    hex_run(name + 7, VMCT_ROOTFS_KEY_LEN) && !strncmp(name + dl, ".ext4", 5)) {
		key = name + 7;
		if (!name[dl + 5])
			k = VMCT_CACHE_DISK;
		else if (tmp_suffix(name + dl + 5, &log))
			k = VMCT_CACHE_TEMP;
	} else if (!strncmp(name, "initrd-", 7) && hex_run(name + 7, 16)) {
		/* initrd-TAG-KEY.cpio; initrd-KEY.cpio before the agent's tag was in the name */
		bool tagged = name[tl] == '-' && hex_run(name + tl + 1, 16);
		const char *end = name + (tagged ? tl + 17 : tl);

		key = tagged ? name + 7 : NULL;
		if (!strcmp(end, ".cpio"))
			k = VMCT_CACHE_INITRD;
		else if (!strncmp(end, ".cpio", 5) && tmp_suffix(end + 5, &log) && !log)
			k = VMCT_CACHE_TEMP;
	} else if (!strncmp(name, "warm-", 5) && strlen(name) == 5 + VMCT_WARM_KEY_LEN &&
		   hex_run(name + 5, VMCT_WARM_KEY_LEN)) {
		key = name + 5;
		k = VMCT_CACHE_WARM;
	} else if (!strncmp(name, ".warm-", 6) && strlen(name) == 6 + VMCT_WARM_KEY_LEN + 7 &&
		   hex_run(name + 6, VMCT_WARM_KEY_LEN) && name[6 + VMCT_WARM_KEY_LEN] == '-') {
		k = VMCT_CACHE_BUILD;
	}
	*ret_key = key;
	*ret_log = log;
	return k;
}

/* Bytes @dfd/@name takes on disk (its blocks), a directory's tree on its own file system. */
static uint64_t du_at(int dfd, const char *name, dev_t dev, int depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	uint64_t n;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || (dev && st.st_dev != dev))
		return 0;
	n = (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode) || depth >= DU_DEPTH)
		return n;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return n;
	}
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			n += du_at(dirfd(d), de->d_name, st.st_dev, depth + 1);
	return n;
}

/*
 * The temporary file @name (or, for a .log, its .tmp) locked for us (its fd, to hold
 * while it goes), or -1 when its builder holds it.  A log without its temp file: the
 * builder is done or gone (-2: nothing to hold).
 */
static int temp_lock(int dfd, const char *name)
{
	char tmp[NAME_MAX + 1];
	int fd;

	snprintf(tmp, sizeof(tmp), "%.*s.tmp", (int)strlen(name) - 4, name);
	fd = openat(dfd, tmp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -2;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		close(fd);
		return -1;
	}
	return fd;
}

struct sweep {
	const char *dir;
	int dfd;
	const struct vmct_prune_opts *o;
	struct vmct_prune_result *res;
	char **gone; /* initramfs paths removed (or, dry run, to be): templates built on them go */
	int first;   /* the first failure */
	struct err **err;
};

/* Remove @name (a tree for a directory; a link itself, never its target), unless a dry run. */
static void drop(struct sweep *s, const char *name, enum vmct_cache_kind kind)
{
	uint64_t bytes = du_at(s->dfd, name, 0, 0);
	struct err *e = NULL;

	if (!s->o->dry_run && rm_rf_at(s->dfd, name, &e) < 0) {
		if (!s->first) {
			s->first = err_code(e) ? err_code(e) : -EIO;
			err_make(s->err, -s->first, "remove `%s/%s`", s->dir, name);
		}
		err_free(&e);
		return;
	}
	s->res->bytes += bytes;
	s->res->removed++;
	if (s->o->removed)
		s->o->removed(s->o->arg, kind, s->dir, name, bytes);
}

/* A root disk: gone when no image or container has its key and no one holds it. */
static void sweep_disk(struct sweep *s, const char *name, const char *key)
{
	_cleanup_close_ int fd = -1;
	char k[VMCT_ROOTFS_KEY_LEN + 1];
	struct stat st;

	snprintf(k, sizeof(k), "%.*s", VMCT_ROOTFS_KEY_LEN, key);
	if ((s->o->only_disk && !streq(s->o->only_disk, k)) || s->o->disk_used(k, s->o->arg))
		return;
	if (fstatat(s->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISREG(st.st_mode)) {
		/* The lock is held until the unlink: a run that then locks it sees it gone. */
		fd = openat(s->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
			s->res->in_use++;
			return;
		}
	}
	drop(s, name, VMCT_CACHE_DISK);
}

static void sweep_initrd(struct sweep *s, const char *name, const char *tag)
{
	_cleanup_free_ char *path = NULL;

	if (!s->o->agent_tag || (tag && !strncmp(tag, s->o->agent_tag, VMCT_AGENT_TAG_LEN)))
		return;
	drop(s, name, VMCT_CACHE_INITRD);
	if (asprintf(&path, "%s/%s", s->dir, name) >= 0)
		strv_push(&s->gone, path);
}

/* A build's temporary file whose builder is gone (its lock is free): held while it goes. */
static void sweep_temp(struct sweep *s, const char *name, bool log)
{
	int fd = temp_lock(s->dfd, name);

	if (fd == -1)
		return;
	drop(s, name, VMCT_CACHE_TEMP);
	if (fd >= 0)
		close(fd);
}

/* Pass 1 (disks, initramfs images, temp files) or 2 (templates and their build dirs). */
static int sweep_pass(struct sweep *s, int pass)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = openat(s->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* its own offset */

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return err_make(s->err, errno, "read `%s`", s->dir);
	}
	while ((de = readdir(d))) {
		const char *key;
		bool log;
		enum vmct_cache_kind k = classify(de->d_name, &key, &log);

		if (pass == 1 && k == VMCT_CACHE_DISK && s->o->disk_used)
			sweep_disk(s, de->d_name, key);
		else if (s->o->only_disk)
			continue;
		else if (pass == 1 && k == VMCT_CACHE_INITRD)
			sweep_initrd(s, de->d_name, key);
		else if (pass == 1 && k == VMCT_CACHE_TEMP)
			sweep_temp(s, de->d_name, log);
		else if (pass == 2 && k == VMCT_CACHE_WARM &&
			 !vmct_warm_current(s->dfd, de->d_name, key, s->gone))
			drop(s, de->d_name, k);
		else if (pass == 2 && k == VMCT_CACHE_BUILD)
			drop(s, de->d_name, k);
	}
	return 0;
}

int vmct_cache_prune(const char *cachedir, const struct vmct_prune_opts *o,
		     struct vmct_prune_result *ret, struct err **err)
{
	struct sweep s = {.dir = cachedir, .o = o, .res = ret, .err = err};
	_cleanup_close_ int lock = -1;
	int r;

	*ret = (struct vmct_prune_result){};
	s.dfd = open(cachedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.dfd < 0)
		return errno == ENOENT ? 0 : err_make(err, errno, "open `%s`", cachedir);
	r = sweep_pass(&s, 1);
	/* Templates and build dirs only while no build runs (the build lock, not their age). */
	if (r >= 0 && !o->only_disk) {
		lock = vmct_warm_lock(cachedir, VMCT_WARM_LOCK_TRY, s.first ? NULL : err);
		if (lock == -EWOULDBLOCK)
			ret->build_running = true;
		else if (lock < 0 && !s.first)
			r = s.first = lock;
		else if (lock >= 0)
			r = sweep_pass(&s, 2);
	}
	close(s.dfd);
	strv_free(s.gone);
	return r < 0 ? r : s.first;
}

int vmct_cache_usage(const char *cachedir, struct vmct_cache_usage *ret, struct err **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	*ret = (struct vmct_cache_usage){};
	fd = open(cachedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return errno == ENOENT ? 0 : err_make(err, errno, "open `%s`", cachedir);
	}
	while ((de = readdir(d))) {
		const char *key;
		bool log;
		enum vmct_cache_kind k = classify(de->d_name, &key, &log);

		if (k == VMCT_CACHE_OTHER)
			continue;
		ret->bytes[k] += du_at(dirfd(d), de->d_name, 0, 0);
		ret->count[k]++;
	}
	return 0;
}

const char *vmct_cache_kind_name(enum vmct_cache_kind k)
{
	static const char *const names[] = {
	    [VMCT_CACHE_DISK] = "root disk",	  [VMCT_CACHE_INITRD] = "initramfs",
	    [VMCT_CACHE_WARM] = "warm template",  [VMCT_CACHE_BUILD] = "template build dir",
	    [VMCT_CACHE_TEMP] = "temporary file", [VMCT_CACHE_OTHER] = "other"};

	return k < ARRAY_SIZE(names) ? names[k] : "?";
}
