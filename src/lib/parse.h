/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Checked number parsing: whole string, no overflow.  Never atoi(). */
#include <stdint.h>

int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);
int parse_int(const char *s, int *ret);
/* "64", "64K", "512M", "2G", "1T" (binary multiples; optional "iB"/"B"). */
int parse_size(const char *s, uint64_t *ret);
/* "KILL", "SIGKILL", "9", "RTMIN+3"; returns -EINVAL for unknown names. */
int parse_signal(const char *s, int *ret);
const char *signal_name(int sig);
