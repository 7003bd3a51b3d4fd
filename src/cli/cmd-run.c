/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola run [create options] [--detach] [--keep] ID: exits with the container's code. */
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "commands.h"
#include "cli.h"
#include "cmd-create.h"
#include "container.h"
#include "oci.h"

/* A VM container (created): start it, wait for its monitor (our child), delete it. */
static int run_vm(const struct cmd_create_args *a, pid_t monitor)
{
	struct err *err = NULL;
	int code;

	if (vmct_oci_start(a->o.root, a->o.id, &err) < 0) {
		cli_fail(&err);
		vmct_oci_delete(a->o.root, a->o.id, true, NULL);
		return 1;
	}
	if (a->detach)
		return 0;
	code = ct_wait_forward(monitor);
	if (!a->keep && vmct_oci_delete(a->o.root, a->o.id, true, &err) < 0)
		cli_fail(&err);
	return code;
}

int cmd_run(struct cli_globals *g, int argc, char **argv)
{
	struct cmd_create_args a = {};
	struct err *err = NULL;
	int r, code, console = -1;
	pid_t pid;

	r = cmd_create_parse(g, argc, argv, true, &a);
	if (r)
		return r < 0 ? 0 : r;
	r = cmd_create_vm(g, &a, &pid, &err);
	if (r < 0)
		return cli_fail(&err);
	if (r > 0)
		return run_vm(&a, pid);
	/* In the foreground a terminal needs no --console-socket: we relay it. */
	if (!a.detach && !a.o.console_socket)
		a.o.ret_console = &console;
	if (ct_protect_exe(&err) < 0 || ct_create(&a.o, &pid, &err) < 0)
		return cli_fail(&err);
	if (ct_start(a.o.root, a.o.id, &err) < 0) {
		cli_fail(&err);
		if (console >= 0)
			close(console);
		ct_delete(a.o.root, a.o.id, true, NULL);
		return 1;
	}
	if (a.detach)
		return 0;
	if (console >= 0) {
		code = ct_console_relay(console, pid, STDIN_FILENO, STDOUT_FILENO);
		close(console);
	} else {
		code = ct_wait_forward(pid);
	}
	if (!a.keep && ct_delete(a.o.root, a.o.id, true, &err) < 0)
		cli_fail(&err);
	return code;
}
