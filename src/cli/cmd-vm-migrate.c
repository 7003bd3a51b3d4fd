/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live migration (docs/migration.md):
 *   isola vm migrate VM|--api-sock PATH --to tcp:HOST:PORT|unix:PATH [--key-file FILE]
 *     asks the running VM (PUT /migrate) to move to the destination; prints
 *     the figures as JSON and exits 0 once the destination runs it.
 *   isola vm receive --listen tcp:HOST:PORT|unix:PATH [--console stdio|none|FILE]
 *       [--api-sock PATH [--id ID]] [--key-file FILE] [--disk-remap OLD=NEW]...
 *       [--net-remap OLDTAP=NEWTAP]... [--vsock-remap OLD=NEW]
 *       [--fs-remap TAG=DIR[,ro|,rw]]...
 *     waits for one incoming VM and runs it; the exit code is the guest's,
 *     as for `isola vm run`.
 */
#include <errno.h>
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
#include "jsonutil.h"
#include "migrate/vmm-migrate.h"
#include "vm-cli.h"
#include "vm.h"

enum {
	OPT_TO = CLI_LONG(1),
	OPT_API_SOCK,
	OPT_LISTEN,
	OPT_CONSOLE,
	OPT_ID,
	OPT_REMAP,
	OPT_KEY,
	OPT_NET_REMAP,
	OPT_VSOCK_REMAP,
	OPT_FS_REMAP,
};

/* clang-format off */
const struct cli_opt cmd_vm_migrate_opts[] = {
	{"to", OPT_TO, "tcp:HOST:PORT|unix:PATH", "the vm receive to send the VM to (required)"},
	{"api-sock", OPT_API_SOCK, "PATH", "the VM's API socket, instead of naming the VM"},
	{"key-file", OPT_KEY, "FILE", "pre-shared key (32+ random bytes, mode 600) authenticating the stream; required over TCP"},
	{},
};

const struct cli_opt cmd_vm_receive_opts[] = {
	{"listen", OPT_LISTEN, "tcp:HOST:PORT|unix:PATH", "where to wait for the VM (required)"},
	{"console", OPT_CONSOLE, "stdio|none|FILE", "where the serial console goes"},
	{"api-sock", OPT_API_SOCK, "PATH", "serve the received VM's API here"},
	{"id", OPT_ID, "ID", "a name for vm ls, info, stop"},
	{"key-file", OPT_KEY, "FILE", "pre-shared key (32+ random bytes, mode 600) the source must prove; required over TCP"},
	{"disk-remap", OPT_REMAP, "OLD=NEW", "accept the VM's disk OLD and open NEW here (NEW may be OLD; repeatable; a disk not named is refused)"},
	{"net-remap", OPT_NET_REMAP, "OLDTAP=NEWTAP", "accept the VM's NIC on tap OLDTAP and attach it to tap NEWTAP here (repeatable; a NIC not named is refused)"},
	{"vsock-remap", OPT_VSOCK_REMAP, "OLD=NEW", "accept the VM's vsock device on Unix socket OLD and bind NEW here (its open connections are reset)"},
	{"fs-remap", OPT_FS_REMAP, "TAG=DIR[,ro|,rw]", "accept the VM's share TAG (one its guest has not mounted) and share DIR here (repeatable; a share not named is refused)"},
	{},
};
/* clang-format on */

/* <0: an error; 0: done (or --help printed); >0: a usage error's exit code. */
static int migrate(int argc, char **argv, struct err **err)
{
	_cleanup_free_ char *body = NULL, *resp = NULL, *sock = NULL, *key = NULL;
	_cleanup_json_ json_t *j = NULL;
	const char *to = NULL, *api = NULL, *vm = NULL, *key_file = NULL;
	struct cli_parser p;
	int c;

	cli_parser_init(&p, argv[0], cmd_vm_migrate_opts);
	cli_parser_permute(&p);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		if (c == OPT_TO)
			to = optarg;
		else if (c == OPT_API_SOCK)
			api = optarg;
		else if (c == OPT_KEY)
			key_file = optarg;
	}
	if (c < 0)
		return p.exit_code;
	/*
	 * The VMM opens it, from its own working directory: made absolute, not
	 * resolved, so that the VMM's O_NOFOLLOW still sees a symlink there.
	 */
	if (key_file && key_file[0] != '/') {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);

		if (!cwd || asprintf(&key, "%s/%s", cwd, key_file) < 0)
			return err_make(err, cwd ? ENOMEM : errno, "--key-file `%s`", key_file);
	} else if (key_file && !(key = strdup(key_file))) {
		return err_make(err, ENOMEM, "--key-file");
	}
	/* --api-sock is a path even without a '/' (a bare VM argument would be an id). */
	if (api && asprintf(&sock, "%s%s", strchr(api, '/') ? "" : "./", api) < 0)
		return err_make(err, ENOMEM, "--api-sock");
	vm = sock;
	if (!vm && optind + 1 == argc)
		vm = argv[optind++];
	if (!vm || !to || optind != argc)
		return err_make(err, EINVAL,
				"usage: vm migrate VM|--api-sock PATH --to tcp:HOST:PORT|unix:PATH "
				"[--key-file FILE]");
	j = json_pack("{s:s}", "destination", to);
	if (j && key && json_object_set_new(j, "key_file", json_string(key)) < 0)
		return err_make(err, ENOMEM, "request");
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!body)
		return err_make(err, ENOMEM, "request");
	if (vm_api_request(vm, "PUT", "/migrate", body, &resp, err) < 0)
		return err_code(*err);
	printf("%s\n", resp);
	return 0;
}

int cmd_vm_migrate(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;

	int r;

	(void)g;
	r = migrate(argc, argv, &err);
	if (r < 0) {
		err_wrap(&err, "vm migrate");
		return cli_fail(&err);
	}
	return r;
}

/* <0: an error; 0: go on; 1: stop with *ret_exit (--help printed, or a usage error). */
static int receive_opts(struct vm_config *cfg, struct vmm_restore_args *a, int argc, char **argv,
			const char **ret_listen, const char **ret_key, int *ret_exit,
			struct err **err)
{
	struct cli_parser p;
	int c, r = 0;

	cli_parser_init(&p, argv[0], cmd_vm_receive_opts);
	while (r >= 0 && (c = cli_parse(&p, argc, argv)) > 0) {
		if (c == OPT_LISTEN)
			*ret_listen = optarg;
		else if (c == OPT_CONSOLE)
			r = vmm_config_set(cfg, "console", optarg, err);
		else if (c == OPT_API_SOCK)
			cfg->api_sock = optarg;
		else if (c == OPT_ID)
			cfg->api_id = optarg;
		else if (c == OPT_KEY)
			*ret_key = optarg;
		else if (c == OPT_REMAP)
			r = vmm_remap_add(a->disks, &a->n_disks, VM_MAX_DISKS, "disk-remap", optarg,
					  err);
		else if (c == OPT_NET_REMAP)
			r = vmm_remap_add(a->taps, &a->n_taps, VM_MAX_NETS, "net-remap", optarg,
					  err);
		else if (c == OPT_VSOCK_REMAP)
			r = vmm_remap_add(a->vsock_uds, &a->n_vsock_uds, 1, "vsock-remap", optarg,
					  err);
		else if (c == OPT_FS_REMAP)
			r = vmm_remap_add(a->fs, &a->n_fs, VM_MAX_FS, "fs-remap", optarg, err);
	}
	if (r >= 0 && c < 0) {
		*ret_exit = p.exit_code;
		return 1;
	}
	if (r >= 0 && optind < argc)
		r = err_make(err, EINVAL, "unexpected argument `%s`", argv[optind]);
	if (r >= 0 && !*ret_listen)
		r = err_make(err, EINVAL, "--listen tcp:HOST:PORT|unix:PATH is required");
	/* Found now, not once the source has already handed the guest over. */
	if (r >= 0 && cfg->api_sock && access(cfg->api_sock, F_OK) == 0)
		r = err_make(err, EEXIST, "--api-sock `%s`: already exists", cfg->api_sock);
	return r;
}

struct receive_args {
	const char *listen, *key;
	struct vmm_restore_args a;
};

static int receive(struct vm_config *cfg, void *arg, int *ret_status, struct err **err)
{
	struct receive_args *ra = arg;

	return vmm_migrate_receive(cfg, ra->listen, ra->key, &ra->a, ret_status, err);
}

int cmd_vm_receive(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	struct receive_args ra = {0};
	struct vm_start how = {"vm receive", receive, &ra};
	struct vm_config cfg;
	int status = 1, r;

	(void)g;
	vmm_config_init(&cfg);
	r = receive_opts(&cfg, &ra.a, argc, argv, &ra.listen, &ra.key, &status, &err);
	if (r > 0)
		return vmm_config_free(&cfg), status;
	return vm_cli_start(&cfg, r, &err, &how);
}
