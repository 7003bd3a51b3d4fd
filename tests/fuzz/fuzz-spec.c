/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the input is a bundle's config.json.  It goes through
 * what `create` checks before it forks: the capped JSON load, ct_spec_parse
 * (root, process, user ids, rlimits, mounts, namespaces, id maps, devices,
 * sysctl, masked/readonly paths, hooks, annotations) and the capability
 * sets.  A parse either succeeds or fails with a message; ASan/UBSan and
 * LeakSanitizer catch the rest.
 */
#include <stdint.h>
#include <stdlib.h>

#include "caps.h"
#include "err.h"
#include "jsonutil.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_json_ json_t *j = NULL;
	struct ct_spec *spec = NULL;
	struct err *e = NULL;
	struct ct_caps caps;

	if (json_load_buf_capped("config.json", (const char *)data, size, CT_CONFIG_MAX, &j, &e) <
	    0) {
		if (!e)
			abort(); /* a failure always says why */
		err_free(&e);
		return 0;
	}
	if (ct_spec_parse(j, "config.json", &spec, &e) < 0) {
		if (!e || spec)
			abort();
		err_free(&e);
		return 0;
	}
	if (ct_caps_parse(spec->process.capabilities, "config.json: process.capabilities", &caps,
			  &e) < 0)
		err_free(&e);
	ct_spec_free(spec);
	return 0;
}
