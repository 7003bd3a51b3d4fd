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

#include "cleanup.h"
#include "cli.h"
#include "config.h"

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

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: isola [global options] COMMAND [options] [arguments]\n\n"
		"Global options:\n"
		"  --root DIR          container state directory (default " ISOLA_DEFAULT_ROOT ")\n"
		"  --log FILE          also write errors (and --debug output) to FILE\n"
		"  --log-format FMT    text or json\n"
		"  --debug             verbose logging\n"
		"  --systemd-cgroup    manage cgroups through systemd\n"
		"  --version, --help\n\nCommands:\n");
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const struct cli_command *c = tables[t]; c->name; c++)
			fprintf(out, "  %-12s %s\n", c->name, c->summary);
}

static const struct cli_command *find_command(const char *name)
{
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const struct cli_command *c = tables[t]; c->name; c++)
			if (streq(c->name, name))
				return c;
	return NULL;
}

enum { OPT_ROOT = 1, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_ROOTLESS, OPT_VERSION };

static int parse_globals(struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"log", required_argument, NULL, OPT_LOG},
	    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	    {"debug", no_argument, NULL, OPT_DEBUG},
	    {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
	    {"rootless", required_argument, NULL, OPT_ROOTLESS},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	/* '+': stop at the command name; runc accepts -flag as well as --flag. */
	while ((c = getopt_long_only(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			g->root = optarg;
			break;
		case OPT_LOG:
			g->log = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (streq(optarg, "json"))
				g->log_format = LOG_FORMAT_JSON;
			else if (streq(optarg, "text"))
				g->log_format = LOG_FORMAT_TEXT;
			else
				return cli_usage_error("--log-format",
						       "`%s`: expected text or json", optarg);
			break;
		case OPT_DEBUG:
			g->debug = true;
			break;
		case OPT_SYSTEMD:
			g->systemd_cgroup = true;
			break;
		case OPT_ROOTLESS:
			g->rootless = optarg;
			break;
		case 'v':
		case OPT_VERSION:
			printf("isola version %s\nspec: %s\n", ISOLA_VERSION, OCI_SPEC_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_globals g = {.root = ISOLA_DEFAULT_ROOT, .log_format = LOG_FORMAT_TEXT};
	const struct cli_command *cmd;
	int r;

	r = parse_globals(&g, argc, argv);
	if (r)
		return r;
	if (g.log && log_open(g.log, g.log_format) < 0)
		fprintf(stderr, "isola: cannot open log file `%s`\n", g.log);
	log_set_debug(g.debug);

	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		return cli_usage_error(argv[optind], "unknown command; see `isola --help`");

	/* Commands parse their own options from argv[0] = command name. */
	argc -= optind;
	argv += optind;
	optind = 0;
	return cmd->fn(&g, argc, argv);
}
