/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola pause ID: freeze every process of a running or created container. */
#include "commands.h"
#include "cgroup-target.h"
#include "cli.h"

int cmd_pause(struct cli_globals *g, int argc, char **argv)
{
	return cgroup_target_freeze_cmd(g->root, argc, argv, true);
}
