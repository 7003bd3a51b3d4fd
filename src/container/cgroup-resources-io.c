/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linux.resources.blockIO (weights, per-device weights, throttles),
 * .network (classID, priorities) and .rdma, parsed into struct cg_resources.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-internal.h"
#include "jsonutil.h"

#define W "linux.resources"

const char *const cg_throttle_v1[CG_THROTTLE_N] = {
    "blkio.throttle.read_bps_device",
    "blkio.throttle.write_bps_device",
    "blkio.throttle.read_iops_device",
    "blkio.throttle.write_iops_device",
};
const char *const cg_throttle_v2[CG_THROTTLE_N] = {"rbps", "wbps", "riops", "wiops"};

static const char *const throttle_keys[CG_THROTTLE_N] = {
    "throttleReadBpsDevice",
    "throttleWriteBpsDevice",
    "throttleReadIOPSDevice",
    "throttleWriteIOPSDevice",
};

int cg_opt_u64(json_t *o, const char *where, const char *key, bool *has, uint64_t *v,
	       struct err **err)
{
	json_t *j = json_object_get(o, key);

	if (!j || json_is_null(j))
		return 0;
	*has = true;
	/*
	 * The spec makes these uint64: a negative number must not wrap to a
	 * huge one (cpu.shares -1 became the largest weight the kernel allows).
	 */
	if (json_is_integer(j) && json_integer_value(j) < 0)
		return err_make(err, 0, "%s.%s: %lld is negative", where, key,
				(long long)json_integer_value(j));
	return json_get_u64(o, where, key, v, err);
}

static int check_weight(const char *where, const char *key, bool has, uint64_t w, struct err **err)
{
	if (has && w != 0 && (w < 10 || w > 1000))
		return err_make(err, 0, "%s.%s: %llu is not 10..1000", where, key,
				(unsigned long long)w);
	return 0;
}

/* [{major, minor, <value_key>[, leafWeight]}] */
static int parse_devs(json_t *b, const char *key, const char *value_key, bool weight,
		      struct cg_blkio_dev *out, size_t *n, struct err **err)
{
	json_t *arr = json_object_get(b, key), *e;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return err_make(err, 0, W ".blockIO.%s: expected an array", key);
	if (json_array_size(arr) > CG_MAX_BLKIO_DEVICES)
		return err_make(err, 0, W ".blockIO.%s: more than %d entries", key,
				CG_MAX_BLKIO_DEVICES);
	json_array_foreach (arr, i, e) {
		struct cg_blkio_dev *d = &out[i];
		char w[80];

		snprintf(w, sizeof(w), W ".blockIO.%s[%zu]", key, i);
		d->major = d->minor = -1;
		if (json_get_i64(e, w, "major", &d->major, err) < 0 ||
		    json_get_i64(e, w, "minor", &d->minor, err) < 0 ||
		    cg_opt_u64(e, w, value_key, &d->has_value, &d->value, err) < 0 ||
		    (weight && cg_opt_u64(e, w, "leafWeight", &d->has_leaf, &d->leaf, err) < 0))
			return cg_err(err);
		if (d->major < 0 || d->minor < 0 || d->major > 0xfff || d->minor > 0xfffff)
			return err_make(err, 0, "%s: major and minor are required device numbers",
					w);
		if (weight && (check_weight(w, "weight", d->has_value, d->value, err) < 0 ||
			       check_weight(w, "leafWeight", d->has_leaf, d->leaf, err) < 0))
			return cg_err(err);
		if (!d->has_value && !d->has_leaf)
			return err_make(err, 0, "%s.%s: missing", w, value_key);
		(*n)++;
	}
	return 0;
}

int cg_parse_block_io(json_t *b, struct cg_resources *r, struct err **err)
{
	const char *w = W ".blockIO";

	if (cg_opt_u64(b, w, "weight", &r->has_blkio_weight, &r->blkio_weight, err) < 0 ||
	    cg_opt_u64(b, w, "leafWeight", &r->has_blkio_leaf_weight, &r->blkio_leaf_weight, err) <
		0 ||
	    check_weight(w, "weight", r->has_blkio_weight, r->blkio_weight, err) < 0 ||
	    check_weight(w, "leafWeight", r->has_blkio_leaf_weight, r->blkio_leaf_weight, err) < 0)
		return cg_err(err);
	/* 0 leaves the weight as it is (containerd sends every field). */
	r->has_blkio_weight &= r->blkio_weight != 0;
	r->has_blkio_leaf_weight &= r->blkio_leaf_weight != 0;
	if (parse_devs(b, "weightDevice", "weight", true, r->weight_devs, &r->n_weight_devs, err) <
	    0)
		return cg_err(err);
	for (int t = 0; t < CG_THROTTLE_N; t++)
		if (parse_devs(b, throttle_keys[t], "rate", false, r->throttle[t],
			       &r->n_throttle[t], err) < 0)
			return cg_err(err);
	return 0;
}

int cg_parse_network(json_t *n, struct cg_resources *r, struct err **err)
{
	const char *w = W ".network";
	json_t *arr = json_object_get(n, "priorities"), *e;
	uint64_t classid = 0;
	size_t i;

	if (cg_opt_u64(n, w, "classID", &r->has_classid, &classid, err) < 0)
		return cg_err(err);
	if (classid > UINT32_MAX)
		return err_make(err, 0, "%s.classID: %llu is not a 32-bit value", w,
				(unsigned long long)classid);
	r->classid = (uint32_t)classid;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > CG_MAX_NET_PRIOS)
		return err_make(err, 0, "%s.priorities: expected an array of at most %d", w,
				CG_MAX_NET_PRIOS);
	json_array_foreach (arr, i, e) {
		const char *name = NULL;
		uint64_t prio = 0;
		char where[64];

		snprintf(where, sizeof(where), "%s.priorities[%zu]", w, i);
		if (json_get_string(e, where, "name", true, &name, err) < 0 ||
		    json_get_u64(e, where, "priority", &prio, err) < 0)
			return cg_err(err);
		if (!name[0] || strlen(name) >= sizeof(r->prios[0].name) || strpbrk(name, " /\n"))
			return err_make(err, 0, "%s.name: `%s` is not an interface name", where,
					name);
		if (prio > UINT32_MAX)
			return err_make(err, 0, "%s.priority: too large", where);
		strcpy(r->prios[i].name, name);
		r->prios[i].prio = (uint32_t)prio;
		r->n_prios++;
	}
	return 0;
}

/* {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}} */
int cg_parse_rdma(json_t *o, struct cg_resources *r, struct err **err)
{
	const char *name;
	json_t *e;

	if (!json_is_object(o) || json_object_size(o) > CG_MAX_RDMA)
		return err_make(err, 0, W ".rdma: expected an object of at most %d devices",
				CG_MAX_RDMA);
	json_object_foreach (o, name, e) {
		struct cg_rdma *d = &r->rdma[r->n_rdma];
		uint64_t h = 0, obj = 0;
		char w[96];

		snprintf(w, sizeof(w), W ".rdma.%.60s", name);
		if (!name[0] || strlen(name) >= sizeof(d->name) || strpbrk(name, " \n/"))
			return err_make(err, 0, "%s: not a device name", w);
		if (cg_opt_u64(e, w, "hcaHandles", &d->has_handles, &h, err) < 0 ||
		    cg_opt_u64(e, w, "hcaObjects", &d->has_objects, &obj, err) < 0)
			return cg_err(err);
		if (h > INT32_MAX || obj > INT32_MAX)
			return err_make(err, 0, "%s: limit too large", w);
		strcpy(d->name, name);
		d->handles = (uint32_t)h;
		d->objects = (uint32_t)obj;
		r->n_rdma++;
	}
	return 0;
}

void cg_rdma_line(const struct cg_rdma *e, char *buf, size_t len)
{
	char h[16] = "max", o[16] = "max";

	if (e->has_handles)
		snprintf(h, sizeof(h), "%u", e->handles);
	if (e->has_objects)
		snprintf(o, sizeof(o), "%u", e->objects);
	snprintf(buf, len, "%s hca_handle=%s hca_object=%s", e->name, h, o);
}
