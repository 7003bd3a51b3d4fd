/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PUT /snapshot/load before boot, in Firecracker's shape:
 *   {"snapshot_path": S, "mem_backend": {"backend_path": M, "backend_type": "File"},
 *    "resume_vm": bool}
 * or "mem_file_path": M instead of mem_backend.  isola's own fields remap
 * what the snapshot saved: "disk_remap": {"OLD": "NEW", ...},
 * "net_remap": {"OLDTAP": "NEWTAP", ...} and "fs_remap": {"TAG": "DIR[,ro|,rw]"}.
 * Firecracker's own overrides are taken too: "network_overrides": [{"iface_id":
 * ID, "host_dev_name": TAP}, ...] (a NIC's new TAP by its id) and
 * "vsock_override": {"uds_path": PATH}.  The request is kept here until the
 * command line runs the restore (struct vmm_preboot_load, vm.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "vm.h"

static const char *own(struct vmm_preboot_load *load, char *s)
{
	if (!s || load->n_owned == ARRAY_SIZE(load->owned)) {
		free(s);
		return NULL;
	}
	return load->owned[load->n_owned++] = s;
}

void vmm_preboot_load_clear(struct vmm_preboot_load *load)
{
	for (unsigned i = 0; i < load->n_owned; i++)
		free(load->owned[i]);
	memset(load, 0, sizeof(*load));
}

static int mem_path(json_t *j, const char **ret, struct err **err)
{
	static const char *const keys[] = {"backend_path", "backend_type", NULL};
	json_t *mb = NULL;
	const char *type = NULL;
	int r = json_get_object(j, "body", "mem_backend", &mb, err);

	if (r >= 0)
		r = json_get_string(j, "body", "mem_file_path", false, ret, err);
	if (r < 0)
		return r;
	if (!mb == !*ret)
		return err_make(err, 0, "body: exactly one of mem_backend and mem_file_path");
	if (!mb)
		return 0;
	r = json_check_keys(mb, "body.mem_backend", keys, err);
	if (r >= 0)
		r = json_get_string(mb, "body.mem_backend", "backend_path", true, ret, err);
	if (r >= 0)
		r = json_get_string(mb, "body.mem_backend", "backend_type", true, &type, err);
	if (r >= 0 && strcmp(type, "File"))
		r = err_make(err, 0,
			     "body.mem_backend.backend_type: only \"File\" is "
			     "supported (\"Uffd\" is not supported yet)");
	return r;
}

static int remaps(struct vmm_preboot_load *load, json_t *j, const char *key, struct vmm_remap *tab,
		  unsigned *n, unsigned max, struct err **err)
{
	json_t *obj = NULL, *v;
	const char *from;
	int r = json_get_object(j, "body", key, &obj, err);

	json_object_foreach (obj, from, v) {
		const char *f, *t;

		if (r < 0)
			break;
		if (!json_is_string(v))
			return err_make(err, 0, "body.%s.%s: expected a string", key, from);
		f = own(load, strdup(from));
		t = own(load, strdup(json_string_value(v)));
		if (!f || !t)
			return err_make(err, ENOMEM, "body.%s", key);
		r = vmm_remap_set(tab, n, max, key, f, t, err);
	}
	return r < 0 ? err_wrap(err, "body.%s", key) : r;
}

/* "network_overrides": [{"iface_id": ID, "host_dev_name": TAP}, ...] */
static int net_overrides(struct vmm_preboot_load *load, json_t *j, struct err **err)
{
	static const char *const keys[] = {"iface_id", "host_dev_name", NULL};
	json_t *arr = NULL, *v;
	size_t i;
	int r = json_get_array(j, "body", "network_overrides", &arr, err);

	json_array_foreach (arr, i, v) {
		char where[48];
		const char *id = NULL, *tap = NULL;

		snprintf(where, sizeof(where), "body.network_overrides[%zu]", i);
		if (r >= 0 && !json_is_object(v))
			r = err_make(err, 0, "%s: expected an object", where);
		if (r >= 0)
			r = json_check_keys(v, where, keys, err);
		if (r >= 0)
			r = json_get_string(v, where, "iface_id", true, &id, err);
		if (r >= 0)
			r = json_get_string(v, where, "host_dev_name", true, &tap, err);
		if (r >= 0 && (!*id || !*tap))
			r = err_make(err, 0, "%s.%s: empty", where,
				     *id ? "host_dev_name" : "iface_id");
		if (r >= 0 && (!(id = own(load, strdup(id))) || !(tap = own(load, strdup(tap)))))
			r = err_make(err, ENOMEM, "%s", where);
		if (r >= 0)
			r = vmm_remap_set(load->a.net_ids, &load->a.n_net_ids, VM_MAX_NETS, where,
					  id, tap, err);
		if (r < 0)
			break;
	}
	return r;
}

/* "vsock_override": {"uds_path": PATH} */
static int vsock_override(struct vmm_preboot_load *load, json_t *j, struct err **err)
{
	static const char *const keys[] = {"uds_path", NULL};
	json_t *o = NULL;
	const char *path = NULL;
	int r = json_get_object(j, "body", "vsock_override", &o, err);

	if (r < 0 || !o)
		return r;
	r = json_check_keys(o, "body.vsock_override", keys, err);
	if (r >= 0)
		r = json_get_string(o, "body.vsock_override", "uds_path", true, &path, err);
	if (r >= 0 && !*path)
		r = err_make(err, 0, "body.vsock_override.uds_path: empty");
	if (r >= 0 && !(load->a.vsock_override = own(load, strdup(path))))
		r = err_make(err, ENOMEM, "body.vsock_override");
	return r;
}

int api_snapshot_load(struct vmm_preboot_load *load, json_t *j, struct err **err)
{
	const char *state = NULL, *mem = NULL;
	bool resume = false;
	int r;

	vmm_preboot_load_clear(load);
	r = json_get_string(j, "body", "snapshot_path", true, &state, err);
	if (r >= 0)
		r = mem_path(j, &mem, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "resume_vm", &resume, err);
	if (r >= 0)
		r = remaps(load, j, "disk_remap", load->a.disks, &load->a.n_disks, VM_MAX_DISKS,
			   err);
	if (r >= 0)
		r = remaps(load, j, "net_remap", load->a.taps, &load->a.n_taps, VM_MAX_NETS, err);
	if (r >= 0)
		r = remaps(load, j, "fs_remap", load->a.fs, &load->a.n_fs, VM_MAX_FS, err);
	if (r >= 0)
		r = net_overrides(load, j, err);
	if (r >= 0)
		r = vsock_override(load, j, err);
	if (r >= 0 && json_is_true(json_object_get(j, "enable_diff_snapshots")))
		r = err_make(err, 0, "body.enable_diff_snapshots: not supported yet");
	if (r >= 0 && (!(load->a.state_path = own(load, strdup(state))) ||
		       !(load->a.mem_path = own(load, strdup(mem)))))
		r = err_make(err, ENOMEM, "snapshot load");
	if (r < 0) {
		vmm_preboot_load_clear(load);
		return r;
	}
	load->a.paused = !resume;
	load->requested = true;
	return 0;
}
