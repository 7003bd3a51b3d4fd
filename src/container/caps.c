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
		cap_value_t cap;

		if (!name)
			return err_make(err, 0, "%s.%s[%zu]: expected a string", where, key, i);
		if (cap_from_name(name, &cap) < 0 || cap < 0 || cap > 63 ||
		    strncasecmp(name, "CAP_", 4) != 0)
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

/* The highest capability the running kernel knows (cap_last_cap). */
static int last_cap(void)
{
	static int cached = -1;
	char buf[16] = "";
	int fd, n;

	if (cached >= 0)
		return cached;
	cached = CAP_LAST_CAP;
	fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cached;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && buf[0] >= '0' && buf[0] <= '9') {
		int v = 0;

		for (int i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
			v = v * 10 + (buf[i] - '0');
		if (v > 0 && v < 64)
			cached = v;
	}
	return cached;
}

json_t *ct_caps_known(void)
{
	json_t *arr = json_array();

	for (int cap = 0; arr && cap <= last_cap(); cap++) {
		char *name = cap_to_name(cap);

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

int ct_caps_check_bounding(const struct ct_caps *c, const char *where, struct err **err)
{
	static const char *const names[] = {"effective", "permitted", "inheritable"};
	const uint64_t sets[] = {c->effective, c->permitted, c->inheritable};
	int last = last_cap();

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
	int last = last_cap();

	for (int cap = 0; cap <= last; cap++) {
		if (c->bounding & (UINT64_C(1) << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return err_make(err, errno, "drop capability %d from the bounding set",
					cap);
	}
	return 0;
}

int ct_caps_apply(const struct ct_caps *c, struct err **err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};
	uint64_t known = last_cap() >= 63 ? UINT64_MAX : (UINT64_C(1) << (last_cap() + 1)) - 1;
	uint64_t eff = c->effective & known, perm = c->permitted & known;
	uint64_t inh = c->inheritable & known, amb = c->ambient & known;

	data[0].effective = (uint32_t)eff;
	data[1].effective = (uint32_t)(eff >> 32);
	data[0].permitted = (uint32_t)perm;
	data[1].permitted = (uint32_t)(perm >> 32);
	data[0].inheritable = (uint32_t)inh;
	data[1].inheritable = (uint32_t)(inh >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return err_make(err, errno, "capset");

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_make(err, errno, "clear the ambient capabilities");
	/*
	 * The kernel only lets a capability into the ambient set if it is both
	 * permitted and inheritable; like crun and runc, others are skipped
	 * (runtime-spec configs often list ambient without inheritable).
	 */
	amb &= perm & inh;
	for (int cap = 0; cap < 64; cap++) {
		if (!(amb & (UINT64_C(1) << cap)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return err_make(err, errno, "raise ambient capability %d", cap);
	}
	return 0;
}
