/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Reading another process's /proc/<pid>/stat. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Field `field` (>= 4, as numbered in proc(5)) as a number; -1 when gone or a zombie. */
int proc_stat_field(pid_t pid, int field, uint64_t *ret);
/* pid is gone, or a zombie its parent has not reaped yet (false when /proc cannot tell). */
bool proc_exited(pid_t pid);
