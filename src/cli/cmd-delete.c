/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola delete [--force] ID */
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <getopt.h>

#include "commands.h"
#include "cli.h"
#include "container.h"

int cmd_delete(struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {}};
	struct err *err = NULL;
	bool force = false;
	int c, r;

	while ((c = getopt_long_only(argc, argv, "+f", opts, NULL)) != -1) {
		if (c != 'f')
			return 1;
		force = true;
	}
	if (optind != argc - 1)
		return cli_usage_error(argv[0], "expected one container id");
	r = ct_delete(g->root, argv[optind], force, &err);
	/* runc: deleting a missing container with --force is not an error. */
	if (r == -ENOENT && force) {
		err_free(&err);
		return 0;
	}
	return r < 0 ? cli_fail(&err) : 0;
}
