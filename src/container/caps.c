/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * process.capabilities.  Names are resolved with libcap in the parent; the
 * child side uses only prctl(2) and capset(2), so it neither allocates nor
 * depends on libcap's view of the kernel.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/capability.h>

#include "caps.h"
#include "cleanup.h"
#include "jsonutil.h"

static const char *const set_names[] = {"bounding", "effective", "inheritable", "permitted",
					"ambient"};

/*
 * libcap's cap_from_name() reads a name up to the first character it does not
 * expect, so "CAP_CHOWN,CAP_KILL" and "CAP_CHOWN " are CAP_CHOWN to it: a
 * name here is letters, digits and '_' only, or it is unknown.
 */
int ct_cap_from_name(const char *name)
{
	cap_value_t cap;

	if (name[strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")])
		return -1;
	if (strncasecmp(name, "CAP_", 4) != 0 || cap_from_name(name, &cap) < 0 || cap < 0 ||
	    cap > 63)
		return -1;
	return (int)cap;
}

static int parse_set(json_t *obj, const char *where, const char *key, uint64_t *ret,
		     struct err **err)
{
	json_t *arr = NULL, *v;
	uint64_t mask = 0;
	size_t i;
	int r;

	r = json_get_array(obj, where, key, &arr, err);
	if (r < 0)
		return r;
	json_array_foreach (arr, i, v) {
		const char *name = json_string_value(v);
		int cap;

		if (!name)
			return err_make(err, 0, "%s.%s[%zu]: expected a string", where, key, i);
		cap = ct_cap_from_name(name);
		if (cap < 0)
			return err_make(err, 0, "%s.%s[%zu]: unknown capability \"%s\"", where, key,
					i, name);
		mask |= UINT64_C(1) << cap;
	}
	*ret = mask;
	return 0;
}

int ct_caps_parse(json_t *process_capabilities, const char *where, struct ct_caps *ret,
		  struct err **err)
{
	uint64_t *sets[5];
	struct ct_caps c = {};
	int r;

	sets[0] = &c.bounding;
	sets[1] = &c.effective;
	sets[2] = &c.inheritable;
	sets[3] = &c.permitted;
	sets[4] = &c.ambient;
	if (process_capabilities && !json_is_object(process_capabilities))
		return err_make(err, 0, "%s: expected an object", where);
	for (size_t i = 0; process_capabilities && i < ARRAY_SIZE(set_names); i++) {
		r = parse_set(process_capabilities, where, set_names[i], sets[i], err);
		if (r < 0)
			return r;
	}
	*ret = c;
	return 0;
}

static json_t *names(bool bounding_only)
{
	json_t *arr = json_array();

	for (int cap = 0; arr && cap <= ct_caps_last(); cap++) {
		char *name;

		if (bounding_only && prctl(PR_CAPBSET_READ, cap) != 1)
			continue;
		name = cap_to_name(cap);
		if (!name)
			continue;
		for (char *c = name; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		if (strncmp(name, "CAP_", 4) == 0)
			json_array_append_new(arr, json_string(name));
		cap_free(name);
	}
	return arr;
}

json_t *ct_caps_known(void)
{
	return names(false);
}

json_t *ct_caps_bounding(void)
{
	return names(true);
}

int ct_caps_check_bounding(const struct ct_caps *c, const char *where, struct err **err)
{
	static const char *const names[] = {"effective", "permitted", "inheritable"};
	const uint64_t sets[] = {c->effective, c->permitted, c->inheritable};
	int last = ct_caps_last();

	for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
		for (int cap = 0; cap <= last; cap++) {
			char *name;
			int r;

			if (!(sets[i] & (UINT64_C(1) << cap)) || prctl(PR_CAPBSET_READ, cap) != 0)
				continue;
			name = cap_to_name(cap);
			r = err_make(err, EPERM,
				     "%s.%s: %s is not in this host's capability bounding set",
				     where, names[i], name ? name : "?");
			cap_free(name);
			return r;
		}
	return 0;
}

int ct_caps_drop_bounding(const struct ct_caps *c, struct err **err)
{
	int cap, r = ct_caps_sys_drop_bounding(c, &cap);

	return r < 0 ? err_make(err, -r, "drop capability %d from the bounding set", cap) : 0;
}

int ct_caps_apply(const struct ct_caps *c, struct err **err)
{
	const char *what;
	int cap, r = ct_caps_sys_apply(c, &what, &cap);

	if (r < 0 && cap >= 0)
		return err_make(err, -r, "%s: capability %d", what, cap);
	return r < 0 ? err_make(err, -r, "%s", what) : 0;
}
