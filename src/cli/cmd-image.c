/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola image SUBCOMMAND ...: the image commands under one roof. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "image-cli.h"

/* clang-format off */
static const struct cli_command image_subcommands[] = {
	{ "pull", cmd_pull, "fetch an image from a registry" },
	{ "ls", cmd_images, "list images" },
	{ "list", cmd_images, "list images" },
	{ "prune", cmd_image_prune, "remove unreferenced blobs and layers" },
	{ "run", cmd_image_run, "run a command in a new container made from an image" },
	{ "inspect", cmd_image_inspect, "show an image's manifest and config" },
	{ "ps", cmd_image_ps, "list containers started by image run" },
	{ "logs", cmd_logs, "print a detached container's output" },
	{ "stop", cmd_image_stop, "stop containers (TERM, then KILL after -t seconds)" },
	{ "rm", cmd_image_rm, "remove containers (-f: running ones too)" },
	{ "import", cmd_image_import, "import an OCI layout, oci-archive or docker-archive" },
	{ "load", cmd_image_import, "load an archive (-i FILE)" },
	{ "save", cmd_image_save, "write an image as an oci-archive or docker-archive" },
	{ "export", cmd_image_export, "write an image as an OCI layout directory" },
	{},
};
/* clang-format on */

int cmd_image(struct cli_globals *g, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "Usage: isola image SUBCOMMAND\n");
		for (const struct cli_command *c = image_subcommands; c->name; c++)
			fprintf(stderr, "  %-8s %s\n", c->name, c->summary);
		return 1;
	}
	for (const struct cli_command *c = image_subcommands; c->name; c++)
		if (streq(c->name, argv[1]))
			return c->fn(g, argc - 1, argv + 1);
	return cli_usage_error(argv[1], "unknown image subcommand; see `isola image`");
}

int image_cli_store_opt(int argc, char **argv, const char **ret_store)
{
	/* clang-format off */
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{},
	};
	/* clang-format on */
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 's')
			return 1;
		*ret_store = optarg;
	}
	return 0;
}

int cmd_image_prune(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	const char *store = NULL;
	struct img_store *s = NULL;
	unsigned blobs = 0, layers = 0;
	int r;

	r = image_cli_store_opt(argc, argv, &store);
	if (r)
		return r;
	r = image_cli_open_store(store, &s);
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
