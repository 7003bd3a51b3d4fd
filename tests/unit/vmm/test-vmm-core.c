/* SPDX-License-Identifier: GPL-2.0-or-later */
/* guest_mem_ptr, the bus, e820, initrd placement, the MP table and the config parsers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "bus.h"
#include "tap.h"
#include "vm-config.h"
#include "vm-internal.h"

static void test_guest_mem(void)
{
	static uint8_t a[4096], b[4096];
	struct guest_mem m = {.regions = {{0, sizeof(a), a}, {1ULL << 32, sizeof(b), b}}, .nr = 2};

	ok(guest_mem_ptr(&m, 0, 4096) == a, "whole first region");
	ok(guest_mem_ptr(&m, 4095, 1) == a + 4095, "last byte");
	ok(!guest_mem_ptr(&m, 4095, 2), "crossing the end");
	ok(!guest_mem_ptr(&m, 4096, 1), "the gap");
	ok(guest_mem_ptr(&m, (1ULL << 32) + 8, 8) == b + 8, "second region");
	ok(!guest_mem_ptr(&m, 8, UINT64_MAX), "length overflow");
	ok(!guest_mem_ptr(&m, UINT64_MAX, 2), "address overflow");
	ok(guest_mem_ptr(&m, 0, 0) == a, "empty range inside");
}

static uint64_t last_off;
static uint32_t last_val;

static void dev_read(void *o, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0x5a, len);
	last_off = off;
}

static void dev_write(void *o, uint64_t off, const void *data, uint32_t len)
{
	last_off = off;
	memcpy(&last_val, data, len < 4 ? len : 4);
}

static void test_bus(void)
{
	static const struct bus_dev_ops ops = {dev_read, dev_write};
	struct err *err = NULL;
	struct bus bus = {0};
	uint32_t v = 0;

	ok(bus_register(&bus, 0x3f8, 8, &ops, NULL, &err) == 0, "register");
	ok(bus_register(&bus, 0x3fc, 8, &ops, NULL, &err) == -EBUSY, "overlap refused");
	err_free(&err);
	ok(bus_register(&bus, UINT64_MAX - 2, 8, &ops, NULL, &err) < 0, "wrapping range refused");
	err_free(&err);
	ok(bus_register(&bus, 0x400, 0, &ops, NULL, &err) < 0, "empty range refused");
	err_free(&err);
	v = 0x41;
	ok(bus_access(&bus, 0x3f9, &v, 1, true) && last_off == 1 && last_val == 0x41, "write");
	ok(bus_access(&bus, 0x3ff, &v, 1, false) && last_off == 7 && (v & 0xff) == 0x5a, "read");
	ok(!bus_access(&bus, 0x3ff, &v, 2, false), "access crossing the end is unmapped");
	v = 0;
	ok(!bus_access(&bus, 0x80, &v, 4, false) && v == 0xffffffff, "unmapped read is all ones");
}

static void test_e820_initrd(void)
{
	struct guest_mem m = {.regions = {{0, 64 << 20, NULL}}, .nr = 1};
	struct e820_entry e[E820_MAX_ENTRIES];
	struct err *err = NULL;
	uint64_t at = 0;
	unsigned n = e820_build(&m, e);

	is_int(n, 3, "three e820 entries");
	ok(e[0].addr == 0 && e[0].size == VM_MPTABLE_ADDR && e[0].type == E820_RAM, "low RAM");
	ok(e[1].type == E820_RESERVED, "EBDA reserved");
	ok(e[2].addr == 1 << 20 && e[2].addr + e[2].size == 64 << 20, "RAM from 1 MiB to the top");
	m.regions[1] = (struct guest_mem_region){1ULL << 32, 1 << 30, NULL};
	m.nr = 2;
	n = e820_build(&m, e);
	ok(n == 4 && e[3].addr == 1ULL << 32, "high RAM above 4 GiB");

	ok(boot_place_initrd(10000, 16 << 20, 64 << 20, 0x7fffffff, &at, &err) == 0, "initrd fits");
	ok(at % 4096 == 0 && at + 10000 <= 64 << 20 && at >= 16 << 20, "page aligned, below top");
	ok(boot_place_initrd(10000, 1 << 20, 64 << 20, (32 << 20) - 1, &at, &err) == 0 &&
	       at + 10000 <= 32 << 20,
	   "below initrd_addr_max");
	ok(boot_place_initrd(60 << 20, 16 << 20, 64 << 20, 0x7fffffff, &at, &err) == -ENOSPC,
	   "initrd overlapping the kernel refused");
	err_free(&err);
	ok(boot_place_initrd(UINT64_MAX, 0, 64 << 20, UINT64_MAX - 1, &at, &err) == -ENOSPC,
	   "huge initrd refused");
	err_free(&err);
}

static void test_mptable(void)
{
	uint8_t *ram = calloc(1, 1 << 20);
	struct guest_mem m = {.regions = {{0, 1 << 20, ram}}, .nr = 1};
	struct err *err = NULL;
	uint8_t sum = 0;
	uint32_t ptr;
	uint16_t len;

	ok(mptable_write(NULL, &m, 4, &err) == 0, "MP table for 4 vCPUs");
	ok(!memcmp(ram + VM_EBDA_ADDR, "_MP_", 4), "floating pointer signature");
	for (int i = 0; i < 16; i++)
		sum += ram[VM_EBDA_ADDR + i];
	is_int(sum, 0, "floating pointer checksum");
	memcpy(&ptr, ram + VM_EBDA_ADDR + 4, 4);
	ok(!memcmp(ram + ptr, "PCMP", 4), "config table signature");
	memcpy(&len, ram + ptr + 4, 2);
	sum = 0;
	for (unsigned i = 0; i < len; i++)
		sum += ram[ptr + i];
	is_int(sum, 0, "config table checksum");
	ok(ram[ptr + 44] == 0 && ram[ptr + 44 + 3] == 3 && ram[ptr + 64 + 1] == 1,
	   "BSP then APs, each enabled");
	ok(mptable_write(NULL, &m, 64, &err) == 0, "MP table for 64 vCPUs (the --cpus cap) fits");
	ok(mptable_write(NULL, &m, 1000, &err) < 0, "too many vCPUs for the EBDA refused");
	err_free(&err);
	free(ram);
}

static void test_config(void)
{
	struct vm_config c;
	struct err *err = NULL;

	vmm_config_init(&c);
	ok(vmm_config_set(&c, "memory", "128", &err) == 0 && c.memory == 128 << 20, "MiB number");
	ok(vmm_config_set(&c, "memory", "1G", &err) == 0 && c.memory == 1 << 30, "size suffix");
	ok(vmm_config_set(&c, "memory", "1M", &err) < 0 && strstr(err->msg, "--memory"),
	   "too little memory: %s", err ? err->msg : "");
	err_free(&err);
	ok(vmm_config_set(&c, "memory", "99999999999", &err) < 0, "too much memory");
	err_free(&err);
	ok(vmm_config_set(&c, "cpus", "0", &err) < 0, "0 vCPUs");
	err_free(&err);
	ok(vmm_config_set(&c, "cpus", "65", &err) < 0, "65 vCPUs");
	err_free(&err);
	ok(vmm_config_set(&c, "disk", "/x.img,ro,serial=abc", &err) == 0 && c.n_disks == 1 &&
	       c.disks[0].readonly && !strcmp(c.disks[0].serial, "abc"),
	   "--disk options");
	ok(vmm_config_set(&c, "disk", "/x.img,bogus", &err) < 0, "--disk unknown option");
	err_free(&err);
	ok(vmm_config_set(&c, "net", "tap=tap0,mac=02:00:00:00:00:01", &err) == 0 &&
	       c.nets[0].has_mac && c.nets[0].mac[5] == 1,
	   "--net tap and mac");
	ok(vmm_config_set(&c, "net", "tap=tap0,mac=02:00:00:00:00", &err) < 0, "--net bad mac");
	err_free(&err);
	ok(vmm_config_set(&c, "vsock", "cid=3,uds=/tmp/v.sock", &err) == 0 && c.vsock_cid == 3,
	   "--vsock");
	ok(vmm_config_set(&c, "vsock", "cid=2,uds=/tmp/v.sock", &err) < 0, "--vsock cid 2");
	err_free(&err);
	for (int i = 1; i < VM_MAX_DISKS; i++)
		vmm_config_set(&c, "disk", "/y", &err);
	ok(vmm_config_set(&c, "disk", "/z", &err) < 0, "disk count capped");
	err_free(&err);
	vmm_config_free(&c);
}

static int json_case(const char *text, const char *want)
{
	char path[] = "/tmp/isola-test-vmcfg.XXXXXX";
	int fd = mkstemp(path), r;
	struct vm_config c;
	struct err *err = NULL;

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		return 0;
	close(fd);
	vmm_config_init(&c);
	r = vmm_config_load_json(&c, path, &err);
	unlink(path);
	if (want)
		r = r < 0 && strstr(err->msg, want) && strstr(err->msg, "isola-test-vmcfg");
	else
		r = r == 0 && c.cpus == 2 && c.memory == 32 << 20 && c.n_disks == 1 && c.rng;
	if (err)
		printf("# %s\n", err->msg);
	err_free(&err);
	vmm_config_free(&c);
	return r;
}

static void test_json(void)
{
	ok(json_case("{\"kernel\":\"k\",\"cpus\":2,\"memory\":32,\"disks\":[{\"path\":\"/d\","
		     "\"readonly\":true}],\"rng\":true,\"balloon\":{}}",
		     NULL),
	   "good config");
	ok(json_case("{\"kernel\":\"k\",\"cpu\":2}", "cpu: unknown field"), "unknown field");
	ok(json_case("{\"disks\":[{\"path\":\"/d\",\"ro\":true}]}", "disks[0].ro"),
	   "unknown disk field");
	ok(json_case("{\"cpus\":\"two\"}", "cpus"), "wrong type");
	ok(json_case("{\"memory\":1}", "memory: must be between"), "memory too small");
	ok(json_case("[1]", "expected a JSON object"), "not an object");
	ok(json_case("{\"kernel\":", "line"), "syntax error with position");
	ok(json_case("{\"irqchip\":\"pic\"}", ": irqchip `pic`: expected kernel or split"),
	   "bad irqchip: the JSON field is named, not the option");
	ok(json_case("{\"hugepages\":1}", "hugepages: expected"), "hugepages not a bool");
}

/* The fields docs/vmm.md lists beside the options: irqchip and hugepages. */
static void test_json_irqchip_hugepages(void)
{
	static const char text[] = "{\"kernel\":\"k\",\"memory\":64,\"irqchip\":\"split\","
				   "\"hugepages\":true}";
	char path[] = "/tmp/isola-test-vmcfg.XXXXXX";
	int fd = mkstemp(path), r = -1;
	struct vm_config c;
	struct err *err = NULL;

	vmm_config_init(&c);
	if (fd >= 0 && write(fd, text, sizeof(text) - 1) == sizeof(text) - 1)
		r = vmm_config_load_json(&c, path, &err);
	if (fd >= 0)
		close(fd);
	unlink(path);
	ok(r == 0 && c.split_irqchip && c.hugepages, "irqchip and hugepages from JSON: %s",
	   err ? err->msg : "ok");
	err_free(&err);
	vmm_config_free(&c);
}

int main(void)
{
	test_guest_mem();
	test_bus();
	test_e820_initrd();
	test_mptable();
	test_config();
	test_json();
	test_json_irqchip_hugepages();
	return tap_done();
}
