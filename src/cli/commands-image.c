/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image commands. */
#include <stddef.h>

#include "cli.h"

const struct cli_command cli_image_commands[] = {
	{},
};
