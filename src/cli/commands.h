/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Every command's entry point, in one place: the tables in commands-*.c and
 * the dispatchers call them; each cmd-*.c defines one or more.
 */
#include "cli.h"

/* runc's commands */
int cmd_spec(struct cli_globals *g, int argc, char **argv);
int cmd_create(struct cli_globals *g, int argc, char **argv);
int cmd_start(struct cli_globals *g, int argc, char **argv);
int cmd_run(struct cli_globals *g, int argc, char **argv);
int cmd_run_dispatch(struct cli_globals *g, int argc, char **argv);
int cmd_state(struct cli_globals *g, int argc, char **argv);
int cmd_kill(struct cli_globals *g, int argc, char **argv);
int cmd_delete(struct cli_globals *g, int argc, char **argv);
int cmd_list(struct cli_globals *g, int argc, char **argv);
int cmd_exec(struct cli_globals *g, int argc, char **argv);
int cmd_exec_dispatch(struct cli_globals *g, int argc, char **argv);
int cmd_features(struct cli_globals *g, int argc, char **argv);

/* cgroup commands */
int cmd_pause(struct cli_globals *g, int argc, char **argv);
int cmd_resume(struct cli_globals *g, int argc, char **argv);
int cmd_ps(struct cli_globals *g, int argc, char **argv);
int cmd_ps_dispatch(struct cli_globals *g, int argc, char **argv);
int cmd_update(struct cli_globals *g, int argc, char **argv);
int cmd_events(struct cli_globals *g, int argc, char **argv);

/* vm commands */
int cmd_vm(struct cli_globals *g, int argc, char **argv);
int cmd_vm_run(struct cli_globals *g, int argc, char **argv);
int cmd_vm_api(struct cli_globals *g, int argc, char **argv);
int cmd_vm_update(struct cli_globals *g, int argc, char **argv);
int cmd_vm_restore(struct cli_globals *g, int argc, char **argv);
int cmd_vm_rebase_snap(struct cli_globals *g, int argc, char **argv);
int cmd_vm_migrate(struct cli_globals *g, int argc, char **argv);
int cmd_vm_receive(struct cli_globals *g, int argc, char **argv);

/* image commands */
int cmd_pull(struct cli_globals *g, int argc, char **argv);
int cmd_images(struct cli_globals *g, int argc, char **argv);
int cmd_rmi(struct cli_globals *g, int argc, char **argv);
int cmd_image(struct cli_globals *g, int argc, char **argv);
int cmd_image_prune(struct cli_globals *g, int argc, char **argv);
int cmd_image_run(struct cli_globals *g, int argc, char **argv);
int cmd_image_import(struct cli_globals *g, int argc, char **argv);
int cmd_image_save(struct cli_globals *g, int argc, char **argv);
int cmd_image_export(struct cli_globals *g, int argc, char **argv);
int cmd_image_inspect(struct cli_globals *g, int argc, char **argv);
int cmd_image_ps(struct cli_globals *g, int argc, char **argv);
int cmd_logs(struct cli_globals *g, int argc, char **argv);
int cmd_inspect(struct cli_globals *g, int argc, char **argv);
int cmd_network(struct cli_globals *g, int argc, char **argv);
int cmd_volume(struct cli_globals *g, int argc, char **argv);
int cmd_system(struct cli_globals *g, int argc, char **argv);
int cmd_image_stop(struct cli_globals *g, int argc, char **argv);
int cmd_image_kill(struct cli_globals *g, int argc, char **argv);
int cmd_kill_dispatch(struct cli_globals *g, int argc, char **argv);
int cmd_image_rm(struct cli_globals *g, int argc, char **argv);
