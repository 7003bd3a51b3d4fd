/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Networks for `isola run IMAGE` (src/net):
 *   isola network create [--store D] NAME --subnet CIDR [--interface-name BRIDGE]
 *   isola network ls     [--store D] [--format json|table]
 *   isola network rm     [--store D] NAME...
 *   isola network prune  [--store D]   undo the attachments of containers that are gone
 *                                      (crashed runs included), then remove unused networks
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image-cli.h"
#include "jsonutil.h"
#include "net.h"
#include "strv.h"

struct net_args {
	const char *store, *subnet, *bridge, *format;
};

static int parse(struct net_args *a, int argc, char **argv)
{
	/* clang-format off */
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "subnet", required_argument, NULL, 'S' },
		{ "interface-name", required_argument, NULL, 'i' },
		{ "format", required_argument, NULL, 'F' },
		{},
	};
	/* clang-format on */
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->store = optarg;
			break;
		case 'S':
			a->subnet = optarg;
			break;
		case 'i':
			a->bridge = optarg;
			break;
		case 'F':
			a->format = optarg;
			break;
		default:
			return 1;
		}
	}
	return 0;
}

/* The store's real path; networks need no store lock (they are files of their own). */
static char *store_path(const char *opt, const char *cmd)
{
	_cleanup_err_ struct err *err = NULL;
	struct img_store *s = NULL;
	char *p;

	if (image_cli_open_store(opt, &s))
		return NULL;
	p = realpath(s->path, NULL);
	img_store_close(s);
	if (!p)
		cli_usage_error(cmd, "store: %s", strerror(errno));
	return p;
}

static int net_create(struct net_args *a, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *store = NULL;

	if (argc - optind != 1 || !a->subnet)
		return cli_usage_error(argv[0], "usage: network create NAME --subnet CIDR "
						"[--interface-name BRIDGE]");
	store = store_path(a->store, argv[0]);
	if (!store)
		return 1;
	if (net_network_create(store, argv[optind], a->subnet, a->bridge, &err) < 0)
		return cli_fail(&err);
	printf("%s\n", argv[optind]);
	return 0;
}

static int net_ls(struct net_args *a, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *store = NULL, *text = NULL;
	_cleanup_json_ json_t *list = NULL;
	json_t *n;
	size_t i;

	if (a->format && !streq(a->format, "json") && !streq(a->format, "table"))
		return cli_usage_error(argv[0], "--format `%s`: expected json or table", a->format);
	store = store_path(a->store, argv[0]);
	if (!store)
		return 1;
	if (net_network_list(store, &list, &err) < 0)
		return cli_fail(&err);
	if (a->format && streq(a->format, "json")) {
		text = json_dumps(list, JSON_INDENT(2));
		printf("%s\n", text ? text : "[]");
		return 0;
	}
	printf("%-24s %-16s %s\n", "NAME", "BRIDGE", "SUBNET");
	json_array_foreach (list, i, n)
		printf("%-24s %-16s %s\n", json_string_value(json_object_get(n, "name")),
		       json_string_value(json_object_get(n, "bridge")) ?: "-",
		       json_string_value(json_object_get(n, "subnet")) ?: "-");
	return 0;
}

static int net_rm(struct net_args *a, int argc, char **argv)
{
	_cleanup_free_ char *store = NULL;
	int rc = 0;

	if (optind >= argc)
		return cli_usage_error(argv[0], "expected network names");
	store = store_path(a->store, argv[0]);
	if (!store)
		return 1;
	for (int i = optind; i < argc; i++) {
		_cleanup_err_ struct err *err = NULL;

		if (net_network_remove(store, argv[i], &err) < 0)
			rc = cli_fail(&err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

/* Attachments whose container is not running and whose run is not in progress. */
static int prune_attachments(const char *store)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_strv_ char **ids = NULL;
	int rc = 0;

	if (net_state_ids(store, &ids, &err) < 0)
		return cli_fail(&err);
	for (size_t i = 0; ids && ids[i]; i++) {
		if (net_busy(store, ids[i]) || image_cli_container_running(store, ids[i]))
			continue;
		if (net_detach(store, ids[i], &err) < 0)
			rc = cli_fail(&err);
	}
	return rc;
}

static int net_prune(struct net_args *a, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *store = NULL;
	_cleanup_json_ json_t *list = NULL;
	json_t *n;
	size_t i;
	int rc;

	if (optind < argc)
		return cli_usage_error(argv[0], "unexpected argument `%s`", argv[optind]);
	store = store_path(a->store, argv[0]);
	if (!store)
		return 1;
	rc = prune_attachments(store);
	if (net_network_list(store, &list, &err) < 0)
		return cli_fail(&err);
	json_array_foreach (list, i, n) {
		const char *name = json_string_value(json_object_get(n, "name"));

		/* In use: the removal refuses, and that is no error here. */
		if (net_network_remove(store, name, &err) == 0)
			printf("%s\n", name);
		err_free(&err);
	}
	return rc;
}

int cmd_network(struct cli_globals *g, int argc, char **argv)
{
	struct net_args a = {};
	const char *sub;
	int r;

	if (argc < 2)
		return cli_usage_error(argv[0], "expected create, ls, rm or prune");
	sub = argv[1];
	if (streq(sub, "--help") || streq(sub, "-h")) {
		printf("Usage: isola network create [--store D] NAME --subnet CIDR "
		       "[--interface-name BRIDGE]\n"
		       "       isola network ls [--store D] [--format json|table]\n"
		       "       isola network rm [--store D] NAME...\n"
		       "       isola network prune [--store D]\n");
		return 0;
	}
	r = parse(&a, argc - 1, argv + 1);
	if (r)
		return r;
	optind++;
	if (streq(sub, "create"))
		return net_create(&a, argc, argv);
	if (streq(sub, "ls") || streq(sub, "list"))
		return net_ls(&a, argc, argv);
	if (streq(sub, "rm") || streq(sub, "remove"))
		return net_rm(&a, argc, argv);
	if (streq(sub, "prune"))
		return net_prune(&a, argc, argv);
	return cli_usage_error(argv[0], "`%s`: expected create, ls, rm or prune", sub);
}
