/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Overlay mounts from mount(2)-style data ("lowerdir=a:b,upperdir=..,workdir=..").
 * Data longer than the one page mount(2) copies is mounted with the new mount
 * API, one "lowerdir+" per lower directory (Linux 6.8): the image side (a
 * rootless image's config.json, a root `run IMAGE`) and the runtime share it,
 * so both sides apply the same limits.
 */
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * Check the lower directories of every lowerdir= in @data: each absolute and
 * none empty (one "::" may mark the data-only ones that follow).  A backslash
 * escapes the next character, as in overlayfs ("\:" is a colon in a path).
 * Sets *ret_count to the number of lower directories.
 */
int overlay_lowerdir_check(const char *data, size_t *ret_count, struct err **err);

/* True when @data fits the page mount(2) copies (its length and the NUL). */
bool overlay_data_fits(const char *data);

/*
 * Mount an overlay on @target (followed if a symlink, so /proc/self/fd/N works)
 * with MS_* @flags and mount(2)-style @data: mount(2) when the data fits one
 * page, else fsopen/fsconfig with one lowerdir+ per lower directory, the other
 * options as keys, and move_mount.  The error names no target: callers wrap it.
 */
int overlay_mount(const char *source, const char *target, unsigned long flags, const char *data,
		  struct err **err);
