/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola images [--store DIR] [--format json|table] [-q] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "config.h"
#include "image-cli.h"
#include "opt.h"
#include "jsonutil.h"

static void print_table(json_t *images, bool quiet)
{
	const char *name;
	json_t *e;

	if (!quiet)
		printf("%-50s %-14s %12s\n", "NAME", "IMAGE ID", "SIZE");
	json_object_foreach (images, name, e) {
		const char *m = json_string_value(json_object_get(e, "manifest"));
		json_int_t size = json_integer_value(json_object_get(e, "size"));

		if (!m)
			continue;
		if (quiet)
			printf("%.12s\n", m + 7);
		else
			printf("%-50s %-14.12s %10.1fMB\n", name, m + 7, size / 1e6);
	}
}

static int print_json(json_t *images)
{
	_cleanup_json_ json_t *out = json_array();
	_cleanup_free_ char *text = NULL;
	const char *name;
	json_t *e;

	json_object_foreach (images, name, e)
		json_array_append_new(out, json_pack("{s:s, s:O, s:O, s:O, s:O}", "name", name,
						     "id", json_object_get(e, "manifest"), "config",
						     json_object_get(e, "config"), "size",
						     json_object_get(e, "size"), "created",
						     json_object_get(e, "created")));
	text = json_dumps(out, JSON_INDENT(2));
	if (!text)
		return 1;
	printf("%s\n", text);
	return 0;
}

const struct cli_opt cmd_images_opts[] = {
    {"store", CLI_LONG(1), "DIR", "the image store (default " ISOLA_DEFAULT_STORE ")"},
    {"format", CLI_LONG(2), "table|json", "the output format (default: table)"},
    {"quiet", 'q', NULL, "print image ids only"},
    {},
};

int cmd_images(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	_cleanup_err_ struct err *err = NULL;
	_cleanup_json_ json_t *idx = NULL;
	const char *store = NULL, *format = "table";
	struct img_store *s = NULL;
	bool quiet = false;
	int c, r;

	cli_parser_init(&p, argv[0], cmd_images_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		switch (c) {
		case CLI_LONG(1):
			store = optarg;
			break;
		case CLI_LONG(2):
			format = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		}
	}
	if (c < 0)
		return p.exit_code;
	if (!streq(format, "json") && !streq(format, "table"))
		return cli_usage_error(argv[0], "--format `%s`: expected json or table", format);
	r = image_cli_open_store(store, &s);
	if (r)
		return r;
	r = img_index_load(s, &idx, &err);
	img_store_close(s);
	if (r < 0)
		return cli_fail(&err);
	if (streq(format, "json"))
		return print_json(json_object_get(idx, "images"));
	print_table(json_object_get(idx, "images"), quiet);
	return 0;
}
