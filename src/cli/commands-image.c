/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image commands. */
#include <stddef.h>

#include "cli.h"
#include "image-cli.h"
#include "opt.h"

extern const struct cli_opt cmd_pull_opts[], cmd_images_opts[], cmd_rmi_opts[],
    cmd_image_ctr_opts[], cmd_logs_opts[], cmd_image_store_opts[];

/* clang-format off */
const struct cli_command cli_image_commands[] = {
	{ "pull", cmd_pull, "fetch an image from a registry into the store", "IMAGE", cmd_pull_opts },
	{ "images", cmd_images, "list the images in the store", "", cmd_images_opts },
	{ "rmi", cmd_rmi, "remove an image from the store, and its VM root disk when nothing uses it", "IMAGE...", cmd_rmi_opts },
	{ "logs", cmd_logs, "print the output of a container started by run -d IMAGE", "NAME", cmd_logs_opts },
	{ "stop", cmd_image_stop, "stop containers started by run IMAGE (TERM, then KILL)", "NAME...", cmd_image_ctr_opts },
	{ "rm", cmd_image_rm, "remove containers started by run IMAGE (-f: running ones too)", "NAME...", cmd_image_ctr_opts },
	{ "inspect", cmd_inspect, "show containers (run IMAGE) or an image as JSON", "NAME...", cmd_image_store_opts },
	{ "network", cmd_network, "networks for run IMAGE: create, ls, rm, prune", "SUBCOMMAND [ARG...]" },
	{ "volume", cmd_volume, "named volumes for run IMAGE -v NAME:/DST: create, ls, inspect, rm, prune", "SUBCOMMAND [ARG...]" },
	{ "system", cmd_system, "the VM caches: prune, df", "SUBCOMMAND [ARG...]" },
	{ "image", cmd_image, "the image and image-container subcommands, listed below", "SUBCOMMAND [ARG...]" },
	{},
};
/* clang-format on */
