/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Checked number parsing: whole string, no overflow.  Never atoi(). */
#include <stdbool.h>
#include <stdint.h>

int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);
int parse_int(const char *s, int *ret);
/*
 * A uid or gid: 0..4294967294.  (uid_t)-1 means "leave unchanged" to
 * setresuid(2)/chown(2), so accepting it would keep a process as root.
 */
#define ID_MAX 4294967294u
bool id_valid(int64_t v);
/*
 * A host name of 1..max bytes of letters, digits, '-', '.' and '_', not
 * starting with '-' or '.': what /etc/hosts lines and sethostname(2) take
 * without surprises (no blank or newline to start another entry).
 * HOSTNAME_MAX is the kernel's limit for a UTS namespace's own name.
 */
#define HOSTNAME_MAX 64
bool hostname_valid(const char *s, size_t max);
int parse_id(const char *s, uint32_t *ret);
/* "64", "64K", "512M", "2G", "1T" (binary multiples; optional "iB"/"B"). */
int parse_size(const char *s, uint64_t *ret);
/* "KILL", "SIGKILL", "9", "RTMIN+3"; returns -EINVAL for unknown names. */
int parse_signal(const char *s, int *ret);
const char *signal_name(int sig);
