/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola kill [--all] ID [SIGNAL]  (runc's: default SIGTERM; names or numbers), or
 * podman's `kill [--store D] [-s SIGNAL] NAME...` (default KILL) for containers of
 * `run IMAGE`: that form when it has -s/--signal/--store, or, without --root (an
 * engine always names its root, and its container gone from there must not be
 * taken for ours), when its first operand is no container under the root but one in
 * the store.  Then `kill NAME SIGNAL`, runc's shape, still means that signal.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>
#include <signal.h>

#include "commands.h"
#include "cleanup.h"
#include "cli.h"
#include "fdutil.h"
#include "image-cli.h"
#include "opt.h"
#include "container.h"
#include "oci.h"
#include "parse.h"

const struct cli_opt cmd_kill_opts[] = {
    {"all", 'a', NULL, "signal every process in the container's cgroup"},
    {},
};

static bool is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(a, name, n) && (a[n] == '\0' || a[n] == '=');
}

/* Is this podman's form?  (See the top of the file.) */
static bool image_form(const struct cli_globals *g, int argc, char **argv)
{
	const char *id = NULL;

	for (int i = 1; i < argc && !id; i++) {
		const char *a = argv[i];

		if (is_opt(a, "--store") || is_opt(a, "--signal") || !strncmp(a, "-s", 2))
			return true;
		if (streq(a, "--"))
			id = i + 1 < argc ? argv[i + 1] : NULL;
		else if (a[0] != '-')
			id = a;
	}
	if (!id || g->root_given || !image_cli_container_name_plain(id))
		return false;
	return !image_cli_root_has(g->root, id) && image_cli_store_has(NULL, id, NULL);
}

int cmd_kill_dispatch(struct cli_globals *g, int argc, char **argv)
{
	int sig;

	if (!image_form(g, argc, argv))
		return cmd_kill(g, argc, argv);
	/* runc's shape, NAME SIGNAL, for a container of the store: that signal, not KILL. */
	if (argc == 3 && argv[1][0] != '-' && parse_signal(argv[2], &sig) == 0) {
		char *args[] = {argv[0], "--signal", argv[2], argv[1], NULL};

		return cli_run_dynamic(g) ?: cmd_image_kill(g, 4, args);
	}
	return cli_run_dynamic(g) ?: cmd_image_kill(g, argc, argv);
}

int cmd_kill(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	struct err *err = NULL;
	bool all = false;
	int c, sig = SIGTERM;

	cli_parser_init(&p, argv[0], cmd_kill_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0)
		all = true;
	if (c < 0)
		return p.exit_code;
	if (optind != argc - 1 && optind != argc - 2)
		return cli_usage_error(argv[0], "expected ID [SIGNAL]");
	/* 0 sends nothing and fails unless the container runs, as runc's kill ID 0. */
	if (optind == argc - 2 && streq(argv[optind + 1], "0"))
		sig = 0;
	else if (optind == argc - 2 && parse_signal(argv[optind + 1], &sig) < 0)
		return cli_usage_error(argv[0], "unknown signal `%s`", argv[optind + 1]);
	/* --all: the VM's processes are the guest's; its monitor relays to the container's. */
	if (vmct_oci_is_vm(g->root, argv[optind])) {
		if (sig == 0)
			return cli_usage_error(argv[0],
					       "signal 0: not supported for a VM container");
		if (vmct_oci_kill(g->root, argv[optind], sig, &err) < 0)
			return cli_fail(&err);
		return 0;
	}
	if (ct_kill(g->root, argv[optind], sig, all, &err) < 0)
		return cli_fail(&err);
	return 0;
}
