/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola vm run --kernel FILE [--initrd FILE] [--cmdline STR] [--cpus N]
 *   [--memory SIZE] [--console stdio|none|FILE] [--disk ..] [--net ..]
 *   [--vsock ..] [--rng] [--balloon] [--config vm.json]
 * The exit code is the guest's: its debug-exit value, 0 on power-off and on a
 * reboot (--on-reboot exit), 120 when the guest panicked (pvpanic), 128 +
 * signal when stopped by SIGINT/SIGTERM, 1 on a VMM or guest fault.
 * --on-reboot restart boots again by re-executing the same command line
 * (/proc/self/cmdline) once the VM is torn down: a fresh process, so no
 * state of the old VM survives; a VM configured through the pre-boot API
 * has no command line to repeat and exits 0 instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "vm-cli.h"
#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "vm.h"

enum {
	OPT_CONFIG = 1,
	OPT_RNG,
	OPT_BALLOON,
	OPT_HUGEPAGES,
	OPT_NO_ACPI,
	OPT_VALUE,
	OPT_SNAP_STATE,
	OPT_SNAP_MEM,
	OPT_API_SOCK,
	OPT_ID,
};

/* cmd-vm-migrate.c */
/* cmd-vm-api.c */

static const struct option run_opts[] = {
    {"kernel", required_argument, NULL, OPT_VALUE},
    {"initrd", required_argument, NULL, OPT_VALUE},
    {"cmdline", required_argument, NULL, OPT_VALUE},
    {"cpus", required_argument, NULL, OPT_VALUE},
    {"memory", required_argument, NULL, OPT_VALUE},
    {"console", required_argument, NULL, OPT_VALUE},
    {"irqchip", required_argument, NULL, OPT_VALUE},
    {"virtio-transport", required_argument, NULL, OPT_VALUE},
    {"disk", required_argument, NULL, OPT_VALUE},
    {"net", required_argument, NULL, OPT_VALUE},
    {"vsock", required_argument, NULL, OPT_VALUE},
    {"rng", no_argument, NULL, OPT_RNG},
    {"balloon", no_argument, NULL, OPT_BALLOON},
    {"hugepages", no_argument, NULL, OPT_HUGEPAGES},
    {"no-acpi", no_argument, NULL, OPT_NO_ACPI},
    {"on-reboot", required_argument, NULL, OPT_VALUE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"snapshot-state", required_argument, NULL, OPT_SNAP_STATE},
    {"snapshot-mem", required_argument, NULL, OPT_SNAP_MEM},
    {"api-sock", required_argument, NULL, OPT_API_SOCK},
    {"id", required_argument, NULL, OPT_ID},
    {"help", no_argument, NULL, 'h'},
    {},
};

static void run_usage(void)
{
	printf(
	    "Usage: isola vm run --kernel FILE [--initrd FILE] [--cmdline STR] [--cpus N]\n"
	    "         [--memory SIZE] [--console stdio|none|FILE]\n"
	    "         [--disk PATH[,ro][,serial=S][,bw=BYTES/S][,iops=N]]\n"
	    "         [--net tap=NAME[,mac=M][,bridge=BR]] [--vsock cid=N,uds=PATH] [--rng] "
	    "[--balloon]\n"
	    "         [--irqchip kernel|split] [--virtio-transport mmio|pci] [--hugepages]\n"
	    "         [--no-acpi] [--on-reboot exit|restart] [--config vm.json]\n"
	    "         [--snapshot-state FILE --snapshot-mem FILE] [--api-sock PATH [--id ID]]\n"
	    "       isola vm restore --state FILE --mem FILE [--console stdio|none|FILE]\n"
	    "       isola vm ls | info VM | pause VM | resume VM | stop ID\n"
	    "       isola vm snapshot VM --state FILE --mem FILE\n"
	    "       isola vm update [--balloon MIB | --memory MIB] [--balloon-stats S] [--show] "
	    "VM\n"
	    "       isola vm migrate VM --to tcp:HOST:PORT|unix:PATH\n"
	    "       isola vm receive --listen tcp:HOST:PORT|unix:PATH [--console ..]\n"
	    "The --config file is read first; options given on the command line override it.\n"
	    "Without --kernel, --api-sock serves the pre-boot API until InstanceStart.\n"
	    "SIGUSR2 to a VM run with --snapshot-state/--snapshot-mem snapshots it; it goes on.\n");
}

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
static int run_configured(struct vm_config *cfg, bool preboot, int *status, struct err **err)
{
	const struct vmm_restore_args *load;
	bool retry;
	int r;

	for (;;) {
		r = preboot ? vmm_api_preboot(cfg, err) : 0;
		load = vmm_api_preboot_load(); /* PUT /snapshot/load restores instead */
		if (r >= 0 && !load)
			r = vmm_config_validate(cfg, err);
		if (r >= 0 && !cfg->snapshot_state != !cfg->snapshot_mem)
			r = err_make(err, 0, "--snapshot-state and --snapshot-mem go together");
		if (r >= 0 && cfg->snapshot_state)
			r = vmm_snapshot_supported(cfg, err);
		/* A console reader that goes away must not kill the VM: drop the output. */
		if (r >= 0)
			signal(SIGPIPE, SIG_IGN);
		if (r >= 0)
			r = load ? vmm_restore_with(cfg, load, status, err)
				 : vmm_run(cfg, status, err);
		if (cfg->api_start_fd < 0)
			return r;
		/* Still unanswered if the VM failed before its API started. */
		retry = preboot && !load && r < 0 && !vmm_api_start_answered(cfg->api_start_fd);
		vmm_api_answer_start(cfg->api_start_fd, r < 0 ? *err : NULL);
		close(cfg->api_start_fd);
		cfg->api_start_fd = -1;
		if (!retry)
			return r;
		log_warn("InstanceStart: %s; the API serves the configuration again", (*err)->msg);
		err_free(err);
	}
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
	execv("/proc/self/exe", args);
	fprintf(stderr, "isola: vm run: restart: exec: %s\n", strerror(errno));
	return 1;
}

static int vm_run(int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	struct vm_rundir rd = {0};
	const char *config = NULL;
	struct vm_config cfg;
	bool preboot = false;
	int c, idx, status = 1, r = 0;

	vmm_config_init(&cfg);
	find_config(argc, argv, &config);
	if (config)
		r = vmm_config_load_json(&cfg, config, &err);
	optind = 0;
	while (r >= 0 && (c = getopt_long_only(argc, argv, "+h", run_opts, &idx)) != -1) {
		if (c == OPT_VALUE)
			r = vmm_config_set(&cfg, run_opts[idx].name, optarg, &err);
		else if (c == OPT_RNG)
			cfg.rng = true;
		else if (c == OPT_BALLOON)
			cfg.balloon = true;
		else if (c == OPT_HUGEPAGES)
			cfg.hugepages = true;
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
		else if (c == 'h')
			return vmm_config_free(&cfg), run_usage(), 0;
		else if (c != OPT_CONFIG)
			return vmm_config_free(&cfg), 1;
	}
	if (r >= 0 && optind < argc)
		r = err_make(&err, 0, "vm run: unexpected argument `%s`", argv[optind]);
	preboot = !cfg.kernel && cfg.api_sock;
	if (r >= 0)
		r = vm_rundir_prepare(&cfg, &rd, &err);
	if (r >= 0)
		r = run_configured(&cfg, preboot, &status, &err);
	if (cfg.api_listen_fd >= 0) {
		/* The pre-boot socket: the running VM's server had its own copy. */
		close(cfg.api_listen_fd);
		unlink(cfg.api_sock);
	}
	vm_rundir_remove(&rd);
	vmm_config_free(&cfg);
	if (r < 0) {
		err_wrap(&err, "vm run");
		return cli_fail(&err);
	}
	if (status == VMM_EXIT_GUEST_PANIC)
		fprintf(stderr, "isola: vm run: guest panicked (pvpanic)\n");
	if (status == VMM_EXIT_REBOOT)
		return preboot ? 0 : reexec_self();
	return status;
}

int cmd_vm(struct cli_globals *g, int argc, char **argv)
{
	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		run_usage();
		return argc < 2;
	}
	if (streq(argv[1], "run"))
		return vm_run(argc - 1, argv + 1);
	if (streq(argv[1], "update"))
		return cmd_vm_update(g, argc - 1, argv + 1);
	if (streq(argv[1], "restore"))
		return cmd_vm_restore(g, argc - 1, argv + 1);
	if (streq(argv[1], "migrate"))
		return cmd_vm_migrate(g, argc - 1, argv + 1);
	if (streq(argv[1], "receive"))
		return cmd_vm_receive(g, argc - 1, argv + 1);
	if (streq(argv[1], "ls") || streq(argv[1], "info") || streq(argv[1], "pause") ||
	    streq(argv[1], "resume") || streq(argv[1], "snapshot") || streq(argv[1], "stop"))
		return cmd_vm_api(g, argc - 1, argv + 1);
	return cli_usage_error("vm",
			       "unknown subcommand `%s`; expected run, restore, ls, info, "
			       "pause, resume, snapshot, update, migrate, receive or stop",
			       argv[1]);
}
