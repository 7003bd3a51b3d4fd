/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola rmi [--store DIR] REF... : untag, then drop what nothing references: blobs,
 * layers, and the image's VM root disk (<store>/vm/rootfs-KEY.ext4) when no other image
 * or container has its layer chain and no VM holds it.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "image-cli.h"
#include "jsonutil.h"
#include "opt.h"
#include "strv.h"
#include "vmct.h"

const struct cli_opt cmd_rmi_opts[] = {
    {"store", CLI_LONG(1), "DIR", "the image store (default " ISOLA_DEFAULT_STORE ")"},
    {"force", 'f', NULL, "an image id with several names: untag them all"},
    {},
};

struct rmi_call {
	const char *store;
	char **refs;
	bool force;
};

/* The root disk key of @ref's layer chain; false when there is none (no such image). */
static bool disk_key(struct img_store *s, const char *ref, char ret[VMCT_ROOTFS_KEY_LEN + 1])
{
	_cleanup_json_ json_t *idx = NULL;
	json_t *entry = NULL;
	const char *name;

	return img_index_load(s, &idx, NULL) >= 0 &&
	       img_index_find(idx, ref, &name, &entry, NULL) >= 0 &&
	       vmct_rootfs_key(json_object_get(entry, "layers"), ret, NULL) >= 0;
}

static int do_rmi(void *data)
{
	const struct rmi_call *rc_ = data;
	struct img_store *s = NULL;
	int r, rc = 0;

	r = image_cli_open_store(rc_->store, &s);
	if (r)
		return r;
	for (char **ref = rc_->refs; *ref; ref++) {
		_cleanup_err_ struct err *err = NULL;
		_cleanup_strv_ char **names = NULL;
		char key[VMCT_ROOTFS_KEY_LEN + 1];
		bool has_key = disk_key(s, *ref, key);

		r = img_rmi(s, *ref, rc_->force, &names, &err);
		/* What was untagged is said even when the prune after it failed. */
		for (size_t i = 0; names && names[i]; i++)
			printf("Untagged: %s\n", names[i]);
		if (r < 0) {
			rc = cli_fail(&err);
			continue;
		}
		if (has_key && image_cli_prune_disk(s, key))
			rc = 1;
	}
	img_store_close(s);
	return rc;
}

int cmd_rmi(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	const char *store = NULL;
	bool force = false;
	int c;

	cli_parser_init(&p, argv[0], cmd_rmi_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		switch (c) {
		case CLI_LONG(1):
			store = optarg;
			break;
		case 'f':
			force = true;
			break;
		}
	}
	if (c < 0)
		return p.exit_code;
	if (optind >= argc)
		return cli_usage_error(argv[0], "expected at least one image");
	/* Layers of a rootless store hold subordinate ids: removed in its user namespace. */
	return image_cli_store_call(do_rmi, &(struct rmi_call){store, argv + optind, force});
}
