/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cgroup commands. */
#include <stddef.h>

#include "commands.h"
#include "cli.h"

const struct cli_command cli_cgroup_commands[] = {
    {"pause", cmd_pause, "freeze every process of a container"},
    {"resume", cmd_resume, "thaw a paused container"},
    {"ps", cmd_ps_dispatch, "list a container's processes (ps ID), or image-run containers (ps)"},
    {"update", cmd_update, "change a container's resource limits"},
    {"events", cmd_events, "stream usage every --interval and OOM kills (--stats: once)"},
    {},
};
