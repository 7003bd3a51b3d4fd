/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Networks for `isola run IMAGE` (src/net):
 *   isola network create [--store D] NAME --subnet CIDR [--subnet CIDR6] [--ipv6]
 *                        [--interface-name BRIDGE]
 *   isola network ls     [--store D] [--format json|table]
 *   isola network rm     [--store D] NAME...
 *   isola network prune  [--store D]   undo the attachments of containers that are gone
 *                                      (crashed runs included), then remove unused networks
 *   isola network dns-serve --store D NAME   the network's DNS responder, started by run
 *                                      (src/net/dns-server.c) on sockets it hands over
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image-cli.h"
#include "jsonutil.h"
#include "log.h"
#include "net.h"
#include "opt.h"
#include "strv.h"

struct net_args {
	const char *store, *bridge, *format;
	char **subnets;
	bool ipv6;
};

enum { OPT_STORE = CLI_LONG(1), OPT_SUBNET, OPT_BRIDGE, OPT_FORMAT, OPT_IPV6 };

/* One table for the four subcommands, as their options overlap. */
/* clang-format off */
const struct cli_opt cmd_network_opts[] = {
	{"store", OPT_STORE, "DIR", "the image store that holds the networks"},
	{"subnet", OPT_SUBNET, "CIDR", "create: the network's subnet (required; an IPv4 and an IPv6 one may be given)"},
	{"ipv6", OPT_IPV6, NULL, "create: IPv6 addresses too (from the IPv6 --subnet)"},
	{"interface-name", OPT_BRIDGE, "BRIDGE", "create: the bridge's name"},
	{"format", OPT_FORMAT, "json|table", "ls: the output format"},
	{},
};
/* clang-format on */

/* 0 to go on, -1 after --help (exit 0), else a usage error's exit code. */
static int parse(struct net_args *a, int argc, char **argv)
{
	struct cli_parser p;
	int c;

	cli_parser_init(&p, argv[0], cmd_network_opts);
	cli_parser_permute(&p); /* network create NAME --subnet CIDR */
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		switch (c) {
		case OPT_STORE:
			a->store = optarg;
			break;
		case OPT_SUBNET:
			if (strv_push(&a->subnets, optarg) < 0)
				return cli_usage_error(argv[0], "out of memory");
			break;
		case OPT_IPV6:
			a->ipv6 = true;
			break;
		case OPT_BRIDGE:
			a->bridge = optarg;
			break;
		case OPT_FORMAT:
			a->format = optarg;
			break;
		}
	}
	return c < 0 ? (p.exit_code ? p.exit_code : -1) : 0;
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

	if (argc - optind != 1 || !a->subnets)
		return cli_usage_error(argv[0],
				       "usage: network create NAME --subnet CIDR "
				       "[--subnet CIDR6] [--ipv6] [--interface-name BRIDGE]");
	store = store_path(a->store, argv[0]);
	if (!store)
		return 1;
	if (net_network_create(store, argv[optind], a->subnets, a->ipv6, a->bridge, &err) < 0)
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
	json_array_foreach (list, i, n) {
		json_t *sub;
		size_t j;

		printf("%-24s %-16s ", json_string_value(json_object_get(n, "name")),
		       json_string_value(json_object_get(n, "bridge")) ?: "-");
		json_array_foreach (json_object_get(n, "subnets"), j, sub)
			printf("%s%s", j ? "," : "", json_string_value(sub));
		printf("%s\n", json_array_size(json_object_get(n, "subnets")) ? "" : "-");
	}
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
		_cleanup_free_ char *note = NULL;

		if (net_network_remove(store, argv[i], &note, &err) < 0)
			rc = cli_fail(&err);
		else
			printf("%s\n", argv[i]);
		if (note)
			log_warn("%s", note);
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
		/* Held across the check and the detach: no run can begin attaching it meanwhile. */
		_cleanup_close_ int lk = net_lock_idle(store, ids[i]);

		if (lk < 0 || image_cli_container_running(store, ids[i]))
			continue;
		if (net_detach(store, ids[i], lk, &err) < 0)
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
		_cleanup_free_ char *note = NULL;

		/* In use: the removal refuses, and that is no error here. */
		if (net_network_remove(store, name, &note, &err) == 0)
			printf("%s\n", name);
		if (note)
			log_warn("%s", note);
		err_free(&err);
	}
	return rc;
}

/* Started by net_dns_ensure with its sockets as fds 4 and 5; runs until the network idles. */
static int net_dns(struct net_args *a, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *store = NULL;

	if (argc - optind != 1)
		return cli_usage_error(argv[0], "usage: network dns-serve --store DIR NAME");
	store = store_path(a->store, argv[0]);
	if (!store)
		return 1;
	if (!net_name_valid(argv[optind]))
		return cli_usage_error(argv[0], "network name `%s`: invalid", argv[optind]);
	return net_dns_serve(store, argv[optind], &err) < 0 ? cli_fail(&err) : 0;
}

/* Full names ("network ls"), found by cli_find_command for --help. */
/* clang-format off */
const struct cli_command cli_network_subcommands[] = {
	{"network create", NULL, "create a bridge network", "NAME", cmd_network_opts},
	{"network ls", NULL, "list the networks", "", cmd_network_opts},
	{"network rm", NULL, "remove networks no container uses", "NAME...", cmd_network_opts},
	{"network prune", NULL, "remove unused networks and stale attachments", "", cmd_network_opts},
	{"network dns-serve", NULL, "(internal) a network's DNS responder, started by run", "NAME",
	 cmd_network_opts},
	{},
};
/* clang-format on */

int cmd_network(struct cli_globals *g, int argc, char **argv)
{
	struct net_args a = {};
	const char *sub;
	int r;

	sub = cli_sub_resolve(argc, argv, "network", cli_network_subcommands,
			      "create, ls, rm or prune", &r);
	if (!sub)
		return r;
	r = parse(&a, argc - 1, argv + 1);
	if (r) {
		strv_free(a.subnets);
		return r < 0 ? 0 : r;
	}
	optind++;
	if (streq(sub, "create"))
		r = net_create(&a, argc, argv);
	else if (streq(sub, "ls"))
		r = net_ls(&a, argc, argv);
	else if (streq(sub, "rm"))
		r = net_rm(&a, argc, argv);
	else if (streq(sub, "dns-serve"))
		r = net_dns(&a, argc, argv);
	else
		r = net_prune(&a, argc, argv);
	strv_free(a.subnets);
	return r;
}
