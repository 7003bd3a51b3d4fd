/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The balloon routes of the control API, in Firecracker's shape:
 *   GET   /balloon             {"amount_mib", "deflate_on_oom", "stats_polling_interval_s"}
 *   PATCH /balloon             {"amount_mib"}: a new target for the guest
 *   GET   /balloon/statistics  target/actual pages and MiB, and the guest's statistics
 *   PATCH /balloon/statistics  {"stats_polling_interval_s"} (0 stops polling)
 * PUT /balloon configures the device before boot (preboot.c).
 */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "virtio/virtio.h"

#define PAGES_PER_MIB 256 /* 4 KiB balloon pages */

/* Firecracker's names of the statistics tags (virtio 1.2 section 5.5.6.3). */
static const char *const stat_names[] = {
    "swap_in",	    "swap_out",		"major_faults", "minor_faults",	       "free_memory",
    "total_memory", "available_memory", "disk_caches",	"hugetlb_allocations", "hugetlb_failures",
};

static void answer(struct api_resp *resp, int status, json_t *body)
{
	resp->status = status;
	resp->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
}

static void answer_err(struct api_resp *resp, int status, struct err **err)
{
	answer(resp, status, json_pack("{s:s}", "fault_message", (*err)->msg));
	err_free(err);
}

/* The body's one allowed field as an unsigned number. */
static int body_u32(const char *body, size_t len, const char *key, uint32_t *ret, struct err **err)
{
	const char *const keys[] = {key, NULL};
	_cleanup_json_ json_t *j = NULL;
	int r;

	r = json_load_buf_capped("body", body ? body : "", len, 64 * 1024, &j, err);
	if (r < 0)
		return r;
	if (!json_is_object(j))
		return err_make(err, EINVAL, "body: expected a JSON object");
	r = json_check_keys(j, "body", keys, err);
	if (r >= 0 && !json_object_get(j, key))
		r = err_make(err, EINVAL, "body.%s: required", key);
	return r < 0 ? r : json_get_u32(j, "body", key, ret, err);
}

static json_t *statistics(const struct vmm_balloon_info *bi)
{
	json_t *j = json_pack("{s:I, s:I, s:I, s:I}", "target_pages", (json_int_t)bi->target_pages,
			      "actual_pages", (json_int_t)bi->actual_pages, "target_mib",
			      (json_int_t)(bi->target_pages / PAGES_PER_MIB), "actual_mib",
			      (json_int_t)(bi->actual_pages / PAGES_PER_MIB));

	for (unsigned i = 0; j && i < bi->n_stats; i++) {
		uint16_t tag = bi->stats[i].tag;

		if (tag < sizeof(stat_names) / sizeof(stat_names[0]))
			json_object_set_new(j, stat_names[tag],
					    json_integer((json_int_t)bi->stats[i].val));
	}
	return j;
}

static void get(struct vm *vm, bool stats, struct api_resp *resp)
{
	_cleanup_err_ struct err *err = NULL;
	struct vmm_balloon_info bi;

	if (vmm_balloon_get(vm, &bi, &err) < 0)
		return answer_err(resp, 400, &err);
	if (stats)
		return answer(resp, 200, statistics(&bi));
	answer(resp, 200,
	       json_pack("{s:I, s:b, s:I}", "amount_mib",
			 (json_int_t)(bi.target_pages / PAGES_PER_MIB), "deflate_on_oom",
			 bi.deflate_on_oom, "stats_polling_interval_s", (json_int_t)bi.interval_s));
}

static void patch(struct vm *vm, bool stats, const char *body, size_t len, struct api_resp *resp)
{
	_cleanup_err_ struct err *err = NULL;
	uint32_t v = 0;
	int r;

	r = body_u32(body, len, stats ? "stats_polling_interval_s" : "amount_mib", &v, &err);
	if (r >= 0 && stats && v > 3600)
		r = err_make(&err, EINVAL, "body.stats_polling_interval_s: at most 3600");
	if (r >= 0 && !stats && (uint64_t)v << 20 > vm->ram_size)
		r = err_make(&err, EINVAL, "body.amount_mib: %u MiB is more than the VM's %llu MiB",
			     v, (unsigned long long)(vm->ram_size >> 20));
	if (r >= 0)
		r = stats ? vmm_balloon_set_interval(vm, v, &err)
			  : vmm_balloon_set_target(vm, v * PAGES_PER_MIB, &err);
	if (r < 0)
		return answer_err(resp, 400, &err);
	answer(resp, 204, NULL);
}

bool vm_api_balloon(struct vm *vm, const char *method, const char *path, const char *body,
		    size_t body_len, struct api_resp *resp)
{
	bool stats = streq(path, "/balloon/statistics");

	if (!stats && (!streq(path, "/balloon") || streq(method, "PUT")))
		return false; /* PUT /balloon is pre-boot configuration */
	if (streq(method, "GET"))
		get(vm, stats, resp);
	else if (streq(method, "PATCH"))
		patch(vm, stats, body, body_len, resp);
	else
		answer(resp, 405, json_pack("{s:s}", "fault_message", "GET or PATCH only"));
	return true;
}
