/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola kill [--all] ID [SIGNAL]  (default SIGTERM; names or numbers) */
#include <stddef.h>
#include <string.h>
#include <getopt.h>
#include <signal.h>

#include "commands.h"
#include "cli.h"
#include "container.h"
#include "parse.h"

int cmd_kill(struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {}};
	struct err *err = NULL;
	bool all = false;
	int c, sig = SIGTERM;

	while ((c = getopt_long_only(argc, argv, "+a", opts, NULL)) != -1) {
		if (c != 'a')
			return 1;
		all = true;
	}
	if (optind != argc - 1 && optind != argc - 2)
		return cli_usage_error(argv[0], "expected ID [SIGNAL]");
	if (optind == argc - 2 && parse_signal(argv[optind + 1], &sig) < 0)
		return cli_usage_error(argv[0], "unknown signal `%s`", argv[optind + 1]);
	if (ct_kill(g->root, argv[optind], sig, all, &err) < 0)
		return cli_fail(&err);
	return 0;
}
