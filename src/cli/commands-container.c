/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container commands. */
#include <stddef.h>

#include "cli.h"

int cmd_spec(struct cli_globals *g, int argc, char **argv);
int cmd_create(struct cli_globals *g, int argc, char **argv);
int cmd_start(struct cli_globals *g, int argc, char **argv);
int cmd_run_dispatch(struct cli_globals *g, int argc, char **argv);
int cmd_state(struct cli_globals *g, int argc, char **argv);
int cmd_kill(struct cli_globals *g, int argc, char **argv);
int cmd_delete(struct cli_globals *g, int argc, char **argv);
int cmd_list(struct cli_globals *g, int argc, char **argv);
int cmd_exec(struct cli_globals *g, int argc, char **argv);
int cmd_features(struct cli_globals *g, int argc, char **argv);

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
