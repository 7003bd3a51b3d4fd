/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cgroup commands. */
#include <stddef.h>

#include "commands.h"
#include "cli.h"
#include "opt.h"

extern const struct cli_opt cmd_ps_opts[], cmd_update_opts[], cmd_events_opts[];

const struct cli_command cli_cgroup_commands[] = {
    {"pause", cmd_pause, "freeze every process of a container", "ID"},
    {"resume", cmd_resume, "thaw a paused container", "ID"},
    {"ps", cmd_ps_dispatch, "list a container's processes (ps ID), or image-run containers (ps)",
     "ID [PS-OPTIONS...]", cmd_ps_opts},
    {"update", cmd_update, "change a container's resource limits", "ID", cmd_update_opts},
    {"events", cmd_events, "stream usage every --interval and OOM kills (--stats: once)", "ID",
     cmd_events_opts},
    {},
};
