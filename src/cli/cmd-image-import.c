/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola image import [--store D] SRC [NAME]      OCI layout dir, oci-archive, docker-archive
 * isola image load   [--store D] -i FILE [NAME]  the same, podman's spelling
 * isola image save   [--store D] [--format oci-archive|docker-archive] -o FILE REF
 * isola image export [--store D] REF DIR         an OCI image layout directory
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "image-cli.h"
#include "opt.h"

struct io_args {
	const char *store, *input, *output, *format;
};

const struct cli_opt cmd_image_io_opts[] = {
    {"store", CLI_LONG(1), "DIR",
     "the image store (default $ISOLA_STORE or " ISOLA_DEFAULT_STORE ")"},
    {"input", 'i', "FILE", "import, load: the archive or layout to read"},
    {"output", 'o', "FILE", "save: the archive to write"},
    {"format", CLI_LONG(2), "FORMAT", "save: oci-archive (default) or docker-archive"},
    {},
};

/* 0 to go on, -1 after --help (exit 0), else a usage error's exit code. */
static int parse(struct io_args *a, int argc, char **argv)
{
	struct cli_parser p;
	int c;

	cli_parser_init(&p, argv[0], cmd_image_io_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		switch (c) {
		case CLI_LONG(1):
			a->store = optarg;
			break;
		case 'i':
			a->input = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case CLI_LONG(2):
			a->format = optarg;
			break;
		}
	}
	return c < 0 ? (p.exit_code ? p.exit_code : -1) : 0;
}

struct import_call {
	const char *src, *given;
};

static int import_add(struct img_store *s, const void *arg, char **ret_name, struct err **err)
{
	const struct import_call *ic = arg;

	return img_import(s, ic->src, ic->given, ret_name, err);
}

int cmd_image_import(struct cli_globals *g, int argc, char **argv)
{
	struct io_args a = {};
	const char *src, *given;
	int r;

	r = parse(&a, argc, argv);
	if (r)
		return r < 0 ? 0 : r;
	src = a.input ? a.input : (optind < argc ? argv[optind++] : NULL);
	given = optind < argc ? argv[optind++] : NULL;
	if (!src || optind < argc)
		return cli_usage_error(argv[0], "expected SOURCE [NAME]");
	return image_cli_store_call(
	    image_cli_add,
	    &(struct image_cli_add_call){a.store, import_add, &(struct import_call){src, given}});
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
		return r < 0 ? 0 : r;
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
		return r < 0 ? 0 : r;
	if (argc - optind != 2)
		return cli_usage_error(argv[0], "expected REF DIR");
	r = image_cli_open_store_shared(a.store, &s);
	if (r)
		return r;
	r = img_export(s, argv[optind], IMG_OCI_LAYOUT, argv[optind + 1], &err);
	img_store_close(s);
	return r < 0 ? cli_fail(&err) : 0;
}
