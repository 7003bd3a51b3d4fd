/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola images [--store DIR] [--format json|table] [-q] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "image-cli.h"
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

int cmd_images(struct cli_globals *g, int argc, char **argv)
{
	/* clang-format off */
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{},
	};
	/* clang-format on */
	_cleanup_err_ struct err *err = NULL;
	_cleanup_json_ json_t *idx = NULL;
	const char *store = NULL, *format = "table";
	struct img_store *s = NULL;
	bool quiet = false;
	int c, r;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+q", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			store = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			return 1;
		}
	}
	if (!streq(format, "json") && !streq(format, "table"))
		return cli_usage_error(argv[0], "--format `%s`: expected json or table", format);
	r = image_cli_open_store_shared(store, &s);
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
