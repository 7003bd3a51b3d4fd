/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola image SUBCOMMAND ...: the image commands under one roof. */
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "image-cli.h"
#include "opt.h"

extern const struct cli_opt cmd_pull_opts[], cmd_images_opts[], cmd_image_run_opts[],
    cmd_image_ctr_opts[], cmd_image_kill_opts[], cmd_logs_opts[], cmd_image_io_opts[];

const struct cli_opt cmd_image_store_opts[] = {
    {"store", CLI_LONG(1), "DIR",
     "the image store (default $ISOLA_STORE or " ISOLA_DEFAULT_STORE ")"},
    {},
};

/*
 * Full names ("image ls"): the parsers get them as argv[0], so `--help` finds the entry here
 * (cli_find_command) and errors say `isola image ls --help`.
 */
/* clang-format off */
const struct cli_command cli_image_subcommands[] = {
	{ "image pull", cmd_pull, "fetch an image from a registry", "IMAGE", cmd_pull_opts },
	{ "image ls", cmd_images, "list images", "", cmd_images_opts },
	{ "image list", cmd_images, "list images", "", cmd_images_opts },
	{ "image prune", cmd_image_prune, "remove unreferenced blobs and layers", "", cmd_image_store_opts },
	{ "image run", cmd_image_run, "run a command in a new container made from an image", "IMAGE [COMMAND [ARG...]]", cmd_image_run_opts },
	{ "image inspect", cmd_image_inspect, "show an image's manifest and config", "IMAGE", cmd_image_store_opts },
	{ "image ps", cmd_image_ps, "list containers started by image run", "", cmd_image_ctr_opts },
	{ "image logs", cmd_logs, "print a detached container's output", "NAME", cmd_logs_opts },
	{ "image stop", cmd_image_stop, "stop containers (TERM, then KILL after -t seconds)", "NAME...", cmd_image_ctr_opts },
	{ "image kill", cmd_image_kill, "send a signal to containers (default KILL)", "NAME...", cmd_image_kill_opts },
	{ "image rm", cmd_image_rm, "remove containers (-f: running ones too)", "NAME...", cmd_image_ctr_opts },
	{ "image import", cmd_image_import, "import an OCI layout, oci-archive or docker-archive", "SOURCE [NAME]", cmd_image_io_opts },
	{ "image load", cmd_image_import, "load an archive (-i FILE)", "[FILE [NAME]]", cmd_image_io_opts },
	{ "image save", cmd_image_save, "write an image as an oci-archive or docker-archive", "-o FILE IMAGE", cmd_image_io_opts },
	{ "image export", cmd_image_export, "write an image as an OCI layout directory", "IMAGE DIR", cmd_image_io_opts },
	{},
};
/* clang-format on */

int cmd_image(struct cli_globals *g, int argc, char **argv)
{
	return cli_dispatch_sub(g, argc, argv, "image", cli_image_subcommands);
}

int image_cli_store_opt(int argc, char **argv, const char **ret_store)
{
	struct cli_parser p;
	int c;

	cli_parser_init(&p, argv[0], cmd_image_store_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0)
		if (c == CLI_LONG(1))
			*ret_store = optarg;
	return c < 0 ? (p.exit_code ? p.exit_code : -1) : 0;
}

static int do_prune(void *data)
{
	_cleanup_err_ struct err *err = NULL;
	struct img_store *s = NULL;
	unsigned blobs = 0, layers = 0;
	int r;

	r = image_cli_open_store(data, &s);
	if (r)
		return r;
	r = img_store_prune(s, &blobs, &layers, &err);
	img_store_close(s);
	/* Prune continues past a failure: say what went, then what stayed. */
	printf("Removed %u blobs and %u layers\n", blobs, layers);
	if (r < 0)
		return cli_fail(&err);
	return 0;
}

int cmd_image_prune(struct cli_globals *g, int argc, char **argv)
{
	const char *store = NULL;
	int r;

	r = image_cli_store_opt(argc, argv, &store);
	if (r)
		return r < 0 ? 0 : r;
	/* Layers of a rootless store hold subordinate ids: removed in its user namespace. */
	return image_cli_store_call(do_prune, (void *)store);
}
