/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live migration (docs/migration.md):
 *   isola vm migrate VM|--api-sock PATH --to tcp:HOST:PORT|unix:PATH
 *     asks the running VM (PUT /migrate) to move to the destination; prints
 *     the figures as JSON and exits 0 once the destination runs it.
 *   isola vm receive --listen tcp:HOST:PORT|unix:PATH [--console stdio|none|FILE]
 *       [--api-sock PATH [--id ID]]
 *     waits for one incoming VM and runs it; the exit code is the guest's,
 *     as for `isola vm run`.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "vm-cli.h"
#include "cleanup.h"
#include "cli.h"
#include "jsonutil.h"
#include "migrate/vmm-migrate.h"
#include "vm-cli.h"
#include "vm.h"

enum { OPT_TO = 1, OPT_API_SOCK, OPT_LISTEN, OPT_CONSOLE, OPT_ID, OPT_REMAP };

static int migrate(int argc, char **argv, struct err **err)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, OPT_TO},
	    {"api-sock", required_argument, NULL, OPT_API_SOCK},
	    {},
	};
	_cleanup_free_ char *body = NULL, *resp = NULL, *sock = NULL;
	_cleanup_json_ json_t *j = NULL;
	const char *to = NULL, *api = NULL, *vm = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_TO)
			to = optarg;
		else if (c == OPT_API_SOCK)
			api = optarg;
		else
			return err_make(err, EINVAL, "usage: vm migrate VM --to ADDR");
	}
	/* --api-sock is a path even without a '/' (a bare VM argument would be an id). */
	if (api && asprintf(&sock, "%s%s", strchr(api, '/') ? "" : "./", api) < 0)
		return err_make(err, ENOMEM, "--api-sock");
	vm = sock;
	if (!vm && optind + 1 == argc)
		vm = argv[optind++];
	if (!vm || !to || optind != argc)
		return err_make(
		    err, EINVAL,
		    "usage: vm migrate VM|--api-sock PATH --to tcp:HOST:PORT|unix:PATH");
	j = json_pack("{s:s}", "destination", to);
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

	(void)g;
	if (migrate(argc, argv, &err) < 0) {
		err_wrap(&err, "vm migrate");
		return cli_fail(&err);
	}
	return 0;
}

static int receive_opts(struct vm_config *cfg, int argc, char **argv, const char **ret_listen,
			struct err **err)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"console", required_argument, NULL, OPT_CONSOLE},
	    {"api-sock", required_argument, NULL, OPT_API_SOCK},
	    {"id", required_argument, NULL, OPT_ID},
	    {"disk-remap", required_argument, NULL, OPT_REMAP},
	    {"tap-remap", required_argument, NULL, OPT_REMAP},
	    {},
	};
	int c, r = 0;

	optind = 0;
	while (r >= 0 && (c = getopt_long_only(argc, argv, "+", opts, NULL)) != -1) {
		if (c == OPT_LISTEN)
			*ret_listen = optarg;
		else if (c == OPT_CONSOLE)
			r = vmm_config_set(cfg, "console", optarg, err);
		else if (c == OPT_API_SOCK)
			cfg->api_sock = optarg;
		else if (c == OPT_ID)
			cfg->api_id = optarg;
		else if (c == OPT_REMAP)
			r = err_make(err, EOPNOTSUPP,
				     "--disk-remap/--tap-remap: not supported yet "
				     "(VMs with virtio devices do not migrate yet)");
		else
			r = err_make(err, EINVAL, "usage: vm receive --listen ADDR [--console ..]");
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

int cmd_vm_receive(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	struct vm_rundir rd = {0};
	const char *listen = NULL;
	struct vm_config cfg;
	int status = 1, r;

	(void)g;
	vmm_config_init(&cfg);
	r = receive_opts(&cfg, argc, argv, &listen, &err);
	if (r >= 0)
		r = vm_rundir_prepare(&cfg, &rd, &err);
	if (r >= 0)
		signal(SIGPIPE, SIG_IGN); /* as vm run: a vanished console reader drops output */
	if (r >= 0)
		r = vmm_migrate_receive(&cfg, listen, &status, &err);
	vm_rundir_remove(&rd);
	vmm_config_free(&cfg);
	if (r < 0) {
		err_wrap(&err, "vm receive");
		return cli_fail(&err);
	}
	return status;
}
