/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A layer's plain tar stream, decompressed and hashed by a thread of its own
 * and handed to the tar reader through a pipe: decompression (user time) then
 * runs beside file creation (kernel time) on another CPU.  The thread only
 * reads the blob, hashes and writes the pipe; it is joined before
 * img_tar_stream_finish() or img_tar_stream_abort() returns, so no thread
 * outlives an unpack.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "fdutil.h"
#include "unpack-internal.h"

#define STREAM_MAX (64ull << 30) /* decompressed bytes of one layer: gzip bombs stop here */
#define PIPE_SIZE  (1 << 20)

static void *produce(void *data)
{
	struct img_tar_stream *s = data;
	sigset_t pipe_set;
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	/* A reader that gave up closes its end: we get EPIPE, not a signal. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	while ((r = archive_read_data_block(s->raw, &buf, &size, &off)) == ARCHIVE_OK) {
		if (s->total + size > STREAM_MAX) {
			err_make(&s->err, EFBIG, "layer larger than %llu bytes decompressed",
				 STREAM_MAX);
			break;
		}
		img_hasher_update(s->h, buf, size);
		s->total += size;
		if (write_all(s->pipe_w, buf, size) < 0)
			break; /* the reader stopped: its error is the one that counts */
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
		err_make(&s->err, EIO, "read layer: %s", archive_error_string(s->raw));
	close(s->pipe_w);
	s->pipe_w = -1;
	return NULL;
}

static int open_raw(struct img_tar_stream *s, int fd, struct err **err)
{
	struct archive_entry *e;
	int r = img_lazylib_load(IMG_LIB_ARCHIVE, err);

	if (r < 0)
		return r;
	s->h = img_hasher_new(err);
	if (!s->h)
		return err_wrap(err, "unpack");
	s->raw = archive_read_new();
	if (!s->raw)
		return err_make(err, ENOMEM, "unpack");
	archive_read_support_filter_gzip(s->raw);
	archive_read_support_filter_zstd(s->raw);
	archive_read_support_filter_none(s->raw);
	archive_read_support_format_raw(s->raw);
	if (archive_read_open_fd(s->raw, fd, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(s->raw, &e) != ARCHIVE_OK)
		return err_make(err, EIO, "open layer: %s", archive_error_string(s->raw));
	return 0;
}

static void release(struct img_tar_stream *s)
{
	if (s->started)
		pthread_join(s->thread, NULL);
	s->started = false;
	if (s->pipe_r >= 0)
		close(s->pipe_r);
	if (s->pipe_w >= 0)
		close(s->pipe_w);
	s->pipe_r = s->pipe_w = -1;
	if (s->raw)
		archive_read_free(s->raw);
	s->raw = NULL;
	img_hasher_free(s->h);
	s->h = NULL;
}

int img_tar_stream_open(struct img_tar_stream *s, int fd, struct err **err)
{
	int p[2], r;

	*s = (struct img_tar_stream){.pipe_r = -1, .pipe_w = -1};
	r = open_raw(s, fd, err);
	if (r >= 0 && pipe2(p, O_CLOEXEC) < 0)
		r = err_make(err, errno, "pipe");
	if (r < 0) {
		release(s);
		return r;
	}
	s->pipe_r = p[0];
	s->pipe_w = p[1];
	(void)fcntl(s->pipe_w, F_SETPIPE_SZ, PIPE_SIZE); /* best effort: fewer switches */
	r = pthread_create(&s->thread, NULL, produce, s);
	if (r) {
		release(s);
		return err_make(err, r, "unpack thread");
	}
	s->started = true;
	return s->pipe_r;
}

int img_tar_stream_finish(struct img_tar_stream *s, char ret_diff_id[IMG_DIGEST_LEN + 1],
			  struct err **err)
{
	char buf[65536];
	ssize_t n;
	int r = 0;

	/* The tar reader stops at the end-of-archive blocks: what follows is hashed too. */
	while ((n = read(s->pipe_r, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		;
	pthread_join(s->thread, NULL);
	s->started = false;
	if (s->err) {
		r = err_code(s->err);
		if (err)
			*err = TAKE_PTR(s->err);
	} else if (ret_diff_id) {
		img_hasher_final(s->h, ret_diff_id);
	}
	release(s);
	return r;
}

void img_tar_stream_abort(struct img_tar_stream *s, struct err **err)
{
	/* Closing our end first makes a blocked writer fail with EPIPE and return. */
	if (s->pipe_r >= 0)
		close(s->pipe_r);
	s->pipe_r = -1;
	release(s);
	/* A decompression error explains the reader's "truncated" one better. */
	if (s->err && err) {
		err_free(err);
		*err = TAKE_PTR(s->err);
	}
	err_free(&s->err);
}
