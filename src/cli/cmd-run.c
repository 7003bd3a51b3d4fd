/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola run [create options] [--detach] [--keep] ID: exits with the container's code. */
#include <stddef.h>
#include <string.h>
#include <stdio.h>

#include "cli.h"
#include "cmd-create.h"
#include "container.h"

int cmd_run(struct cli_globals *g, int argc, char **argv)
{
	struct cmd_create_args a = {};
	struct err *err = NULL;
	pid_t pid;
	int r, code;

	r = cmd_create_parse(g, argc, argv, true, &a);
	if (r)
		return r < 0 ? 0 : r;
	if (ct_protect_exe(&err) < 0 || ct_create(&a.o, &pid, &err) < 0)
		return cli_fail(&err);
	if (ct_start(a.o.root, a.o.id, &err) < 0) {
		cli_fail(&err);
		ct_delete(a.o.root, a.o.id, true, NULL);
		return 1;
	}
	if (a.detach)
		return 0;
	code = ct_wait_forward(pid);
	if (!a.keep && ct_delete(a.o.root, a.o.id, true, &err) < 0)
		cli_fail(&err);
	return code;
}
