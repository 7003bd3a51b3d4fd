/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PATCH /network-interfaces/{id} once the microVM runs, in Firecracker's shape
 * (PartialNetworkInterface): {"iface_id" (required, the path's id),
 * "rx_rate_limiter", "tx_rate_limiter"}.  In each limiter a bucket given
 * ("bandwidth", "ops") replaces that bucket (a size of 0 lifts it), one left
 * out stays, as PATCH /drives does.  The device takes the new limits first,
 * then the VM's configuration (GET /vm/config).
 */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "virtio/virtio.h"

static const char *const dirs[] = {"rx_rate_limiter", "tx_rate_limiter"};

int api_iface_patch_parse(const char *body, size_t len, const char *path_id,
			  struct api_iface_patch *ret, struct err **err)
{
	static const char *const keys[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
	struct api_iface_patch p = {0};
	_cleanup_json_ json_t *j = NULL;
	const char *id = NULL;
	int r;

	r = api_body_json(body, len, keys, &j, err);
	if (r >= 0)
		r = json_get_string(j, "body", "iface_id", true, &id, err);
	if (r >= 0 && !streq(id, path_id))
		r = err_make(err, EINVAL, "body.iface_id `%s` differs from the path's `%s`", id,
			     path_id);
	for (unsigned d = 0; r >= 0 && d < 2; d++) {
		json_t *rl = json_object_get(j, dirs[d]);

		if (!rl)
			continue;
		r = vm_config_rate_limiter_key(j, "body", dirs[d], &p.bw[d], &p.ops[d], err);
		p.has_bw[d] = json_object_get(rl, "bandwidth") != NULL;
		p.has_ops[d] = json_object_get(rl, "ops") != NULL;
	}
	if (r >= 0 && !p.has_bw[0] && !p.has_ops[0] && !p.has_bw[1] && !p.has_ops[1])
		r = err_make(err, 0,
			     "body: nothing to change (give rx_rate_limiter or tx_rate_limiter "
			     "with a bandwidth or ops bucket)");
	if (r < 0)
		return r;
	*ret = p;
	return 0;
}

/* The index of the interface called id, or -1. */
static int find_iface(const struct vm_config *cfg, const char *id)
{
	char name[VM_MAX_DEV_ID + 1];

	for (unsigned i = 0; i < cfg->n_nets; i++) {
		snprintf(name, sizeof(name), "%s", cfg->nets[i].id);
		if (!cfg->nets[i].id[0])
			snprintf(name, sizeof(name), "net%u", i);
		if (streq(name, id))
			return (int)i;
	}
	return -1;
}

static void apply(struct vm_net_cfg *n, const struct api_iface_patch *p)
{
	struct vm_rate_cfg *bw[] = {&n->rx_bw, &n->tx_bw}, *ops[] = {&n->rx_ops, &n->tx_ops};

	for (unsigned d = 0; d < 2; d++) {
		if (p->has_bw[d])
			*bw[d] = p->bw[d];
		if (p->has_ops[d])
			*ops[d] = p->ops[d];
	}
}

void vm_api_patch_iface(struct vm *vm, const char *id, const char *body, size_t len,
			struct api_resp *resp)
{
	_cleanup_err_ struct err *err = NULL;
	struct api_iface_patch p = {0};
	struct vm_net_cfg n;
	int i = -1, r;

	r = api_iface_patch_parse(body, len, id, &p, &err);
	if (r >= 0 && (i = find_iface(vm->cfg, id)) < 0)
		r = err_make(&err, 0, "network interface `%s`: no such interface", id);
	if (r >= 0) {
		pthread_mutex_lock(&vm->cfg_lock);
		n = vm->cfg->nets[i];
		pthread_mutex_unlock(&vm->cfg_lock);
		apply(&n, &p);
		r = vmm_virtio_net_update(vm, (unsigned)i, &n,
					  (p.has_bw[0] ? VIRTIO_NET_RL_RX_BW : 0) |
					      (p.has_ops[0] ? VIRTIO_NET_RL_RX_OPS : 0) |
					      (p.has_bw[1] ? VIRTIO_NET_RL_TX_BW : 0) |
					      (p.has_ops[1] ? VIRTIO_NET_RL_TX_OPS : 0),
					  &err);
	}
	if (r < 0)
		return api_fault(resp, 400, err->msg);
	/* Only the limits: no allocation, nothing to fail. */
	pthread_mutex_lock(&vm->cfg_lock);
	apply(&vm->cfg->nets[i], &p);
	pthread_mutex_unlock(&vm->cfg_lock);
	resp->status = 204;
}
