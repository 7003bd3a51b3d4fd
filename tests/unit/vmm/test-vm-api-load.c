/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PUT /snapshot/load's body (src/vmm/api/load.c) without KVM: Firecracker's
 * fields (network_overrides and vsock_override among them), isola's remaps
 * (disk, net, fs) as the restore takes them, and
 * hostile bodies refused with nothing kept.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cleanup.h"
#include "tap.h"

static int load_body(const char *body, struct vmm_preboot_load *load, struct err **err)
{
	json_error_t je;
	json_t *j = json_loads(body, 0, &je);
	int r;

	if (!j)
		return err_make(err, EINVAL, "test body: %s", je.text);
	r = api_snapshot_load(load, j, err);
	json_decref(j);
	return r;
}

static bool remap_is(const struct vmm_remap *m, const char *from, const char *to)
{
	return m->from_len == strlen(from) && !memcmp(m->from, from, m->from_len) &&
	       !strcmp(m->to, to);
}

static void test_good(void)
{
	struct vmm_preboot_load load = {0};
	struct err *e = NULL;

	is_int(
	    load_body("{\"snapshot_path\": \"/s/st\", \"mem_backend\": {\"backend_path\": "
		      "\"/s/mem\", \"backend_type\": \"File\"}, \"resume_vm\": true, "
		      "\"disk_remap\": {\"/a.img\": \"/b.img\"}, \"net_remap\": {\"t0\": \"t1\"}, "
		      "\"fs_remap\": {\"isola-fs0\": \"/srv/data,rw\", \"ro\": \"/etc/x\"}}",
		      &load, &e),
	    0, "a load with every remap %s", e ? e->msg : "");
	ok(load.requested && !load.a.paused && !strcmp(load.a.state_path, "/s/st") &&
	       !strcmp(load.a.mem_path, "/s/mem"),
	   "the snapshot's files, resumed");
	ok(load.a.n_disks == 1 && remap_is(&load.a.disks[0], "/a.img", "/b.img") &&
	       load.a.n_taps == 1 && remap_is(&load.a.taps[0], "t0", "t1"),
	   "disk and TAP remaps");
	ok(load.a.n_fs == 2 && remap_is(&load.a.fs[0], "isola-fs0", "/srv/data,rw") &&
	       remap_is(&load.a.fs[1], "ro", "/etc/x"),
	   "fs_remap: each share's new directory, its mode suffix kept for the restore");
	vmm_preboot_load_clear(&load);
}

/* Firecracker's own: network_overrides (a TAP by iface_id) and vsock_override. */
static void test_overrides(void)
{
	struct vmm_preboot_load load = {0};
	struct err *e = NULL;

	is_int(load_body("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			 "\"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": "
			 "\"vmtap0\"}, {\"iface_id\": \"eth1\", \"host_dev_name\": \"vmtap1\"}], "
			 "\"vsock_override\": {\"uds_path\": \"/run/v.sock\"}}",
			 &load, &e),
	       0, "Firecracker's overrides %s", e ? e->msg : "");
	ok(load.a.n_net_ids == 2 && remap_is(&load.a.net_ids[0], "eth0", "vmtap0") &&
	       remap_is(&load.a.net_ids[1], "eth1", "vmtap1") && !load.a.n_taps,
	   "network_overrides: each NIC's TAP by its iface_id");
	ok(load.a.vsock_override && !strcmp(load.a.vsock_override, "/run/v.sock") &&
	       !load.a.n_vsock_uds,
	   "vsock_override: the socket's new path");
	vmm_preboot_load_clear(&load);
}

/* Every remap table full and vsock_override: owned[] holds each string (vm.h counts them). */
static void test_full(void)
{
	static const struct {
		const char *key;
		unsigned n;
	} tabs[] = {
	    {"disk_remap", VM_MAX_DISKS}, {"net_remap", VM_MAX_NETS}, {"fs_remap", VM_MAX_FS}};
	struct vmm_preboot_load load = {0};
	struct err *e = NULL;
	char body[8192];
	size_t n;

	n = (size_t)snprintf(
	    body, sizeof(body),
	    "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
	    "\"vsock_override\": {\"uds_path\": \"/v\"}, \"network_overrides\": [");
	for (unsigned i = 0; i < VM_MAX_NETS; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
				      "%s{\"iface_id\": \"e%u\", \"host_dev_name\": \"t%u\"}",
				      i ? ", " : "", i, i);
	n += (size_t)snprintf(body + n, sizeof(body) - n, "]");
	for (size_t t = 0; t < ARRAY_SIZE(tabs); t++) {
		n += (size_t)snprintf(body + n, sizeof(body) - n, ", \"%s\": {", tabs[t].key);
		for (unsigned i = 0; i < tabs[t].n; i++)
			n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"o%u\": \"/n%u\"",
					      i ? ", " : "", i, i);
		n += (size_t)snprintf(body + n, sizeof(body) - n, "}");
	}
	snprintf(body + n, sizeof(body) - n, "}");
	is_int(load_body(body, &load, &e), 0, "every table full %s", e ? e->msg : "");
	ok(load.n_owned == ARRAY_SIZE(load.owned) && load.a.n_net_ids == VM_MAX_NETS &&
	       load.a.n_disks == VM_MAX_DISKS && load.a.n_fs == VM_MAX_FS,
	   "owned[] holds them all, exactly (%u of %zu)", load.n_owned, ARRAY_SIZE(load.owned));
	err_free(&e);
	vmm_preboot_load_clear(&load);
}

static void bad(const char *body, const char *want)
{
	struct vmm_preboot_load load = {0};
	struct err *e = NULL;

	ok(load_body(body, &load, &e) < 0 && e && strstr(e->msg, want) && !load.requested &&
	       !load.n_owned,
	   "refused, nothing kept: %s", e ? e->msg : "accepted");
	err_free(&e);
}

int main(void)
{
	char many[2048];
	size_t n;

	test_good();
	test_overrides();
	test_full();
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"network_overrides\": "
	    "{\"iface_id\": \"eth0\"}}",
	    "network_overrides: expected an array");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"network_overrides\": "
	    "[\"eth0\"]}",
	    "body.network_overrides[0]: expected an object");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"network_overrides\": "
	    "[{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\"}, {\"iface_id\": \"eth1\"}]}",
	    "body.network_overrides[1]");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"network_overrides\": "
	    "[{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\", \"guest_mac\": \"x\"}]}",
	    "guest_mac");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"network_overrides\": "
	    "[{\"iface_id\": \"\", \"host_dev_name\": \"t\"}]}",
	    "body.network_overrides[0].iface_id: empty");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"network_overrides\": "
	    "[{\"iface_id\": \"e\", \"host_dev_name\": \"\"}]}",
	    "body.network_overrides[0].host_dev_name: empty");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"network_overrides\": "
	    "[{\"iface_id\": \"eth0\", \"host_dev_name\": \"a\"}, "
	    "{\"iface_id\": \"eth0\", \"host_dev_name\": \"b\"}]}",
	    "body.network_overrides[1]: `eth0` given twice");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"vsock_override\": "
	    "{\"uds_path\": \"\"}}",
	    "vsock_override.uds_path: empty");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"vsock_override\": "
	    "{\"uds\": \"/x\"}}",
	    "vsock_override");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"vsock_override\": "
	    "\"/x\"}",
	    "vsock_override");
	n = (size_t)snprintf(many, sizeof(many),
			     "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", "
			     "\"network_overrides\": [");
	for (int i = 0; i < 9; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n,
				      "%s{\"iface_id\": \"e%d\", \"host_dev_name\": \"t\"}",
				      i ? ", " : "", i);
	snprintf(many + n, sizeof(many) - n, "]}");
	bad(many, "network_overrides[4]: at most 4");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"fs_remap\": {\"t\": 1}}",
	    "body.fs_remap.t: expected a string");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"fs_remap\": [\"t\"]}",
	    "fs_remap");
	bad("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"fs_remap\": {\"\": \"/d\"}}",
	    "empty OLD or NEW");
	n = (size_t)snprintf(
	    many, sizeof(many),
	    "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"fs_remap\": {");
	for (int i = 0; i < 9; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\"t%d\": \"/d\"",
				      i ? ", " : "", i);
	snprintf(many + n, sizeof(many) - n, "}}");
	bad(many, "at most 8");
	return tap_done();
}
