/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* NULL-terminated string vectors. */
#include <stddef.h>

void strv_free(char **v);
size_t strv_length(char *const *v);
/* Append a copy of s; returns 0 or -1 on allocation failure. */
int strv_push(char ***v, const char *s);
