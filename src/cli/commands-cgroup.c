/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cgroup commands. */
#include <stddef.h>

#include "cli.h"

const struct cli_command cli_cgroup_commands[] = {
	{},
};
