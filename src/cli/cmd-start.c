/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola start ID */
#include <stddef.h>

#include "commands.h"
#include "cli.h"
#include "opt.h"
#include "container.h"
#include "oci.h"

int cmd_start(struct cli_globals *g, int argc, char **argv)
{
	struct err *err = NULL;
	int code;

	if (cli_parse_none(argc, argv, &code))
		return code;
	if (argc - optind != 1)
		return cli_usage_error(argv[0], "expected one container id");
	if (vmct_oci_is_vm(g->root, argv[optind])) {
		if (vmct_oci_start(g->root, argv[optind], &err) < 0)
			return cli_fail(&err);
		return 0;
	}
	if (ct_start(g->root, argv[optind], &err) < 0)
		return cli_fail(&err);
	return 0;
}
