/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `isola run` has two callers: runc's form, `run [--bundle B] [create flags] ID`, and
 * podman's, `run [--rm] [-e K=V] ... IMAGE [CMD...]`.  The image form is chosen when an
 * image-only option is given, when more than one positional argument follows the options
 * (runc's run takes exactly one), or when the one argument is an image reference with a
 * registry, tag or digest (`/`, `:` or `@`, none of which a container ID may hold).
 * `run NAME` alone is runc's run when --bundle is given or ./config.json exists, else an
 * image (pulled when missing).
 */
#include <stdbool.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "fdutil.h"
#include "image-cli.h"

static const char *const image_only[] = {
    "rm",	"name",	    "e",    "env",	   "v",		 "volume",     "w",
    "workdir",	"u",	    "user", "memory",	   "cpus",	 "pids-limit", "read-only",
    "network",	"t",	    "tty",  "store",	   "p",		 "publish",    "dns",
    "add-host", "hostname", "i",    "interactive", "entrypoint", "pull",       "restart",
    "q",	"quiet",    NULL,
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
    "entrypoint",
    "pull",
    "restart",
    NULL,
};

static bool listed(const char *const *list, const char *name, size_t len)
{
	for (; *list; list++)
		if (strlen(*list) == len && strncmp(*list, name, len) == 0)
			return true;
	return false;
}

/* Short options of the image form, and those of them that take a value. */
#define IMAGE_SHORT	 "itepvwuqm"
#define SHORT_WITH_VALUE "epvwumb"

/* A cluster such as -it or -p80:80: true when it holds an image-only letter. */
static bool short_cluster_is_image(const char *c)
{
	for (; *c; c++) {
		if (strchr(IMAGE_SHORT, *c))
			return true;
		if (strchr(SHORT_WITH_VALUE, *c))
			return false;
	}
	return false;
}

static bool is_image_form(int argc, char **argv)
{
	bool bundle = false;
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
		if (a[1] != '-' && len > 1 && !listed(image_only, name, len) &&
		    !listed(with_value, name, len)) {
			if (short_cluster_is_image(name))
				return !bundle;
			continue;
		}
		if (listed((const char *const[]){"b", "bundle", NULL}, name, len))
			bundle = true;
		else if (listed(image_only, name, len))
			return true;
		if (!eq && listed(with_value, name, len))
			i++;
	}
	if (bundle || i >= argc)
		return false;
	if (argc - i > 1)
		return true;
	/* runc's form needs a bundle: --bundle, or ./config.json. */
	return strpbrk(argv[i], "/:@") != NULL || !path_exists("config.json");
}

int cmd_run_dispatch(struct cli_globals *g, int argc, char **argv)
{
	if (is_image_form(argc, argv))
		return cmd_image_run(g, argc, argv);
	return cmd_run(g, argc, argv);
}
