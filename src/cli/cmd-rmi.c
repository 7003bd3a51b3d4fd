/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola rmi [--store DIR] REF... : untag, then drop what nothing references. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "image-cli.h"

int cmd_rmi(struct cli_globals *g, int argc, char **argv)
{
	/* clang-format off */
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{},
	};
	/* clang-format on */
	const char *store = NULL;
	struct img_store *s = NULL;
	int c, r, rc = 0;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+f", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			store = optarg;
			break;
		case 'f':
			break;
		default:
			return 1;
		}
	}
	if (optind >= argc)
		return cli_usage_error(argv[0], "expected at least one image");
	r = image_cli_open_store(store, &s);
	if (r)
		return r;
	for (int i = optind; i < argc; i++) {
		_cleanup_err_ struct err *err = NULL;

		if (img_rmi(s, argv[i], &err) < 0)
			rc = cli_fail(&err);
		else
			printf("Untagged: %s\n", argv[i]);
	}
	img_store_close(s);
	return rc;
}
