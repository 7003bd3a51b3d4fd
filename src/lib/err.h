/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Errors with context.  A failing call fills a trailing `struct err **` with a
 * human message and returns a negative errno; callers add context on the way
 * up with err_wrap().  Only src/cli prints.
 */
#include <stdarg.h>

struct err {
	int errnum; /* positive errno, 0 when the message says it all */
	char *msg;
};

/* Record an error; returns -errnum, or -EINVAL when errnum is 0. */
int err_make(struct err **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the recorded message with "context: "; returns the stored code. */
int err_wrap(struct err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void err_free(struct err **err);
/* The negative return code for a recorded error. */
int err_code(const struct err *err);

#define _cleanup_err_ __attribute__((cleanup(err_free)))
