/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static int code_of(int errnum)
{
	return errnum > 0 ? -errnum : -EINVAL;
}

int err_make(struct err **err, int errnum, const char *fmt, ...)
{
	char *text = NULL, *msg = NULL;
	struct err *e;
	va_list ap;

	if (errnum < 0)
		errnum = -errnum;
	if (err == NULL)
		return code_of(errnum);
	/* Keep the first (innermost) error: it is the most specific. */
	if (*err)
		return err_code(*err);

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);

	if (text && errnum) {
		if (asprintf(&msg, "%s: %s", text, strerror(errnum)) < 0)
			msg = NULL;
		free(text);
	} else {
		msg = text;
	}

	e = calloc(1, sizeof(*e));
	if (!e) {
		free(msg);
		return code_of(errnum);
	}
	e->errnum = errnum;
	e->msg = msg ? msg : strdup("out of memory formatting an error");
	*err = e;
	return code_of(errnum);
}

int err_wrap(struct err **err, const char *fmt, ...)
{
	char *ctx = NULL, *msg = NULL;
	va_list ap;

	if (err == NULL || *err == NULL)
		return -EINVAL;

	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		ctx = NULL;
	va_end(ap);
	if (ctx && asprintf(&msg, "%s: %s", ctx, (*err)->msg ? (*err)->msg : "") >= 0) {
		free((*err)->msg);
		(*err)->msg = msg;
	}
	free(ctx);
	return err_code(*err);
}

int err_code(const struct err *err)
{
	return err ? code_of(err->errnum) : 0;
}

void err_free(struct err **err)
{
	if (err == NULL || *err == NULL)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}
