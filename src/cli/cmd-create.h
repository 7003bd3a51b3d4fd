/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Options shared by `create` and `run`. */
#include <stdbool.h>

#include "cli.h"
#include "container.h"

struct cmd_create_args {
	struct ct_create_opts o;
	bool detach, keep;
};

/* Returns 0; -1 after --help (exit 0); or an exit code after printing a usage error. */
int cmd_create_parse(struct cli_globals *g, int argc, char **argv, bool run,
		     struct cmd_create_args *a);
/*
 * create in a micro-VM when isola-vm or the config's run.isola.vm=true asks
 * for it (src/vmct/oci.h): 1 done (*ret_pid the VM's monitor), 0 not a VM
 * container, < 0 error.
 */
int cmd_create_vm(struct cli_globals *g, const struct cmd_create_args *a, pid_t *ret_pid,
		  struct err **err);
