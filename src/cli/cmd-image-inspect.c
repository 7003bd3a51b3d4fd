/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola image inspect [--store D] REF: the stored entry, manifest and config as JSON. */
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "image-cli.h"
#include "jsonutil.h"

static int load_blob(struct img_store *s, json_t *entry, const char *key, json_t **ret,
		     struct err **err)
{
	const char *digest = json_string_value(json_object_get(entry, key));
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = img_blob_read(s, digest ? digest : "", IMG_MANIFEST_MAX, &buf, &len, err);
	if (r < 0)
		return r;
	return json_load_buf_capped(key, buf, len, IMG_MANIFEST_MAX, ret, err);
}

int cmd_image_inspect(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_json_ json_t *idx = NULL, *manifest = NULL, *config = NULL, *out = NULL;
	_cleanup_free_ char *text = NULL;
	const char *store = NULL, *name;
	struct img_store *s = NULL;
	json_t *entry;
	int r;

	r = image_cli_store_opt(argc, argv, &store);
	if (r)
		return r < 0 ? 0 : r;
	if (argc - optind != 1)
		return cli_usage_error(argv[0], "expected one image");
	r = image_cli_open_store_shared(store, &s);
	if (r)
		return r;
	r = img_index_load(s, &idx, &err);
	if (r >= 0)
		r = img_index_find(idx, argv[optind], &name, &entry, &err);
	if (r >= 0)
		r = load_blob(s, entry, "manifest", &manifest, &err);
	if (r >= 0)
		r = load_blob(s, entry, "config", &config, &err);
	img_store_close(s);
	if (r < 0) {
		cli_fail(&err);
		return EXIT_ISOLA; /* podman's code, "no such object" included */
	}
	out = json_pack("{s:s, s:O, s:O, s:O, s:O}", "name", name, "id",
			json_object_get(entry, "manifest"), "layers",
			json_object_get(entry, "layers"), "manifest", manifest, "config", config);
	text = out ? json_dumps(out, JSON_INDENT(2)) : NULL;
	if (!text)
		return 1;
	printf("%s\n", text);
	return 0;
}
