/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The read-only routes in Firecracker's shape, shared by the pre-boot and
 * the running server: GET /, /machine-config, /vm/config and /version.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "config.h"
#include "jsonutil.h"

json_t *api_instance_info(const struct vm_config *cfg, const char *state)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "app_name", "isola", "id",
			 cfg->api_id ? cfg->api_id : "", "state", state, "vmm_version",
			 ISOLA_VERSION);
}

json_t *api_version(void)
{
	return json_pack("{s:s}", "firecracker_version", ISOLA_VERSION);
}

json_t *api_machine_config(const struct vm_config *cfg, unsigned cpus, uint64_t mem_bytes)
{
	return json_pack("{s:i, s:I, s:b, s:b, s:s}", "vcpu_count", (int)cpus, "mem_size_mib",
			 (json_int_t)(mem_bytes >> 20), "smt", 0, "track_dirty_pages",
			 cfg->track_dirty_pages, "huge_pages", cfg->hugepages ? "2M" : "None");
}

static json_t *bucket(const struct vm_rate_cfg *rc)
{
	return json_pack("{s:I, s:I, s:I}", "size", (json_int_t)rc->size, "one_time_burst",
			 (json_int_t)rc->one_time_burst, "refill_time", (json_int_t)rc->refill_ms);
}

void api_drive_id(const struct vm_disk_cfg *d, unsigned i, char id[VM_MAX_DEV_ID + 1])
{
	if (d->id[0])
		snprintf(id, VM_MAX_DEV_ID + 1, "%s", d->id);
	else
		snprintf(id, VM_MAX_DEV_ID + 1, "disk%u", i);
}

/* A RateLimiter object, or NULL when neither bucket limits anything. */
static json_t *rate_limiter(const struct vm_rate_cfg *bw, const struct vm_rate_cfg *ops)
{
	json_t *rl;

	if (!bw->size && !ops->size)
		return NULL;
	rl = json_object();
	if (rl && bw->size)
		json_object_set_new(rl, "bandwidth", bucket(bw));
	if (rl && ops->size)
		json_object_set_new(rl, "ops", bucket(ops));
	return rl;
}

static json_t *drive(const struct vm_disk_cfg *d, unsigned i)
{
	char id[VM_MAX_DEV_ID + 1];
	json_t *j, *rl;

	api_drive_id(d, i, id);
	j = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}", "drive_id", id, "path_on_host", d->path,
		      "is_root_device", 0, "is_read_only", d->readonly, "cache_type", "Unsafe",
		      "io_engine", "Sync");
	if (j && (rl = rate_limiter(&d->bw, &d->iops)))
		json_object_set_new(j, "rate_limiter", rl);
	return j;
}

static json_t *iface(const struct vm_net_cfg *n, unsigned i)
{
	const uint8_t *m = n->mac;
	char id[VM_MAX_DEV_ID + 1], mac[18];
	json_t *j, *rl;

	snprintf(id, sizeof(id), "%s", n->id);
	if (!n->id[0])
		snprintf(id, sizeof(id), "net%u", i);
	j = json_pack("{s:s, s:s}", "iface_id", id, "host_dev_name", n->tap);
	if (j && n->has_mac) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		json_object_set_new(j, "guest_mac", json_string(mac));
	}
	if (j && (rl = rate_limiter(&n->rx_bw, &n->rx_ops)))
		json_object_set_new(j, "rx_rate_limiter", rl);
	if (j && (rl = rate_limiter(&n->tx_bw, &n->tx_ops)))
		json_object_set_new(j, "tx_rate_limiter", rl);
	return j;
}

static json_t *boot_source(const struct vm_config *cfg)
{
	json_t *j = json_object();

	if (j && cfg->kernel)
		json_object_set_new(j, "kernel_image_path", json_string(cfg->kernel));
	if (j && cfg->cmdline)
		json_object_set_new(j, "boot_args", json_string(cfg->cmdline));
	if (j && cfg->initrd)
		json_object_set_new(j, "initrd_path", json_string(cfg->initrd));
	return j;
}

/* FullVmConfiguration: what was declared; absent devices are null. */
json_t *api_vm_config(const struct vm_config *cfg, unsigned cpus, uint64_t mem_bytes)
{
	json_t *j = json_object(), *drives = json_array(), *nets = json_array();

	if (!j || !drives || !nets) {
		json_decref(j);
		json_decref(drives);
		json_decref(nets);
		return NULL;
	}
	for (unsigned i = 0; i < cfg->n_disks; i++)
		json_array_append_new(drives, drive(&cfg->disks[i], i));
	for (unsigned i = 0; i < cfg->n_nets; i++)
		json_array_append_new(nets, iface(&cfg->nets[i], i));
	json_object_set_new(j, "boot-source", boot_source(cfg));
	json_object_set_new(j, "machine-config", api_machine_config(cfg, cpus, mem_bytes));
	json_object_set_new(j, "drives", drives);
	json_object_set_new(j, "network-interfaces", nets);
	json_object_set_new(j, "vsock",
			    cfg->has_vsock
				? json_pack("{s:I, s:s}", "guest_cid", (json_int_t)cfg->vsock_cid,
					    "uds_path", cfg->vsock_uds)
				: json_null());
	json_object_set_new(j, "balloon",
			    cfg->balloon
				? json_pack("{s:i, s:b, s:i}", "amount_mib", (int)cfg->balloon_mib,
					    "deflate_on_oom", cfg->balloon_deflate_on_oom,
					    "stats_polling_interval_s", (int)cfg->balloon_stats_s)
				: json_null());
	json_object_set_new(j, "entropy", cfg->rng ? json_object() : json_null());
	json_object_set_new(j, "logger",
			    cfg->log_path ? json_pack("{s:s, s:s}", "log_path", cfg->log_path,
						      "level", api_log_level_name(cfg->log_level))
					  : json_null());
	json_object_set_new(j, "metrics",
			    cfg->metrics_path
				? json_pack("{s:s}", "metrics_path", cfg->metrics_path)
				: json_null());
	json_object_set_new(j, "mmds-config", json_null());
	return j;
}

/*
 * Firecracker endpoints isola does not implement: a 400 in Firecracker's
 * error shape with the reason.  False when the path is not one of them.
 */
bool api_unsupported(const char *method, const char *path, bool running, struct api_resp *resp)
{
	static const struct {
		const char *path;
		bool prefix;
		const char *why;
	} tab[] = {
	    {"/mmds", true, "MMDS (the metadata service) is not supported by isola"},
	    {"/cpu-config", false, "CPU templates are not supported by isola"},
	    {"/serial", false, "the serial console is set with `isola vm run --console`"},
	    {"/hotplug/memory", false, "memory hotplug (virtio-mem) is not supported by isola"},
	    {"/pmem/", true, "virtio-pmem is not supported by isola"},
	    {"/balloon/hinting/", true, "free page hinting is not supported by isola"},
	};
	char msg[160];

	(void)method;
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++) {
		size_t n = strlen(tab[i].path);

		if (tab[i].prefix ? !strncmp(path, tab[i].path, n) : streq(path, tab[i].path)) {
			api_fault(resp, 400, tab[i].why);
			return true;
		}
	}
	if (!running && (streq(method, "PATCH") || streq(method, "PUT")) &&
	    (streq(path, "/vm") || streq(path, "/snapshot/create") ||
	     !strncmp(path, "/drives/", 8) || streq(path, "/migrate") ||
	     !strncmp(path, "/balloon/", 9) || !strncmp(path, "/network-interfaces/", 20)) &&
	    !(streq(method, "PUT") &&
	      (!strncmp(path, "/drives/", 8) || !strncmp(path, "/network-interfaces/", 20)))) {
		snprintf(msg, sizeof(msg), "%s %s: the microVM is not started", method, path);
		api_fault(resp, 400, msg);
		return true;
	}
	return false;
}
