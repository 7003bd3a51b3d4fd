/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola: one program for containers (an OCI runtime with runc's command line)
 * and KVM micro-VMs.  This file parses the global flags and dispatches.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "config.h"
#include "oci.h"
#include "opt.h"

static const struct cli_command *const tables[] = {
    cli_container_commands,
    cli_cgroup_commands,
    cli_vm_commands,
    cli_image_commands,
};

int cli_fail(struct err **err)
{
	if (err && *err)
		log_error("%s", (*err)->msg);
	err_free(err);
	return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	log_error("%s: %s", cmd, msg ? msg : "usage error");
	free(msg);
	return 1;
}

const struct cli_opt cli_global_opts[] = {
    {"root", CLI_LONG(1), "DIR", "container state directory (default " ISOLA_DEFAULT_ROOT ")"},
    {"log", CLI_LONG(2), "FILE", "also write errors (and --debug output) to FILE"},
    {"log-format", CLI_LONG(3), "FORMAT", "format of --log: text or json"},
    {"debug", CLI_LONG(4), NULL, "verbose logging"},
    {"systemd-cgroup", CLI_LONG(5), NULL, "manage cgroups through systemd"},
    {"rootless", CLI_LONG(6), "true|false|auto", "accepted for runc compatibility"},
    {"version", 'v', NULL, "print the version and exit"},
    {},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: isola [global options] COMMAND [options] [arguments]\n\n"
		     "Global options:\n");
	for (const struct cli_opt *o = cli_global_opts; o->name; o++) {
		char name[64];

		snprintf(name, sizeof(name), "%s--%s%s%s", o->key < 0x100 ? "-v, " : "    ",
			 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-28s  %s\n", name, o->help);
	}
	fprintf(out, "  %-28s  %s\n\nCommands:\n", "-h, --help", "print this help and exit");
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const struct cli_command *c = tables[t]; c->name; c++)
			fprintf(out, "  %-12s %s\n", c->name, c->summary);
	fprintf(out, "\n`isola help COMMAND` or `isola COMMAND --help` lists a command's "
		     "options.\n");
}

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* A top-level command: what `isola NAME` runs. */
static const struct cli_command *find_top(const char *name)
{
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const struct cli_command *c = tables[t]; c->name; c++)
			if (streq(c->name, name))
				return c;
	return NULL;
}

/* A command or subcommand ("vm run"), for --help. */
const struct cli_command *cli_find_command(const char *name)
{
	const struct cli_command *c = find_top(name);

	return c ? c : cli_find_subcommand(name);
}

static int parse_globals(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	int c;

	/* Stops at the command name; getopt_long: no prefixes of one option read as another. */
	cli_parser_init(&p, "isola", cli_global_opts);
	p.own_help = true;
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		switch (c) {
		case CLI_LONG(1):
			g->root = optarg;
			g->root_given = true;
			break;
		case CLI_LONG(2):
			g->log = optarg;
			break;
		case CLI_LONG(3):
			if (streq(optarg, "json"))
				g->log_format = LOG_FORMAT_JSON;
			else if (streq(optarg, "text"))
				g->log_format = LOG_FORMAT_TEXT;
			else
				return cli_usage_error("--log-format",
						       "`%s`: expected text or json", optarg);
			break;
		case CLI_LONG(4):
			g->debug = true;
			break;
		case CLI_LONG(5):
			g->systemd_cgroup = true;
			break;
		case CLI_LONG(6):
			g->rootless = optarg;
			break;
		case 'v':
			printf("isola version %s\nspec: %s\n", ISOLA_VERSION, OCI_SPEC_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		}
	}
	return c < 0 ? (p.exit_code ? p.exit_code : -1) : 0;
}

/* `isola help [CMD]` */
static int help(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	if (argc >= 3) { /* `isola help vm run` */
		char name[64];

		snprintf(name, sizeof(name), "%s %s", argv[1], argv[2]);
		c = cli_find_subcommand(name);
	} else {
		c = cli_find_command(argv[1]);
	}
	if (!c)
		return cli_usage_error(argv[1], "unknown command; see `isola --help`");
	if (!c->args && !c->opts && c->fn) /* prints its own usage */
		return c->fn(NULL, 2, (char *[]){argv[1], "--help", NULL});
	cli_print_help(stdout, c);
	return 0;
}

/* $XDG_RUNTIME_DIR/isola, else /run/user/UID/isola when that directory is ours. */
static char *user_root(void)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	char run[64], *p = NULL;
	struct stat st;

	if (x && *x)
		return asprintf(&p, "%s/isola", x) < 0 ? NULL : p;
	snprintf(run, sizeof(run), "/run/user/%u", (unsigned)geteuid());
	if (lstat(run, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return NULL;
	return asprintf(&p, "%s/isola", run) < 0 ? NULL : p;
}

int main(int argc, char **argv)
{
	struct cli_globals g = {.root = ISOLA_DEFAULT_ROOT, .log_format = LOG_FORMAT_TEXT};
	const struct cli_command *cmd;
	_cleanup_free_ char *xdg_root = NULL;
	int r;

	/* isola-vm (a symlink): every container in a micro-VM (docs/vm-containers.md). */
	g.vm_name = argc > 0 && streq(basename_of(argv[0]), VMCT_OCI_NAME);
	r = parse_globals(&g, argc, argv);
	if (r)
		return r < 0 ? 0 : r;
	/* Rootless, as runc: state in the user's runtime dir unless --root says otherwise. */
	if (geteuid() != 0 && streq(g.root, ISOLA_DEFAULT_ROOT) && (xdg_root = user_root()))
		g.root = xdg_root;
	if (g.log && log_open(g.log, g.log_format) < 0)
		fprintf(stderr, "isola: cannot open log file `%s`\n", g.log);
	log_set_debug(g.debug);

	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	/*
	 * The static isola runs the runtime and the VMM as root; the rest runs in isola-dl
	 * (rootless too: its subuid lookup goes through NSS, which loads modules).
	 */
	if (g.vm_name || geteuid() != 0 || !cli_static_command(argv[optind], argv[optind + 1])) {
		r = cli_run_dynamic(&g);
		if (r)
			return r;
	}
	if (streq(argv[optind], "help"))
		return help(argc - optind, argv + optind);
	if (streq(argv[optind], "__doc"))
		return cli_doc_tables(argc - optind, argv + optind, tables, ARRAY_SIZE(tables));
	cmd = find_top(argv[optind]);
	if (!cmd)
		return cli_usage_error(argv[optind], "unknown command; see `isola --help`");

	/* Commands parse their own options from argv[0] = command name. */
	argc -= optind;
	argv += optind;
	optind = 0;
	/* Every documented command answers --help the same way, whatever its parser. */
	if (argc == 2 && (cmd->args || cmd->opts) &&
	    (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
		cli_print_help(stdout, cmd);
		return 0;
	}
	return cmd->fn(&g, argc, argv);
}
