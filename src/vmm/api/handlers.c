/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control API's routes.  Bodies are JSON objects; a wrong type, a
 * missing or an unknown field is a 400 with {"fault_message": "..."}.
 * Pre-boot configuration (boot-source, machine-config, drives, ...) comes
 * from `isola vm run` options: the VM is already running when the API
 * answers, so those routes answer 400 as Firecracker does after boot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "snapshot/snapshot.h"

static void reply(struct api_resp *resp, int status, json_t *body)
{
	resp->status = status;
	resp->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
}

static void fault(struct api_resp *resp, int status, const char *msg)
{
	reply(resp, status, json_pack("{s:s}", "fault_message", msg));
}

static void fault_err(struct api_resp *resp, int status, struct err **err)
{
	fault(resp, status, (*err)->msg);
	err_free(err);
}

int api_body_json(const char *body, size_t len, const char *const *keys, json_t **ret,
		  struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	int r = json_load_buf_capped("body", body ? body : "", len, 64 * 1024, &j, err);

	if (r < 0)
		return r;
	if (!json_is_object(j))
		return err_make(err, EINVAL, "body: expected a JSON object");
	r = json_check_keys(j, "body", keys, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(j);
	return 0;
}

/* Parse the body as an object with only the allowed keys; NULL: answered 400. */
static json_t *body_object(const char *body, size_t len, const char *const *keys,
			   struct api_resp *resp)
{
	_cleanup_err_ struct err *err = NULL;
	json_t *j = NULL;

	if (api_body_json(body, len, keys, &j, &err) < 0)
		fault(resp, 400, err->msg);
	return j;
}

static void get_info(struct vm *vm, struct api_resp *resp)
{
	json_t *j = api_instance_info(vm->cfg, atomic_load(&vm->api_paused) ? "Paused" : "Running");

	/* isola's additions to InstanceInfo: the machine's shape. */
	if (j) {
		json_object_set_new(j, "vcpu_count", json_integer(vm->nr_vcpus));
		json_object_set_new(j, "mem_size_mib", json_integer(vm->ram_size >> 20));
	}
	reply(resp, 200, j);
}

/* GET routes of the running VM; false when the path is not one. */
static bool get_route(struct vm *vm, const char *path, struct api_resp *resp)
{
	if (streq(path, "/"))
		get_info(vm, resp);
	else if (streq(path, "/machine-config"))
		reply(resp, 200, api_machine_config(vm->cfg, vm->nr_vcpus, vm->ram_size));
	else if (streq(path, "/vm/config"))
		reply(resp, 200, api_vm_config(vm->cfg, vm->nr_vcpus, vm->ram_size));
	else if (streq(path, "/version"))
		reply(resp, 200, api_version());
	else
		return false;
	return true;
}

static void patch_vm(struct vm *vm, const char *body, size_t len, struct api_resp *resp)
{
	static const char *const keys[] = {"state", NULL};
	_cleanup_json_ json_t *j = body_object(body, len, keys, resp);
	_cleanup_err_ struct err *err = NULL;
	const char *state = NULL;

	if (!j)
		return;
	if (json_get_string(j, "body", "state", true, &state, &err) < 0)
		return fault_err(resp, 400, &err);
	if (streq(state, "Paused")) {
		if (!atomic_load(&vm->api_paused) && vm_pause(vm, &err) < 0)
			return fault_err(resp, 400, &err);
		atomic_store(&vm->api_paused, true);
	} else if (streq(state, "Resumed")) {
		if (atomic_exchange(&vm->api_paused, false))
			vm_resume(vm);
	} else {
		return fault(resp, 400, "body.state: expected \"Paused\" or \"Resumed\"");
	}
	reply(resp, 204, NULL);
}

static void snapshot_create(struct vm *vm, const char *body, size_t len, struct api_resp *resp)
{
	static const char *const keys[] = {"snapshot_path", "mem_file_path", "snapshot_type",
					   "version", NULL};
	_cleanup_json_ json_t *j = body_object(body, len, keys, resp);
	_cleanup_err_ struct err *err = NULL;
	const char *state = NULL, *mem = NULL, *type = "Full";

	if (!j)
		return;
	if (json_get_string(j, "body", "snapshot_path", true, &state, &err) < 0 ||
	    json_get_string(j, "body", "mem_file_path", true, &mem, &err) < 0 ||
	    json_get_string(j, "body", "snapshot_type", false, &type, &err) < 0)
		return fault_err(resp, 400, &err);
	if (!streq(type, "Full") && !streq(type, "Diff"))
		return fault(resp, 400, "body.snapshot_type: expected \"Full\" or \"Diff\"");
	if (json_object_get(j, "version"))
		return fault(resp, 400, "body.version: not supported yet");
	if (vm_snapshot_create(vm, state, mem, streq(type, "Diff"), &err) < 0)
		return fault_err(resp, 400, &err);
	reply(resp, 204, NULL);
}

static void actions(struct vm *vm, const char *body, size_t len, struct api_resp *resp)
{
	static const char *const keys[] = {"action_type", NULL};
	_cleanup_json_ json_t *j = body_object(body, len, keys, resp);
	_cleanup_err_ struct err *err = NULL;
	const char *type = NULL;

	if (!j)
		return;
	if (json_get_string(j, "body", "action_type", true, &type, &err) < 0)
		return fault_err(resp, 400, &err);
	if (streq(type, "InstanceStart"))
		return fault(resp, 400, "InstanceStart: the microVM is already running");
	if (streq(type, "SendCtrlAltDel")) {
		if (vm_send_ctrl_alt_del(vm, &err) < 0) {
			err_wrap(&err, "SendCtrlAltDel");
			return fault_err(resp, 400, &err);
		}
		return reply(resp, 204, NULL);
	}
	if (!streq(type, "FlushMetrics"))
		return fault(resp, 400,
			     "body.action_type: expected InstanceStart, FlushMetrics or "
			     "SendCtrlAltDel");
	if (vm->launch.metrics_fd < 0)
		return fault(resp, 400, "FlushMetrics: the metrics system is not configured");
	if (vm_api_flush_metrics(vm, &err) < 0)
		return fault_err(resp, 400, &err);
	reply(resp, 204, NULL);
}

static bool is_preboot(const char *path)
{
	static const char *const exact[] = {
	    "/boot-source", "/machine-config", "/vsock",   "/balloon",
	    "/logger",	    "/metrics",	       "/entropy", NULL};

	for (size_t i = 0; exact[i]; i++)
		if (streq(path, exact[i]))
			return true;
	return false;
}

void vm_api_handle(struct vm *vm, const char *method, const char *path, const char *body,
		   size_t body_len, struct api_resp *resp)
{
	*resp = (struct api_resp){0};
	if (streq(method, "GET") && get_route(vm, path, resp))
		return;
	if (streq(path, "/"))
		return fault(resp, 405, "GET only");
	if (streq(path, "/vm"))
		return streq(method, "PATCH") ? patch_vm(vm, body, body_len, resp)
					      : fault(resp, 405, "PATCH only");
	if (streq(path, "/snapshot/create"))
		return streq(method, "PUT") ? snapshot_create(vm, body, body_len, resp)
					    : fault(resp, 405, "PUT only");
	if (streq(path, "/migrate"))
		return streq(method, "PUT") ? vm_api_migrate(vm, body, body_len, resp)
					    : fault(resp, 405, "PUT only");
	if (streq(path, "/actions"))
		return streq(method, "PUT") ? actions(vm, body, body_len, resp)
					    : fault(resp, 405, "PUT only");
	if (streq(path, "/snapshot/load"))
		return fault(resp, 400,
			     "the microVM is already running: a snapshot loads only into "
			     "a fresh `isola vm run --api-sock` (or use `isola vm restore`)");
	if (vm_api_balloon(vm, method, path, body, body_len, resp))
		return;
	if (api_unsupported(method, path, true, resp))
		return;
	if (streq(method, "PATCH") && !strncmp(path, "/drives/", 8) && path[8])
		return vm_api_patch_drive(vm, path + 8, body, body_len, resp);
	if (streq(method, "PATCH") && !strncmp(path, "/network-interfaces/", 20) && path[20])
		return vm_api_patch_iface(vm, path + 20, body, body_len, resp);
	if (is_preboot(path) || (!strncmp(path, "/drives/", 8) && path[8]) ||
	    (!strncmp(path, "/network-interfaces/", 20) && path[20]))
		return fault(resp, 400,
			     "the microVM is already running: this is pre-boot configuration "
			     "(PUT it before InstanceStart, or give it to `isola vm run`)");
	fault(resp, 404, "no such resource");
}
