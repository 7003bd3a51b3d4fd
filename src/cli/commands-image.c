/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image commands. */
#include <stddef.h>

#include "cli.h"
#include "image-cli.h"

/* clang-format off */
const struct cli_command cli_image_commands[] = {
	{ "pull", cmd_pull, "fetch an image from a registry into the store" },
	{ "images", cmd_images, "list the images in the store" },
	{ "rmi", cmd_rmi, "remove an image from the store" },
	{ "image", cmd_image, "image subcommands: prune, run, import, ls, rm, pull" },
	{},
};
/* clang-format on */
