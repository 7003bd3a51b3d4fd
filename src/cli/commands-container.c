/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container commands. */
#include <stddef.h>

#include "cli.h"

const struct cli_command cli_container_commands[] = {
	{},
};
