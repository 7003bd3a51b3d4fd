/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Command options: one table per command is the single source for its
 * parser (getopt_long), `--help`, its man page and the bash completion.
 *
 *	static const struct cli_opt opts[] = {
 *		{"bundle", 'b', "DIR", "the bundle directory (default: .)"},
 *		{"pid-file", CLI_LONG(1), "FILE", "write the init's pid to FILE"},
 *		{},
 *	};
 *	struct cli_parser p;
 *	cli_parser_init(&p, argv[0], opts);
 *	while ((c = cli_parse(&p, argc, argv)) > 0)
 *		switch (c) { case 'b': bundle = optarg; ... }
 *	if (c < 0)
 *		return p.exit_code;	// --help printed (0) or a usage error (1)
 *	// argv[optind..] are the operands
 *
 * The same array is named in the command's table entry (commands-*.c), so
 * `isola CMD --help`, `isola help CMD`, isola-CMD(8) and completion list it.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "opt.h"

/* A key for an option without a short letter. */
#define CLI_LONG(n) (0x100 + (n))
#define CLI_OPT_MAX 48

struct cli_opt {
	const char *name; /* long name without "--"; NULL ends the table */
	int key;	  /* a short letter, or CLI_LONG(n): what cli_parse() returns */
	const char *arg;  /* the value's name in help ("DIR"); NULL: a flag */
	const char *help; /* one line */
};

struct cli_parser {
	const char *cmd; /* for messages: "create", "vm run" */
	const struct cli_opt *opts;
	struct option lopts[CLI_OPT_MAX + 2];
	char shortopts[CLI_OPT_MAX * 2 + 4];
	int exit_code; /* after cli_parse() returned -1 */
	bool own_help; /* return 'h' for --help instead of printing the command's help */
};

/* Options of cmd (argv[0]); opts may be NULL.  Resets getopt. */
void cli_parser_init(struct cli_parser *p, const char *cmd, const struct cli_opt *opts);
/* Options may follow operands (`vm update VM --show`), as plain getopt allows. */
void cli_parser_permute(struct cli_parser *p);
/*
 * The next option's key (optarg holds its value); 0 at the first operand
 * (optind indexes it; parsing stops there, so `exec ID sh -c x` keeps -c);
 * -1 when the command must exit with p->exit_code: after printing --help
 * (0), or after a one-line error naming the bad option (1).
 */
int cli_parse(struct cli_parser *p, int argc, char **argv);

/*
 * For a command without options: answers --help, refuses any option.  True
 * when the command must return *ret_code; else the operands start at optind.
 */
bool cli_parse_none(int argc, char **argv, int *ret_code);

/* `isola help CMD`, `isola CMD --help`: usage, summary, every option. */
void cli_print_help(FILE *out, const struct cli_command *c);
const struct cli_command *cli_find_command(const char *name);
/* A subcommand by its full name ("image ls"); NULL if none. */
const struct cli_command *cli_find_subcommand(const char *name);
/*
 * `isola TOP SUB ...`: run @table's "TOP SUB" entry with argv[0] its full name (so that
 * --help finds it); no SUB or --help: TOP's help; else a usage error.  An exit code.
 */
int cli_dispatch_sub(struct cli_globals *g, int argc, char **argv, const char *top,
		     const struct cli_command *table);
/*
 * For a TOP whose subcommands share one option table (network, volume): argv[1] (with
 * "list" for "ls" and "remove" for "rm") found in @table and set to its full name.  The
 * short name; NULL when TOP must return *ret_code (its help printed, or a usage error
 * naming @expected, "create, ls, rm or prune").
 */
const char *cli_sub_resolve(int argc, char **argv, const char *top, const struct cli_command *table,
			    const char *expected, int *ret_code);
/* The hidden `isola __doc man DIR | bash`: man pages and completion, built from the tables. */
int cli_doc_tables(int argc, char **argv, const struct cli_command *const *tables, size_t n);
/* Global options, for isola(8) and `isola --help`. */
extern const struct cli_opt cli_global_opts[];
