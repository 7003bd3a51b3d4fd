/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola create [options] ID  (and the create options `run` shares). */
#include <stddef.h>
#include <string.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "cli.h"
#include "cmd-create.h"
#include "container.h"
#include "parse.h"

int cmd_create_parse(struct cli_globals *g, int argc, char **argv, bool run,
		     struct cmd_create_args *a)
{
	static const struct option opts[] = {
	    {"bundle", required_argument, NULL, 'b'},
	    {"pid-file", required_argument, NULL, 'p'},
	    {"console-socket", required_argument, NULL, 'c'},
	    {"no-pivot", no_argument, NULL, 'P'},
	    {"no-new-keyring", no_argument, NULL, 'k'},
	    {"preserve-fds", required_argument, NULL, 'f'},
	    {"detach", no_argument, NULL, 'd'},
	    {"keep", no_argument, NULL, 'K'},
	    {"no-subreaper", no_argument, NULL, 'S'},
	    {},
	};
	int c;

	a->o.root = g->root;
	a->o.systemd_cgroup = g->systemd_cgroup;
	while ((c = getopt_long_only(argc, argv, run ? "+b:d" : "+b:", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			a->o.bundle = optarg;
			break;
		case 'p':
			a->o.pid_file = optarg;
			break;
		case 'c':
			a->o.console_socket = optarg;
			break;
		case 'P':
			a->o.no_pivot = true;
			break;
		case 'k':
			a->o.no_new_keyring = true;
			break;
		case 'S':
			break;
		case 'f':
			if (parse_int(optarg, &a->o.preserve_fds) < 0 || a->o.preserve_fds < 0 ||
			    a->o.preserve_fds > 4096)
				return cli_usage_error(
				    argv[0], "--preserve-fds `%s`: expected 0..4096", optarg);
			break;
		case 'd':
			if (!run)
				return cli_usage_error(argv[0], "unknown option --detach");
			a->detach = true;
			break;
		case 'K':
			if (!run)
				return cli_usage_error(argv[0], "unknown option --keep");
			a->keep = true;
			break;
		default:
			return 1;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(argv[0], "expected one container id");
	a->o.id = argv[optind];
	return 0;
}

int cmd_create(struct cli_globals *g, int argc, char **argv)
{
	struct cmd_create_args a = {};
	struct err *err = NULL;
	pid_t pid;
	int r;

	r = cmd_create_parse(g, argc, argv, false, &a);
	if (r)
		return r;
	if (ct_protect_exe(&err) < 0 || ct_create(&a.o, &pid, &err) < 0)
		return cli_fail(&err);
	return 0;
}
