/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola kill [--all] ID [SIGNAL]  (default SIGTERM; names or numbers) */
#include <stddef.h>
#include <string.h>
#include <getopt.h>
#include <signal.h>

#include "commands.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"
#include "container.h"
#include "oci.h"
#include "parse.h"

const struct cli_opt cmd_kill_opts[] = {
    {"all", 'a', NULL, "signal every process in the container's cgroup"},
    {},
};

int cmd_kill(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	struct err *err = NULL;
	bool all = false;
	int c, sig = SIGTERM;

	cli_parser_init(&p, argv[0], cmd_kill_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0)
		all = true;
	if (c < 0)
		return p.exit_code;
	if (optind != argc - 1 && optind != argc - 2)
		return cli_usage_error(argv[0], "expected ID [SIGNAL]");
	/* 0 sends nothing and fails unless the container runs, as runc's kill ID 0. */
	if (optind == argc - 2 && streq(argv[optind + 1], "0"))
		sig = 0;
	else if (optind == argc - 2 && parse_signal(argv[optind + 1], &sig) < 0)
		return cli_usage_error(argv[0], "unknown signal `%s`", argv[optind + 1]);
	/* --all: the VM's processes are the guest's; its monitor relays to the container's. */
	if (vmct_oci_is_vm(g->root, argv[optind])) {
		if (sig == 0)
			return cli_usage_error(argv[0],
					       "signal 0: not supported for a VM container");
		if (vmct_oci_kill(g->root, argv[optind], sig, &err) < 0)
			return cli_fail(&err);
		return 0;
	}
	if (ct_kill(g->root, argv[optind], sig, all, &err) < 0)
		return cli_fail(&err);
	return 0;
}
