/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pre-boot configuration over the API: `isola vm run --api-sock P` without
 * --kernel serves Firecracker's pre-boot routes (PUT /boot-source,
 * /machine-config, /drives/{id}, /network-interfaces/{id}, /vsock,
 * /balloon, /entropy, /logger, /metrics) into a vm_config through the same
 * typed setters as the command line (preboot-dev.c), until PUT /actions
 * InstanceStart finds it valid; the same listening socket then serves the
 * running VM.  If the VM then fails to start, the caller answers 400 and
 * calls this again: the configuration is kept and can be corrected.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "cleanup.h"
#include "http.h"
#include "jsonutil.h"
#include "preboot.h"
#include "vm.h"

struct preboot {
	struct vm_config *cfg;
	struct vmm_launch *launch;
	struct vmm_preboot_load *load;
	bool started;
	struct api_metrics metrics;
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

static const char *const boot_keys[] = {"kernel_image_path", "boot_args", "initrd_path", NULL};
static const char *const machine_keys[] = {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
					   "huge_pages", "cpu_template", NULL};
static const char *const drive_keys[] = {
    "drive_id", "path_on_host", "is_root_device", "is_read_only", "rate_limiter",
    "partuuid", "cache_type",	"io_engine",	  "socket",	  NULL};
static const char *const net_keys[] = {"iface_id",	  "host_dev_name",   "guest_mac", "mtu",
				       "rx_rate_limiter", "tx_rate_limiter", NULL};
static const char *const vsock_keys[] = {"guest_cid", "uds_path", "vsock_id", NULL};
static const char *const balloon_keys[] = {
    "amount_mib",	 "deflate_on_oom",	"stats_polling_interval_s",
    "free_page_hinting", "free_page_reporting", NULL};
static const char *const logger_keys[] = {"log_path",	     "level",  "show_level",
					  "show_log_origin", "module", NULL};
static const char *const metrics_keys[] = {"metrics_path", NULL};
static const char *const entropy_keys[] = {"rate_limiter", NULL};
static const char *const action_keys[] = {"action_type", NULL};
static const char *const load_keys[] = {"snapshot_path",
					"mem_backend",
					"mem_file_path",
					"resume_vm",
					"enable_diff_snapshots",
					"disk_remap",
					"net_remap",
					"fs_remap",
					"network_overrides",
					"vsock_override",
					NULL};

/* Anything but the logger and metrics configured (Firecracker's rule for a snapshot load). */
static bool configured(const struct vm_config *c)
{
	return c->kernel || c->n_disks || c->n_nets || c->has_vsock || c->balloon || c->rng ||
	       c->memory_given || c->cpus != 1;
}

/* Firecracker's rule: a snapshot loads into a fresh VMM, not over a configuration. */
static int snapshot_load(struct preboot *pb, json_t *j, struct err **err)
{
	int r;

	if (configured(pb->cfg))
		return err_make(err, 0,
				"/snapshot/load: only on a fresh VM, before any configuration "
				"but the logger and metrics");
	r = api_snapshot_load(pb->load, j, err);
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
	if (streq(type, "FlushMetrics"))
		return api_metrics_flush(pb->cfg, pb->launch->metrics_fd, NULL, &pb->metrics, err);
	if (streq(type, "SendCtrlAltDel"))
		return err_make(err, 0, "SendCtrlAltDel: the microVM is not running");
	if (!streq(type, "InstanceStart"))
		return err_make(err, 0,
				"body.action_type: expected InstanceStart, FlushMetrics or "
				"SendCtrlAltDel");
	if (!pb->cfg->kernel)
		return err_make(err, 0, "InstanceStart: no boot source (PUT /boot-source first)");
	if (pb->cfg->hugepages && (pb->cfg->memory & ((2ULL << 20) - 1)))
		return err_make(err, 0,
				"InstanceStart: machine-config.huge_pages \"2M\" needs an even "
				"mem_size_mib");
	r = vmm_config_validate(pb->cfg, err);
	if (r < 0)
		return err_wrap(err, "InstanceStart");
	pb->started = true;
	return 0; /* answered once the VM runs (vmm_api_answer_start) */
}

enum pb_route {
	R_BOOT,
	R_MACHINE,
	R_DRIVE,
	R_NET,
	R_VSOCK,
	R_BALLOON,
	R_LOGGER,
	R_METRICS,
	R_ENTROPY,
	R_ACTIONS,
	R_LOAD
};

/* PUT/PATCH routes: method, path (exact, or a prefix followed by an id), keys. */
static const struct {
	const char *method, *path;
	bool prefix;
	const char *const *keys;
	enum pb_route route;
} routes[] = {
    {"PUT", "/boot-source", false, boot_keys, R_BOOT},
    {"PUT", "/machine-config", false, machine_keys, R_MACHINE},
    {"PATCH", "/machine-config", false, machine_keys, R_MACHINE},
    {"PUT", "/drives/", true, drive_keys, R_DRIVE},
    {"PUT", "/network-interfaces/", true, net_keys, R_NET},
    {"PUT", "/vsock", false, vsock_keys, R_VSOCK},
    {"PUT", "/balloon", false, balloon_keys, R_BALLOON},
    {"PUT", "/logger", false, logger_keys, R_LOGGER},
    {"PUT", "/metrics", false, metrics_keys, R_METRICS},
    {"PUT", "/entropy", false, entropy_keys, R_ENTROPY},
    {"PUT", "/actions", false, action_keys, R_ACTIONS},
    {"PUT", "/snapshot/load", false, load_keys, R_LOAD},
};

static int dispatch(struct preboot *pb, enum pb_route route, bool patch, const char *id, json_t *j,
		    struct err **err)
{
	struct vm_config *cfg = pb->cfg;

	switch (route) {
	case R_BOOT:
		return pb_boot_source(cfg, j, err);
	case R_MACHINE:
		return pb_machine_config(cfg, j, patch, err);
	case R_DRIVE:
		return pb_drive(cfg, id, j, err);
	case R_NET:
		return pb_net(cfg, id, j, err);
	case R_VSOCK:
		return pb_vsock(cfg, j, err);
	case R_BALLOON:
		return pb_balloon(cfg, j, err);
	case R_LOGGER:
		return api_logger_put(cfg, j, err);
	case R_METRICS:
		return api_metrics_put(cfg, pb->launch, j, err);
	case R_ENTROPY:
		return pb_entropy(cfg, j, err);
	case R_ACTIONS:
		return action(pb, j, err);
	default:
		return snapshot_load(pb, j, err);
	}
}

/* The index in routes[] of method+path, or -1. */
static int find_route(const char *method, const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		size_t n = strlen(routes[i].path);

		if (streq(method, routes[i].method) &&
		    (routes[i].prefix ? !strncmp(path, routes[i].path, n) && path[n]
				      : streq(path, routes[i].path)))
			return (int)i;
	}
	return -1;
}

static int route(struct preboot *pb, int i, const char *method, const char *path, json_t **j,
		 const char *body, size_t len, struct err **err)
{
	size_t n = strlen(routes[i].path);

	*j = object(body, len, routes[i].keys, err);
	if (!*j)
		return -EINVAL;
	return dispatch(pb, routes[i].route, streq(method, "PATCH"), path + n, *j, err);
}

static bool preboot_get(struct preboot *pb, const char *path, struct api_resp *resp)
{
	const struct vm_config *c = pb->cfg;
	json_t *j;

	if (streq(path, "/"))
		j = api_instance_info(c, "Not started");
	else if (streq(path, "/machine-config"))
		j = api_machine_config(c, c->cpus, c->memory);
	else if (streq(path, "/vm/config"))
		j = api_vm_config(c, c->cpus, c->memory);
	else if (streq(path, "/version"))
		j = api_version();
	else if (streq(path, "/balloon") && c->balloon)
		j = json_pack("{s:i, s:b, s:i}", "amount_mib", (int)c->balloon_mib,
			      "deflate_on_oom", c->balloon_deflate_on_oom,
			      "stats_polling_interval_s", (int)c->balloon_stats_s);
	else if (streq(path, "/balloon"))
		return answer(resp, 400, "no balloon device is configured"), true;
	else
		return false;
	resp->status = 200;
	resp->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return true;
}

static void handle_preboot(void *ctx, const char *method, const char *path, const char *body,
			   size_t len, struct api_resp *resp)
{
	struct preboot *pb = ctx;
	_cleanup_err_ struct err *err = NULL;
	_cleanup_json_ json_t *j = NULL;
	int r;

	*resp = (struct api_resp){0};
	pb->metrics.requests++;
	if (streq(method, "GET") && preboot_get(pb, path, resp))
		return;
	if (api_unsupported(method, path, false, resp))
		return (void)pb->metrics.failures++;
	r = find_route(method, path);
	if (r < 0) {
		pb->metrics.failures++;
		return answer(resp, 400,
			      "not available before InstanceStart: the microVM is not started");
	}
	r = route(pb, r, method, path, &j, body, len, &err);
	if (r < 0) {
		pb->metrics.failures++;
		return answer_err(resp, &err);
	}
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

/*
 * Serve until a handler defers (InstanceStart): returns its fd.  SIGTERM and
 * SIGINT stop the loop (-EINTR) so the caller removes the socket and the
 * run directory; they are blocked only meanwhile (no threads exist yet).
 */
static int serve_until_signal(struct api_srv *srv, struct preboot *pb)
{
	sigset_t set, old;
	int sfd, fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0)
		return -errno;
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fd = -errno;
	} else {
		struct signalfd_siginfo si;

		fd = api_srv_run(srv, sfd, handle_preboot, pb);
		/* Take the signal now, or unblocking it would deliver it. */
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			;
		close(sfd);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return fd == -1 ? -EINTR : fd;
}

/* An answered connection was shut down for writing: a send fails with EPIPE. */
bool vmm_api_start_answered(int fd)
{
	return send(fd, "", 0, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EPIPE;
}

int vmm_api_preboot(struct vm_config *cfg, struct vmm_launch *launch, struct vmm_preboot_load *load,
		    struct err **err)
{
	struct preboot *pb = calloc(1, sizeof(*pb));
	struct api_srv srv;
	int lfd = launch->api_listen_fd, fd;

	if (!pb)
		return err_make(err, ENOMEM, "pre-boot API");
	pb->cfg = cfg;
	pb->load = load;
	pb->launch = launch;
	/* Firecracker's default machine: 1 vCPU, 128 MiB (isola's own is 64 MiB). */
	if (!cfg->memory_given)
		cfg->memory = 128ULL << 20;
	if (lfd < 0)
		lfd = api_listen(cfg->api_sock, err); /* else again after a failed start */
	if (lfd < 0) {
		free(pb);
		return lfd;
	}
	launch->api_listen_fd = -1;
	api_srv_init(&srv, lfd);
	fd = serve_until_signal(&srv, pb);
	api_srv_close_conns(&srv, 503, "the microVM is starting; retry");
	free(pb);
	if (fd < 0) {
		close(lfd);
		unlink(cfg->api_sock);
		return fd == -EINTR ? err_make(err, EINTR, "stopped by a signal before boot")
				    : err_make(err, -fd, "--api-sock: serve");
	}
	launch->api_start_fd = fd;
	launch->api_listen_fd = lfd;
	return 0;
}
