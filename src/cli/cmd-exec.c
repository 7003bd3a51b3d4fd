/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola exec [options] ID [COMMAND ARGS...] */
#include <stddef.h>
#include <string.h>
#include <getopt.h>

#include "commands.h"
#include "cleanup.h"
#include "cli.h"
#include "container.h"
#include "parse.h"
#include "strv.h"

static int push(char ***v, const char *s, const char *cmd)
{
	return strv_push(v, s) < 0 ? cli_usage_error(cmd, "out of memory") : 0;
}

static int parse(int argc, char **argv, struct ct_exec_opts *o)
{
	static const struct option opts[] = {
	    {"process", required_argument, NULL, 'p'},
	    {"tty", no_argument, NULL, 't'},
	    {"detach", no_argument, NULL, 'd'},
	    {"env", required_argument, NULL, 'e'},
	    {"cwd", required_argument, NULL, 'w'},
	    {"user", required_argument, NULL, 'u'},
	    {"cap", required_argument, NULL, 'c'},
	    {"pid-file", required_argument, NULL, 'P'},
	    {"console-socket", required_argument, NULL, 's'},
	    {"preserve-fds", required_argument, NULL, 'f'},
	    {"no-new-privs", no_argument, NULL, 'n'},
	    {"process-label", required_argument, NULL, 'L'},
	    {"apparmor", required_argument, NULL, 'A'},
	    {"cgroup", required_argument, NULL, 'G'},
	    {},
	};
	int c, r = 0;

	while (r == 0 && (c = getopt_long_only(argc, argv, "+p:tde:u:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->process_file = optarg;
			break;
		case 't':
			o->tty = true;
			break;
		case 'd':
			o->detach = true;
			break;
		case 'e':
			r = push(&o->env, optarg, argv[0]);
			break;
		case 'w':
			o->cwd = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'c':
			r = push(&o->caps, optarg, argv[0]);
			break;
		case 'P':
			o->pid_file = optarg;
			break;
		case 's':
			o->console_socket = optarg;
			break;
		case 'n':
			o->no_new_privs = true;
			break;
		case 'f':
			if (parse_int(optarg, &o->preserve_fds) < 0 || o->preserve_fds < 0 ||
			    o->preserve_fds > 4096)
				r = cli_usage_error(argv[0], "--preserve-fds: expected 0..4096");
			break;
		case 'L':
		case 'A':
		case 'G':
			r = cli_usage_error(argv[0], "this option is not supported yet");
			break;
		default:
			r = 1;
		}
	}
	if (r)
		return r;
	if (optind >= argc)
		return cli_usage_error(argv[0], "expected a container id");
	o->id = argv[optind++];
	if (!o->process_file && optind >= argc)
		return cli_usage_error(argv[0], "expected a command or --process FILE");
	for (; optind < argc; optind++)
		if ((r = push(&o->args, argv[optind], argv[0])))
			return r;
	return 0;
}

int cmd_exec(struct cli_globals *g, int argc, char **argv)
{
	struct ct_exec_opts o = {.root = g->root};
	struct err *err = NULL;
	int r, status = 0;

	r = parse(argc, argv, &o);
	if (r == 0) {
		if (ct_protect_exe(&err) < 0 || ct_exec(&o, &status, &err) < 0)
			r = cli_fail(&err);
		else
			r = status;
	}
	strv_free(o.args);
	strv_free(o.env);
	strv_free(o.caps);
	return r;
}
