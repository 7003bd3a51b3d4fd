/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola vm SUBCOMMAND: the table of subcommands, and vm run's options
 * (cmd_vm_run_opts: `isola vm run --help`).
 * The exit code of vm run is the guest's: its debug-exit value, 0 on power-off and on a
 * reboot (--on-reboot exit), 120 when the guest panicked (pvpanic), 128 + signal when
 * stopped by SIGINT/SIGTERM, 1 on a VMM or guest fault.
 * --on-reboot restart boots again by re-executing the same command line
 * (/proc/self/cmdline) once the VM is torn down: a fresh process, so no state of the
 * old VM survives; a VM configured through the pre-boot API has no command line to
 * repeat and exits 0 instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "vm-cli.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"
#include "log.h"
#include "vm.h"

/* Keys below VALUE_OPTS are vm.json fields, set by name (vmm_config_set). */
enum {
	VALUE_OPTS = CLI_LONG(20),
	OPT_RNG,
	OPT_BALLOON,
	OPT_HUGEPAGES,
	OPT_NO_ACPI,
	OPT_CONFIG,
	OPT_SNAP_STATE,
	OPT_SNAP_MEM,
	OPT_API_SOCK,
	OPT_ID,
};

/* clang-format off */
const struct cli_opt cmd_vm_run_opts[] = {
	{"kernel", CLI_LONG(1), "FILE", "the guest kernel (bzImage or vmlinux)"},
	{"initrd", CLI_LONG(2), "FILE", "an initramfs"},
	{"cmdline", CLI_LONG(3), "STR", "the kernel command line"},
	{"cpus", CLI_LONG(4), "N", "vCPUs"},
	{"memory", CLI_LONG(5), "SIZE", "guest memory (e.g. 256M)"},
	{"console", CLI_LONG(6), "stdio|none|FILE", "where the serial console goes"},
	{"irqchip", CLI_LONG(7), "kernel|split", "the interrupt controller model"},
	{"virtio-transport", CLI_LONG(8), "mmio|pci", "how virtio devices attach"},
	{"disk", CLI_LONG(9), "PATH[,ro][,serial=S][,bw=BYTES/S][,iops=N]", "a virtio-blk disk (repeatable)"},
	{"net", CLI_LONG(10), "tap=NAME[,mac=M][,bridge=BR][,offload=off]",
	 "a virtio-net device on a tap (repeatable); offload=off offers no CSUM/TSO"},
	{"vsock", CLI_LONG(11), "cid=N,uds=PATH", "a virtio-vsock device, host side on a unix socket"},
	{"fs", CLI_LONG(15), "tag=TAG,path=DIR[,ro]",
	 "share a host directory over virtio-fs (repeatable; the guest mounts -t virtiofs TAG)"},
	{"rng", OPT_RNG, NULL, "a virtio-rng device"},
	{"balloon", OPT_BALLOON, NULL, "a virtio-balloon device (vm update resizes it)"},
	{"hugepages", OPT_HUGEPAGES, NULL, "back guest memory with huge pages"},
	{"no-acpi", OPT_NO_ACPI, NULL, "no ACPI tables (the guest finds its CPUs in the MP table)"},
	{"on-reboot", CLI_LONG(12), "exit|restart", "what a guest reboot does (default exit, status 0)"},
	{"kernel-unpack", CLI_LONG(13), "auto|vmm|guest",
	 "who decompresses a bzImage's kernel (auto: isola for xz/gzip/zstd, cached; guest keeps KASLR)"},
	{"initrd-unpack", CLI_LONG(14), "auto|vmm|guest",
	 "who decompresses a gzip/xz/zstd initramfs (auto: isola, cached; the guest gets the cpio)"},
	{"config", OPT_CONFIG, "FILE", "a vm.json, read first; options given here override it"},
	{"snapshot-state", OPT_SNAP_STATE, "FILE", "with --snapshot-mem: SIGUSR2 snapshots the VM here; it goes on"},
	{"snapshot-mem", OPT_SNAP_MEM, "FILE", "the guest memory file of that snapshot"},
	{"api-sock", OPT_API_SOCK, "PATH", "serve the API here (without --kernel: the pre-boot API until InstanceStart)"},
	{"id", OPT_ID, "ID", "a name for vm ls, info, stop (its socket goes under the run directory)"},
	{},
};
/* clang-format on */

static int find_config(int argc, char **argv, const char **ret)
{
	/* --config is applied before the other options whatever its position. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		a += a[0] == '-' && a[1] == '-';
		if (streq(a, "-config") && i + 1 < argc)
			*ret = argv[i + 1];
		else if (!strncmp(a, "-config=", 8))
			*ret = a + 8;
	}
	return 0;
}

/*
 * Boot cfg, or the snapshot that PUT /snapshot/load asked for.  With the
 * pre-boot API, a VM that fails to start answers InstanceStart with the
 * reason and the API serves its configuration again (Firecracker's VMM
 * stays up too); the caller may correct it and start again.
 */
static int run_configured(struct vm_config *cfg, void *arg, int *status, struct err **err)
{
	bool preboot = *(bool *)arg;
	struct vmm_preboot_load pl = {0};
	const struct vmm_restore_args *load;
	struct vmm_launch launch;
	bool retry;
	int r;

	vmm_launch_init(&launch);
	for (;;) {
		r = preboot ? vmm_api_preboot(cfg, &launch, &pl, err) : 0;
		load = pl.requested ? &pl.a : NULL; /* PUT /snapshot/load restores instead */
		if (r >= 0 && !load)
			r = vmm_config_validate(cfg, err);
		if (r >= 0 && !cfg->snapshot_state != !cfg->snapshot_mem)
			r = err_make(err, 0, "--snapshot-state and --snapshot-mem go together");
		if (r >= 0)
			r = load ? vmm_restore_with(cfg, &launch, load, status, err)
				 : vmm_run(cfg, &launch, status, err);
		if (launch.api_start_fd < 0)
			break;
		/* Still unanswered if the VM failed before its API started. */
		retry = preboot && !load && r < 0 && !vmm_api_start_answered(launch.api_start_fd);
		vmm_api_answer_start(launch.api_start_fd, r < 0 ? *err : NULL);
		close(launch.api_start_fd);
		launch.api_start_fd = -1;
		if (!retry)
			break;
		log_warn("InstanceStart: %s; the API serves the configuration again", (*err)->msg);
		err_free(err);
	}
	vmm_preboot_load_clear(&pl);
	if (launch.api_listen_fd >= 0) /* the pre-boot socket: the VM's server had its own copy */
		unlink(cfg->api_sock);
	vmm_launch_fini(&launch);
	return r;
}

#define MAX_CMDLINE_FILE (256 * 1024)
#define MAX_REEXEC_ARGS	 4096

/* --on-reboot restart: run this same command line again in this process's place. */
static int reexec_self(void)
{
	_cleanup_close_ int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	static char buf[MAX_CMDLINE_FILE];
	static char *args[MAX_REEXEC_ARGS + 1];
	size_t len = 0, n = 0;
	ssize_t got;

	while (fd >= 0 && len < sizeof(buf) - 1 &&
	       (got = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += got;
	if (fd < 0 || len == 0 || len >= sizeof(buf) - 1) {
		fprintf(stderr, "isola: vm run: restart: cannot read /proc/self/cmdline\n");
		return 1;
	}
	buf[len] = 0;
	for (size_t i = 0; i < len && n < MAX_REEXEC_ARGS; i += strlen(buf + i) + 1)
		args[n++] = buf + i;
	args[n] = NULL;
	setenv(VM_RESTART_ENV, "1", 1);
	execv("/proc/self/exe", args);
	fprintf(stderr, "isola: vm run: restart: exec: %s\n", strerror(errno));
	return 1;
}

/* The vm.json field a value option sets: its long name. */
static const char *value_opt_name(int key)
{
	for (const struct cli_opt *o = cmd_vm_run_opts; o->name; o++)
		if (o->key == key)
			return o->name;
	return "";
}

int cmd_vm_run(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	const char *config = NULL;
	struct vm_config cfg;
	struct cli_parser p;
	bool preboot = false;
	struct vm_start how = {"vm run", run_configured, &preboot};
	int c = 0, status, r = 0;

	vmm_config_init(&cfg);
	find_config(argc, argv, &config);
	if (config)
		r = vmm_config_load_json(&cfg, config, &err);
	cli_parser_init(&p, argv[0], cmd_vm_run_opts);
	while (r >= 0 && (c = cli_parse(&p, argc, argv)) > 0) {
		if (c < VALUE_OPTS)
			r = vmm_config_set(&cfg, value_opt_name(c), optarg, &err);
		else if (c == OPT_RNG)
			cfg.rng = true;
		else if (c == OPT_BALLOON)
			cfg.balloon = true;
		else if (c == OPT_HUGEPAGES)
			r = vm_config_set_machine(
			    &cfg,
			    &(struct vm_machine_cfg){.has_hugepages = true, .hugepages = true},
			    &vm_machine_cli, &err);
		else if (c == OPT_NO_ACPI)
			cfg.no_acpi = true;
		else if (c == OPT_SNAP_STATE)
			cfg.snapshot_state = optarg;
		else if (c == OPT_SNAP_MEM)
			cfg.snapshot_mem = optarg;
		else if (c == OPT_API_SOCK)
			cfg.api_sock = optarg;
		else if (c == OPT_ID)
			cfg.api_id = optarg;
	}
	if (c < 0)
		return vmm_config_free(&cfg), p.exit_code;
	if (r >= 0 && optind < argc)
		r = err_make(&err, 0, "vm run: unexpected argument `%s`", argv[optind]);
	/* An API can start a keyed migration (libcrypto): such a VMM runs in isola-dl. */
	if ((cfg.api_sock || cfg.api_id) && (status = cli_run_dynamic(g)))
		return vmm_config_free(&cfg), status;
	preboot = !cfg.kernel && cfg.api_sock;
	status = vm_cli_start(&cfg, r, &err, &how);
	if (status == VMM_EXIT_REBOOT)
		return preboot ? 0 : reexec_self();
	return status;
}

extern const struct cli_opt cmd_vm_restore_opts[], cmd_vm_update_opts[], cmd_vm_snapshot_opts[],
    cmd_vm_migrate_opts[], cmd_vm_receive_opts[], cmd_vm_rebase_snap_opts[];

/*
 * Full names ("vm run"): the parsers get them as argv[0], so --help finds the entry here
 * (cli_find_command) and errors say `isola vm run --help`.
 */
/* clang-format off */
const struct cli_command cli_vm_subcommands[] = {
	{"vm run", cmd_vm_run, "boot a micro-VM; the exit code is the guest's", "", cmd_vm_run_opts},
	{"vm restore", cmd_vm_restore, "resume a VM from a snapshot", "", cmd_vm_restore_opts},
	{"vm ls", cmd_vm_api, "list the VMs started with --id or --api-sock", ""},
	{"vm info", cmd_vm_api, "print a VM's configuration and state as JSON", "VM"},
	{"vm pause", cmd_vm_api, "pause a VM's vCPUs", "VM"},
	{"vm resume", cmd_vm_api, "resume a paused VM", "VM"},
	{"vm stop", cmd_vm_api, "stop a VM (TERM to its VMM)", "VM"},
	{"vm snapshot", cmd_vm_api, "write a running VM's snapshot", "VM", cmd_vm_snapshot_opts},
	{"vm rebase-snap", cmd_vm_rebase_snap, "copy a Diff snapshot's memory onto its base", "", cmd_vm_rebase_snap_opts},
	{"vm update", cmd_vm_update, "resize a VM's balloon or show its statistics", "VM", cmd_vm_update_opts},
	{"vm migrate", cmd_vm_migrate, "send a running VM to a vm receive", "VM", cmd_vm_migrate_opts},
	{"vm receive", cmd_vm_receive, "wait for a migrated VM and run it", "", cmd_vm_receive_opts},
	{},
};
/* clang-format on */

int cmd_vm(struct cli_globals *g, int argc, char **argv)
{
	return cli_dispatch_sub(g, argc, argv, "vm", cli_vm_subcommands);
}
