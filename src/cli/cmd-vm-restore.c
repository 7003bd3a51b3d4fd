/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola vm restore --state FILE --mem FILE [--console stdio|none|FILE]
 *   [--api-sock PATH [--id ID]]
 *   [--disk-remap OLD=NEW]... [--net-remap OLDTAP=NEWTAP]... [--vsock-remap OLD=NEW]
 *   [--fs-remap TAG=DIR[,ro|,rw]]...
 * Runs the VM a snapshot describes from where it was taken, with the
 * devices it had (disk paths and TAP names as saved, or remapped); the exit
 * code is the guest's, as for `isola vm run`.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>

#include "commands.h"
#include "vm-cli.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"
#include "vm.h"

enum {
	OPT_STATE = CLI_LONG(1),
	OPT_MEM,
	OPT_CONSOLE,
	OPT_DISK_REMAP,
	OPT_TAP_REMAP,
	OPT_API_SOCK,
	OPT_ID,
	OPT_VSOCK_REMAP,
	OPT_FS_REMAP
};

/* clang-format off */
const struct cli_opt cmd_vm_restore_opts[] = {
	{"state", OPT_STATE, "FILE", "the snapshot's state file (required)"},
	{"mem", OPT_MEM, "FILE", "the snapshot's guest memory file (required)"},
	{"console", OPT_CONSOLE, "stdio|none|FILE", "where the serial console goes"},
	{"disk-remap", OPT_DISK_REMAP, "OLD=NEW", "open disk NEW where the snapshot had OLD (repeatable)"},
	{"net-remap", OPT_TAP_REMAP, "OLDTAP=NEWTAP", "attach tap NEWTAP where the snapshot had OLDTAP (repeatable)"},
	{"tap-remap", OPT_TAP_REMAP, "OLDTAP=NEWTAP", "the same as --net-remap"},
	{"vsock-remap", OPT_VSOCK_REMAP, "OLD=NEW", "bind the vsock device's socket at NEW where the snapshot had OLD (its connections are reset)"},
	{"fs-remap", OPT_FS_REMAP, "TAG=DIR[,ro|,rw]", "share DIR as TAG, a share no guest driver has taken yet (repeatable)"},
	{"api-sock", OPT_API_SOCK, "PATH", "serve the API here"},
	{"id", OPT_ID, "ID", "a name for vm ls, info, stop"},
	{},
};
/* clang-format on */

static int restore(struct vm_config *cfg, void *arg, int *ret_status, struct err **err)
{
	return vmm_restore_with(cfg, NULL, arg, ret_status, err);
}

int cmd_vm_restore(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	struct vmm_restore_args a = {0};
	struct vm_start how = {"vm restore", restore, &a};
	struct vm_config cfg;
	struct cli_parser p;
	int c, r = 0;

	vmm_config_init(&cfg);
	cli_parser_init(&p, argv[0], cmd_vm_restore_opts);
	while (r >= 0 && (c = cli_parse(&p, argc, argv)) > 0) {
		if (c == OPT_STATE)
			a.state_path = optarg;
		else if (c == OPT_MEM)
			a.mem_path = optarg;
		else if (c == OPT_CONSOLE)
			r = vmm_config_set(&cfg, "console", optarg, &err);
		else if (c == OPT_DISK_REMAP)
			r = vmm_remap_add(a.disks, &a.n_disks, VM_MAX_DISKS, "disk-remap", optarg,
					  &err);
		else if (c == OPT_TAP_REMAP)
			r = vmm_remap_add(a.taps, &a.n_taps, VM_MAX_NETS, "net-remap", optarg,
					  &err);
		else if (c == OPT_VSOCK_REMAP)
			r = vmm_remap_add(a.vsock_uds, &a.n_vsock_uds, 1, "vsock-remap", optarg,
					  &err);
		else if (c == OPT_FS_REMAP)
			r = vmm_remap_add(a.fs, &a.n_fs, VM_MAX_FS, "fs-remap", optarg, &err);
		else if (c == OPT_API_SOCK)
			cfg.api_sock = optarg;
		else if (c == OPT_ID)
			cfg.api_id = optarg;
	}
	if (c < 0)
		return vmm_config_free(&cfg), p.exit_code;
	if (r >= 0 && optind < argc)
		r = err_make(&err, 0, "unexpected argument `%s`", argv[optind]);
	if (r >= 0 && (!a.state_path || !a.mem_path))
		r = err_make(&err, 0, "--state and --mem are required");
	/* An API can start a keyed migration (libcrypto): such a VMM runs in isola-dl. */
	if ((cfg.api_sock || cfg.api_id) && (c = cli_run_dynamic(g)))
		return vmm_config_free(&cfg), c;
	return vm_cli_start(&cfg, r, &err, &how);
}

/* clang-format off */
const struct cli_opt cmd_vm_rebase_snap_opts[] = {
	{"base-file", CLI_LONG(1), "FILE", "a Full (or already rebased) memory file, updated in place (required)"},
	{"diff-file", CLI_LONG(2), "FILE", "the next Diff snapshot's memory file (required)"},
	{},
};
/* clang-format on */

/*
 * isola vm rebase-snap --base-file BASE --diff-file DIFF: Firecracker's
 * rebase-snap, so that BASE with the Diff's state file restores the chain.
 */
int cmd_vm_rebase_snap(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	const char *base = NULL, *diff = NULL;
	struct cli_parser p;
	int c;

	(void)g;
	cli_parser_init(&p, argv[0], cmd_vm_rebase_snap_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		if (c == CLI_LONG(1))
			base = optarg;
		else
			diff = optarg;
	}
	if (c < 0)
		return p.exit_code;
	if (!base || !diff || optind != argc)
		err_make(&err, EINVAL, "usage: vm rebase-snap --base-file FILE --diff-file FILE");
	else
		vmm_snapshot_rebase(base, diff, &err);
	if (err) {
		err_wrap(&err, "vm rebase-snap");
		return cli_fail(&err);
	}
	return 0;
}
