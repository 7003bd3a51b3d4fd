/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vm commands. */
#include <stddef.h>

#include "commands.h"
#include "cli.h"

const struct cli_command cli_vm_commands[] = {
    {"vm", cmd_vm, "KVM micro-VMs: run, restore, snapshot, migrate and manage them",
     "SUBCOMMAND [ARG...]"},
    {},
};
