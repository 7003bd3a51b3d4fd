/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola spec [--rootless] [--bundle DIR]: write a default config.json. */
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "spec.h"

const struct cli_opt cmd_spec_opts[] = {
    {"bundle", 'b', "DIR", "write DIR/config.json (default: the current directory)"},
    {"rootless", CLI_LONG(1), NULL, "a config for an unprivileged user (user namespace)"},
    {},
};

int cmd_spec(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int dfd = -1;
	const char *bundle = ".";
	struct err *err = NULL;
	bool rootless = false;
	int c;

	cli_parser_init(&p, argv[0], cmd_spec_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		if (c == CLI_LONG(1))
			rootless = true;
		else
			bundle = optarg;
	}
	if (c < 0)
		return p.exit_code;
	if (optind != argc)
		return cli_usage_error(argv[0], "takes no arguments (use --bundle DIR)");
	dfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cli_usage_error(argv[0], "bundle `%s`: %s", bundle, strerror(errno));
	if (faccessat(dfd, "config.json", F_OK, 0) == 0)
		return cli_usage_error(argv[0], "%s/config.json: already exists", bundle);
	j = ct_spec_example(rootless);
	buf = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	if (!buf)
		return cli_usage_error(argv[0], "out of memory");
	if (write_file_atomic_at(dfd, "config.json", buf, strlen(buf), 0644, &err) < 0)
		return cli_fail(&err);
	return 0;
}
