/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* NULL-terminated string vectors. */
#include <stdbool.h>
#include <stddef.h>

void strv_free(char **v);
size_t strv_length(char *const *v);
/* Append a copy of s; returns 0 or -1 on allocation failure. */
int strv_push(char ***v, const char *s);
/* @s is one of @v's entries (v may be NULL). */
bool strv_contains(char *const *v, const char *s);
/*
 * Environments (KEY=VALUE vectors).  One rule for every caller, runc's and
 * docker's: setting a key replaces its entry in place, else appends; of one
 * key set twice, the later value wins.
 */
int strv_env_set(char ***env, const char *kv);
/* A copy of @base with each entry of @extra set in turn; NULL on ENOMEM. */
char **strv_env_merge(char *const *base, char *const *extra);
