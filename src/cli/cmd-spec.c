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
#include "fdutil.h"
#include "jsonutil.h"
#include "spec.h"

int cmd_spec(struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"rootless", no_argument, NULL, 'r'}, {"bundle", required_argument, NULL, 'b'}, {}};
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int dfd = -1;
	const char *bundle = ".";
	struct err *err = NULL;
	bool rootless = false;
	int c;

	while ((c = getopt_long_only(argc, argv, "+b:", opts, NULL)) != -1) {
		if (c == 'r')
			rootless = true;
		else if (c == 'b')
			bundle = optarg;
		else
			return 1;
	}
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
