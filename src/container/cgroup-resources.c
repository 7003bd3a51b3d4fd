/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linux.resources to struct cg_resources.  The drivers apply them; a field
 * the host's layout lacks is an error or a warning there, never ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "log.h"

#define W "linux.resources"

/*
 * Appended after the config's rules, as runc does: mknod of any device (opening one
 * still needs a rule), then the devices every container gets.
 */
const struct cg_device_rule cg_default_devices[] = {
    {true, 'c', -1, -1, "m"}, {true, 'b', -1, -1, "m"},	   {true, 'c', 1, 3, "rwm"},
    {true, 'c', 1, 5, "rwm"}, {true, 'c', 1, 7, "rwm"},	   {true, 'c', 5, 0, "rwm"},
    {true, 'c', 1, 8, "rwm"}, {true, 'c', 1, 9, "rwm"},	   {true, 'c', 5, 1, "rwm"},
    {true, 'c', 5, 2, "rwm"}, {true, 'c', 136, -1, "rwm"}, {true, 'c', 10, 200, "rwm"},
};
const size_t cg_n_default_devices = ARRAY_SIZE(cg_default_devices);

/*
 * An int64 limit: -1 is "unlimited" for every one of them, and less is
 * refused (v1's files said EINVAL to -2, v2's wrote "max": one meaning).
 */
static int get_opt_i64(json_t *o, const char *where, const char *key, bool *has, int64_t *v,
		       struct err **err)
{
	json_t *j = json_object_get(o, key);
	int r;

	if (!j || json_is_null(j))
		return 0;
	*has = true;
	r = json_get_i64(o, where, key, v, err);
	if (r >= 0 && *v < -1)
		return err_make(err, 0, "%s.%s: %lld: expected -1 (unlimited) or more", where, key,
				(long long)*v);
	return r;
}

/*
 * kernel and kernelTCP: runc 1.1 takes them (an int64, or its JSON fails to
 * load) and ignores them with a warning, as the kernel deprecated kmem limits.
 */
static int check_kernel_memory(json_t *m, const char *w, struct err **err)
{
	bool has_kmem = false, has_tcp = false;
	int64_t ignored;

	if (get_opt_i64(m, w, "kernel", &has_kmem, &ignored, err) < 0 ||
	    get_opt_i64(m, w, "kernelTCP", &has_tcp, &ignored, err) < 0)
		return cg_err(err);
	if (has_kmem || has_tcp)
		log_warn("%s.kernel, kernelTCP: kernel memory settings are ignored (as runc's; "
			 "the kernel deprecated them)",
			 w);
	return 0;
}

static int parse_memory(json_t *m, struct cg_resources *r, struct err **err)
{
	const char *w = W ".memory";
	json_t *oom = json_object_get(m, "disableOOMKiller");

	if (get_opt_i64(m, w, "limit", &r->has_mem_limit, &r->mem_limit, err) < 0 ||
	    get_opt_i64(m, w, "reservation", &r->has_mem_reservation, &r->mem_reservation, err) <
		0 ||
	    get_opt_i64(m, w, "swap", &r->has_mem_swap, &r->mem_swap, err) < 0 ||
	    cg_opt_u64(m, w, "swappiness", &r->has_swappiness, &r->swappiness, err) < 0)
		return cg_err(err);
	if (r->has_swappiness && r->swappiness > 100)
		return err_make(err, 0, "%s.swappiness: %llu is not 0..100", w,
				(unsigned long long)r->swappiness);
	if (check_kernel_memory(m, w, err) < 0)
		return cg_err(err);
	if (json_get_bool(m, w, "useHierarchy", &r->use_hierarchy, err) < 0)
		return cg_err(err);
	r->has_use_hierarchy = json_is_boolean(json_object_get(m, "useHierarchy"));
	if (json_get_bool(m, w, "checkBeforeUpdate", &r->check_before_update, err) < 0)
		return cg_err(err);
	if (oom && !json_is_null(oom)) {
		r->has_oom_disable = true;
		if (json_get_bool(m, w, "disableOOMKiller", &r->oom_disable, err) < 0)
			return cg_err(err);
	}
	return 0;
}

static int parse_cpu(json_t *c, struct cg_resources *r, struct err **err)
{
	const char *w = W ".cpu";

	if (cg_opt_u64(c, w, "shares", &r->has_shares, &r->shares, err) < 0 ||
	    get_opt_i64(c, w, "quota", &r->has_quota, &r->quota, err) < 0 ||
	    cg_opt_u64(c, w, "period", &r->has_period, &r->period, err) < 0 ||
	    get_opt_i64(c, w, "realtimeRuntime", &r->has_rt_runtime, &r->rt_runtime, err) < 0 ||
	    cg_opt_u64(c, w, "realtimePeriod", &r->has_rt_period, &r->rt_period, err) < 0 ||
	    json_get_string(c, w, "cpus", false, &r->cpus, err) < 0 ||
	    json_get_string(c, w, "mems", false, &r->mems, err) < 0)
		return cg_err(err);
	if (r->cpus && !r->cpus[0])
		r->cpus = NULL;
	if (r->mems && !r->mems[0])
		r->mems = NULL;
	if (get_opt_i64(c, w, "idle", &r->has_idle, &r->idle, err) < 0 ||
	    cg_opt_u64(c, w, "burst", &r->has_burst, &r->burst, err) < 0)
		return cg_err(err);
	if (r->has_idle && r->idle != 0 && r->idle != 1)
		return err_make(err, 0, "%s.idle: %lld is not 0 or 1", w, (long long)r->idle);
	return 0;
}

static int parse_device(json_t *d, size_t i, struct cg_device_rule *rule, struct err **err)
{
	const char *type = "a", *access = "rwm";
	char w[64];

	snprintf(w, sizeof(w), W ".devices[%zu]", i);
	rule->major = rule->minor = -1;
	if (json_get_bool(d, w, "allow", &rule->allow, err) < 0 ||
	    json_get_string(d, w, "type", false, &type, err) < 0 ||
	    json_get_i64(d, w, "major", &rule->major, err) < 0 ||
	    json_get_i64(d, w, "minor", &rule->minor, err) < 0 ||
	    json_get_string(d, w, "access", false, &access, err) < 0)
		return cg_err(err);
	if (!json_object_get(d, "allow"))
		return err_make(err, 0, "%s.allow: missing", w);
	/* Linux device numbers: 12-bit major, 20-bit minor; -1 (or absent) is any. */
	if (rule->major < -1 || rule->major > 0xfff || rule->minor < -1 || rule->minor > 0xfffff)
		return err_make(err, 0, "%s: major %lld, minor %lld is not a device number", w,
				(long long)rule->major, (long long)rule->minor);
	if (strlen(type) != 1 || !strchr("abc", type[0]))
		return err_make(err, 0, "%s.type: `%s` is not a, b or c", w, type);
	if (!access[0] || strlen(access) > 3 || strspn(access, "rwm") != strlen(access))
		return err_make(err, 0, "%s.access: `%s` is not a subset of rwm", w, access);
	rule->type = type[0];
	strcpy(rule->access, access);
	return 0;
}

static int parse_devices(json_t *arr, struct cg_resources *r, struct err **err)
{
	json_t *d;
	size_t i;
	int ret;

	if (!json_is_array(arr))
		return err_make(err, 0, W ".devices: expected an array");
	if (json_array_size(arr) > CG_MAX_DEVICE_RULES)
		return err_make(err, 0, W ".devices: more than %d rules", CG_MAX_DEVICE_RULES);
	r->has_devices = true;
	r->devices = calloc(json_array_size(arr) + 1, sizeof(*r->devices));
	if (!r->devices)
		return err_make(err, ENOMEM, W ".devices");
	json_array_foreach (arr, i, d) {
		ret = parse_device(d, i, &r->devices[i], err);
		if (ret < 0)
			return ret;
		r->n_devices++;
	}
	return 0;
}

static int parse_hugepages(json_t *arr, struct cg_resources *r, struct err **err)
{
	json_t *e;
	size_t i;

	if (!json_is_array(arr))
		return err_make(err, 0, W ".hugepageLimits: expected an array");
	if (json_array_size(arr) > CG_MAX_HUGEPAGE_SIZES)
		return err_make(err, 0, W ".hugepageLimits: more than %d entries",
				CG_MAX_HUGEPAGE_SIZES);
	json_array_foreach (arr, i, e) {
		struct cg_hugepage *hp = &r->hugepages[i];
		const char *size = NULL;
		size_t digits;
		char w[64];

		snprintf(w, sizeof(w), W ".hugepageLimits[%zu]", i);
		if (json_get_string(e, w, "pageSize", true, &size, err) < 0 ||
		    json_get_u64(e, w, "limit", &hp->limit, err) < 0)
			return cg_err(err);
		/* "<digits><K|M|G>B", as the kernel names its hugetlb files */
		digits = strspn(size, "0123456789");
		if (digits == 0 || digits > 10 || !strchr("KMG", size[digits]) || !size[digits] ||
		    strcmp(size + digits + 1, "B") != 0)
			return err_make(err, 0, "%s.pageSize: `%s` is not like 2MB", w, size);
		strcpy(hp->size, size);
		r->n_hugepages++;
	}
	return 0;
}

/*
 * As runc: 0 means "leave unchanged" for these (containerd's update sends
 * every field, zeros included); -1 means unlimited where that exists.
 */
static void unset_zeros(struct cg_resources *r)
{
	r->has_mem_limit &= r->mem_limit != 0;
	r->has_mem_reservation &= r->mem_reservation != 0;
	r->has_mem_swap &= r->mem_swap != 0;
	r->has_shares &= r->shares != 0;
	r->has_quota &= r->quota != 0;
	r->has_period &= r->period != 0;
	r->has_rt_runtime &= r->rt_runtime != 0;
	r->has_rt_period &= r->rt_period != 0;
	r->has_pids_limit &= r->pids_limit != 0;
}

int cg_resources_parse(json_t *res, struct cg_resources *ret, struct err **err)
{
	static const char *const groups[] = {"memory", "cpu", "pids", "blockIO", "network"};
	struct cg_resources r = {};
	json_t *j;
	int rc = 0;

	if (!res || json_is_null(res))
		goto done;
	if (!json_is_object(res))
		return err_make(err, 0, W ": expected an object");
	/* A group given as a string or an array is an error, not "no change". */
	for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
		if ((j = json_object_get(res, groups[i])) && !json_is_null(j) && !json_is_object(j))
			return err_make(err, 0, W ".%s: expected an object", groups[i]);
	if ((j = json_object_get(res, "memory")) && json_is_object(j))
		rc = parse_memory(j, &r, err);
	if (rc >= 0 && (j = json_object_get(res, "cpu")) && json_is_object(j))
		rc = parse_cpu(j, &r, err);
	if (rc >= 0 && (j = json_object_get(res, "pids")) && json_is_object(j))
		rc = get_opt_i64(j, W ".pids", "limit", &r.has_pids_limit, &r.pids_limit, err);
	if (rc >= 0 && (j = json_object_get(res, "blockIO")) && json_is_object(j))
		rc = cg_parse_block_io(j, &r, err);
	if (rc >= 0 && (j = json_object_get(res, "network")) && json_is_object(j))
		rc = cg_parse_network(j, &r, err);
	if (rc >= 0 && (j = json_object_get(res, "rdma")) && !json_is_null(j))
		rc = cg_parse_rdma(j, &r, err);
	if (rc >= 0 && (j = json_object_get(res, "hugepageLimits")) && !json_is_null(j))
		rc = parse_hugepages(j, &r, err);
	if (rc >= 0 && (j = json_object_get(res, "devices")) && !json_is_null(j))
		rc = parse_devices(j, &r, err);
	if (rc >= 0 && (j = json_object_get(res, "unified")) && !json_is_null(j)) {
		if (!json_is_object(j))
			rc = err_make(err, 0, W ".unified: expected an object");
		r.unified = j;
	}
	if (rc < 0) {
		cg_resources_clear(&r);
		return rc;
	}
	unset_zeros(&r);
done:
	*ret = r;
	return 0;
}

void cg_resources_clear(struct cg_resources *r)
{
	free(r->devices);
	r->devices = NULL;
	r->n_devices = 0;
}
