/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* process.capabilities: the five sets as bit masks (bit n = capability n). */
#include <stdint.h>

#include <jansson.h>

#include "caps-sys.h"
#include "err.h"

/* One capability by its OCI name, "CAP_" and all (any case): its number
 * (0..63), or -1 for a name libcap does not know. */
int ct_cap_from_name(const char *name);
/* Parse the object; `where` names it in messages ("process.capabilities").
 * A NULL object gives empty sets. */
int ct_caps_parse(json_t *process_capabilities, const char *where, struct ct_caps *ret,
		  struct err **err);
/* Parent: fail when effective, permitted or inheritable holds a capability
 * that this process's bounding set lacks (capset would fail in the child). */
int ct_caps_check_bounding(const struct ct_caps *c, const char *where, struct err **err);
/* The capabilities this kernel knows, by name ("CAP_CHOWN", ...), for `features`. */
json_t *ct_caps_known(void);
/* Those of them in our own bounding set: what we can give a process (exec --privileged). */
json_t *ct_caps_bounding(void);
/* Child, before the uid switch: drop every capability not in c->bounding. */
int ct_caps_drop_bounding(const struct ct_caps *c, struct err **err);
/* Child, after setuid (the caller set PR_SET_KEEPCAPS): set the inheritable,
 * permitted and effective sets, then raise the ambient ones. */
int ct_caps_apply(const struct ct_caps *c, struct err **err);
