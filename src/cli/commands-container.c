/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container commands. */
#include <stddef.h>

#include "commands.h"
#include "cli.h"
#include "opt.h"

extern const struct cli_opt cmd_spec_opts[], cmd_create_opts[], cmd_run_opts[], cmd_kill_opts[],
    cmd_delete_opts[], cmd_list_opts[], cmd_exec_opts[], cmd_image_run_opts[],
    cmd_image_kill_opts[];

const struct cli_command cli_container_commands[] = {
    {"spec", cmd_spec, "write a default config.json", NULL, cmd_spec_opts},
    {"create", cmd_create, "create a container", "ID", cmd_create_opts},
    {"start", cmd_start, "start a created container; returns once its process runs", "ID"},
    {"run", cmd_run_dispatch,
     "create and start a container (runc form), or run an image (IMAGE [CMD...])", "ID",
     cmd_run_opts, "IMAGE [COMMAND [ARG...]]", cmd_image_run_opts},
    {"state", cmd_state, "print a container's state as JSON", "ID"},
    {"kill", cmd_kill_dispatch,
     "send a signal to a container (default TERM), or to containers of run IMAGE (default KILL)",
     "ID [SIGNAL]", cmd_kill_opts, "NAME...", cmd_image_kill_opts},
    {"delete", cmd_delete, "delete a container", "ID", cmd_delete_opts},
    {"list", cmd_list, "list containers", NULL, cmd_list_opts},
    {"exec", cmd_exec_dispatch, "run a process in a container", "ID [COMMAND [ARG...]]",
     cmd_exec_opts},
    {"features", cmd_features, "print the supported features as JSON", ""},
    {},
};
