/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The root disk of a VM container: the image's unpacked root as an ext4
 * image, made once per layer chain by `mkfs.ext4 -d` (e2fsprogs) and shared
 * read-only by every VM of that image (the VMM takes a shared lock on a
 * read-only disk).  docs/vm-containers.md says why ext4 and not erofs.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image.h"
#include "jsonutil.h"
#include "vmct.h"

static __thread uint64_t tree_bytes, tree_inodes;

static int size_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
	tree_inodes++;
	tree_bytes += S_ISDIR(st->st_mode) ? 4096 : (uint64_t)st->st_blocks * 512;
	return 0;
}

/* Room for the tree: its blocks plus a quarter, an inode each and some, 16 MiB spare. */
static int image_size(const char *rootfs, uint64_t *ret_kib, uint64_t *ret_inodes, struct err **err)
{
	tree_bytes = tree_inodes = 0;
	if (nftw(rootfs, size_cb, 32, FTW_PHYS | FTW_MOUNT) < 0)
		return err_make(err, errno, "walk `%s`", rootfs);
	*ret_inodes = tree_inodes + tree_inodes / 4 + 64;
	*ret_kib = (tree_bytes + tree_bytes / 4 + *ret_inodes * 256 + (16u << 20)) / 1024;
	*ret_kib = (*ret_kib + 1023) / 1024 * 1024;
	return 0;
}

static int mkfs(const char *rootfs, const char *out, const char *log, struct err **err)
{
	char size[32], inodes[32];
	uint64_t kib = 0, n = 0;
	pid_t pid;
	int st, r;

	r = image_size(rootfs, &kib, &n, err);
	if (r < 0)
		return r;
	snprintf(size, sizeof(size), "%llu", (unsigned long long)kib);
	snprintf(inodes, sizeof(inodes), "%llu", (unsigned long long)n);
	pid = fork();
	if (pid < 0)
		return err_make(err, errno, "fork");
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execlp("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-L", "isola-rootfs", "-O",
		       "^has_journal", "-N", inodes, "-d", rootfs, out, size, (char *)NULL);
		dprintf(2, "exec mkfs.ext4: %s (install e2fsprogs)\n", strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return err_make(err, errno, "wait for mkfs.ext4");
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		_cleanup_free_ char *msg = NULL;
		size_t len = 0;

		read_file_at(AT_FDCWD, log, 4096, &msg, &len, NULL);
		if (msg && len && msg[len - 1] == '\n')
			msg[len - 1] = '\0';
		return err_make(err, 0, "mkfs.ext4 -d `%s` failed: %s", rootfs,
				msg && *msg ? msg : "no output");
	}
	return 0;
}

int vmct_rootfs_key(json_t *layers, char ret[VMCT_ROOTFS_KEY_LEN + 1], struct err **err)
{
	_cleanup_free_ char *text = json_dumps(layers, JSON_COMPACT | JSON_ENCODE_ANY);
	char digest[IMG_DIGEST_LEN + 1];
	int r;

	if (!text || !json_is_array(layers))
		return err_make(err, EINVAL, "no layers");
	r = img_sha256_digest(text, strlen(text), digest, err);
	if (r < 0)
		return r;
	snprintf(ret, VMCT_ROOTFS_KEY_LEN + 1, "%.*s", VMCT_ROOTFS_KEY_LEN, img_digest_hex(digest));
	return 0;
}

int vmct_cache_tmp_lock(const char *path, struct err **err)
{
	struct stat st;

	/* Prune may hold a stale file of this name while it removes it: lock, then check. */
	for (int tries = 0; tries < 3; tries++) {
		_cleanup_close_ int fd =
		    open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0 || flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
			return err_make(err, errno, "create `%s`", path);
		if (st.st_nlink)
			return TAKE_FD(fd);
	}
	return err_make(err, EAGAIN, "create `%s`: removed as it was made", path);
}

/*
 * The disk at @path with a shared flock (prune takes an exclusive one before it
 * unlinks), still linked at @path once locked: its fd, or -ENOENT (build it).
 */
static int lock_disk(const char *path, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat a, b;

	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0 || flock(fd, LOCK_SH) < 0 || fstat(fd, &a) < 0)
		return err_make(err, errno, "open `%s`", path);
	if (stat(path, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino || !a.st_nlink)
		return -ENOENT; /* pruned while we waited: build it again */
	return TAKE_FD(fd);
}

static int build_disk(const char *cachedir, const char *path, const char *rootfs, struct err **err)
{
	_cleanup_free_ char *tmp = NULL, *log = NULL;
	_cleanup_close_ int lock = -1;
	int r;

	if (asprintf(&tmp, "%s.%d.tmp", path, (int)getpid()) < 0 ||
	    asprintf(&log, "%s.%d.log", path, (int)getpid()) < 0)
		return err_make(err, ENOMEM, "root disk");
	r = mkdir_p(cachedir, 0700, err);
	/* Locked until renamed: prune removes only a temp file no builder holds. */
	if (r >= 0)
		r = lock = vmct_cache_tmp_lock(tmp, err);
	if (r >= 0)
		r = mkfs(rootfs, tmp, log, err);
	if (r >= 0 && rename(tmp, path) < 0)
		r = err_make(err, errno, "rename `%s`", tmp);
	unlink(log);
	if (r < 0)
		unlink(tmp);
	return r;
}

int vmct_rootfs_get(const char *cachedir, const char *key, const char *rootfs, char **ret,
		    int *ret_lock, struct err **err)
{
	_cleanup_free_ char *path = NULL;
	int r = -ENOENT;

	if (asprintf(&path, "%s/rootfs-%s.ext4", cachedir, key) < 0)
		return err_make(err, ENOMEM, "root disk");
	/* Built when missing; a prune between the build and the lock: once more. */
	for (int tries = 0; tries < 3 && r == -ENOENT; tries++) {
		r = ret_lock ? lock_disk(path, err) : path_exists(path) ? 0 : -ENOENT;
		if (r == -ENOENT && build_disk(cachedir, path, rootfs, err) < 0)
			return err_wrap(err, "the root disk");
	}
	if (r == -ENOENT)
		return err_make(err, ENOENT, "the root disk `%s` was removed as it was made", path);
	if (r < 0)
		return r;
	if (ret_lock)
		*ret_lock = r;
	*ret = TAKE_PTR(path);
	return 0;
}
