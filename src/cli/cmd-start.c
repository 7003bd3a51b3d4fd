/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola start ID */
#include <stddef.h>

#include "commands.h"
#include "cli.h"
#include "container.h"

int cmd_start(struct cli_globals *g, int argc, char **argv)
{
	struct err *err = NULL;

	if (argc != 2)
		return cli_usage_error(argv[0], "expected one container id");
	if (ct_start(g->root, argv[1], &err) < 0)
		return cli_fail(&err);
	return 0;
}
