/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `isola run` has two callers: runc's form, `run [--bundle B] [create flags] ID`, and
 * podman's, `run [--rm] [-e K=V] ... IMAGE [CMD...]`.  The image form is chosen when an
 * image-only option is given, when more than one positional argument follows the options
 * (runc's run takes exactly one), or when the one argument is an image reference with a
 * registry, tag or digest (`/`, `:` or `@`, none of which a container ID may hold).
 * `run NAME` alone is runc's run when --bundle is given or ./config.json exists, else an
 * image (pulled when missing).  Which options are image-only comes from the two forms'
 * option tables (cmd_run_opts, cmd_image_run_opts), so the dispatch cannot drift from them.
 */
#include <stdbool.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "fdutil.h"
#include "image-cli.h"
#include "opt.h"

extern const struct cli_opt cmd_run_opts[], cmd_image_run_opts[];

/* The option of @opts that @name (a long name, or one short letter when @is_short) is. */
static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *name, size_t len,
				      bool is_short)
{
	for (; opts->name; opts++)
		if (is_short ? len == 1 && opts->key == (unsigned char)*name
			     : strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

/* Options only the image form has: in its table, not in runc's run. */
static bool image_only(const char *name, size_t len, bool is_short)
{
	return find_opt(cmd_image_run_opts, name, len, is_short) &&
	       !find_opt(cmd_run_opts, name, len, is_short);
}

/* Options of either form that take a value. */
static bool with_value(const char *name, size_t len, bool is_short)
{
	const struct cli_opt *o = find_opt(cmd_run_opts, name, len, is_short);

	if (!o)
		o = find_opt(cmd_image_run_opts, name, len, is_short);
	return o && o->arg;
}

/* A cluster such as -it or -p80:80: true when it holds an image-only letter. */
static bool short_cluster_is_image(const char *c)
{
	for (; *c; c++) {
		if (image_only(c, 1, true))
			return true;
		if (with_value(c, 1, true))
			return false;
	}
	return false;
}

static bool is_image_form(int argc, char **argv)
{
	bool bundle = false, is_short;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		const struct cli_opt *o;
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
		is_short = a[1] != '-';
		if (is_short && len > 1) {
			if (short_cluster_is_image(name))
				return !bundle;
			continue;
		}
		o = find_opt(cmd_run_opts, name, len, is_short);
		if (o && o->key == 'b')
			bundle = true;
		else if (image_only(name, len, is_short))
			return true;
		if (!eq && with_value(name, len, is_short))
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
		return cli_run_dynamic(g) ?: cmd_image_run(g, argc, argv);
	return cmd_run(g, argc, argv);
}
