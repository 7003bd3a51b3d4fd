/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Unpack internals, exposed for the unit tests. */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <archive.h>

#include "image.h"

/*
 * Clean a path from a tar entry into out: leading "/" and "." components
 * dropped, ".." refused (-EXDEV).  Returns the length (0: the root itself).
 */
int img_path_clean(const char *in, char *out, size_t size);
/*
 * The plain tar stream of a (gzip/zstd/plain) layer read from fd, decompressed
 * and hashed by a thread: open returns the fd to read it from (a pipe).
 * finish reads the rest, joins the thread and gives the stream's digest;
 * abort (after a failed read) joins it and puts its error, if any, in *err.
 */
struct img_tar_stream {
	struct archive *raw; /* filters on, format raw: yields the plain tar */
	struct img_hasher *h;
	uint64_t total;
	int pipe_r, pipe_w;
	pthread_t thread;
	bool started;
	struct err *err; /* the thread's */
};
int img_tar_stream_open(struct img_tar_stream *s, int fd, struct err **err);
int img_tar_stream_finish(struct img_tar_stream *s, char ret_diff_id[IMG_DIGEST_LEN + 1],
			  struct err **err);
void img_tar_stream_abort(struct img_tar_stream *s, struct err **err);

/* Unpack from fd into root; the decompressed stream's digest goes to ret_diff_id. */
int img_unpack_stream(int fd, int root, char ret_diff_id[IMG_DIGEST_LEN + 1], struct err **err);
/* The same with the id mode given; the device nodes skipped go to *ret_skipped. */
int img_unpack_stream_ids(int fd, int root, const struct img_unpack_ids *ids,
			  char ret_diff_id[IMG_DIGEST_LEN + 1], unsigned *ret_skipped,
			  struct err **err);
