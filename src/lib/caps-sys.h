/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The capability sets of a process as bit masks (bit n = capability n), and
 * the two steps that set them, with prctl(2) and capset(2) only: libc, no
 * allocation.  The container's init, the VMM (vmm/confine.c) and the VM
 * containers' guest agent (a static binary) use them.
 */
#include <stdint.h>

struct ct_caps {
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

/* The highest capability the running kernel knows (cap_last_cap; CAP_LAST_CAP if unknown). */
int ct_caps_last(void);
/* Drop every capability not in c->bounding.  -errno, the failing one in *ret_cap. */
int ct_caps_sys_drop_bounding(const struct ct_caps *c, int *ret_cap);
/*
 * After setuid (with PR_SET_KEEPCAPS): set the inheritable, permitted and
 * effective sets, then raise the ambient ones.  -errno, *ret_what names the
 * step and *ret_cap the capability (-1: none).
 */
int ct_caps_sys_apply(const struct ct_caps *c, const char **ret_what, int *ret_cap);
