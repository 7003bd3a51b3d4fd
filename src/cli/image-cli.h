/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Shared bits of the image commands. */
#include "cli.h"
#include "commands.h"
#include "image.h"

/*
 * Run $ISOLA_RUNTIME (default /proc/self/exe) --root <store>/run ARGS, with
 * the given fds (-1: inherit) as its stdio; returns its exit code, -1 on error.
 */
int image_cli_runtime(const char *store, const char *const *args, int in_fd, int out_fd,
		      int err_fd);

/* Parse a command's only option, --store DIR; returns an exit code (0: go on). */
int image_cli_store_opt(int argc, char **argv, const char **ret_store);

/* Open the store named by --store / $ISOLA_STORE / the default, locked. */
int image_cli_open_store(const char *opt, struct img_store **ret);
