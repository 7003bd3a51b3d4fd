/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `isola ps` has two callers: runc's `ps [--format F] ID [ps options]`, which lists one
 * container's processes, and podman's `ps [-a] [--format F]`, which lists the containers
 * started by `isola run IMAGE`.  With no positional argument it is the image form; with one
 * it is runc's, with runc's behaviour and errors.
 */
#include <stdbool.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "image-cli.h"

/* Options of either form that take a separate value. */
static const char *const with_value[] = {"f", "format", "store", NULL};

static bool takes_value(const char *name, size_t len)
{
	for (const char *const *o = with_value; *o; o++)
		if (strlen(*o) == len && strncmp(*o, name, len) == 0)
			return true;
	return false;
}

static bool has_positional(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name;

		if (streq(a, "--"))
			return i + 1 < argc;
		if (a[0] != '-' || a[1] == '\0')
			return true;
		name = a + (a[1] == '-' ? 2 : 1);
		if (!strchr(name, '=') && takes_value(name, strlen(name)))
			i++;
	}
	return false;
}

int cmd_ps_dispatch(struct cli_globals *g, int argc, char **argv)
{
	if (has_positional(argc, argv))
		return cmd_ps(g, argc, argv);
	return cli_run_dynamic(g) ?: cmd_image_ps(g, argc, argv);
}
