/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The typed configuration setters (src/vmm/config.c) and their three
 * callers' input forms: `--disk` option strings (",," is a comma), the JSON
 * config file, and values built by the API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "vm-config.h"

static int set(struct vm_config *cfg, const char *opt, const char *v, char *msg, size_t cap)
{
	struct err *err = NULL;
	int r = vmm_config_set(cfg, opt, v, &err);

	snprintf(msg, cap, "%s", err ? err->msg : "");
	err_free(&err);
	return r;
}

static void test_cli(void)
{
	struct vm_config cfg;
	char msg[256];

	vmm_config_init(&cfg);
	is_int(set(&cfg, "disk", "/vm/a,,b.img,ro,serial=s1", msg, sizeof(msg)), 0,
	       "--disk with ,,");
	ok(cfg.n_disks == 1 && !strcmp(cfg.disks[0].path, "/vm/a,b.img") && cfg.disks[0].readonly &&
	       !strcmp(cfg.disks[0].serial, "s1"),
	   "the path keeps its comma, the options still parse");
	ok(set(&cfg, "disk", "/vm/x,bogus", msg, sizeof(msg)) < 0 && strstr(msg, "--disk"),
	   "a CLI error names the flag: %s", msg);
	ok(set(&cfg, "memory", "999999M", msg, sizeof(msg)) < 0 && strstr(msg, "--memory"),
	   "memory out of range: %s", msg);
	is_int(set(&cfg, "net", "tap=t0,mac=02:00:00:00:00:01", msg, sizeof(msg)), 0, "--net");
	ok(set(&cfg, "net", "tap=0123456789abcdefg", msg, sizeof(msg)) < 0, "a 17-byte TAP name");
	ok(!cfg.nets[0].no_offload, "offloads on by default");
	is_int(set(&cfg, "net", "tap=t1,offload=off", msg, sizeof(msg)), 0, "--net offload=off");
	ok(cfg.n_nets == 2 && cfg.nets[1].no_offload, "... turns the offloads off");
	ok(set(&cfg, "net", "tap=t2,offload=no", msg, sizeof(msg)) < 0 && strstr(msg, "offload=no"),
	   "offload takes on or off: %s", msg);
	ok(set(&cfg, "vsock", "cid=2,uds=/x", msg, sizeof(msg)) < 0, "CID 2 is the host's");
	vmm_config_free(&cfg);
}

static void test_typed(void)
{
	struct vm_config cfg;
	struct vm_disk_cfg d = {.id = "root", .path = (char *)"/a", .readonly = true};
	struct err *err = NULL;
	int r = 0;

	vmm_config_init(&cfg);
	is_int(vm_config_add_disk(&cfg, &d, "body", &err), 0, "add drive root");
	d.path = (char *)"/b";
	d.readonly = false;
	is_int(vm_config_add_disk(&cfg, &d, "body", &err), 0, "the same id again");
	ok(cfg.n_disks == 1 && !strcmp(cfg.disks[0].path, "/b") && !cfg.disks[0].readonly,
	   "... replaces it");
	for (int i = 0; i < VM_MAX_DISKS && r == 0; i++) {
		snprintf(d.id, sizeof(d.id), "d%d", i);
		r = vm_config_add_disk(&cfg, &d, "body", &err);
	}
	ok(r < 0 && cfg.n_disks == VM_MAX_DISKS && strstr(err->msg, "at most"), "the cap: %s",
	   err ? err->msg : "");
	err_free(&err);
	d.bw.one_time_burst = 5;
	strcpy(d.id, "root");
	ok(vm_config_add_disk(&cfg, &d, "body", &err) < 0, "a burst without a size");
	err_free(&err);
	ok(vm_config_set_memory(&cfg, 1ULL << 50, "body.mem_size_mib", &err) < 0 &&
	       strstr(err->msg, "body.mem_size_mib"),
	   "an API error names the field: %s", err ? err->msg : "");
	err_free(&err);
	vmm_config_free(&cfg);
}

static void test_json(void)
{
	char path[] = "/tmp/isola-test-vm-config-XXXXXX";
	const char *doc = "{\"disks\": [{\"path\": \"/vm/a,b.img\", \"readonly\": true, "
			  "\"rate_limiter\": {\"bandwidth\": {\"size\": 1000}}}], "
			  "\"nets\": [{\"tap\": \"t0\", \"mac\": \"02:00:00:00:00:02\"}, "
			  "{\"tap\": \"t1\", \"offload\": false}]}";
	struct vm_config cfg;
	struct err *err = NULL;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, doc, strlen(doc)) != (ssize_t)strlen(doc)) {
		ok(0, "temp file");
		return;
	}
	close(fd);
	vmm_config_init(&cfg);
	is_int(vmm_config_load_json(&cfg, path, &err), 0, "JSON config with a comma in a path");
	ok(cfg.n_disks == 1 && !strcmp(cfg.disks[0].path, "/vm/a,b.img") &&
	       cfg.disks[0].bw.size == 1000 && cfg.disks[0].bw.refill_ms == 1000,
	   "path, rate limiter (refill defaults to 1 s)");
	ok(cfg.n_nets == 2 && cfg.nets[0].has_mac && cfg.nets[0].mac[5] == 2 &&
	       !cfg.nets[0].no_offload,
	   "net with a MAC");
	ok(cfg.nets[1].no_offload, "net with \"offload\": false");
	err_free(&err);
	vmm_config_free(&cfg);
	unlink(path);
}

/* Numbers reach the typed setters as numbers: errors name the JSON field, not an option. */
static void test_json_numbers(void)
{
	static const struct {
		const char *doc, *want;
		uint64_t memory;
		unsigned cpus;
	} cases[] = {
	    {"{\"cpus\": 3, \"memory\": 96}", NULL, 96ULL << 20, 3},
	    {"{\"memory\": \"1G\"}", NULL, 1ULL << 30, 1},
	    {"{\"cpus\": 0}", "cpus: expected 1..", 0, 0},
	    {"{\"memory\": 99999999999}", "memory: must be between", 0, 0},
	    {"{\"memory\": 1}", "memory: must be between", 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[] = "/tmp/isola-test-vm-config-XXXXXX";
		struct vm_config cfg;
		struct err *err = NULL;
		int fd = mkstemp(path), r;

		if (fd < 0 || write(fd, cases[i].doc, strlen(cases[i].doc)) < 0)
			return (void)ok(0, "temp file");
		close(fd);
		vmm_config_init(&cfg);
		r = vmm_config_load_json(&cfg, path, &err);
		if (cases[i].want)
			ok(r < 0 && strstr(err->msg, cases[i].want) && !strstr(err->msg, "--"),
			   "%s refused: %s", cases[i].doc, err ? err->msg : "accepted");
		else
			ok(r == 0 && cfg.memory == cases[i].memory && cfg.cpus == cases[i].cpus,
			   "%s", cases[i].doc);
		err_free(&err);
		vmm_config_free(&cfg);
		unlink(path);
	}
}

/*
 * The enumerated words go through one table each and a typed setter: the JSON
 * config's errors name its field, the command line's its option, one line each.
 */
static void test_words(void)
{
	static const struct {
		const char *doc, *want;
	} json[] = {
	    {"{\"irqchip\": \"bogus\"}", "irqchip `bogus`: expected kernel or split"},
	    {"{\"virtio-transport\": \"usb\"}", "virtio-transport `usb`: expected mmio or pci"},
	    {"{\"on-reboot\": \"halt\"}", "on-reboot `halt`: expected exit or restart"},
	    {"{\"console\": \"\"}", "console: expected stdio, none or a file"},
	    {"{\"memory\": \"12Q\"}", "memory `12Q`: expected a size"},
	};
	static const struct {
		const char *opt, *v, *want;
	} cli[] = {
	    {"irqchip", "bogus", "--irqchip `bogus`"},
	    {"virtio-transport", "usb", "--virtio-transport `usb`"},
	    {"on-reboot", "halt", "--on-reboot `halt`"},
	    {"console", "", "--console"},
	    {"memory", "12Q", "--memory `12Q`"},
	};
	struct vm_config cfg;
	struct err *err = NULL;
	char msg[256];

	for (size_t i = 0; i < sizeof(json) / sizeof(json[0]); i++) {
		char path[] = "/tmp/isola-test-vm-config-XXXXXX";
		int fd = mkstemp(path), r;

		if (fd < 0 || write(fd, json[i].doc, strlen(json[i].doc)) < 0)
			return (void)ok(0, "temp file");
		close(fd);
		vmm_config_init(&cfg);
		r = vmm_config_load_json(&cfg, path, &err);
		ok(r < 0 && strstr(err->msg, path) && strstr(err->msg, json[i].want) &&
		       !strstr(err->msg, "--") && !strchr(err->msg, '\n'),
		   "JSON %s: %s", json[i].doc, err ? err->msg : "accepted");
		err_free(&err);
		vmm_config_free(&cfg);
		unlink(path);
	}
	for (size_t i = 0; i < sizeof(cli) / sizeof(cli[0]); i++) {
		vmm_config_init(&cfg);
		ok(set(&cfg, cli[i].opt, cli[i].v, msg, sizeof(msg)) < 0 &&
		       strstr(msg, cli[i].want),
		   "--%s `%s`: %s", cli[i].opt, cli[i].v, msg);
		vmm_config_free(&cfg);
	}
	vmm_config_init(&cfg);
	ok(vm_config_set_irqchip(&cfg, VM_IRQCHIP_SPLIT, "x", &err) == 0 && cfg.split_irqchip,
	   "vm_config_set_irqchip split");
	ok(vm_config_set_irqchip(&cfg, (enum vm_irqchip)7, "body.irqchip", &err) < 0 &&
	       strstr(err->msg, "body.irqchip"),
	   "an out-of-range model is refused, naming the field");
	err_free(&err);
	ok(vm_config_set_transport(&cfg, VM_TRANSPORT_PCI, "x", &err) == 0 && cfg.virtio_pci,
	   "vm_config_set_transport pci");
	ok(vm_config_set_on_reboot(&cfg, VM_REBOOT_RESTART, "x", &err) == 0 &&
	       cfg.on_reboot == VM_REBOOT_RESTART,
	   "vm_config_set_on_reboot restart");
	ok(vm_config_set_console(&cfg, VM_CONSOLE_FILE, NULL, "console", &err) < 0,
	   "a console file needs a path");
	err_free(&err);
	ok(vm_config_set_console(&cfg, VM_CONSOLE_FILE, "/tmp/c", "console", &err) == 0 &&
	       cfg.console == VM_CONSOLE_FILE && !strcmp(cfg.console_path, "/tmp/c"),
	   "console file");
	vmm_config_free(&cfg);
}

/* json_err DOC: load DOC as a JSON config; the error message, or "" (static buffer). */
static const char *json_err(const char *doc, struct vm_config *cfg)
{
	static char msg[256];
	char path[] = "/tmp/isola-test-vm-config-XXXXXX";
	struct err *err = NULL;
	int fd = mkstemp(path);

	msg[0] = 0;
	if (fd < 0 || write(fd, doc, strlen(doc)) < 0)
		return "temp file";
	close(fd);
	if (vmm_config_load_json(cfg, path, &err) < 0)
		snprintf(msg, sizeof(msg), "%s", err->msg);
	err_free(&err);
	unlink(path);
	return msg;
}

/*
 * The machine's one typed setter: the command line, the JSON config and
 * PUT /machine-config give the same errors, each naming its own field.
 */
static void test_machine(void)
{
	static const char *const want = "expected 1..64 vCPUs";
	struct vm_machine_cfg m = {.has_cpus = true, .cpus = 65};
	struct vm_config cfg;
	struct err *err = NULL;
	char msg[256];
	int r;

	vmm_config_init(&cfg);
	ok(set(&cfg, "cpus", "65", msg, sizeof(msg)) < 0 && strstr(msg, "--cpus `65`: ") &&
	       strstr(msg, want),
	   "CLI: %s", msg);
	ok(strstr(json_err("{\"cpus\": 65}", &cfg), "cpus: expected 1..64 vCPUs") != NULL,
	   "JSON: %s", json_err("{\"cpus\": 65}", &cfg));
	r = vm_config_set_machine(&cfg, &m, &vm_machine_api, &err);
	ok(r < 0 && strstr(err->msg, "body.vcpu_count: expected 1..64 vCPUs"), "API: %s",
	   err ? err->msg : "accepted");
	err_free(&err);

	/* All or nothing: a bad memory size leaves the vCPU count as it was. */
	is_int(set(&cfg, "cpus", "2", msg, sizeof(msg)), 0, "--cpus 2");
	m = (struct vm_machine_cfg){.has_cpus = true, .cpus = 4, .has_memory = true, .memory = 1};
	r = vm_config_set_machine(&cfg, &m, &vm_machine_api, &err);
	ok(r < 0 && strstr(err->msg, "body.mem_size_mib: must be between") && cfg.cpus == 2,
	   "a bad mem_size_mib changes nothing: %s", err ? err->msg : "accepted");
	err_free(&err);
	ok(set(&cfg, "memory", "1M", msg, sizeof(msg)) < 0 && strstr(msg, "--memory `1M`: must be"),
	   "CLI memory: %s", msg);
	ok(strstr(json_err("{\"memory\": 1}", &cfg), "memory: must be between") != NULL,
	   "JSON memory");

	m = (struct vm_machine_cfg){.has_cpus = true, .cpus = 3, .has_smt = true, .smt = true};
	r = vm_config_set_machine(&cfg, &m, &vm_machine_api, &err);
	ok(r < 0 && strstr(err->msg, "body.smt: true is not supported") && cfg.cpus == 2, "smt: %s",
	   err ? err->msg : "accepted");
	err_free(&err);
	/* Firecracker's clients send track_dirty_pages true before a Diff snapshot. */
	m = (struct vm_machine_cfg){.has_track_dirty_pages = true, .track_dirty_pages = true};
	r = vm_config_set_machine(&cfg, &m, &vm_machine_api, &err);
	ok(r == 0 && cfg.track_dirty_pages && cfg.cpus == 2, "track_dirty_pages true: %s",
	   err ? err->msg : "accepted");
	err_free(&err);
	m = (struct vm_machine_cfg){
	    .has_track_dirty_pages = true, .track_dirty_pages = true, .has_smt = true, .smt = true};
	cfg.track_dirty_pages = false;
	r = vm_config_set_machine(&cfg, &m, &vm_machine_api, &err);
	ok(r < 0 && !cfg.track_dirty_pages, "track_dirty_pages with a refused smt changes nothing");
	err_free(&err);

	m = (struct vm_machine_cfg){
	    .has_memory = true, .memory = 96ULL << 20, .has_hugepages = true, .hugepages = true};
	ok(vm_config_set_machine(&cfg, &m, &vm_machine_api, &err) == 0 && cfg.hugepages &&
	       cfg.memory == 96ULL << 20 && cfg.memory_given && cfg.cpus == 2,
	   "memory and huge pages set, the vCPUs kept");
	ok(!strcmp(json_err("{\"hugepages\": false, \"cpus\": 5}", &cfg), "") && !cfg.hugepages &&
	       cfg.cpus == 5,
	   "JSON hugepages and cpus");
	vmm_config_free(&cfg);
}

int main(void)
{
	test_cli();
	test_typed();
	test_json();
	test_json_numbers();
	test_words();
	test_machine();
	return tap_done();
}
