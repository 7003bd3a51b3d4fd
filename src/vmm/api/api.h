/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The control API (docs/vm-api.md): HTTP/1.1 + JSON on a Unix socket, in
 * Firecracker's shape, served by one thread while the VM runs.
 */
#include <jansson.h>

#include "../vm-internal.h"

/* Bring-up step after "run": listen on cfg->api_sock (no-op without it). */
int vm_api_start(struct vm *vm, struct err **err);
/* Stop serving, resume a paused VM so it can stop, remove the socket. */
void vm_api_stop(struct vm *vm);

/* A response: status and a JSON body (owned) or NULL for 204. */
struct api_resp {
	int status;
	char *body;
};
/* A handler leaves resp->status 0 to answer later on the connection (InstanceStart). */
typedef void (*api_handler)(void *ctx, const char *method, const char *path, const char *body,
			    size_t body_len, struct api_resp *resp);

#include "http.h"
#define API_MAX_CONNS	    8
#define API_REQ_DEADLINE_MS 5000
#define REQ_MAX		    (HTTP_MAX_HEAD + HTTP_MAX_BODY)

struct api_conn {
	int fd;		  /* -1: a free slot */
	size_t len;	  /* bytes read into buf */
	int64_t deadline; /* CLOCK_MONOTONIC ms by which the request must be complete */
	char *buf;	  /* REQ_MAX bytes, kept by the slot until api_srv_close_conns() */
	bool draining; /* answered with an error: what the client still sends is read and dropped */
};

/* A listening socket's connections; state kept across api_srv_run() calls. */
struct api_srv {
	int listen_fd;
	int64_t deadline_ms;
	int64_t wake_at; /* CLOCK_MONOTONIC ms: api_srv_run() returns -ETIMEDOUT then (0: never) */
	struct api_conn conn[API_MAX_CONNS];
};

/* server.c: a listening socket at path. */
int api_listen(const char *path, struct err **err);
void api_send_resp(int fd, const struct api_resp *r);
/* A {"fault_message": msg} response (owned body). */
void api_fault(struct api_resp *resp, int status, const char *msg);
void api_srv_init(struct api_srv *s, int listen_fd);
/*
 * Serve requests until stop_fd is readable (returns -1) or a handler defers
 * its answer (returns that connection's fd, the caller answers and closes
 * it); -errno if poll fails.  Connections still open stay in s.
 */
int api_srv_run(struct api_srv *s, int stop_fd, api_handler handle, void *ctx);
/* Answer every open connection with status/why (0: just close), close it, free the buffers. */
void api_srv_close_conns(struct api_srv *s, int status, const char *why);

/*
 * preboot-dev.c: open path for a field of a request (flags: O_RDONLY or
 * O_RDWR): a regular file, or a block device when dev; never through a /proc
 * magic link.  The fd is O_CLOEXEC; a failure names field and path.
 */
int api_open_file(const char *path, int flags, bool dev, const char *field, int *ret_fd,
		  struct err **err);
/* handlers.c: the body as a JSON object with only the allowed keys (NULL-ended). */
int api_body_json(const char *body, size_t len, const char *const *keys, json_t **ret,
		  struct err **err);

/* info.c: the read-only routes' bodies (new references). */
json_t *api_instance_info(const struct vm_config *cfg, const char *state);
json_t *api_version(void);
json_t *api_machine_config(const struct vm_config *cfg, unsigned cpus, uint64_t mem_bytes);
json_t *api_vm_config(const struct vm_config *cfg, unsigned cpus, uint64_t mem_bytes);
/* Disk i's drive_id: its own, or "disk<i>" for one from the command line. */
void api_drive_id(const struct vm_disk_cfg *d, unsigned i, char id[VM_MAX_DEV_ID + 1]);
/* A Firecracker endpoint isola refuses: answered 400 with the reason. */
bool api_unsupported(const char *method, const char *path, bool running, struct api_resp *resp);

/* obs.c: PUT /logger, PUT /metrics (pre-boot), one metrics line. */
struct api_metrics {
	uint64_t requests, failures, last_requests, last_failures;
	struct vcpu_stats vcpu; /* at the previous line */
};
#define API_METRICS_PERIOD_MS 60000
const char *api_log_level_name(int level);
int api_logger_put(struct vm_config *cfg, json_t *j, struct err **err);
int api_metrics_put(struct vm_config *cfg, struct vmm_launch *launch, json_t *j, struct err **err);
/* vm: NULL before boot. */
int api_metrics_flush(const struct vm_config *cfg, int metrics_fd, struct vm *vm,
		      struct api_metrics *m, struct err **err);

/* server.c: a metrics line for the running VM now (FlushMetrics). */
int vm_api_flush_metrics(struct vm *vm, struct err **err);

/* Route one parsed request (no I/O); exposed for the unit test. */
void vm_api_handle(struct vm *vm, const char *method, const char *path, const char *body,
		   size_t body_len, struct api_resp *resp);

/* balloon.c: the /balloon routes of a running VM; false when the path is not one. */
bool vm_api_balloon(struct vm *vm, const char *method, const char *path, const char *body,
		    size_t body_len, struct api_resp *resp);
/* load.c: PUT /snapshot/load before boot (body already an object); kept for the CLI. */
int api_snapshot_load(struct vmm_preboot_load *load, json_t *j, struct err **err);
/*
 * drives.c: PATCH /drives/{id} once running (Firecracker's PartialDrive):
 * a new backing file and/or rate limit.  The body, parsed apart for the
 * unit test: path NULL keeps the file, has_bw/has_iops replace that bucket.
 */
struct api_drive_patch {
	char *path; /* owned */
	bool has_bw, has_iops;
	struct vm_rate_cfg bw, iops;
};
int api_drive_patch_parse(const char *body, size_t len, const char *path_id,
			  struct api_drive_patch *ret, struct err **err);
void api_drive_patch_free(struct api_drive_patch *p);
void vm_api_patch_drive(struct vm *vm, const char *id, const char *body, size_t len,
			struct api_resp *resp);
/*
 * ifaces.c: PATCH /network-interfaces/{id} once running (Firecracker's
 * PartialNetworkInterface): new rate limits.  [0] is receive, [1] transmit;
 * has_* replace that bucket.
 */
struct api_iface_patch {
	bool has_bw[2], has_ops[2];
	struct vm_rate_cfg bw[2], ops[2];
};
int api_iface_patch_parse(const char *body, size_t len, const char *path_id,
			  struct api_iface_patch *ret, struct err **err);
void vm_api_patch_iface(struct vm *vm, const char *id, const char *body, size_t len,
			struct api_resp *resp);
/* migrate.c: PUT /migrate */
void vm_api_migrate(struct vm *vm, const char *body, size_t len, struct api_resp *resp);
