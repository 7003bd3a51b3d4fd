/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the virtio-fs FUSE server (src/vmm/virtio/fuse-*.c) as a
 * hostile guest drives it, on a real scratch directory.  The input is a list
 * of requests, each a 2-byte length, a byte giving the reply buffer's size
 * (2^(b % 18)), then that many bytes of request (header included, so every
 * length field is the fuzzer's).  The server is initialised first.  After
 * each input, the share's sibling directory must still be empty and nothing
 * beside the two may have appeared: nothing escaped the share.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char top[] = "/tmp/isola-fuzz-fs.XXXXXX";
static char share[64], outside[64];
static uint8_t in[FUSE_MAX_MSG], out[FUSE_MAX_MSG];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static int entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* At exit: the scratch tree goes (rm_one spares only the top, removed last). */
static void cleanup(void)
{
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	rmdir(top);
}

static void fuse_init(struct fuse_srv *s)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in i;
	} req = {.h = {.len = sizeof(req), .opcode = FUSE_INIT, .unique = 1},
		 .i = {.major = 7, .minor = 38, .flags = ~0u}};

	fuse_srv_handle(s, &req, sizeof(req), out, sizeof(out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuse_srv *s = NULL;
	int fd;

	if (!share[0]) {
		if (!mkdtemp(top))
			abort();
		snprintf(share, sizeof(share), "%s/share", top);
		snprintf(outside, sizeof(outside), "%s/outside", top);
		if (mkdir(share, 0755) < 0 || mkdir(outside, 0755) < 0)
			abort();
		atexit(cleanup);
	}
	fd = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fuse_srv_new(fd, size && (data[0] & 1), 64, &s, NULL) < 0)
		abort();
	fuse_init(s);
	for (size_t pos = size ? 1 : 0; pos + 3 <= size;) {
		size_t len = data[pos] | data[pos + 1] << 8,
		       cap = (size_t)1 << (data[pos + 2] % 18);

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		memcpy(in, data + pos, len);
		pos += len;
		if (fuse_srv_handle(s, in, len, out, cap) > cap)
			abort();
	}
	fuse_srv_free(s);
	if (entries(outside) != 0 || entries(top) != 2)
		abort(); /* something was made outside the share */
	nftw(share, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return 0;
}
