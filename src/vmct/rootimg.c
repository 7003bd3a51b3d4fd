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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
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

int vmct_rootfs_get(const char *cachedir, const char *key, const char *rootfs, char **ret,
		    struct err **err)
{
	_cleanup_free_ char *path = NULL, *tmp = NULL, *log = NULL;
	int r;

	if (asprintf(&path, "%s/rootfs-%s.ext4", cachedir, key) < 0 ||
	    asprintf(&tmp, "%s.%d.tmp", path, (int)getpid()) < 0 ||
	    asprintf(&log, "%s.%d.log", path, (int)getpid()) < 0)
		return err_make(err, ENOMEM, "root disk");
	if (!path_exists(path)) {
		r = mkdir_p(cachedir, 0700, err);
		if (r >= 0)
			r = mkfs(rootfs, tmp, log, err);
		if (r >= 0 && rename(tmp, path) < 0)
			r = err_make(err, errno, "rename `%s`", tmp);
		unlink(log);
		if (r < 0) {
			unlink(tmp);
			return err_wrap(err, "the root disk");
		}
	}
	*ret = TAKE_PTR(path);
	return 0;
}
