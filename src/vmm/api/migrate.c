/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PUT /migrate {"destination": "tcp:HOST:PORT" | "unix:PATH", "key_file": PATH}: live-migrate
 * the running VM (migrate/send.c).  Firecracker has no migration route; this
 * one answers when the migration is over: 200 with its figures once the
 * destination runs the guest (this VMM then exits with status 0), or 400
 * with the reason while the guest runs on here.  The API serves nothing else
 * meanwhile (one request at a time).
 */
#include <errno.h>
#include <stdlib.h>

#include "api.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "migrate/migrate-internal.h"
#include "migrate/vmm-migrate.h"

static void answer(struct api_resp *resp, int status, json_t *j)
{
	resp->status = status;
	resp->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
}

static json_t *stats_json(const struct vmm_migrate_stats *s)
{
	return json_pack("{s:f, s:f, s:i, s:I, s:I, s:I, s:I}", "total_ms", s->total_ns / 1e6,
			 "downtime_ms", s->downtime_ns / 1e6, "rounds", (int)s->rounds,
			 "data_pages", (json_int_t)s->data_pages, "zero_pages",
			 (json_int_t)s->zero_pages, "last_round_pages", (json_int_t)s->last_pages,
			 "bytes", (json_int_t)s->bytes);
}

/* The body's "destination" (and "key_file"), or NULL with the reason in *err. */
static const char *destination(json_t **j, const char *body, size_t len, const char **ret_key,
			       struct err **err)
{
	static const char *const keys[] = {"destination", "key_file", NULL};
	const char *dest = NULL;

	if (json_load_buf_capped("body", body ? body : "", len, 64 * 1024, j, err) < 0)
		return NULL;
	if (!json_is_object(*j)) {
		err_make(err, 0, "body: expected a JSON object");
		return NULL;
	}
	if (json_check_keys(*j, "body", keys, err) < 0 ||
	    json_get_string(*j, "body", "destination", true, &dest, err) < 0 ||
	    json_get_string(*j, "body", "key_file", false, ret_key, err) < 0)
		return NULL;
	return dest;
}

void vm_api_migrate(struct vm *vm, const char *body, size_t len, struct api_resp *resp)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_json_ json_t *j = NULL;
	struct vmm_migrate_stats st;
	const char *key = NULL, *dest = destination(&j, body, len, &key, &err);

	if (!dest || vm_migrate_send(vm, dest, key, &st, &err) < 0)
		return answer(resp, 400, json_pack("{s:s}", "fault_message", err->msg));
	answer(resp, 200, stats_json(&st));
}
