/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * OCI hooks.  Each hook gets the container state JSON on stdin.  A failing
 * prestart, createRuntime, createContainer or startContainer hook fails the
 * call; poststart and poststop failures are logged as warnings and return 0.
 */
#include <jansson.h>

#include "err.h"

enum ct_hook_kind {
	CT_HOOK_PRESTART,
	CT_HOOK_CREATE_RUNTIME,
	CT_HOOK_CREATE_CONTAINER,
	CT_HOOK_START_CONTAINER,
	CT_HOOK_POSTSTART,
	CT_HOOK_POSTSTOP,
};

/*
 * hooks is the config's "hooks" object (may be NULL).  Each hook starts in
 * cwd if it is not NULL: the bundle for the hooks that run in the runtime's
 * namespaces, as with runc and crun, which change to the bundle at create
 * (a hook that cannot change there keeps the caller's directory: poststop
 * may run after an engine removed the bundle).
 */
int ct_hooks_run(json_t *hooks, enum ct_hook_kind kind, const char *state_json, const char *cwd,
		 struct err **err);
