/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola system prune [--store DIR] [--dry-run]   remove what the VM caches hold that this
 *                                                isola would never use again
 * isola system df [--store DIR]                  bytes per cache kind
 *
 * The caches are <store>/vm (run --vm) and <root>/.vm-cache (the OCI mode, --root before
 * the command); src/vmct/cache.c knows their names and locks, docs/vm-containers.md says
 * what prunes what.  Blobs and layers are `isola image prune`'s, containers `rm`'s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "image-cli.h"
#include "jsonutil.h"
#include "opt.h"
#include "vmct.h"

enum { OPT_STORE = CLI_LONG(1), OPT_DRY_RUN };

/* clang-format off */
const struct cli_opt cmd_system_opts[] = {
	{"store", OPT_STORE, "DIR", "the image store (default $ISOLA_STORE or " ISOLA_DEFAULT_STORE ")"},
	{"dry-run", OPT_DRY_RUN, NULL, "prune: print what would be removed, remove nothing"},
	{},
};
/* clang-format on */

/* The root disks' keys of every image and container of @s, as a set. */
static void add_key(json_t *use, void *keys)
{
	char key[VMCT_ROOTFS_KEY_LEN + 1];

	if (vmct_rootfs_key(json_object_get(use, "layers"), key, NULL) >= 0)
		json_object_set_new(keys, key, json_true());
}

struct prune_ctx {
	json_t *keys; /* the root disks' keys still used */
	bool dry_run;
};

static bool disk_used(const char *key, void *arg)
{
	return json_object_get(((struct prune_ctx *)arg)->keys, key) != NULL;
}

static void print_removed(void *arg, enum vmct_cache_kind kind, const char *dir, const char *name,
			  uint64_t bytes)
{
	printf("%s %s %s/%s (%llu bytes)\n",
	       ((struct prune_ctx *)arg)->dry_run ? "Would remove" : "Removed",
	       vmct_cache_kind_name(kind), dir, name, (unsigned long long)bytes);
}

/*
 * Prune @cachedir; @s (NULL: a cache with no disks, the OCI mode's) says which disks are
 * used.  The result is added to *total; the notes printed.
 */
static int prune_one(struct img_store *s, const char *cachedir, const struct vmct_prune_opts *o,
		     struct vmct_prune_result *total, struct err **err)
{
	_cleanup_json_ json_t *keys = json_object();
	struct prune_ctx ctx = {.keys = keys, .dry_run = o->dry_run};
	struct vmct_prune_opts mine = *o;
	struct vmct_prune_result res;
	int r = keys ? 0 : err_make(err, ENOMEM, "prune");

	mine.disk_used = s ? disk_used : NULL;
	mine.removed = print_removed;
	mine.arg = &ctx;
	if (r >= 0 && s)
		r = img_store_foreach_use(s, add_key, keys, err);
	if (r < 0)
		return r;
	r = vmct_cache_prune(cachedir, &mine, &res, err);
	if (res.in_use)
		printf("Kept %u unused root disk%s: in use by a VM\n", res.in_use,
		       res.in_use == 1 ? "" : "s");
	if (res.build_running)
		printf("Kept the templates of %s: a template build is running\n", cachedir);
	total->bytes += res.bytes;
	total->removed += res.removed;
	return r;
}

struct system_call {
	const char *store, *root;
	bool dry_run;
};

static int agent_tag(char ret[VMCT_AGENT_TAG_LEN + 1])
{
	_cleanup_free_ char *agent = vmct_find_agent();

	if (agent && vmct_agent_tag(agent, ret, NULL) >= 0)
		return 0;
	printf("Kept the initramfs images: isola-agent not found\n");
	return -ENOENT;
}

static int do_prune(void *data)
{
	const struct system_call *c = data;
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *vm = NULL, *oci = NULL;
	struct img_store *s = NULL;
	struct vmct_prune_result total = {};
	char tag[VMCT_AGENT_TAG_LEN + 1];
	struct vmct_prune_opts o = {.dry_run = c->dry_run};
	int r;

	r = image_cli_open_store(c->store, &s);
	if (r)
		return r;
	if (agent_tag(tag) >= 0)
		o.agent_tag = tag;
	if (asprintf(&vm, "%s/vm", s->path) < 0 || asprintf(&oci, "%s/.vm-cache", c->root) < 0)
		r = err_make(&err, ENOMEM, "paths");
	if (r >= 0)
		r = prune_one(s, vm, &o, &total, &err);
	/* The OCI mode's cache even after a failure in the first: prune goes on past one. */
	if (prune_one(NULL, oci, &o, &total, r < 0 ? NULL : &err) < 0 && r >= 0)
		r = -1;
	img_store_close(s);
	printf("%s %llu bytes\n", c->dry_run ? "Would free" : "Freed",
	       (unsigned long long)total.bytes);
	return r < 0 ? cli_fail(&err) : 0;
}

int image_cli_prune_disk(struct img_store *s, const char *key)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *vm = NULL;
	struct vmct_prune_opts o = {.only_disk = key};
	struct vmct_prune_result total = {};

	if (asprintf(&vm, "%s/vm", s->path) < 0)
		return err_make(&err, ENOMEM, "paths"), cli_fail(&err);
	return prune_one(s, vm, &o, &total, &err) < 0 ? cli_fail(&err) : 0;
}

static void print_usage(const char *cachedir, const struct vmct_cache_usage *u)
{
	for (int k = 0; k < VMCT_CACHE_KINDS; k++)
		printf("%-28s %-20s %6u %14llu\n", cachedir, vmct_cache_kind_name(k), u->count[k],
		       (unsigned long long)u->bytes[k]);
}

static int do_df(void *data)
{
	const struct system_call *c = data;
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *vm = NULL, *oci = NULL;
	const char *store = img_store_default_path(c->store);
	struct vmct_cache_usage u;
	int r = 0;

	if (asprintf(&vm, "%s/vm", store) < 0 || asprintf(&oci, "%s/.vm-cache", c->root) < 0)
		return err_make(&err, ENOMEM, "paths"), cli_fail(&err);
	printf("%-28s %-20s %6s %14s\n", "CACHE", "KIND", "COUNT", "BYTES");
	r = vmct_cache_usage(vm, &u, &err);
	if (r >= 0) {
		print_usage(vm, &u);
		r = vmct_cache_usage(oci, &u, &err);
	}
	if (r >= 0)
		print_usage(oci, &u);
	return r < 0 ? cli_fail(&err) : 0;
}

static int parse(int argc, char **argv, struct system_call *c)
{
	struct cli_parser p;
	int o;

	cli_parser_init(&p, argv[0], cmd_system_opts);
	while ((o = cli_parse(&p, argc, argv)) > 0) {
		if (o == OPT_STORE)
			c->store = optarg;
		else if (o == OPT_DRY_RUN)
			c->dry_run = true;
	}
	if (o < 0)
		return p.exit_code ? p.exit_code : -1;
	if (optind < argc)
		return cli_usage_error(argv[0], "unexpected argument `%s`", argv[optind]);
	return 0;
}

static int cmd_system_prune(struct cli_globals *g, int argc, char **argv)
{
	struct system_call c = {.root = g->root};
	int r = parse(argc, argv, &c);

	if (r)
		return r < 0 ? 0 : r;
	/* A rootless store's caches are its user namespace's, as its layers. */
	return image_cli_store_call(do_prune, &c);
}

static int cmd_system_df(struct cli_globals *g, int argc, char **argv)
{
	struct system_call c = {.root = g->root};
	int r = parse(argc, argv, &c);

	if (r)
		return r < 0 ? 0 : r;
	if (c.dry_run)
		return cli_usage_error(argv[0], "--dry-run is prune's");
	return do_df(&c);
}

/* clang-format off */
const struct cli_command cli_system_subcommands[] = {
	{ "system prune", cmd_system_prune, "remove from the VM caches (<store>/vm, <root>/.vm-cache) what this isola would never use again: root disks of no image or container, initramfs images of another agent, templates of changed files, build leftovers", "", cmd_system_opts },
	{ "system df", cmd_system_df, "bytes the VM caches take, per kind", "", cmd_system_opts },
	{},
};
/* clang-format on */

int cmd_system(struct cli_globals *g, int argc, char **argv)
{
	return cli_dispatch_sub(g, argc, argv, "system", cli_system_subcommands);
}
