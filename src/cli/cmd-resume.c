/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola resume ID: thaw a paused container. */
#include <errno.h>

#include "cgroup-target.h"
#include "cli.h"

int cmd_resume(struct cli_globals *g, int argc, char **argv)
{
	struct cgroup_target t;
	struct err *err = NULL;
	int r;

	if (argc != 2)
		return cli_usage_error(argv[0], "expected one container id");
	if (cgroup_target_open(g->root, argv[1], &t, &err) < 0)
		return cli_fail(&err);
	if (t.status != CT_PAUSED)
		r = err_make(&err, 0, "container `%s` is %s, not paused", argv[1],
			     ct_status_name(t.status));
	else
		r = ct_cgroup_freeze(t.cg, false, &err);
	cgroup_target_close(&t);
	return r < 0 ? cli_fail(&err) : 0;
}
