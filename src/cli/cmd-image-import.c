/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola image import [--store D] SRC [NAME]      OCI layout dir, oci-archive, docker-archive
 * isola image load   [--store D] -i FILE [NAME]  the same, podman's spelling
 * isola image save   [--store D] [--format oci-archive|docker-archive] -o FILE REF
 * isola image export [--store D] REF DIR         an OCI image layout directory
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image-cli.h"

struct io_args {
	const char *store, *input, *output, *format;
};

static int parse(struct io_args *a, int argc, char **argv)
{
	/* clang-format off */
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{},
	};
	/* clang-format on */
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+i:o:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->store = optarg;
			break;
		case 'i':
			a->input = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'f':
			a->format = optarg;
			break;
		default:
			return 1;
		}
	}
	return 0;
}

int cmd_image_import(struct cli_globals *g, int argc, char **argv)
{
	struct io_args a = {};
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *name = NULL;
	struct img_store *s = NULL;
	const char *src, *given;
	int r;

	r = parse(&a, argc, argv);
	if (r)
		return r;
	src = a.input ? a.input : (optind < argc ? argv[optind++] : NULL);
	given = optind < argc ? argv[optind++] : NULL;
	if (!src || optind < argc)
		return cli_usage_error(argv[0], "expected SOURCE [NAME]");
	r = image_cli_open_store(a.store, &s);
	if (r)
		return r;
	r = img_import(s, src, given, &name, &err);
	img_store_close(s);
	if (r < 0)
		return cli_fail(&err);
	printf("%s\n", name);
	return 0;
}

int cmd_image_save(struct cli_globals *g, int argc, char **argv)
{
	struct io_args a = {.format = "oci-archive"};
	_cleanup_err_ struct err *err = NULL;
	struct img_store *s = NULL;
	enum img_archive_format f;
	int r;

	r = parse(&a, argc, argv);
	if (r)
		return r;
	if (streq(a.format, "oci-archive"))
		f = IMG_OCI_ARCHIVE;
	else if (streq(a.format, "docker-archive"))
		f = IMG_DOCKER_ARCHIVE;
	else
		return cli_usage_error(argv[0],
				       "--format `%s`: expected oci-archive or "
				       "docker-archive",
				       a.format);
	if (argc - optind != 1 || !a.output)
		return cli_usage_error(argv[0], "expected -o FILE REF");
	r = image_cli_open_store_shared(a.store, &s);
	if (r)
		return r;
	r = img_export(s, argv[optind], f, a.output, &err);
	img_store_close(s);
	return r < 0 ? cli_fail(&err) : 0;
}

int cmd_image_export(struct cli_globals *g, int argc, char **argv)
{
	struct io_args a = {};
	_cleanup_err_ struct err *err = NULL;
	struct img_store *s = NULL;
	int r;

	r = parse(&a, argc, argv);
	if (r)
		return r;
	if (argc - optind != 2)
		return cli_usage_error(argv[0], "expected REF DIR");
	r = image_cli_open_store_shared(a.store, &s);
	if (r)
		return r;
	r = img_export(s, argv[optind], IMG_OCI_LAYOUT, argv[optind + 1], &err);
	img_store_close(s);
	return r < 0 ? cli_fail(&err) : 0;
}
