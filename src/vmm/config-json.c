/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The JSON form of a VM configuration (`isola vm run --config vm.json`):
 * the same fields as the options, checked by the same setters.  Unknown
 * fields are errors naming the field; the file is capped in size.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "vm-config.h"

static const char *const top_keys[] = {
    "kernel",  "initrd",    "cmdline", "cpus",	    "memory",	     "console",
    "disks",   "nets",	    "vsock",   "rng",	    "balloon",	     "virtio-transport",
    "irqchip", "hugepages", "acpi",    "on-reboot", "kernel-unpack", "initrd-unpack",
    "fs",      NULL};

/* The string fields, each through its word table and typed setter: errors name the field. */
static int set_strings(struct vm_config *cfg, json_t *j, struct err **err)
{
	const char *kernel = NULL, *initrd = NULL, *cmdline = NULL, *console = NULL,
		   *irqchip = NULL, *transport = NULL, *reboot = NULL, *unpack = NULL,
		   *iunpack = NULL;
	enum vm_kernel_unpack u;
	enum vm_transport t;
	enum vm_on_reboot o;
	enum vm_console c;
	enum vm_irqchip i;
	int r;

	r = json_get_string(j, "", "kernel", false, &kernel, err);
	if (r >= 0)
		r = json_get_string(j, "", "initrd", false, &initrd, err);
	if (r >= 0)
		r = json_get_string(j, "", "cmdline", false, &cmdline, err);
	if (r >= 0 && (kernel || initrd || cmdline))
		r = vm_config_set_boot_source(cfg, kernel, cmdline, initrd, "kernel/initrd/cmdline",
					      err);
	if (r >= 0)
		r = json_get_string(j, "", "console", false, &console, err);
	if (r >= 0 && console && (r = vm_console_parse(console, "console", &c, err)) >= 0)
		r = vm_config_set_console(cfg, c, console, "console", err);
	if (r >= 0)
		r = json_get_string(j, "", "irqchip", false, &irqchip, err);
	if (r >= 0 && irqchip && (r = vm_irqchip_parse(irqchip, "irqchip", &i, err)) >= 0)
		r = vm_config_set_irqchip(cfg, i, "irqchip", err);
	if (r >= 0)
		r = json_get_string(j, "", "virtio-transport", false, &transport, err);
	if (r >= 0 && transport &&
	    (r = vm_transport_parse(transport, "virtio-transport", &t, err)) >= 0)
		r = vm_config_set_transport(cfg, t, "virtio-transport", err);
	if (r >= 0)
		r = json_get_string(j, "", "on-reboot", false, &reboot, err);
	if (r >= 0 && reboot && (r = vm_on_reboot_parse(reboot, "on-reboot", &o, err)) >= 0)
		r = vm_config_set_on_reboot(cfg, o, "on-reboot", err);
	if (r >= 0)
		r = json_get_string(j, "", "kernel-unpack", false, &unpack, err);
	if (r >= 0 && unpack && (r = vm_kernel_unpack_parse(unpack, "kernel-unpack", &u, err)) >= 0)
		r = vm_config_set_kernel_unpack(cfg, u, "kernel-unpack", err);
	if (r >= 0)
		r = json_get_string(j, "", "initrd-unpack", false, &iunpack, err);
	if (r >= 0 && iunpack &&
	    (r = vm_kernel_unpack_parse(iunpack, "initrd-unpack", &u, err)) >= 0)
		r = vm_config_set_initrd_unpack(cfg, u, "initrd-unpack", err);
	return r;
}

/* "memory": 64 (MiB) or "64M"; "cpus": 2; "hugepages": true: the machine's typed setter. */
static int set_numbers(struct vm_config *cfg, json_t *j, struct err **err)
{
	json_t *mem = json_object_get(j, "memory");
	struct vm_machine_cfg m = {.has_cpus = json_object_get(j, "cpus") != NULL,
				   .has_memory = mem != NULL,
				   .has_hugepages = json_object_get(j, "hugepages") != NULL};
	uint32_t cpus = 0;
	int r;

	r = json_get_u32(j, "", "cpus", &cpus, err);
	if (r >= 0)
		r = json_get_bool(j, "", "hugepages", &m.hugepages, err);
	if (r < 0)
		return r;
	m.cpus = cpus;
	if (mem && json_is_integer(mem) && json_integer_value(mem) >= 0) {
		uint64_t mib = json_integer_value(mem);

		/* A bare number is MiB; past the cap stays past it once shifted. */
		m.memory = mib > (VM_MAX_MEMORY >> 20) ? UINT64_MAX : mib << 20;
	} else if (mem && json_is_string(mem)) { /* a size string: the same words as --memory */
		r = vm_memory_parse(json_string_value(mem), "memory", &m.memory, err);
		if (r < 0)
			return r;
	} else if (mem) {
		return err_make(err, 0, "memory: expected MiB as a number or a size string");
	}
	return vm_config_set_machine(cfg, &m, &vm_machine_json, err);
}

/*
 * "rate_limiter": {"bandwidth": {"size", "one_time_burst", "refill_time"},
 * "ops": {...}} (Firecracker's shape; refill_time in ms, 1000 when 0; a
 * size of 0 is no limit).
 */
int vm_config_rate_limiter_key(json_t *d, const char *where, const char *key,
			       struct vm_rate_cfg *bw, struct vm_rate_cfg *ops, struct err **err)
{
	static const char *const keys[] = {"bandwidth", "ops", NULL};
	static const char *const bkeys[] = {"size", "one_time_burst", "refill_time", NULL};
	char w[64], w2[96];
	json_t *rl = NULL;
	int r;

	r = json_get_object(d, where, key, &rl, err);
	if (r < 0 || !rl)
		return r;
	snprintf(w, sizeof(w), "%s.%s", where, key);
	r = json_check_keys(rl, w, keys, err);
	for (unsigned i = 0; r >= 0 && keys[i]; i++) {
		struct vm_rate_cfg *rc = i ? ops : bw;
		uint64_t *dst[] = {&rc->size, &rc->one_time_burst, &rc->refill_ms};
		json_t *b = NULL;

		snprintf(w2, sizeof(w2), "%s.%s", w, keys[i]);
		r = json_get_object(rl, w, keys[i], &b, err);
		if (r >= 0 && b)
			r = json_check_keys(b, w2, bkeys, err);
		for (unsigned k = 0; r >= 0 && b && bkeys[k]; k++) {
			uint64_t max = k == 2 ? VM_MAX_RATE_REFILL : VM_MAX_RATE_SIZE;

			r = json_get_u64(b, w2, bkeys[k], dst[k], err);
			if (r >= 0 && *dst[k] > max)
				r = err_make(err, 0, "%s.%s: at most %llu", w2, bkeys[k],
					     (unsigned long long)max);
		}
		if (!rc->size && !rc->one_time_burst)
			*rc = (struct vm_rate_cfg){0};
		else if (!rc->refill_ms)
			rc->refill_ms = 1000;
	}
	return r;
}

int vm_config_rate_limiter(json_t *d, const char *where, struct vm_disk_cfg *disk, struct err **err)
{
	return vm_config_rate_limiter_key(d, where, "rate_limiter", &disk->bw, &disk->iops, err);
}

int vm_config_net_rate_limiters(json_t *obj, const char *where, struct vm_net_cfg *n,
				struct err **err)
{
	int r =
	    vm_config_rate_limiter_key(obj, where, "rx_rate_limiter", &n->rx_bw, &n->rx_ops, err);

	return r < 0 ? r
		     : vm_config_rate_limiter_key(obj, where, "tx_rate_limiter", &n->tx_bw,
						  &n->tx_ops, err);
}

static int add_disk(struct vm_config *cfg, json_t *d, size_t i, struct err **err)
{
	static const char *const keys[] = {"path", "readonly", "serial", "rate_limiter", NULL};
	struct vm_disk_cfg disk = {0};
	const char *path = NULL, *serial = NULL;
	char where[32];
	int r;

	snprintf(where, sizeof(where), "disks[%zu]", i);
	if (!json_is_object(d))
		return err_make(err, 0, "%s: expected an object", where);
	r = json_check_keys(d, where, keys, err);
	if (r >= 0)
		r = json_get_string(d, where, "path", true, &path, err);
	if (r >= 0)
		r = json_get_string(d, where, "serial", false, &serial, err);
	if (r >= 0)
		r = json_get_bool(d, where, "readonly", &disk.readonly, err);
	if (r >= 0)
		r = vm_config_rate_limiter(d, where, &disk, err);
	if (r < 0)
		return r;
	disk.path = (char *)path;
	disk.serial = (char *)serial;
	return vm_config_add_disk(cfg, &disk, where, err);
}

static int add_net(struct vm_config *cfg, json_t *n, size_t i, struct err **err)
{
	static const char *const keys[] = {
	    "tap", "mac", "bridge", "offload", "rx_rate_limiter", "tx_rate_limiter", NULL};
	struct vm_net_cfg net = {0};
	const char *tap = NULL, *mac = NULL, *br = NULL;
	bool offload = true;
	char where[32];
	int r;

	snprintf(where, sizeof(where), "nets[%zu]", i);
	if (!json_is_object(n))
		return err_make(err, 0, "%s: expected an object", where);
	r = json_check_keys(n, where, keys, err);
	if (r >= 0)
		r = json_get_string(n, where, "tap", true, &tap, err);
	if (r >= 0)
		r = json_get_string(n, where, "mac", false, &mac, err);
	if (r >= 0)
		r = json_get_string(n, where, "bridge", false, &br, err);
	if (r >= 0)
		r = json_get_bool(n, where, "offload", &offload, err);
	if (r >= 0)
		r = vm_config_net_rate_limiters(n, where, &net, err);
	if (r < 0)
		return r;
	if (mac && vm_config_parse_mac(mac, net.mac) < 0)
		return err_make(err, 0, "%s.mac: expected xx:xx:xx:xx:xx:xx", where);
	net.has_mac = mac;
	net.tap = (char *)tap;
	net.bridge = (char *)br;
	net.no_offload = !offload;
	return vm_config_add_net(cfg, &net, where, err);
}

/* "balloon": true, false, or {"amount_mib", "deflate_on_oom", "stats_polling_interval_s"} */
static int set_balloon(struct vm_config *cfg, json_t *bal, struct err **err)
{
	static const char *const keys[] = {"amount_mib", "deflate_on_oom",
					   "stats_polling_interval_s", NULL};
	int r;

	if (json_is_boolean(bal)) {
		cfg->balloon = json_is_true(bal);
		return 0;
	}
	if (!json_is_object(bal))
		return err_make(err, 0, "balloon: expected true, false or an object");
	r = json_check_keys(bal, "balloon", keys, err);
	if (r >= 0)
		r = json_get_u32(bal, "balloon", "amount_mib", &cfg->balloon_mib, err);
	if (r >= 0)
		r = json_get_bool(bal, "balloon", "deflate_on_oom", &cfg->balloon_deflate_on_oom,
				  err);
	if (r >= 0)
		r = json_get_u32(bal, "balloon", "stats_polling_interval_s", &cfg->balloon_stats_s,
				 err);
	if (r < 0)
		return r;
	if ((uint64_t)cfg->balloon_mib << 20 > VM_MAX_MEMORY || cfg->balloon_stats_s > 3600)
		return err_make(err, 0,
				"balloon: amount_mib or stats_polling_interval_s too large");
	cfg->balloon = true;
	return 0;
}

/* "fs": [{"tag": T, "path": DIR, "read_only": bool}] */
static int add_fs(struct vm_config *cfg, json_t *v, size_t i, struct err **err)
{
	static const char *const keys[] = {"tag", "path", "read_only", NULL};
	const char *tag = NULL, *path = NULL;
	struct vm_fs_cfg f = {0};
	char where[32];
	int r;

	snprintf(where, sizeof(where), "fs[%zu]", i);
	if (!json_is_object(v))
		return err_make(err, 0, "%s: expected an object", where);
	r = json_check_keys(v, where, keys, err);
	if (r >= 0)
		r = json_get_string(v, where, "tag", true, &tag, err);
	if (r >= 0)
		r = json_get_string(v, where, "path", true, &path, err);
	if (r >= 0)
		r = json_get_bool(v, where, "read_only", &f.readonly, err);
	if (r < 0)
		return r;
	if (strlen(tag) >= sizeof(f.tag))
		return err_make(err, 0, "%s: tag must be 1..%d bytes", where, VM_MAX_FS_TAG);
	memcpy(f.tag, tag, strlen(tag) + 1);
	f.path = (char *)path;
	return vm_config_add_fs(cfg, &f, where, err);
}

static int set_devices(struct vm_config *cfg, json_t *j, struct err **err)
{
	static const char *const vsock_keys[] = {"cid", "uds", NULL};
	json_t *arr = NULL, *v, *vs = NULL, *bal;
	size_t i;
	int r;

	r = json_get_array(j, "", "disks", &arr, err);
	json_array_foreach (arr, i, v)
		if (r >= 0)
			r = add_disk(cfg, v, i, err);
	arr = NULL;
	if (r >= 0)
		r = json_get_array(j, "", "nets", &arr, err);
	json_array_foreach (arr, i, v)
		if (r >= 0)
			r = add_net(cfg, v, i, err);
	arr = NULL;
	if (r >= 0)
		r = json_get_array(j, "", "fs", &arr, err);
	json_array_foreach (arr, i, v)
		if (r >= 0)
			r = add_fs(cfg, v, i, err);
	if (r >= 0)
		r = json_get_bool(j, "", "rng", &cfg->rng, err);
	if (r >= 0 && json_object_get(j, "acpi")) {
		bool acpi = true;

		r = json_get_bool(j, "", "acpi", &acpi, err);
		cfg->no_acpi = !acpi;
	}
	if (r >= 0)
		r = json_get_object(j, "", "vsock", &vs, err);
	if (r >= 0 && vs) {
		const char *uds = NULL;
		uint32_t cid = 0;

		r = json_check_keys(vs, "vsock", vsock_keys, err);
		if (r >= 0)
			r = json_get_u32(vs, "vsock", "cid", &cid, err);
		if (r >= 0)
			r = json_get_string(vs, "vsock", "uds", true, &uds, err);
		if (r >= 0)
			r = vm_config_set_vsock(cfg, cid, uds, "vsock", err);
	}
	bal = json_object_get(j, "balloon");
	if (r >= 0 && bal)
		r = set_balloon(cfg, bal, err);
	return r;
}

int vmm_config_load_json(struct vm_config *cfg, const char *path, struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	int r;

	r = json_load_file_capped(AT_FDCWD, path, VM_MAX_CONFIG_FILE, &j, err);
	if (r < 0)
		return r;
	if (!json_is_object(j))
		return err_make(err, 0, "%s: expected a JSON object", path);
	r = json_check_keys(j, "", top_keys, err);
	if (r >= 0)
		r = set_strings(cfg, j, err);
	if (r >= 0)
		r = set_numbers(cfg, j, err);
	if (r >= 0)
		r = set_devices(cfg, j, err);
	return r < 0 ? err_wrap(err, "%s", path) : 0;
}
