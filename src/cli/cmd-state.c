/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola state ID: runc's state JSON. */
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "commands.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"
#include "jsonutil.h"
#include "state.h"

int cmd_state(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_json_ json_t *j = NULL;
	struct ct_state st = {};
	struct err *err = NULL;
	_cleanup_close_ int dirfd = -1;

	const char *id;
	bool busy;
	int code;

	if (cli_parse_none(argc, argv, &code))
		return code;
	if (argc - optind != 1)
		return cli_usage_error(argv[0], "expected one container id");
	id = argv[optind];
	if (ct_state_open_dir_read(g->root, id, &dirfd, &busy, &err) < 0 ||
	    ct_state_read_busy(dirfd, id, &st, &busy, &err) < 0)
		return cli_fail(&err);
	j = ct_state_to_oci_json(&st, ct_state_status_read(dirfd, &st, busy));
	ct_state_clear(&st);
	if (!j || json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
		return 1;
	putchar('\n');
	return 0;
}
