/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PATCH /drives/{id} once the microVM runs, in Firecracker's shape
 * (PartialDrive): {"drive_id" (required, the path's id), "path_on_host",
 * "rate_limiter"}.  A new path_on_host is opened with the drive's mode and
 * checked as PUT /drives checks it before anything changes; the disk then
 * serves from it and the guest hears of its size through a configuration
 * change (Linux's virtio_blk reads the new capacity).  A rate_limiter bucket
 * given replaces that bucket (a size of 0 lifts it), one left out stays.
 * The VM's configuration follows, so GET /vm/config, a snapshot and a
 * migration name the new file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "virtio/virtio.h"

void api_drive_patch_free(struct api_drive_patch *p)
{
	free(p->path);
	p->path = NULL;
}

/* The rate_limiter object's buckets: those given replace the current ones. */
static int parse_rate(json_t *j, struct api_drive_patch *p, struct err **err)
{
	struct vm_disk_cfg rate = {0};
	json_t *rl = json_object_get(j, "rate_limiter");
	int r;

	if (!rl)
		return 0;
	r = vm_config_rate_limiter(j, "body", &rate, err);
	if (r < 0)
		return r;
	p->has_bw = json_object_get(rl, "bandwidth") != NULL;
	p->has_iops = json_object_get(rl, "ops") != NULL;
	p->bw = rate.bw;
	p->iops = rate.iops;
	return 0;
}

int api_drive_patch_parse(const char *body, size_t len, const char *path_id,
			  struct api_drive_patch *ret, struct err **err)
{
	static const char *const keys[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
	struct api_drive_patch p = {0};
	_cleanup_json_ json_t *j = NULL;
	const char *id = NULL, *path = NULL;
	int r;

	r = api_body_json(body, len, keys, &j, err);
	if (r >= 0)
		r = json_get_string(j, "body", "drive_id", true, &id, err);
	if (r >= 0 && !streq(id, path_id))
		r = err_make(err, EINVAL, "body.drive_id `%s` differs from the path's `%s`", id,
			     path_id);
	if (r >= 0)
		r = json_get_string(j, "body", "path_on_host", false, &path, err);
	if (r >= 0 && path && !*path)
		r = err_make(err, 0, "body.path_on_host: empty path");
	if (r >= 0)
		r = parse_rate(j, &p, err);
	if (r >= 0 && !path && !p.has_bw && !p.has_iops)
		r = err_make(err, 0, "body: nothing to change (give path_on_host or rate_limiter)");
	if (r >= 0 && path && !(p.path = strdup(path)))
		r = err_make(err, ENOMEM, "body.path_on_host");
	if (r < 0)
		return r;
	*ret = p;
	return 0;
}

/* The index of the drive called id, or -1. */
static int find_drive(const struct vm_config *cfg, const char *id)
{
	char name[VM_MAX_DEV_ID + 1];

	for (unsigned i = 0; i < cfg->n_disks; i++) {
		api_drive_id(&cfg->disks[i], i, name);
		if (streq(name, id))
			return (int)i;
	}
	return -1;
}

/*
 * Apply p to disk i: the device first (nothing changes if it fails), then
 * the configuration, which only an allocation can fail.
 */
static int patch(struct vm *vm, unsigned i, const struct api_drive_patch *p, struct err **err)
{
	struct vm_disk_cfg d = vm->cfg->disks[i];
	int fd = -1, r;

	if (p->path) {
		r = api_open_file(p->path, d.readonly ? O_RDONLY : O_RDWR, true,
				  "body.path_on_host", &fd, err);
		if (r < 0)
			return r;
		d.path = p->path;
	}
	if (p->has_bw)
		d.bw = p->bw;
	if (p->has_iops)
		d.iops = p->iops;
	r = vmm_virtio_disk_update(
	    vm, i, fd, &d, (p->has_bw ? VMM_DISK_RL_BW : 0) | (p->has_iops ? VMM_DISK_RL_IOPS : 0),
	    err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&vm->cfg_lock);
	r = vm_config_set_disk(vm->cfg, i, &d, "body", err);
	pthread_mutex_unlock(&vm->cfg_lock);
	return r < 0 ? err_wrap(err, "the drive changed, its configuration did not") : 0;
}

void vm_api_patch_drive(struct vm *vm, const char *id, const char *body, size_t len,
			struct api_resp *resp)
{
	_cleanup_err_ struct err *err = NULL;
	struct api_drive_patch p = {0};
	int i = -1, r;

	r = api_drive_patch_parse(body, len, id, &p, &err);
	if (r >= 0 && (i = find_drive(vm->cfg, id)) < 0)
		r = err_make(&err, 0, "drive `%s`: no such drive", id);
	if (r >= 0)
		r = patch(vm, (unsigned)i, &p, &err);
	api_drive_patch_free(&p);
	if (r < 0)
		return api_fault(resp, 400, err->msg);
	resp->status = 204;
}
