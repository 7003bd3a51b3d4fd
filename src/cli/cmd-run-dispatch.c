/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `isola run` has two callers: runc's form, `run [--bundle B] [create flags] ID`, and
 * podman's, `run [--rm] [-e K=V] ... IMAGE [CMD...]`.  The image form is chosen when an
 * image-only option is given, when more than one positional argument follows the options
 * (runc's run takes exactly one), or when the one argument is an image reference with a
 * registry, tag or digest (`/`, `:` or `@`, none of which a container ID may hold).
 * Otherwise it is runc's run, with runc's behaviour and errors.
 */
#include <stdbool.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "image-cli.h"

int cmd_run(struct cli_globals *g, int argc, char **argv);

static const char *const image_only[] = {
    "rm",  "name",  "e",      "env",	 "v",	       "volume",    "w",	"workdir",
    "u",   "user",  "memory", "cpus",	 "pids-limit", "read-only", "network",	"t",
    "tty", "store", "p",      "publish", "dns",	       "add-host",  "hostname", NULL,
};
/* Options of either form that take a separate value. */
static const char *const with_value[] = {
    "b",
    "bundle",
    "pid-file",
    "console-socket",
    "preserve-fds",
    "name",
    "e",
    "env",
    "v",
    "volume",
    "w",
    "workdir",
    "u",
    "user",
    "memory",
    "cpus",
    "pids-limit",
    "network",
    "store",
    "p",
    "publish",
    "dns",
    "add-host",
    "hostname",
    NULL,
};

static bool listed(const char *const *list, const char *name, size_t len)
{
	for (; *list; list++)
		if (strlen(*list) == len && strncmp(*list, name, len) == 0)
			return true;
	return false;
}

static bool is_image_form(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		size_t len;

		if (streq(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		name = a + (a[1] == '-' ? 2 : 1);
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if (listed(image_only, name, len))
			return true;
		if (!eq && listed(with_value, name, len))
			i++;
	}
	if (i >= argc)
		return false;
	if (argc - i > 1)
		return true;
	return strpbrk(argv[i], "/:@") != NULL;
}

int cmd_run_dispatch(struct cli_globals *g, int argc, char **argv)
{
	if (is_image_form(argc, argv))
		return cmd_image_run(g, argc, argv);
	return cmd_run(g, argc, argv);
}
