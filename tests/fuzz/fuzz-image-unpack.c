/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: a layer (tar, gzip or zstd) unpacked into a fresh
 * directory under a private temp dir.  Whatever the layer holds, nothing may
 * appear beside that directory (a canary file and directory stay as they
 * were), and the tree must be removable.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdutil.h"
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int top = -1;

static void cleanup(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", top);
	if (top >= 0) {
		char real[4096];
		ssize_t n = readlink(path, real, sizeof(real) - 1);

		if (n > 0) {
			real[n] = '\0';
			rm_rf_at(AT_FDCWD, real, NULL);
		}
	}
}

static void setup(void)
{
	/* tmpfs when there is one: file creation on a busy disk is what limits the rate. */
	char shm[] = "/dev/shm/isola-fuzz-unpack-XXXXXX", tmp[] = "/tmp/isola-fuzz-unpack-XXXXXX";
	char *dir = mkdtemp(shm);

	if (!dir)
		dir = mkdtemp(tmp);
	if (!dir)
		abort();
	top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0 || mkdirat(top, "canary", 0700) < 0)
		abort();
	close(openat(top, "canary/file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	atexit(cleanup);
}

static void check_canary(void)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	unsigned n = 0;

	if (fstatat(top, "canary/file", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != 0 || st.st_nlink != 1)
		abort();
	d = fdopendir(openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!d)
		abort();
	while ((de = readdir(d)))
		n++;
	closedir(d);
	if (n != 3) /* ".", "..", "canary": the layer dir is gone again */
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err *err = NULL;
	int fd, root;

	if (top < 0)
		setup();
	fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || lseek(fd, 0, SEEK_SET))
		abort();
	if (mkdirat(top, "l", 0700) < 0)
		abort();
	root = openat(top, "l", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		abort();
	if (img_unpack_into(fd, root, &err) < 0 && !err)
		abort();
	err_free(&err);
	close(root);
	close(fd);
	if (rm_rf_at(top, "l", &err) < 0) {
		fprintf(stderr, "cannot remove the layer: %s\n", err->msg);
		abort();
	}
	check_canary();
	return 0;
}
