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

static const char *const top_keys[] = {"kernel", "initrd",    "cmdline", "cpus",
				       "memory", "console",   "disks",	 "nets",
				       "vsock",	 "rng",	      "balloon", "virtio-transport",
				       "acpi",	 "on-reboot", NULL};

static int set_strings(struct vm_config *cfg, json_t *j, struct err **err)
{
	static const char *const keys[] = {"kernel",  "initrd",		  "cmdline",
					   "console", "virtio-transport", "on-reboot"};

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

/*
 * "rate_limiter": {"bandwidth": {"size", "one_time_burst", "refill_time"},
 * "ops": {...}} (Firecracker's shape; refill_time in ms) as --disk words.
 */
int vmm_config_rate_words(json_t *d, const char *where, char *buf, size_t cap, struct err **err)
{
	static const char *const keys[] = {"bandwidth", "ops", NULL};
	static const char *const bkeys[] = {"size", "one_time_burst", "refill_time", NULL};
	static const char *const words[][3] = {{"bw", "bw_burst", "bw_refill"},
					       {"iops", "iops_burst", "iops_refill"}};
	char w[64], w2[96];
	json_t *rl = NULL;
	size_t len = 0;
	int r;

	r = json_get_object(d, where, "rate_limiter", &rl, err);
	if (r < 0 || !rl)
		return r;
	snprintf(w, sizeof(w), "%s.rate_limiter", where);
	r = json_check_keys(rl, w, keys, err);
	for (unsigned i = 0; r >= 0 && keys[i]; i++) {
		json_t *b = NULL;

		snprintf(w2, sizeof(w2), "%s.%s", w, keys[i]);
		r = json_get_object(rl, w, keys[i], &b, err);
		if (r >= 0 && b)
			r = json_check_keys(b, w2, bkeys, err);
		for (unsigned k = 0; r >= 0 && b && bkeys[k]; k++) {
			uint64_t v = 0;

			r = json_get_u64(b, w2, bkeys[k], &v, err);
			/* 0 is Firecracker's "no limit": leave the word out. */
			if (r >= 0 && v)
				len += snprintf(buf + len, cap - len, ",%s=%llu", words[i][k],
						(unsigned long long)v);
			if (len >= cap)
				return err_make(err, 0, "%s: too long", w);
		}
	}
	return r;
}

static int add_disk(struct vm_config *cfg, json_t *d, size_t i, struct err **err)
{
	static const char *const keys[] = {"path", "readonly", "serial", "rate_limiter", NULL};
	const char *path = NULL, *serial = NULL;
	bool ro = false;
	char where[32], opt[4200], rate[256] = "";
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
	if (r >= 0)
		r = vmm_config_rate_words(d, where, rate, sizeof(rate), err);
	if (r < 0)
		return r;
	if (strchr(path, ',') || (serial && strchr(serial, ',')) ||
	    snprintf(opt, sizeof(opt), "%s%s%s%s%s", path, ro ? ",ro" : "",
		     serial ? ",serial=" : "", serial ? serial : "", rate) >= (int)sizeof(opt))
		return err_make(err, 0, "%s: path or serial is too long or contains a comma",
				where);
	return vmm_config_set(cfg, "disk", opt, err);
}

static int add_net(struct vm_config *cfg, json_t *n, size_t i, struct err **err)
{
	static const char *const keys[] = {"tap", "mac", "bridge", NULL};
	const char *tap = NULL, *mac = NULL, *br = NULL;
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
	if (r >= 0)
		r = json_get_string(n, where, "bridge", false, &br, err);
	if (r < 0)
		return r;
	if (strchr(tap, ',') || (mac && strchr(mac, ',')) || (br && strchr(br, ',')) ||
	    snprintf(opt, sizeof(opt), "tap=%s%s%s%s%s", tap, mac ? ",mac=" : "", mac ? mac : "",
		     br ? ",bridge=" : "", br ? br : "") >= (int)sizeof(opt))
		return err_make(err, 0, "%s: tap, mac or bridge is invalid", where);
	return vmm_config_set(cfg, "net", opt, err);
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
