/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the input is a snapshot state file.  It must be parsed
 * or rejected without any out-of-bounds access; when it parses, every section
 * is read in full through the same accessors a restore uses, and the
 * sections checked without KVM (device configuration with every kind of
 * remap, IOAPIC and i8042 state) go through their loaders; a loaded i8042
 * then queues Ctrl+Alt+Delete and is read out, so a restored head or count
 * that points outside its buffer shows.  The CRC is recomputed over the input
 * half of the time so the fuzzer gets past it.  Seeds: tests/fuzz/snapshot-seed.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"
#include "devices/ioapic.h"
#include "snapshot/snapshot.h"

static void cb_msi(void *o, uint64_t addr, uint32_t data)
{
}

static void cb_kbd(void *o)
{
}

static void load_i8042(const struct snap_reader *r)
{
	static const struct i8042_hooks hooks = {NULL, cb_kbd, cb_kbd};
	struct i8042_state st;
	struct i8042 *k = NULL;
	struct err *e = NULL;
	uint64_t v;

	if (i8042_new(&hooks, &k, &e) == 0 &&
	    snap_get(r, SNAP_I8042, 0, &st, sizeof(st), "i8042", &e) == 0 &&
	    i8042_set_state(k, &st, &e) == 0) {
		(void)i8042_ctrl_alt_del(k, &e);
		err_free(&e);
		for (int i = 0; i < 2 * I8042_BUF_SIZE; i++) {
			v = 0;
			i8042_data_ops.read(k, 0, &v, 1);
		}
	}
	err_free(&e);
	i8042_free(k);
}

/* The loaders of sections that need no KVM; the vsock socket by override or by remap. */
static void load_sections(const struct snap_reader *r, bool vsock_override)
{
	static const struct ioapic_cb cb = {cb_msi, NULL, NULL};
	struct vmm_restore_args a = {0};
	struct ioapic_state st;
	struct vm_config cfg;
	struct ioapic *io;
	struct err *e = NULL;

	vmm_remap_add(a.disks, &a.n_disks, VM_MAX_DISKS, "disk-remap", "/a=/b", &e);
	vmm_remap_add(a.taps, &a.n_taps, VM_MAX_NETS, "net-remap", "t0=t1", &e);
	vmm_remap_add(a.fs, &a.n_fs, VM_MAX_FS, "fs-remap", "isola-fs1=/tmp,rw", &e);
	vmm_remap_add(a.net_ids, &a.n_net_ids, VM_MAX_NETS, "network_overrides", "eth1=t2", &e);
	if (vsock_override)
		a.vsock_override = "/tmp/fuzz-v.sock";
	else
		vmm_remap_add(a.vsock_uds, &a.n_vsock_uds, 1, "vsock-remap", "/tmp/v.sock=/tmp/w",
			      &e);
	vmm_config_init(&cfg);
	(void)devcfg_restore(&cfg, r, &a, &e);
	err_free(&e);
	vmm_config_free(&cfg);
	io = ioapic_new(&cb);
	if (io && snap_get(r, SNAP_IOAPIC, 0, &st, sizeof(st), "IOAPIC", &e) == 0)
		(void)ioapic_set_state(io, &st);
	err_free(&e);
	ioapic_free(io);
	load_i8042(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_reader r;
	struct err *e = NULL;
	uint8_t *buf, out[64];

	if (size > SNAP_MAX_FILE + 8)
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (size >= 4 && (size & 1)) {
		uint32_t crc = snap_crc32(buf, size - 4);

		for (int i = 0; i < 4; i++)
			buf[size - 4 + i] = crc >> (8 * i);
	}
	if (snap_parse(&r, buf, size, &e) == 0) {
		volatile uint8_t sink = 0;

		for (uint32_t i = 0; i < r.nr; i++)
			for (uint32_t k = 0; k < r.secs[i].len; k++)
				sink ^= r.secs[i].data[k];
		(void)sink;
		(void)snap_get(&r, SNAP_CONFIG, 0, out, 24, "config", &e);
		err_free(&e);
		(void)snap_get(&r, SNAP_SERIAL, 0, out, sizeof(out), "serial", &e);
		err_free(&e);
		load_sections(&r, size & 2);
	}
	err_free(&e);
	snap_reader_free(&r);
	return 0;
}
