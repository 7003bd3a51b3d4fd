/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Snapshot state that needs no KVM: the userspace IOAPIC and PIT state
 * round trips (and refuses out-of-range values), and the device
 * configuration section with its disk/TAP remapping and malformed input.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/ioapic.h"
#include "devices/pit.h"
#include "snapshot/snapshot.h"
#include "tap.h"

static int n_routes;

static void msi(void *o, uint64_t addr, uint32_t data)
{
}

static void routes(void *o)
{
	n_routes++;
}

static void test_ioapic(void)
{
	struct ioapic_cb cb = {msi, routes, NULL};
	struct ioapic *a = ioapic_new(&cb), *b = ioapic_new(&cb);
	struct ioapic_state s, t;
	uint32_t v = 0x12;

	ioapic_mmio_ops.write(a, 0x00, &v, 4); /* select RTE 1 low */
	v = 0x41 | (1u << 15);		       /* vector 0x41, level, unmasked */
	ioapic_mmio_ops.write(a, 0x10, &v, 4);
	ioapic_set_irq(a, 1, true);
	ioapic_get_state(a, &s);
	n_routes = 0;
	is_int(ioapic_set_state(b, &s), 0, "IOAPIC state loads");
	ok(n_routes == 1, "routes rebuilt after loading");
	ioapic_get_state(b, &t);
	ok(!memcmp(&s, &t, sizeof(s)), "IOAPIC state round trips");
	ok((t.rte[1] & (1ull << 14)) && t.line[1], "remote IRR and line level kept");
	s.line[3] = 2;
	is_int(ioapic_set_state(b, &s), -22, "bad line level refused");
	ioapic_free(a);
	ioapic_free(b);
}

static void test_pit(void)
{
	struct pit *a, *b;
	struct pit_state s, t;
	uint8_t v;

	if (pit_new(NULL, &a, NULL) < 0 || pit_new(NULL, &b, NULL) < 0)
		return (void)ok(0, "pit_new");
	v = 0x34; /* channel 0, lo/hi, mode 2 */
	pit_ops.write(a, 3, &v, 1);
	v = 0x00;
	pit_ops.write(a, 0, &v, 1);
	v = 0x10;
	pit_ops.write(a, 0, &v, 1);
	pit_get_state(a, &s);
	ok(s.ch[0].reload == 0x1000 && s.ch[0].mode == 2 && s.ch[0].armed, "channel 0 saved");
	is_int(pit_set_state(b, &s), 0, "PIT state loads");
	pit_get_state(b, &t);
	ok(t.ch[0].reload == 0x1000 && t.ch[0].mode == 2 && t.ch[0].access == 3 && t.ch[0].armed &&
	       t.ch[0].elapsed_ns >= s.ch[0].elapsed_ns,
	   "PIT state round trips, time goes on from where it was");
	s.ch[1].reload = 0;
	is_int(pit_set_state(b, &s), -22, "reload 0 refused");
	s.ch[1].reload = 1;
	s.ch[2].mode = 6;
	is_int(pit_set_state(b, &s), -22, "mode 6 refused");
	pit_free(a);
	pit_free(b);
}

/* Parse w's bytes back into r. */
static int reread(struct snap_writer *w, struct snap_reader *r)
{
	uint8_t *buf;
	size_t len;
	struct err *e = NULL;

	if (snap_writer_finish(w, &buf, &len, &e) < 0 || snap_parse(r, buf, len, &e) < 0) {
		err_free(&e);
		return -1;
	}
	return 0;
}

static void test_devcfg(const char *dir)
{
	struct vm_config cfg, out;
	struct vmm_restore_args a = {0};
	struct snap_writer w;
	struct snap_reader r;
	struct err *e = NULL;
	char disk[300], moved[300];

	/* Paths with a comma and an '=': typed fields, not option strings. */
	snprintf(disk, sizeof(disk), "%s/d,ro=1.img", dir);
	snprintf(moved, sizeof(moved), "%s/m,serial=x.img", dir);
	fclose(fopen(disk, "w"));
	vmm_config_init(&cfg);
	vm_config_add_disk(&cfg,
			   &(struct vm_disk_cfg){.id = "rootfs",
						 .path = disk,
						 .serial = "s,1",
						 .bw = {1048576, 4194304, 500},
						 .iops = {VM_MAX_RATE_SIZE, 0, VM_MAX_RATE_REFILL}},
			   "disk", &e);
	vmm_config_set(&cfg, "net", "tap=isola-t0,mac=02:00:00:00:00:07,offload=off", &e);
	snprintf(cfg.nets[0].id, sizeof(cfg.nets[0].id), "eth0");
	vmm_config_set(&cfg, "vsock", "cid=9,uds=/tmp/v.sock", &e);
	vmm_config_set(&cfg, "irqchip", "split", &e);
	cfg.rng = cfg.balloon = true;
	snap_writer_init(&w);
	is_int(devcfg_save(&cfg, &w, &e), 0, "device configuration saved");
	ok(reread(&w, &r) == 0, "and parsed");

	vmm_config_init(&out);
	is_int(devcfg_restore(&out, &r, &a, &e), 0, "device configuration restored");
	ok(out.n_disks == 1 && !strcmp(out.disks[0].path, disk) && !out.disks[0].readonly &&
	       !strcmp(out.disks[0].serial, "s,1"),
	   "disk path and serial with commas, not read-only");
	ok(!strcmp(out.disks[0].id, "rootfs") && out.disks[0].bw.size == 1048576 &&
	       out.disks[0].bw.one_time_burst == 4194304 && out.disks[0].bw.refill_ms == 500 &&
	       out.disks[0].iops.size == VM_MAX_RATE_SIZE && !out.disks[0].iops.one_time_burst &&
	       out.disks[0].iops.refill_ms == VM_MAX_RATE_REFILL,
	   "the drive id and both rate limiter buckets");
	ok(!strcmp(out.nets[0].id, "eth0"), "the interface id");
	ok(out.n_nets == 1 && !strcmp(out.nets[0].tap, "isola-t0") && out.nets[0].mac[5] == 7 &&
	       out.nets[0].no_offload,
	   "TAP, MAC and offload=off");
	ok(out.has_vsock && out.vsock_cid == 9 && out.rng && out.balloon && out.split_irqchip,
	   "vsock, rng, balloon, split irqchip");
	vmm_config_free(&out);

	rename(disk, moved);
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 && strstr(e->msg, "--disk-remap"),
	   "missing disk: %s", e ? e->msg : "");
	err_free(&e);
	vmm_config_free(&out);

	vmm_remap_set(a.disks, &a.n_disks, VM_MAX_DISKS, "disk_remap", disk, moved, &e);
	vmm_remap_add(a.taps, &a.n_taps, VM_MAX_NETS, "net-remap", "isola-t0=isola-t1", &e);
	vmm_config_init(&out);
	is_int(devcfg_restore(&out, &r, &a, &e), 0, "restored with remaps");
	ok(!strcmp(out.disks[0].path, moved) && !strcmp(out.nets[0].tap, "isola-t1") &&
	       out.nets[0].no_offload,
	   "disk and TAP remapped");
	vmm_config_free(&out);

	vmm_remap_add(a.taps, &a.n_taps, VM_MAX_NETS, "net-remap", "nosuch=x", &e);
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 && strstr(e->msg, "no such TAP"),
	   "unused remap: %s", e ? e->msg : "");
	err_free(&e);
	vmm_config_free(&out);
	ok(vmm_remap_add(a.taps, &a.n_taps, VM_MAX_NETS, "net-remap", "=x", &e) < 0,
	   "remap without OLD refused");
	err_free(&e);
	ok(vmm_remap_add(a.taps, &a.n_taps, VM_MAX_NETS, "net-remap", "nosuch=y", &e) < 0 &&
	       !strcmp(e->msg, "--net-remap: `nosuch` given twice"),
	   "an OLD given twice is refused: %s", e ? e->msg : "");
	err_free(&e);
	ok(vmm_remap_set(a.disks, &a.n_disks, VM_MAX_DISKS, "disk_remap", disk, "/other", &e) < 0 &&
	       strstr(e->msg, "given twice"),
	   "the API's remap too: %s", e ? e->msg : "");
	err_free(&e);

	/* Firecracker's overrides (the API's network_overrides, vsock_override). */
	a = (struct vmm_restore_args){0};
	vmm_remap_set(a.disks, &a.n_disks, VM_MAX_DISKS, "disk_remap", disk, moved, &e);
	vmm_remap_set(a.net_ids, &a.n_net_ids, VM_MAX_NETS, "network_overrides", "eth0", "isola-t2",
		      &e);
	a.vsock_override = "/run/new.sock";
	vmm_config_init(&out);
	is_int(devcfg_restore(&out, &r, &a, &e), 0, "restored with Firecracker's overrides");
	ok(!strcmp(out.nets[0].tap, "isola-t2") && !strcmp(out.nets[0].id, "eth0") &&
	       !strcmp(out.vsock_uds, "/run/new.sock") && out.vsock_cid == 9,
	   "the NIC's TAP by its iface_id, the vsock socket whatever its saved path");
	vmm_config_free(&out);

	vmm_remap_add(a.taps, &a.n_taps, VM_MAX_NETS, "net-remap", "isola-t0=isola-t1", &e);
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 && strstr(e->msg, "remapped twice"),
	   "one NIC by id and by TAP: %s", e ? e->msg : "");
	err_free(&e);
	vmm_config_free(&out);

	a.n_taps = 0;
	vmm_remap_add(a.vsock_uds, &a.n_vsock_uds, 1, "vsock-remap", "/tmp/v.sock=/x", &e);
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 && strstr(e->msg, "one of them"),
	   "vsock_override with a vsock remap: %s", e ? e->msg : "");
	err_free(&e);
	vmm_config_free(&out);

	a.n_vsock_uds = 0;
	vmm_remap_set(a.net_ids, &a.n_net_ids, VM_MAX_NETS, "network_overrides", "eth9", "t", &e);
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 &&
	       strstr(e->msg, "network_overrides `eth9`: the snapshot has no such iface_id"),
	   "an unknown iface_id: %s", e ? e->msg : "");
	err_free(&e);
	vmm_config_free(&out);
	snap_reader_free(&r);
	vmm_config_free(&cfg);

	/* A snapshot with no vsock device refuses vsock_override. */
	vmm_config_init(&cfg);
	snap_writer_init(&w);
	is_int(devcfg_save(&cfg, &w, &e), 0, "a VM with no device saved");
	ok(reread(&w, &r) == 0, "and parsed");
	a = (struct vmm_restore_args){.vsock_override = "/run/new.sock"};
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 && strstr(e->msg, "no vsock device"),
	   "vsock_override of a VM without vsock: %s", e ? e->msg : "");
	err_free(&e);
	vmm_config_free(&out);
	snap_reader_free(&r);
	vmm_config_free(&cfg);
	unlink(moved);
}

/* Shares: tag, absolute path and ro saved; --fs-remap TAG=DIR[,ro|,rw] on restore. */
static void test_fs_devcfg(const char *dir)
{
	struct vm_config cfg, out;
	struct vmm_restore_args a = {0};
	struct snap_writer w;
	struct snap_reader r;
	struct err *e = NULL;
	char tmpl[300], real[300], to[320], to2[320]; /* the remaps point into them */

	snprintf(tmpl, sizeof(tmpl), "%s/tmpl", dir);
	snprintf(real, sizeof(real), "%s/real", dir);
	mkdir(tmpl, 0755);
	mkdir(real, 0755);
	vmm_config_init(&cfg);
	vm_config_add_fs(&cfg, &(struct vm_fs_cfg){.tag = "isola-fs0", .path = tmpl}, "fs", &e);
	vm_config_add_fs(&cfg, &(struct vm_fs_cfg){.tag = "ro", .path = tmpl, .readonly = true},
			 "fs", &e);
	snap_writer_init(&w);
	is_int(devcfg_save(&cfg, &w, &e), 0, "shares saved");
	ok(reread(&w, &r) == 0, "and parsed");

	vmm_config_init(&out);
	is_int(devcfg_restore(&out, &r, &a, &e), 0, "restored as saved");
	ok(out.n_fs == 2 && !strcmp(out.fs[0].tag, "isola-fs0") && !strcmp(out.fs[0].path, tmpl) &&
	       !out.fs[0].readonly && !strcmp(out.fs[1].tag, "ro") && out.fs[1].readonly,
	   "tags, paths and read-only");
	vmm_config_free(&out);

	snprintf(to, sizeof(to), "isola-fs0=%s,ro", real);
	vmm_remap_add(a.fs, &a.n_fs, VM_MAX_FS, "fs-remap", to, &e);
	snprintf(to2, sizeof(to2), "ro=%s,rw", real);
	vmm_remap_add(a.fs, &a.n_fs, VM_MAX_FS, "fs-remap", to2, &e);
	vmm_config_init(&out);
	is_int(devcfg_restore(&out, &r, &a, &e), 0, "restored with --fs-remap");
	ok(!strcmp(out.fs[0].path, real) && out.fs[0].readonly && !strcmp(out.fs[1].path, real) &&
	       !out.fs[1].readonly,
	   "both shares point at the new directory, ,ro and ,rw applied and stripped");
	vmm_config_free(&out);

	a.n_fs = 0;
	snprintf(to, sizeof(to), "isola-fs0=%s/nowhere", dir);
	vmm_remap_add(a.fs, &a.n_fs, VM_MAX_FS, "fs-remap", to, &e);
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 && strstr(e->msg, "nowhere"),
	   "a missing directory: %s", e ? e->msg : "accepted");
	err_free(&e);
	vmm_config_free(&out);

	a.n_fs = 0;
	vmm_remap_add(a.fs, &a.n_fs, VM_MAX_FS, "fs-remap", "nosuch=/tmp", &e);
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 && strstr(e->msg, "no such share"),
	   "a tag the snapshot lacks: %s", e ? e->msg : "accepted");
	err_free(&e);
	vmm_config_free(&out);

	a.n_fs = 0;
	vmm_remap_add(a.fs, &a.n_fs, VM_MAX_FS, "fs-remap", "ro=,ro", &e);
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 && strstr(e->msg, "--fs-remap"),
	   "an empty directory: %s", e ? e->msg : "accepted");
	err_free(&e);
	vmm_config_free(&out);

	/* A migration must name every share. */
	a = (struct vmm_restore_args){.from_stream = true};
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 && strstr(e->msg, "--fs-remap"),
	   "a stream with shares not accepted: %s", e ? e->msg : "accepted");
	err_free(&e);
	vmm_config_free(&out);
	snap_reader_free(&r);
	vmm_config_free(&cfg);
	rmdir(tmpl);
	rmdir(real);
}

/* A migration stream's device list: every disk, TAP and vsock socket must be accepted. */
static void stream_devcfg(const void *data, size_t len, const char *remap_tap,
			  const char *remap_uds, const char *what, const char *want)
{
	struct vm_config out;
	struct vmm_restore_args a = {.from_stream = true};
	struct snap_writer w;
	struct snap_reader r;
	struct err *e = NULL;
	int ret;

	if (remap_tap)
		vmm_remap_add(a.taps, &a.n_taps, VM_MAX_NETS, "net-remap", remap_tap, &e);
	if (remap_uds)
		vmm_remap_add(a.vsock_uds, &a.n_vsock_uds, 1, "vsock-remap", remap_uds, &e);
	snap_writer_init(&w);
	snap_put(&w, SNAP_DEVCFG, 0, data, len);
	if (reread(&w, &r) < 0)
		return (void)ok(0, "%s: parse", what);
	vmm_config_init(&out);
	ret = devcfg_restore(&out, &r, &a, &e);
	if (!want)
		ok(ret == 0 && (!remap_tap || !strcmp(out.nets[0].tap, "tb")) &&
		       (!remap_uds || !strcmp(out.vsock_uds, "/n/w.sock")),
		   "%s %s", what, e ? e->msg : "");
	else
		ok(ret < 0 && strstr(e->msg, want), "%s: %s", what, e ? e->msg : "accepted");
	err_free(&e);
	vmm_config_free(&out);
	snap_reader_free(&r);
}

static void test_stream_devcfg(void)
{
	static const char net[] = "net\0ta\0net.mac\00002:00:00:00:00:07\0net.bridge\0br0\0";
	static const char vsock[] = "vsock\0/o/v.sock\0vsock.cid\0009\0";
	static const char pci[] = "virtio-transport\0pci\0irqchip\0split\0";

	stream_devcfg(net, sizeof(net) - 1, "ta=tb", NULL, "a NIC accepted by --net-remap", NULL);
	stream_devcfg(net, sizeof(net) - 1, NULL, NULL, "a NIC not accepted", "--net-remap");
	stream_devcfg(net, sizeof(net) - 1, "tb=ta", NULL, "a NIC accepted under another name",
		      "--net-remap");
	stream_devcfg(vsock, sizeof(vsock) - 1, NULL, "/o/v.sock=/n/w.sock",
		      "vsock accepted by --vsock-remap", NULL);
	stream_devcfg(vsock, sizeof(vsock) - 1, NULL, NULL, "vsock not accepted", "--vsock-remap");
	stream_devcfg("vsock.cid\09\0", 12, NULL, "/o/v.sock=/n/w.sock",
		      "a vsock CID before any vsock", "vsock.cid");
	stream_devcfg("net.mac\0t\0", 10, "t=tb", NULL, "a NIC field before any NIC",
		      "before any net");
	stream_devcfg(pci, sizeof(pci) - 1, NULL, NULL, "PCI transport and split irqchip", NULL);
	stream_devcfg("virtio-transport\0isa\0", 21, NULL, NULL, "a bad transport",
		      "virtio-transport `isa`: expected mmio or pci");
	/* The device list's words go through the same table as --irqchip and "irqchip". */
	stream_devcfg("irqchip\0pic\0", 12, NULL, NULL, "a bad irqchip",
		      "irqchip `pic`: expected kernel or split");
}

static void bad_devcfg(const void *data, size_t len, const char *what, const char *want)
{
	struct vm_config out;
	struct vmm_restore_args a = {0};
	struct snap_writer w;
	struct snap_reader r;
	struct err *e = NULL;

	snap_writer_init(&w);
	snap_put(&w, SNAP_DEVCFG, 0, data, len);
	if (reread(&w, &r) < 0)
		return (void)ok(0, "%s: parse", what);
	vmm_config_init(&out);
	ok(devcfg_restore(&out, &r, &a, &e) < 0 && strstr(e->msg, want), "%s: %s", what,
	   e ? e->msg : "accepted");
	err_free(&e);
	vmm_config_free(&out);
	snap_reader_free(&r);
}

/* A bucket from the snapshot is held to the bounds of the command line and the API. */
static void bad_rates(void)
{
	static const char *const bad[] = {
	    "0,0,1000",			/* no size */
	    "1099511627777,0,1000",	/* over VM_MAX_RATE_SIZE */
	    "1,1099511627777,1000",	/* a burst over it */
	    "1,0,0",			/* no refill */
	    "1,0,3600001",		/* over VM_MAX_RATE_REFILL */
	    "1,0",			/* two numbers */
	    "1,0,1,1",			/* four */
	    "1,,1",			/* an empty one */
	    "1,0,1,",			/* a trailing comma */
	    "-1,0,1",			/* a sign */
	    " 1,0,1",			/* a blank */
	    "18446744073709551616,0,1", /* past u64 */
	    "1,0,1000000000000000000000000000000000000000000000000000000000000000000",
	};
	char buf[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = snprintf(buf, sizeof(buf), "disk%c/x%cdisk.bw%c%s", 0, 0, 0, bad[i]);

		bad_devcfg(buf, n + 1, bad[i], "disk.bw");
	}
	bad_devcfg("disk\0/x\0disk.id\0\0", 17, "an empty drive id", "disk.id");
	snprintf(buf, sizeof(buf), "net%ct%cnet.id%c%065d", 0, 0, 0, 0);
	bad_devcfg(buf, 6 + 7 + 65 + 1, "a 65-byte interface id", "net.id");
}

int main(void)
{
	char dir[] = "/tmp/isola-test-snapstate.XXXXXX";

	test_ioapic();
	test_pit();
	if (!mkdtemp(dir))
		return 1;
	test_devcfg(dir);
	test_fs_devcfg(dir);
	rmdir(dir);
	bad_devcfg("disk", 4, "unterminated option", "unterminated");
	bad_devcfg("disk\0/x", 7, "unterminated value", "unterminated");
	bad_devcfg("kernel\0/x\0", 10, "field not a device", "unknown device field");
	bad_devcfg("rng\0x\0", 6, "rng with a value", "unexpected value");
	bad_devcfg("net\0\0", 5, "a NIC without a TAP name", "TAP name");
	bad_devcfg("net\0t\0net.mac\0zz\0", 17, "a bad MAC", "net.mac");
	bad_devcfg("disk\0/x\0disk.color\0red\0", 23, "an unknown disk field", "disk.color");
	/* Literals: sizeof - 1 drops the compiler's NUL, keeping the section's own. */
#define BAD_LIT(lit, what, want) bad_devcfg(lit, sizeof(lit) - 1, what, want)
	BAD_LIT("fs\0t\0", "a share without a path", "no path");
	BAD_LIT("fs.path\0/tmp\0", "a share's path before any share", "before any fs");
	BAD_LIT("fs\0\0", "a share without a tag", "unknown device field");
	BAD_LIT("fs\0t\0fs.path\0\0", "an empty share path", "fs.path");
	BAD_LIT("fs\0t\0fs.path\0/tmp\0fs.readonly\0x\0", "fs.readonly with a value",
		"fs.readonly");
	BAD_LIT("fs\0"
		"0123456789012345678901234567890123456\0fs.path\0/tmp\0",
		"a 37-byte tag", "unknown device field");
#undef BAD_LIT
	bad_rates();
	test_stream_devcfg();
	return tap_done();
}
