/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The command line.  main.c parses runc's global flags and dispatches to one
 * function per command; each module's commands sit in its own table file
 * (commands-<module>.c) so that the tables grow without touching main.c.
 */
#include <stdbool.h>

#include "err.h"
#include "log.h"

struct cli_globals {
	const char *root; /* --root: container state directory */
	bool root_given;  /* --root was on the command line (an engine's, say) */
	const char *log;  /* --log FILE */
	enum log_format log_format;
	bool debug;
	bool systemd_cgroup;
	const char *rootless; /* --rootless true|false|auto (accepted, as runc) */
	bool vm_name;	      /* invoked as isola-vm: containers run in micro-VMs */
};

/*
 * In the static isola, exec isola-dl (the dynamic build) with the same command line (read back from
 * /proc/self/cmdline: commands rewrite their argv[0]): for the commands that load libcurl,
 * libarchive or libcrypto (src/cli/dynamic.c).  Returns 0 at once in a dynamic isola; otherwise
 * returns only on failure, with the exit code.
 */
int cli_run_dynamic(const struct cli_globals *g);
/* The static isola runs this top-level command (and vm subcommand) itself. */
bool cli_static_command(const char *cmd, const char *sub);

/* A command returns the process exit code. */
typedef int (*cli_fn)(struct cli_globals *g, int argc, char **argv);

struct cli_opt;

struct cli_command {
	const char *name;
	cli_fn fn;
	const char *summary;
	const char *args;	    /* operands for the usage line: "ID [SIGNAL]" */
	const struct cli_opt *opts; /* its option table (opt.h), NULL: none */
	/* A second form of the command (`run ID` | `run IMAGE [CMD...]`), shown beside the
	 * first in --help, the man page and completion; NULL: none. */
	const char *alt_args;
	const struct cli_opt *alt_opts;
};

/* NULL-name-terminated tables, one per module. */
extern const struct cli_command cli_container_commands[];
extern const struct cli_command cli_cgroup_commands[];
extern const struct cli_command cli_vm_commands[];
extern const struct cli_command cli_image_commands[];
/* Subcommands, by full name ("image ls", "vm run"): found by cli_find_command for --help. */
extern const struct cli_command cli_image_subcommands[], cli_vm_subcommands[],
    cli_network_subcommands[], cli_system_subcommands[], cli_volume_subcommands[];

/* Print a recorded error (stderr and the --log file) and return exit code 1. */
int cli_fail(struct err **err);
/* Print "isola: <msg>" and return exit code 1; for usage errors. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
