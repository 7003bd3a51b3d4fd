/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pre-boot configuration over the API: `isola vm run --api-sock P` without
 * --kernel serves PUT /boot-source, /machine-config, /drives/{id},
 * /network-interfaces/{id}, /vsock and /balloon into a vm_config until
 * PUT /actions InstanceStart finds it valid; the same listening socket then
 * serves the running VM.  Each body maps onto the `isola vm run` option of
 * the same meaning, so the checks and caps are vmm_config_set()'s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "cleanup.h"
#include "http.h"
#include "jsonutil.h"
#include "vm.h"

struct preboot {
	struct vm_config *cfg;
	bool started;
	bool configured; /* a configuration PUT succeeded: a snapshot load is refused */
	char drive_ids[VM_MAX_DISKS][65];
	char net_ids[VM_MAX_NETS][65];
};

static void answer(struct api_resp *resp, int status, const char *msg)
{
	if (msg)
		return api_fault(resp, status, msg);
	*resp = (struct api_resp){.status = status};
}

static void answer_err(struct api_resp *resp, struct err **err)
{
	answer(resp, 400, (*err)->msg);
	err_free(err);
}

static json_t *object(const char *body, size_t len, const char *const *keys, struct err **err)
{
	json_t *j = NULL;

	if (json_load_buf_capped("body", body ? body : "", len, HTTP_MAX_BODY, &j, err) < 0)
		return NULL;
	if (!json_is_object(j) || json_check_keys(j, "body", keys, err) < 0) {
		if (!json_is_object(j))
			err_make(err, 0, "body: expected a JSON object");
		json_decref(j);
		return NULL;
	}
	return j;
}

/* An option value built from parts that must not contain the separator. */
static int set_opt(struct vm_config *cfg, const char *opt, const char *field, const char *part,
		   const char *value, struct err **err)
{
	if (part && strchr(part, ','))
		return err_make(err, 0, "body.%s: a ',' is not supported", field);
	return vmm_config_set(cfg, opt, value, err);
}

static int boot_source(struct preboot *pb, json_t *j, struct err **err)
{
	const char *kernel = NULL, *args = NULL, *initrd = NULL;
	int r;

	r = json_get_string(j, "body", "kernel_image_path", true, &kernel, err);
	if (r >= 0)
		r = json_get_string(j, "body", "boot_args", false, &args, err);
	if (r >= 0)
		r = json_get_string(j, "body", "initrd_path", false, &initrd, err);
	if (r >= 0)
		r = vmm_config_set(pb->cfg, "kernel", kernel, err);
	if (r >= 0 && args)
		r = vmm_config_set(pb->cfg, "cmdline", args, err);
	if (r >= 0 && initrd)
		r = vmm_config_set(pb->cfg, "initrd", initrd, err);
	return r;
}

static int machine_config(struct preboot *pb, json_t *j, struct err **err)
{
	uint32_t cpus = 0;
	uint64_t mib = 0;
	bool smt = false, track = false;
	char v[32];
	int r;

	r = json_get_u32(j, "body", "vcpu_count", &cpus, err);
	if (r >= 0)
		r = json_get_u64(j, "body", "mem_size_mib", &mib, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "smt", &smt, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "track_dirty_pages", &track, err);
	if (r < 0)
		return r;
	if (!json_object_get(j, "vcpu_count") || !json_object_get(j, "mem_size_mib"))
		return err_make(err, 0, "body: vcpu_count and mem_size_mib are required");
	if (smt || track)
		return err_make(err, 0, "body.%s: not supported yet",
				smt ? "smt" : "track_dirty_pages");
	if (mib > (1ULL << 40))
		return err_make(err, 0, "body.mem_size_mib: %llu is too large",
				(unsigned long long)mib);
	snprintf(v, sizeof(v), "%u", cpus);
	r = vmm_config_set(pb->cfg, "cpus", v, err);
	snprintf(v, sizeof(v), "%lluM", (unsigned long long)mib);
	return r < 0 ? r : vmm_config_set(pb->cfg, "memory", v, err);
}

/* A new id in ids[n][65]; replacing a configured device is not supported yet. */
static int claim_id(char (*ids)[65], size_t n, const char *what, const char *id, json_t *j,
		    const char *id_key, struct err **err)
{
	const char *body_id = NULL;
	size_t i;
	int r = json_get_string(j, "body", id_key, true, &body_id, err);

	if (r < 0)
		return r;
	if (!streq(body_id, id))
		return err_make(err, 0, "body.%s `%s` differs from the path's `%s`", id_key,
				body_id, id);
	if (strlen(id) > 64)
		return err_make(err, 0, "%s id longer than 64 bytes", what);
	for (i = 0; i < n && ids[i][0]; i++)
		if (streq(ids[i], id))
			return err_make(err, 0,
					"%s `%s` is already configured (replacing "
					"one is not supported yet)",
					what, id);
	if (i == n)
		return err_make(err, 0, "at most %zu %ss", n, what);
	strcpy(ids[i], id);
	return 0;
}

static int drive(struct preboot *pb, const char *id, json_t *j, struct err **err)
{
	_cleanup_free_ char *v = NULL;
	const char *path = NULL;
	bool ro = false, root = false;
	char rate[256] = "";
	int r;

	r = json_get_string(j, "body", "path_on_host", true, &path, err);
	if (r >= 0)
		r = vmm_config_rate_words(j, "body", rate, sizeof(rate), err);
	if (r >= 0)
		r = json_get_bool(j, "body", "is_read_only", &ro, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "is_root_device", &root, err);
	if (r >= 0 && !json_object_get(j, "is_root_device"))
		r = err_make(err, 0, "body.is_root_device: required");
	if (r >= 0)
		r = claim_id(pb->drive_ids, VM_MAX_DISKS, "drive", id, j, "drive_id", err);
	if (r < 0)
		return r;
	if (asprintf(&v, "%s%s%s", path, ro ? ",ro" : "", rate) < 0)
		return err_make(err, ENOMEM, "drive");
	return set_opt(pb->cfg, "disk", "path_on_host", path, v, err);
}

static int net(struct preboot *pb, const char *id, json_t *j, struct err **err)
{
	_cleanup_free_ char *v = NULL;
	const char *tap = NULL, *mac = NULL;
	int r;

	r = json_get_string(j, "body", "host_dev_name", true, &tap, err);
	if (r >= 0)
		r = json_get_string(j, "body", "guest_mac", false, &mac, err);
	if (r >= 0)
		r = claim_id(pb->net_ids, VM_MAX_NETS, "network interface", id, j, "iface_id", err);
	if (r < 0)
		return r;
	if (asprintf(&v, "tap=%s%s%s", tap, mac ? ",mac=" : "", mac ? mac : "") < 0)
		return err_make(err, ENOMEM, "network interface");
	return set_opt(pb->cfg, "net", mac && strchr(mac, ',') ? "guest_mac" : "host_dev_name",
		       mac && strchr(mac, ',') ? mac : tap, v, err);
}

static int vsock(struct preboot *pb, json_t *j, struct err **err)
{
	_cleanup_free_ char *v = NULL;
	const char *uds = NULL, *vid = NULL;
	uint32_t cid = 0;
	int r;

	r = json_get_u32(j, "body", "guest_cid", &cid, err);
	if (r >= 0)
		r = json_get_string(j, "body", "uds_path", true, &uds, err);
	if (r >= 0)
		r = json_get_string(j, "body", "vsock_id", false, &vid, err);
	if (r < 0)
		return r;
	if (asprintf(&v, "cid=%u,uds=%s", cid, uds) < 0)
		return err_make(err, ENOMEM, "vsock");
	return set_opt(pb->cfg, "vsock", "uds_path", uds, v, err);
}

static int balloon(struct preboot *pb, json_t *j, struct err **err)
{
	uint64_t amount = 0;
	bool deflate = false;
	uint32_t interval = 0;
	int r = json_get_u64(j, "body", "amount_mib", &amount, err);

	if (r >= 0)
		r = json_get_bool(j, "body", "deflate_on_oom", &deflate, err);
	if (r >= 0)
		r = json_get_u32(j, "body", "stats_polling_interval_s", &interval, err);
	if (r < 0)
		return r;
	if (amount > VM_MAX_MEMORY >> 20 || interval > 3600)
		return err_make(err, 0, "body.%s: too large",
				interval > 3600 ? "stats_polling_interval_s" : "amount_mib");
	pb->cfg->balloon = true;
	pb->cfg->balloon_mib = amount;
	pb->cfg->balloon_stats_s = interval;
	pb->cfg->balloon_deflate_on_oom = deflate;
	return 0;
}

static const char *const boot_keys[] = {"kernel_image_path", "boot_args", "initrd_path", NULL};
static const char *const machine_keys[] = {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
					   NULL};
static const char *const drive_keys[] = {"drive_id",	 "path_on_host", "is_root_device",
					 "is_read_only", "rate_limiter", NULL};
static const char *const net_keys[] = {"iface_id", "host_dev_name", "guest_mac", NULL};
static const char *const vsock_keys[] = {"guest_cid", "uds_path", "vsock_id", NULL};
static const char *const balloon_keys[] = {"amount_mib", "deflate_on_oom",
					   "stats_polling_interval_s", NULL};
static const char *const action_keys[] = {"action_type", NULL};
static const char *const load_keys[] = {
    "snapshot_path",	     "mem_backend", "mem_file_path", "resume_vm",
    "enable_diff_snapshots", "disk_remap",  "net_remap",     NULL};

/* Firecracker's rule: a snapshot loads into a fresh VMM, not over a configuration. */
static int snapshot_load(struct preboot *pb, json_t *j, struct err **err)
{
	int r;

	if (pb->configured)
		return err_make(err, 0,
				"/snapshot/load: only on a fresh VM, before any other "
				"configuration");
	r = api_snapshot_load(j, err);
	if (r < 0)
		return r;
	pb->started = true;
	return 0; /* answered once the restored VM runs (vmm_api_answer_start) */
}

static int action(struct preboot *pb, json_t *j, struct err **err)
{
	const char *type = NULL;
	int r = json_get_string(j, "body", "action_type", true, &type, err);

	if (r < 0)
		return r;
	if (!streq(type, "InstanceStart"))
		return err_make(err, 0, "body.action_type: only InstanceStart before boot");
	r = vmm_config_validate(pb->cfg, err);
	if (r < 0)
		return err_wrap(err, "InstanceStart");
	pb->started = true;
	return 0; /* answered once the VM runs (vmm_api_answer_start) */
}

/* PUT routes: path, exact or prefix, keys, handler (id is the part after the prefix). */
static int route(struct preboot *pb, const char *path, json_t **j, const char *body, size_t len,
		 struct err **err)
{
	static const struct {
		const char *path;
		bool prefix;
		const char *const *keys;
	} routes[] = {
	    {"/boot-source", false, boot_keys}, {"/machine-config", false, machine_keys},
	    {"/drives/", true, drive_keys},	{"/network-interfaces/", true, net_keys},
	    {"/vsock", false, vsock_keys},	{"/balloon", false, balloon_keys},
	    {"/actions", false, action_keys},	{"/snapshot/load", false, load_keys},
	};
	size_t i, n;
	const char *id;

	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		n = strlen(routes[i].path);
		if (routes[i].prefix ? !strncmp(path, routes[i].path, n) && path[n]
				     : streq(path, routes[i].path))
			break;
	}
	if (i == ARRAY_SIZE(routes))
		return -ENOENT;
	id = path + n;
	*j = object(body, len, routes[i].keys, err);
	if (!*j)
		return -EINVAL;
	switch (i) {
	case 0:
		return boot_source(pb, *j, err);
	case 1:
		return machine_config(pb, *j, err);
	case 2:
		return drive(pb, id, *j, err);
	case 3:
		return net(pb, id, *j, err);
	case 4:
		return vsock(pb, *j, err);
	case 5:
		return balloon(pb, *j, err);
	case 6:
		return action(pb, *j, err);
	default:
		return snapshot_load(pb, *j, err);
	}
}

static void handle_preboot(void *ctx, const char *method, const char *path, const char *body,
			   size_t len, struct api_resp *resp)
{
	struct preboot *pb = ctx;
	_cleanup_err_ struct err *err = NULL;
	_cleanup_json_ json_t *j = NULL;
	int r;

	*resp = (struct api_resp){0};
	if (streq(path, "/") && streq(method, "GET")) {
		j = json_pack("{s:s, s:s, s:s}", "id", "", "state", "Not started", "vmm_version",
			      "isola");
		resp->status = 200;
		resp->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		return;
	}
	if (!streq(method, "PUT"))
		return answer(resp, streq(path, "/") ? 405 : 400,
			      "before InstanceStart only PUT configuration and GET / are served");
	r = route(pb, path, &j, body, len, &err);
	if (r == -ENOENT)
		return answer(resp, 400, "not available before InstanceStart (or unknown)");
	if (r < 0)
		return answer_err(resp, &err);
	pb->configured = true;
	if (!pb->started)
		answer(resp, 204, NULL);
}

void vmm_api_answer_start(int fd, const struct err *err)
{
	struct api_resp resp = {0};

	if (err)
		answer(&resp, 400, err->msg);
	else
		answer(&resp, 204, NULL);
	api_send_resp(fd, &resp);
	free(resp.body);
	shutdown(fd, SHUT_RDWR); /* answered once: a later call sends nothing */
}

int vmm_api_preboot(struct vm_config *cfg, struct err **err)
{
	struct preboot *pb = calloc(1, sizeof(*pb));
	struct api_srv srv;
	int lfd, fd;

	if (!pb)
		return err_make(err, ENOMEM, "pre-boot API");
	pb->cfg = cfg;
	lfd = api_listen(cfg->api_sock, err);
	if (lfd < 0) {
		free(pb);
		return lfd;
	}
	api_srv_init(&srv, lfd);
	fd = api_srv_run(&srv, -1, handle_preboot, pb);
	api_srv_close_conns(&srv, 503, "the microVM is starting; retry");
	free(pb);
	if (fd < 0) {
		close(lfd);
		unlink(cfg->api_sock);
		return err_make(err, -fd, "--api-sock: serve");
	}
	cfg->api_start_fd = fd;
	cfg->api_listen_fd = lfd;
	return 0;
}
