/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola create [options] ID  (and the create options `run` shares). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "cli.h"
#include "cmd-create.h"
#include "container.h"
#include "log.h"
#include "oci.h"
#include "opt.h"
#include "parse.h"

/* clang-format off */
#define CREATE_OPTS \
	{"bundle", 'b', "DIR", "the bundle: config.json and its rootfs (default: the current directory)"}, \
	{"pid-file", CLI_LONG(1), "FILE", "write the pid of the container's init to FILE"}, \
	{"console-socket", CLI_LONG(2), "SOCKET", "send the pty master of a terminal container over this AF_UNIX socket"}, \
	{"no-pivot", CLI_LONG(3), NULL, "move the root with MS_MOVE and chroot instead of pivot_root (rootfs on a ramdisk)"}, \
	{"no-new-keyring", CLI_LONG(4), NULL, "keep the caller's session keyring instead of a new one"}, \
	{"preserve-fds", CLI_LONG(5), "N", "pass N more fds (3, 4, ...) to the container's process"}, \
	{"no-subreaper", CLI_LONG(6), NULL, "accepted for runc compatibility (no effect)"}
/* clang-format on */

const struct cli_opt cmd_create_opts[] = {CREATE_OPTS, {}};
const struct cli_opt cmd_run_opts[] = {
    CREATE_OPTS,
    {"detach", 'd', NULL, "return once the container runs instead of waiting for it"},
    {"keep", CLI_LONG(7), NULL, "keep the stopped container instead of deleting it"},
    {},
};

/*
 * systemd socket activation, as runc's create and run: LISTEN_FDS fds from 3
 * when LISTEN_PID is our pid (a re-exec keeps it), else none.
 */
static int listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int p, n;

	if (!pid || !fds || parse_int(pid, &p) < 0 || p != getpid() || parse_int(fds, &n) < 0 ||
	    n <= 0 || n > 4096)
		return 0;
	return n;
}

int cmd_create_parse(struct cli_globals *g, int argc, char **argv, bool run,
		     struct cmd_create_args *a)
{
	struct cli_parser p;
	int c;

	a->o.root = g->root;
	a->o.systemd_cgroup = g->systemd_cgroup;
	cli_parser_init(&p, argv[0], run ? cmd_run_opts : cmd_create_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		switch (c) {
		case 'b':
			a->o.bundle = optarg;
			break;
		case CLI_LONG(1):
			a->o.pid_file = optarg;
			break;
		case CLI_LONG(2):
			a->o.console_socket = optarg;
			break;
		case CLI_LONG(3):
			a->o.no_pivot = true;
			break;
		case CLI_LONG(4):
			a->o.no_new_keyring = true;
			break;
		case CLI_LONG(5):
			if (parse_int(optarg, &a->o.preserve_fds) < 0 || a->o.preserve_fds < 0 ||
			    a->o.preserve_fds > 4096)
				return cli_usage_error(
				    argv[0], "--preserve-fds `%s`: expected 0..4096", optarg);
			break;
		case 'd':
			a->detach = true;
			break;
		case CLI_LONG(7):
			a->keep = true;
			break;
		}
	}
	if (c < 0)
		return p.exit_code ? p.exit_code : -1;
	if (optind != argc - 1)
		return cli_usage_error(argv[0], "expected one container id");
	a->o.id = argv[optind];
	a->o.listen_fds = listen_fds();
	return 0;
}

/* The monitor's note that a warm start fell back to a cold boot. */
static void create_warn(const char *note)
{
	log_warn("create: %s", note);
}

int cmd_create_vm(struct cli_globals *g, const struct cmd_create_args *a, pid_t *ret_pid,
		  struct err **err)
{
	struct vmct_oci_create_opts vo = {
	    .root = a->o.root,
	    .id = a->o.id,
	    .bundle = a->o.bundle,
	    .pid_file = a->o.pid_file,
	    .console_socket = a->o.console_socket,
	    .by_name = g->vm_name,
	    .warn = create_warn,
	};
	int r = vmct_oci_wanted(g->vm_name, a->o.bundle, err);

	if (r <= 0)
		return r;
	/* A VM container hashes its agent and root disk (libcrypto): isola-dl runs it. */
	if (cli_run_dynamic(g))
		return err_make(err, ENOEXEC, "annotation %s: a VM container needs isola-dl",
				VMCT_OCI_ANNOTATION);
	r = vmct_oci_create(&vo, ret_pid, err);
	return r < 0 ? r : 1;
}

int cmd_create(struct cli_globals *g, int argc, char **argv)
{
	struct cmd_create_args a = {};
	struct err *err = NULL;
	pid_t pid;
	int r;

	r = cmd_create_parse(g, argc, argv, false, &a);
	if (r)
		return r < 0 ? 0 : r;
	r = cmd_create_vm(g, &a, &pid, &err);
	if (r < 0)
		return cli_fail(&err);
	if (r > 0)
		return 0;
	if (ct_protect_exe(&err) < 0 || ct_create(&a.o, &pid, &err) < 0)
		return cli_fail(&err);
	return 0;
}
