/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * --env-file FILE, as docker and podman read it: one variable a line,
 * KEY=VALUE (the value verbatim: no quotes, no expansion, a '#' in it is
 * kept) or KEY alone (the value of KEY in our environment; skipped when it
 * is unset); lines that are blank or start with '#' (after leading blanks)
 * are skipped.
 */
#include "err.h"

/* The longest env file read (a longer one is refused), bytes. */
#define ENVFILE_MAX (1u << 20)

/*
 * Append FILE's variables to *env (a strv) in file order.  Errors name
 * the file and the line: "--env-file `F`, line N: ...".  *env keeps what
 * was appended before an error (the caller frees it).
 */
int envfile_read(const char *path, char ***env, struct err **err);
/*
 * One -e/--env argument, as docker and podman take it: KEY=VALUE as given,
 * KEY alone from our environment (nothing when it is unset); an empty KEY
 * is an error naming @opt.
 */
int envfile_push_arg(const char *opt, const char *arg, char ***env, struct err **err);
