/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Option tables: the parser, --help, man pages and bash completion from one source. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "opt.h"

void cli_parser_init(struct cli_parser *p, const char *cmd, const struct cli_opt *opts)
{
	size_t n = 0, s = 0;

	*p = (struct cli_parser){.cmd = cmd, .opts = opts};
	/* '+': stop at the first operand; ':': report a missing value as ':'. */
	p->shortopts[s++] = '+';
	p->shortopts[s++] = ':';
	for (; opts && opts[n].name && n < CLI_OPT_MAX; n++) {
		/* A flag's long form also takes "=true" and "=false" (cli_parse). */
		p->lopts[n] = (struct option){opts[n].name,
					      opts[n].arg ? required_argument : optional_argument,
					      NULL, opts[n].key};
		if (opts[n].key < 0x100) {
			p->shortopts[s++] = (char)opts[n].key;
			if (opts[n].arg)
				p->shortopts[s++] = ':';
		}
	}
	p->lopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	p->lopts[n] = (struct option){};
	p->shortopts[s++] = 'h';
	p->shortopts[s] = 0;
	optind = 0;
	opterr = 0;
}

void cli_parser_permute(struct cli_parser *p)
{
	memmove(p->shortopts, p->shortopts + 1, strlen(p->shortopts)); /* drop the '+' */
}

static const struct cli_opt *find_key(const struct cli_parser *p, int key)
{
	for (size_t i = 0; p->opts && p->opts[i].name; i++)
		if (p->opts[i].key == key)
			return &p->opts[i];
	return NULL;
}

/* "create: <what>; see `isola create --help`" (no command name for global options). */
static void opt_error(struct cli_parser *p, const char *what)
{
	bool global = streq(p->cmd, "isola");

	log_error("%s%s%s; see `isola %s%s--help`", global ? "" : p->cmd, global ? "" : ": ", what,
		  global ? "" : p->cmd, global ? "" : " ");
	p->exit_code = 1;
}

/* The option as the user wrote it, for error messages. */
static void bad_option(struct cli_parser *p, char **argv, const char *why)
{
	const struct cli_opt *o = optopt ? find_key(p, optopt) : NULL;
	const char *word = argv[optind - 1];
	char what[160];

	if (o && o->key < 0x100 && word[1] != '-')
		snprintf(what, sizeof(what), "option -%c %s", o->key, why);
	else if (o)
		snprintf(what, sizeof(what), "option --%s %s", o->name, why);
	else if (optopt && optopt < 0x100 && word[1] != '-')
		snprintf(what, sizeof(what), "unknown option -%c", optopt);
	else
		snprintf(what, sizeof(what), "unknown option `%.*s`", (int)strcspn(word, "="),
			 word);
	opt_error(p, what);
}

/* getopt_long takes unambiguous prefixes (--bund); we want the whole name only. */
static bool exact_long(const struct cli_parser *p, char **argv, int idx, const char **ret_word)
{
	const char *name = p->lopts[idx].name, *word;
	bool separate = p->lopts[idx].has_arg && optarg == argv[optind - 1];
	size_t n = strlen(name);

	word = argv[optind - (separate && optind >= 2 ? 2 : 1)];
	*ret_word = word;
	return strncmp(word, "--", 2) == 0 && strncmp(word + 2, name, n) == 0 &&
	       (word[2 + n] == 0 || word[2 + n] == '=');
}

int cli_parse(struct cli_parser *p, int argc, char **argv)
{
	const struct cli_command *c;
	const char *word;
	int key, idx = -1;

	optopt = 0;
	key = getopt_long(argc, argv, p->shortopts, p->lopts, &idx);
	if (idx >= 0 && key != '?' && key != ':' && !exact_long(p, argv, idx, &word)) {
		char what[160];

		snprintf(what, sizeof(what), "unknown option `%.*s`", (int)strcspn(word, "="),
			 word);
		opt_error(p, what);
		return -1;
	}
	/*
	 * --flag=true is --flag, --flag=false is the flag not given, as the Go
	 * parsers of runc (urfave/cli) and podman (pflag) read a boolean; a
	 * later =false does not undo an earlier --flag.
	 */
	if (idx >= 0 && key != '?' && key != ':' && p->lopts[idx].has_arg == optional_argument &&
	    optarg) {
		if (streq(optarg, "false"))
			return cli_parse(p, argc, argv);
		if (!streq(optarg, "true")) {
			char what[160];

			snprintf(what, sizeof(what), "option --%s takes true or false, not `%.32s`",
				 p->lopts[idx].name, optarg);
			opt_error(p, what);
			return -1;
		}
	}
	switch (key) {
	case -1:
		return 0;
	case 'h':
		if (p->own_help || find_key(p, 'h'))
			return 'h';
		c = cli_find_command(p->cmd);
		if (c)
			cli_print_help(stdout, c);
		else
			printf("Usage: isola %s [options]\n", p->cmd);
		p->exit_code = 0;
		return -1;
	case ':':
		bad_option(p, argv, "needs a value");
		return -1;
	case '?':
		bad_option(p, argv, "takes no value");
		return -1;
	default:
		return key;
	}
}

bool cli_parse_none(int argc, char **argv, int *ret_code)
{
	struct cli_parser p;

	cli_parser_init(&p, argv[0], NULL);
	if (cli_parse(&p, argc, argv) >= 0)
		return false;
	*ret_code = p.exit_code;
	return true;
}

static void print_opt_name(const struct cli_opt *o, char *buf, size_t len)
{
	if (o->key < 0x100)
		snprintf(buf, len, "-%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	else
		snprintf(buf, len, "    --%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
}

static void print_opts(FILE *out, const struct cli_opt *opts, bool help)
{
	char name[96];

	for (size_t i = 0; opts && opts[i].name; i++) {
		print_opt_name(&opts[i], name, sizeof(name));
		if (strlen(name) > 28)
			fprintf(out, "  %s\n  %-28s  %s\n", name, "", opts[i].help);
		else
			fprintf(out, "  %-28s  %s\n", name, opts[i].help);
	}
	if (help)
		fprintf(out, "  %-28s  %s\n", "-h, --help", "print this help and exit");
}

static const struct cli_command *const subtables[] = {
    cli_image_subcommands, cli_vm_subcommands, cli_network_subcommands, cli_system_subcommands,
    cli_volume_subcommands};

int cli_dispatch_sub(struct cli_globals *g, int argc, char **argv, const char *top,
		     const struct cli_command *table)
{
	const size_t skip = strlen(top) + 1;

	if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		cli_print_help(argc < 2 ? stderr : stdout, cli_find_command(top));
		return argc < 2;
	}
	for (const struct cli_command *c = table; c->name; c++)
		if (streq(c->name + skip, argv[1])) {
			argv[1] = (char *)c->name;
			return c->fn(g, argc - 1, argv + 1);
		}
	return cli_usage_error(top, "unknown subcommand `%s`; see `isola %s --help`", argv[1], top);
}

const char *cli_sub_resolve(int argc, char **argv, const char *top, const struct cli_command *table,
			    const char *expected, int *ret_code)
{
	static const char *const alias[][2] = {{"list", "ls"}, {"remove", "rm"}};
	const size_t skip = strlen(top) + 1;
	const char *sub;

	*ret_code = 0;
	if (argc < 2) {
		*ret_code = cli_usage_error(argv[0], "expected %s", expected);
		return NULL;
	}
	sub = argv[1];
	if (streq(sub, "--help") || streq(sub, "-h")) {
		cli_print_help(stdout, cli_find_command(top));
		return NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(alias); i++)
		if (streq(sub, alias[i][0]))
			sub = alias[i][1];
	for (const struct cli_command *c = table; c->name; c++)
		if (streq(c->name + skip, sub)) {
			argv[1] = (char *)c->name;
			return sub;
		}
	*ret_code = cli_usage_error(argv[0], "`%s`: expected %s", sub, expected);
	return NULL;
}

const struct cli_command *cli_find_subcommand(const char *name)
{
	for (size_t t = 0; t < ARRAY_SIZE(subtables); t++)
		for (const struct cli_command *c = subtables[t]; c->name; c++)
			if (streq(c->name, name))
				return c;
	return NULL;
}

/* "Subcommands:" and a line for each "NAME SUB" entry, if @name has any. */
static void print_subcommands(FILE *out, const char *name)
{
	size_t n = strlen(name);
	bool any = false;

	for (size_t t = 0; t < ARRAY_SIZE(subtables); t++)
		for (const struct cli_command *c = subtables[t]; c->name; c++) {
			if (strncmp(c->name, name, n) != 0 || c->name[n] != ' ')
				continue;
			if (!any)
				fprintf(out,
					"\nSubcommands (`isola %s SUBCOMMAND --help` lists its "
					"options):\n",
					name);
			any = true;
			fprintf(out, "  %-28s  %s\n", c->name + n + 1, c->summary);
		}
}

static void print_usage(FILE *out, const char *lead, const char *name, const struct cli_opt *opts,
			const char *args)
{
	bool a = args && *args;

	fprintf(out, "%s isola %s%s%s%s\n", lead, name, opts ? " [options]" : "", a ? " " : "",
		a ? args : "");
}

void cli_print_help(FILE *out, const struct cli_command *c)
{
	print_usage(out, "Usage:", c->name, c->opts, c->args);
	if (!c->alt_opts) {
		fprintf(out, "\n%s\n\nOptions:\n", c->summary);
		print_opts(out, c->opts, true);
		print_subcommands(out, c->name);
		return;
	}
	/* Two forms: each with its own options; --help belongs to both. */
	print_usage(out, "      ", c->name, c->alt_opts, c->alt_args);
	fprintf(out, "\n%s\n\nOptions of `isola %s [options] %s`:\n", c->summary, c->name,
		c->args ? c->args : "");
	print_opts(out, c->opts, false);
	fprintf(out, "\nOptions of `isola %s [options] %s`:\n", c->name,
		c->alt_args ? c->alt_args : "");
	print_opts(out, c->alt_opts, true);
}

/* ---- man pages and completion ---- */

/* roff text: escape backslashes and hyphens, keep a leading dot or quote literal. */
static void roff(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

static void man_opts(FILE *out, const struct cli_opt *opts, bool help)
{
	for (size_t i = 0; opts && opts[i].name; i++) {
		fputs(".TP\n", out);
		if (opts[i].key < 0x100)
			fprintf(out, "\\fB\\-%c\\fR, ", opts[i].key);
		fputs("\\fB\\-\\-", out);
		roff(out, opts[i].name);
		fputs("\\fR", out);
		if (opts[i].arg) {
			fputs(" \\fI", out);
			roff(out, opts[i].arg);
			fputs("\\fR", out);
		}
		fputc('\n', out);
		roff(out, opts[i].help);
		fputc('\n', out);
	}
	if (help)
		fputs(".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nprint the usage and exit\n", out);
}

static void man_header(FILE *out, const char *title, const char *name, const char *summary)
{
	fprintf(out, ".TH %s 8 \"\" \"isola %s\" \"isola manual\"\n.SH NAME\n", title,
		ISOLA_VERSION);
	roff(out, name);
	fputs(" \\- ", out);
	roff(out, summary);
	fputc('\n', out);
}

static void man_synopsis(FILE *out, const char *name, const struct cli_opt *opts, const char *args)
{
	fprintf(out, "\\fBisola\\fR [\\fIglobal options\\fR] \\fB%s\\fR%s", name,
		opts ? " [\\fIoptions\\fR]" : "");
	if (args && *args) {
		fputc(' ', out);
		roff(out, args);
	}
	fputc('\n', out);
}

/* A subsection heading for one form's options. */
static void man_form(FILE *out, const char *name, const char *args)
{
	fputs(".SS \"", out);
	roff(out, name);
	fputs(" [options] ", out);
	roff(out, args ? args : "");
	fputs("\"\n", out);
}

/* "isola-vm-run" for "vm run". */
static void page_name(char *buf, size_t len, const char *cmd)
{
	snprintf(buf, len, "isola-%s", cmd);
	for (char *b = buf; *b; b++)
		if (*b == ' ')
			*b = '-';
}

static void man_command(FILE *out, const struct cli_command *c)
{
	char title[64], name[64];
	size_t i;

	page_name(name, sizeof(name), c->name);
	for (i = 0; name[i] && i < sizeof(title) - 1; i++)
		title[i] = (name[i] >= 'a' && name[i] <= 'z') ? name[i] - 'a' + 'A' : name[i];
	title[i] = 0;
	man_header(out, title, name, c->summary);
	fputs(".SH SYNOPSIS\n", out);
	man_synopsis(out, c->name, c->opts, c->args);
	if (c->alt_opts) {
		fputs(".br\n", out);
		man_synopsis(out, c->name, c->alt_opts, c->alt_args);
	}
	fputs(".SH DESCRIPTION\n", out);
	roff(out, c->summary);
	fputs(".\n.SH OPTIONS\n", out);
	if (c->alt_opts)
		man_form(out, c->name, c->args);
	man_opts(out, c->opts, !c->alt_opts);
	if (c->alt_opts) {
		man_form(out, c->name, c->alt_args);
		man_opts(out, c->alt_opts, true);
	}
	fputs(".SH SEE ALSO\n\\fBisola\\fR(8)", out);
	for (size_t t = 0; t < ARRAY_SIZE(subtables); t++)
		for (const struct cli_command *s = subtables[t]; s->name; s++)
			if (!strncmp(s->name, c->name, strlen(c->name)) &&
			    s->name[strlen(c->name)] == ' ') {
				char page[64];

				page_name(page, sizeof(page), s->name);
				fputs(",\n", out);
				fprintf(out, "\\fB%s\\fR(8)", page);
			}
	fputc('\n', out);
}

static void man_main(FILE *out, const struct cli_command *const *tables, size_t n)
{
	man_header(out, "ISOLA", "isola", "an OCI container runtime and KVM micro-VM manager");
	fputs(".SH SYNOPSIS\n\\fBisola\\fR [\\fIglobal options\\fR] \\fICOMMAND\\fR "
	      "[\\fIoptions\\fR] [\\fIarguments\\fR]\n"
	      ".SH DESCRIPTION\nisola runs OCI containers with runc's command line, and KVM "
	      "micro\\-VMs.\n\\fBisola help\\fR \\fICOMMAND\\fR prints a command's options.\n"
	      ".SH GLOBAL OPTIONS\n",
	      out);
	man_opts(out, cli_global_opts, true);
	fputs(".TP\n\\fB\\-v\\fR, \\fB\\-\\-version\\fR\nprint the version and exit\n"
	      ".SH COMMANDS\n",
	      out);
	for (size_t t = 0; t < n; t++)
		for (const struct cli_command *c = tables[t]; c->name; c++) {
			fprintf(out, ".TP\n\\fBisola\\-%s\\fR(8)\n", c->name);
			roff(out, c->summary);
			fputc('\n', out);
		}
}

static int write_man(const char *dir, const char *name, const struct cli_command *c,
		     const struct cli_command *const *tables, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.8", dir, name);
	f = fopen(path, "we");
	if (!f) {
		log_error("__doc: %s: %s", path, strerror(errno));
		return 1;
	}
	if (c)
		man_command(f, c);
	else
		man_main(f, tables, n);
	return fclose(f) == 0 ? 0 : 1;
}

static void opt_words(FILE *out, const struct cli_opt *opts, const struct cli_opt *skip)
{
	for (size_t i = 0; opts && opts[i].name; i++) {
		bool dup = false;

		for (size_t j = 0; skip && skip[j].name && !dup; j++)
			dup = streq(skip[j].name, opts[i].name);
		if (dup)
			continue;
		fprintf(out, " --%s", opts[i].name);
		if (opts[i].key < 0x100)
			fprintf(out, " -%c", opts[i].key);
	}
}

/* Every option of both forms, once each. */
static void words(FILE *out, const struct cli_opt *opts, const struct cli_opt *alt)
{
	opt_words(out, opts, NULL);
	opt_words(out, alt, opts);
	fputs(" --help -h", out);
}

static void with_values(FILE *out, const struct cli_opt *opts)
{
	for (size_t i = 0; opts && opts[i].name; i++)
		if (opts[i].arg) {
			fprintf(out, "|--%s", opts[i].name);
			if (opts[i].key < 0x100)
				fprintf(out, "|-%c", opts[i].key);
		}
}

/* The case for a command with subcommands (vm, image): their names, then each one's options. */
static bool sub_completion(FILE *out, const char *name)
{
	size_t len = strlen(name);
	bool any = false;

	for (size_t t = 0; t < ARRAY_SIZE(subtables); t++)
		for (const struct cli_command *c = subtables[t]; c->name; c++)
			if (!strncmp(c->name, name, len) && c->name[len] == ' ')
				any = true;
	if (!any)
		return false;
	fprintf(out,
		"\t%s)\n\t\tlocal sub= j\n\t\tfor ((j = i + 1; j < COMP_CWORD; j++)); do\n"
		"\t\t\tcase ${COMP_WORDS[j]} in -*) ;; *) sub=${COMP_WORDS[j]}; break ;; esac\n"
		"\t\tdone\n\t\tcase $sub in\n\t\t'')\n\t\t\tCOMPREPLY=($(compgen -W \"",
		name);
	for (size_t t = 0; t < ARRAY_SIZE(subtables); t++)
		for (const struct cli_command *c = subtables[t]; c->name; c++)
			if (!strncmp(c->name, name, len) && c->name[len] == ' ')
				fprintf(out, "%s ", c->name + len + 1);
	fputs("--help -h\" -- \"$cur\")) ;;\n", out);
	for (size_t t = 0; t < ARRAY_SIZE(subtables); t++)
		for (const struct cli_command *c = subtables[t]; c->name; c++) {
			if (strncmp(c->name, name, len) || c->name[len] != ' ')
				continue;
			fprintf(out, "\t\t%s)\n\t\t\tCOMPREPLY=($(compgen -W \"",
				c->name + len + 1);
			words(out, c->opts, NULL);
			fputs("\" -- \"$cur\")) ;;\n", out);
		}
	fputs("\t\tesac ;;\n", out);
	return true;
}

static void bash_completion(FILE *out, const struct cli_command *const *tables, size_t n)
{
	fputs("# bash completion for isola, generated from its option tables\n"
	      "_isola() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= i\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tcase ${COMP_WORDS[i]} in\n\t\tX",
	      out);
	with_values(out, cli_global_opts);
	fputs(") ((i++)) ;;\n\t\t-*) ;;\n\t\t*) cmd=${COMP_WORDS[i]}; break ;;\n\t\tesac\n"
	      "\tdone\n\tcase $prev in\n\tX",
	      out);
	for (size_t t = 0; t < n; t++)
		for (const struct cli_command *c = tables[t]; c->name; c++) {
			with_values(out, c->opts);
			with_values(out, c->alt_opts);
		}
	for (size_t t = 0; t < ARRAY_SIZE(subtables); t++)
		for (const struct cli_command *c = subtables[t]; c->name; c++)
			with_values(out, c->opts);
	with_values(out, cli_global_opts);
	fputs(")\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n\tesac\n"
	      "\tcase $cmd in\n\t'')\n\t\tCOMPREPLY=($(compgen -W \"",
	      out);
	for (size_t t = 0; t < n; t++)
		for (const struct cli_command *c = tables[t]; c->name; c++)
			fprintf(out, "%s ", c->name);
	fputs("help", out);
	words(out, cli_global_opts, NULL);
	fputs(" --version\" -- \"$cur\")) ;;\n", out);
	for (size_t t = 0; t < n; t++)
		for (const struct cli_command *c = tables[t]; c->name; c++) {
			if (sub_completion(out, c->name))
				continue;
			fprintf(out, "\t%s)\n\t\tCOMPREPLY=($(compgen -W \"", c->name);
			words(out, c->opts, c->alt_opts);
			fputs("\" -- \"$cur\")) ;;\n", out);
		}
	fputs("\tesac\n}\ncomplete -o default -F _isola isola\n", out);
}

int cli_doc_tables(int argc, char **argv, const struct cli_command *const *tables, size_t n)
{
	int r = 0;

	if (argc == 3 && streq(argv[1], "man")) {
		r |= write_man(argv[2], "isola", NULL, tables, n);
		for (size_t t = 0; t < n; t++)
			for (const struct cli_command *c = tables[t]; c->name; c++) {
				char name[64];

				page_name(name, sizeof(name), c->name);
				r |= write_man(argv[2], name, c, tables, n);
			}
		for (size_t t = 0; t < ARRAY_SIZE(subtables); t++)
			for (const struct cli_command *c = subtables[t]; c->name; c++) {
				char name[64];

				page_name(name, sizeof(name), c->name);
				r |= write_man(argv[2], name, c, tables, n);
			}
		return r;
	}
	if (argc == 2 && streq(argv[1], "bash")) {
		bash_completion(stdout, tables, n);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	return cli_usage_error("__doc", "expected `man DIR` or `bash`");
}
