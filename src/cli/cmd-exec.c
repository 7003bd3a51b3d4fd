/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola exec [options] ID [COMMAND ARGS...] */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>

#include "commands.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"
#include "container.h"
#include "image-cli.h"
#include "spec.h"
#include "oci.h"
#include "parse.h"
#include "strv.h"

static int push(char ***v, const char *s, const char *cmd)
{
	return strv_push(v, s) < 0 ? cli_usage_error(cmd, "out of memory") : 0;
}

const struct cli_opt cmd_exec_opts[] = {
    {"process", 'p', "FILE", "the process as an OCI process JSON (instead of COMMAND)"},
    {"tty", 't', NULL, "give the process a terminal"},
    {"interactive", 'i', NULL, "keep stdin attached (it always is; accepted for -it)"},
    {"detach", 'd', NULL, "return at once instead of waiting for the process"},
    {"env", 'e', "KEY=VALUE", "add an environment variable (repeatable)"},
    {"cwd", 'w', "DIR", "the working directory in the container"},
    {"user", 'u', "UID[:GID]", "run as this user and group"},
    {"additional-gids", 'g', "GID", "add a supplementary group (repeatable)"},
    {"cap", 'c', "CAP", "add a capability (repeatable)"},
    {"pid-file", CLI_LONG(1), "FILE", "write the process's pid to FILE"},
    {"console-socket", CLI_LONG(2), "SOCKET", "send the pty master over this AF_UNIX socket"},
    {"preserve-fds", CLI_LONG(3), "N", "pass N more fds (3, 4, ...) to the process"},
    {"no-new-privs", CLI_LONG(4), NULL, "set no_new_privs for the process"},
    {"process-label", CLI_LONG(5), "LABEL", "SELinux label (refused: not supported)"},
    {"apparmor", CLI_LONG(6), "PROFILE", "AppArmor profile (refused: not supported)"},
    {"cgroup", CLI_LONG(7), "PATH", "run in a sub-cgroup (refused: not supported)"},
    {"ignore-paused", CLI_LONG(8), NULL, "allow exec in a paused container (it runs once resumed)"},
    {},
};

static int parse(int argc, char **argv, struct ct_exec_opts *o)
{
	struct cli_parser p;
	int c, r = 0;

	cli_parser_init(&p, argv[0], cmd_exec_opts);
	while (r == 0 && (c = cli_parse(&p, argc, argv)) > 0) {
		switch (c) {
		case 'p':
			o->process_file = optarg;
			break;
		case 't':
			o->tty = true;
			break;
		case 'i':
			break;
		case 'd':
			o->detach = true;
			break;
		case 'e':
			/* Both exec paths (container and VM) take them from here. */
			if (!ct_env_valid(optarg))
				r = cli_usage_error(argv[0], "--env `%s`: expected NAME=VALUE",
						    optarg);
			else
				r = push(&o->env, optarg, argv[0]);
			break;
		case 'w':
			o->cwd = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'g':
			r = push(&o->groups, optarg, argv[0]);
			break;
		case 'c':
			r = push(&o->caps, optarg, argv[0]);
			break;
		case CLI_LONG(1):
			o->pid_file = optarg;
			break;
		case CLI_LONG(2):
			o->console_socket = optarg;
			break;
		case CLI_LONG(4):
			o->no_new_privs = true;
			break;
		case CLI_LONG(8):
			o->ignore_paused = true;
			break;
		case CLI_LONG(3):
			if (parse_int(optarg, &o->preserve_fds) < 0 || o->preserve_fds < 0 ||
			    o->preserve_fds > 4096)
				r = cli_usage_error(argv[0], "--preserve-fds: expected 0..4096");
			break;
		default:
			r = cli_usage_error(argv[0], "--%s is not supported",
					    c == CLI_LONG(5)   ? "process-label"
					    : c == CLI_LONG(6) ? "apparmor"
							       : "cgroup");
			break;
		}
	}
	if (r)
		return r;
	if (c < 0)
		return p.exit_code ? p.exit_code : -1;
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

/* A VM container (isola-vm): the process runs in its guest; what cannot be carried is refused. */
static int exec_vm(const struct ct_exec_opts *o)
{
	struct vmct_oci_exec_opts vo = {
	    .root = o->root,
	    .id = o->id,
	    .process_file = o->process_file,
	    .args = o->args,
	    .env = o->env,
	    .cwd = o->cwd,
	    .user = o->user,
	    .pid_file = o->pid_file,
	    .console_socket = o->console_socket,
	    .tty = o->tty,
	    .detach = o->detach,
	    .caps = o->caps,
	    .no_new_privs = o->no_new_privs,
	};
	struct err *err = NULL;
	int status = 0;

	/* The session carries stdio only: no other descriptor reaches the guest. */
	if (o->preserve_fds)
		return cli_usage_error("exec", "--preserve-fds: not supported in a VM container");
	if (o->groups)
		return cli_usage_error("exec",
				       "--additional-gids: not supported in a VM container");
	if (vmct_oci_exec(&vo, &status, &err) < 0)
		return cli_fail(&err);
	return status;
}

int cmd_exec(struct cli_globals *g, int argc, char **argv)
{
	struct ct_exec_opts o = {.root = g->root};
	struct err *err = NULL;
	int r, status = 0;

	r = parse(argc, argv, &o);
	if (r < 0)
		r = 0; /* --help */
	else if (r == 0 && vmct_oci_is_vm(g->root, o.id)) {
		r = exec_vm(&o);
	} else if (r == 0) {
		/*
		 * As runc: 255 when exec itself fails, so it differs from the process's own 1.
		 * For podman's form (exec NAME of a run IMAGE container) podman's codes: 127
		 * no such command, 126 not executable, 125 any other failure.
		 */
		if (ct_protect_exe(&err) < 0 || ct_exec(&o, &status, &err) < 0) {
			int e = err ? err->errnum : 0;

			cli_fail(&err);
			r = !getenv(EXEC_PODMAN_CODES_ENV) ? 255
			    : e == ENOENT		   ? EXIT_NOT_FOUND
			    : e == EACCES		   ? EXIT_NOT_EXEC
							   : EXIT_ISOLA;
		} else {
			r = status;
		}
	}
	strv_free(o.args);
	strv_free(o.env);
	strv_free(o.caps);
	strv_free(o.groups);
	return r;
}
