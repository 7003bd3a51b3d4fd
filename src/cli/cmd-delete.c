/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola delete [--force] ID */
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <getopt.h>

#include "commands.h"
#include "cli.h"
#include "opt.h"
#include "container.h"
#include "oci.h"

const struct cli_opt cmd_delete_opts[] = {
    {"force", 'f', NULL, "kill a running container first; a missing one is not an error"},
    {},
};

int cmd_delete(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	struct err *err = NULL;
	bool force = false;
	int c, r;

	cli_parser_init(&p, argv[0], cmd_delete_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0)
		force = true;
	if (c < 0)
		return p.exit_code;
	if (optind != argc - 1)
		return cli_usage_error(argv[0], "expected one container id");
	if (vmct_oci_is_vm(g->root, argv[optind]))
		r = vmct_oci_delete(g->root, argv[optind], force, &err);
	else
		r = ct_delete(g->root, argv[optind], force, &err);
	/* runc: deleting a missing container with --force is not an error. */
	if (r == -ENOENT && force) {
		err_free(&err);
		return 0;
	}
	return r < 0 ? cli_fail(&err) : 0;
}
