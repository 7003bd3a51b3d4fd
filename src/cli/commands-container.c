/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container commands. */
#include <stddef.h>

#include "commands.h"
#include "cli.h"

const struct cli_command cli_container_commands[] = {
    {"spec", cmd_spec, "write a default config.json"},
    {"create", cmd_create, "create a container"},
    {"start", cmd_start, "start a created container"},
    {"run", cmd_run_dispatch,
     "create and start a container (runc form), or run an image (IMAGE [CMD...])"},
    {"state", cmd_state, "print a container's state as JSON"},
    {"kill", cmd_kill, "send a signal to a container"},
    {"delete", cmd_delete, "delete a container"},
    {"list", cmd_list, "list containers"},
    {"exec", cmd_exec, "run a process in a container"},
    {"features", cmd_features, "print the supported features as JSON"},
    {},
};
