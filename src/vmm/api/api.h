/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The control API (docs/vm-api.md): HTTP/1.1 + JSON on a Unix socket, in
 * Firecracker's shape, served by one thread while the VM runs.
 */
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
typedef void (*api_handler)(void *ctx, const char *method, const char *path, const char *body,
			    size_t body_len, struct api_resp *resp);
/* server.c: a listening socket at path; serve one connection (one request). */
int api_listen(const char *path, struct err **err);
void api_send_resp(int fd, const struct api_resp *r);
void api_serve_conn(int fd, char *buf, size_t cap, api_handler handle, void *ctx);

/* Route one parsed request (no I/O); exposed for the unit test. */
void vm_api_handle(struct vm *vm, const char *method, const char *path, const char *body,
		   size_t body_len, struct api_resp *resp);

/* balloon.c: the /balloon routes of a running VM; false when the path is not one. */
bool vm_api_balloon(struct vm *vm, const char *method, const char *path, const char *body,
		    size_t body_len, struct api_resp *resp);
/* load.c: PUT /snapshot/load before boot (body already an object); kept for the CLI. */
#include <jansson.h>
int api_snapshot_load(json_t *j, struct err **err);
/* migrate.c: PUT /migrate */
void vm_api_migrate(struct vm *vm, const char *body, size_t len, struct api_resp *resp);
