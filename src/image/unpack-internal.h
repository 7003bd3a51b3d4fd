/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Unpack internals, exposed for the unit tests. */
#include <stddef.h>

#include "image.h"

/*
 * Clean a path from a tar entry into out: leading "/" and "." components
 * dropped, ".." refused (-EXDEV).  Returns the length (0: the root itself).
 */
int img_path_clean(const char *in, char *out, size_t size);
/* Unpack from fd into root; the decompressed stream's digest goes to ret_diff_id. */
int img_unpack_stream(int fd, int root, char ret_diff_id[IMG_DIGEST_LEN + 1], struct err **err);
