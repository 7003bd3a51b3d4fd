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
    "kernel", "initrd", "cmdline", "cpus",    "memory",		  "console", "disks",
    "nets",   "vsock",	"rng",	   "balloon", "virtio-transport", NULL};

static int set_strings(struct vm_config *cfg, json_t *j, struct err **err)
{
	static const char *const keys[] = {"kernel", "initrd", "cmdline", "console",
					   "virtio-transport"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = NULL;
		int r = json_get_string(j, "", keys[i], false, &v, err);

		if (r >= 0 && v)
			r = vmm_config_set(cfg, keys[i], v, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "memory": 64 (MiB) or "64M"; "cpus": 2 */
static int set_numbers(struct vm_config *cfg, json_t *j, struct err **err)
{
	json_t *mem = json_object_get(j, "memory");
	uint32_t cpus = 0;
	char buf[32];
	int r;

	r = json_get_u32(j, "", "cpus", &cpus, err);
	if (r >= 0 && json_object_get(j, "cpus")) {
		snprintf(buf, sizeof(buf), "%" PRIu32, cpus);
		r = vmm_config_set(cfg, "cpus", buf, err);
	}
	if (r < 0 || !mem)
		return r;
	if (json_is_integer(mem) && json_integer_value(mem) >= 0) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(mem));
		return vmm_config_set(cfg, "memory", buf, err);
	}
	if (json_is_string(mem))
		return vmm_config_set(cfg, "memory", json_string_value(mem), err);
	return err_make(err, 0, "memory: expected MiB as a number or a size string");
}

static int add_disk(struct vm_config *cfg, json_t *d, size_t i, struct err **err)
{
	static const char *const keys[] = {"path", "readonly", "serial", NULL};
	const char *path = NULL, *serial = NULL;
	bool ro = false;
	char where[32], opt[4200];
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
		r = json_get_bool(d, where, "readonly", &ro, err);
	if (r < 0)
		return r;
	if (strchr(path, ',') || (serial && strchr(serial, ',')) ||
	    snprintf(opt, sizeof(opt), "%s%s%s%s", path, ro ? ",ro" : "", serial ? ",serial=" : "",
		     serial ? serial : "") >= (int)sizeof(opt))
		return err_make(err, 0, "%s: path or serial is too long or contains a comma",
				where);
	return vmm_config_set(cfg, "disk", opt, err);
}

static int add_net(struct vm_config *cfg, json_t *n, size_t i, struct err **err)
{
	static const char *const keys[] = {"tap", "mac", NULL};
	const char *tap = NULL, *mac = NULL;
	char where[32], opt[128];
	int r;

	snprintf(where, sizeof(where), "nets[%zu]", i);
	if (!json_is_object(n))
		return err_make(err, 0, "%s: expected an object", where);
	r = json_check_keys(n, where, keys, err);
	if (r >= 0)
		r = json_get_string(n, where, "tap", true, &tap, err);
	if (r >= 0)
		r = json_get_string(n, where, "mac", false, &mac, err);
	if (r < 0)
		return r;
	if (strchr(tap, ',') || (mac && strchr(mac, ',')) ||
	    snprintf(opt, sizeof(opt), "tap=%s%s%s", tap, mac ? ",mac=" : "", mac ? mac : "") >=
		(int)sizeof(opt))
		return err_make(err, 0, "%s: tap or mac is invalid", where);
	return vmm_config_set(cfg, "net", opt, err);
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
	if (r >= 0)
		r = json_get_bool(j, "", "rng", &cfg->rng, err);
	if (r >= 0)
		r = json_get_bool(j, "", "hugepages", &cfg->hugepages, err);
	if (r >= 0)
		r = json_get_object(j, "", "vsock", &vs, err);
	if (r >= 0 && vs) {
		const char *uds = NULL;
		uint32_t cid = 0;
		char opt[200];

		r = json_check_keys(vs, "vsock", vsock_keys, err);
		if (r >= 0)
			r = json_get_u32(vs, "vsock", "cid", &cid, err);
		if (r >= 0)
			r = json_get_string(vs, "vsock", "uds", true, &uds, err);
		if (r >= 0) {
			snprintf(opt, sizeof(opt), "cid=%" PRIu32 ",uds=%s", cid, uds);
			r = vmm_config_set(cfg, "vsock", opt, err);
		}
	}
	bal = json_object_get(j, "balloon");
	if (r >= 0 && bal) {
		if (json_is_boolean(bal))
			cfg->balloon = json_is_true(bal);
		else if (json_is_object(bal) && json_object_size(bal) == 0)
			cfg->balloon = true;
		else
			r = err_make(err, 0, "balloon: expected true, false or {}");
	}
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
