/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>

#include "caps.h"

int ct_caps_parse(json_t *process_capabilities, const char *where, struct ct_caps *ret,
		  struct err **err)
{
	return err_make(err, ENOSYS, "%s: not implemented yet", where);
}

int ct_caps_drop_bounding(const struct ct_caps *c, struct err **err)
{
	return err_make(err, ENOSYS, "capabilities: not implemented yet");
}

int ct_caps_apply(const struct ct_caps *c, struct err **err)
{
	return err_make(err, ENOSYS, "capabilities: not implemented yet");
}
