/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Named volumes of `run IMAGE -v NAME:/DST`, as podman's `volume` commands:
 *   isola volume create  [--store D] [NAME]       (no NAME: 32 random hex digits)
 *   isola volume ls      [--store D] [-q] [--format json|table]
 *   isola volume inspect [--store D] NAME...
 *   isola volume rm      [--store D] NAME...       not one a container uses
 *   isola volume prune   [--store D] [-f]          every volume no container uses
 *
 * A volume is <store>/volumes/NAME/_data (podman's layout), made on first use by run.
 * "In use" means a container of the store (running or not: podman's rule) has the
 * volume's _data as a mount source in its config.json.  Everything here holds the
 * store's lock exclusively, as run does while it resolves -v NAME, so no run can take a
 * volume between the check and the removal.  A removal first renames the volume into
 * <store>/tmp, so that a removal that stops part way leaves no half volume for the next
 * run to get; image prune's sweep of tmp/ finishes it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "fdutil.h"
#include "image-cli.h"
#include "jsonutil.h"
#include "net.h"
#include "opt.h"
#include "strv.h"

enum { OPT_STORE = CLI_LONG(1), OPT_FORMAT };

/* clang-format off */
const struct cli_opt cmd_volume_opts[] = {
	{"store", OPT_STORE, "DIR", "the image store that holds the volumes (default $ISOLA_STORE or " ISOLA_DEFAULT_STORE ")"},
	{"format", OPT_FORMAT, "json|table", "ls: the output format (default: table)"},
	{"quiet", 'q', NULL, "ls: names only"},
	{"force", 'f', NULL, "prune: accepted (isola asks no question)"},
	{},
};
/* clang-format on */

/* podman volume rm: 1 no such volume, 2 in use. */
#define EXIT_NO_VOLUME 1
#define EXIT_IN_USE    2

struct vol_args {
	const char *store, *format;
	bool quiet;
	struct img_store *s;
	char *path; /* the store's real path */
};

static int parse(struct vol_args *a, int argc, char **argv)
{
	struct cli_parser p;
	int c;

	cli_parser_init(&p, argv[0], cmd_volume_opts);
	cli_parser_permute(&p);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		switch (c) {
		case OPT_STORE:
			a->store = optarg;
			break;
		case OPT_FORMAT:
			a->format = optarg;
			break;
		case 'q':
			a->quiet = true;
			break;
		}
	}
	return c < 0 ? (p.exit_code ? p.exit_code : -1) : 0;
}

/* Parse, then the store opened and locked (exclusively); an exit code, -1 for --help. */
static int open_args(struct vol_args *a, int argc, char **argv)
{
	int r = parse(a, argc, argv);

	if (r)
		return r;
	if (image_cli_open_store(a->store, &a->s))
		return EXIT_ISOLA;
	a->path = realpath(a->s->path, NULL);
	if (!a->path)
		return cli_usage_error(argv[0], "store `%s`: %s", a->s->path, strerror(errno));
	return 0;
}

static void close_args(struct vol_args *a)
{
	if (a->s)
		img_store_close(a->s);
	free(a->path);
}

static char *data_path(const struct vol_args *a, const char *name)
{
	char *p = NULL;

	return asprintf(&p, "%s/volumes/%s/_data", a->path, name) < 0 ? NULL : p;
}

static bool exists(const struct vol_args *a, const char *name)
{
	_cleanup_free_ char *p = net_name_valid(name) ? data_path(a, name) : NULL;
	struct stat st;

	return p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The containers whose config.json mounts volume name (strv, NULL when none).  A
 * config.json that cannot be read counts as a user: a volume is never removed on doubt.
 */
static char **users(const struct vol_args *a, const char *name)
{
	_cleanup_free_ char *data = data_path(a, name), *dir = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	char **v = NULL;
	struct dirent *de;

	if (!data || asprintf(&dir, "%s/containers", a->path) < 0 || !(d = opendir(dir)))
		return NULL;
	while ((de = readdir(d))) {
		_cleanup_json_ json_t *cfg = NULL;
		char p[512];
		json_t *m;
		size_t i;
		bool uses = false;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/config.json", de->d_name);
		if (json_load_file_capped(dirfd(d), p, 1u << 22, &cfg, NULL) == -ENOENT)
			continue; /* a container dir still being made has taken no volume yet */
		uses = !cfg;
		json_array_foreach (json_object_get(cfg, "mounts"), i, m) {
			const char *src = json_string_value(json_object_get(m, "source"));

			if (src && streq(src, data))
				uses = true;
		}
		if (uses && strv_push(&v, de->d_name) < 0)
			break;
	}
	return v;
}

static int make(const struct vol_args *a, const char *name)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/volumes", a->path);
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(p, sizeof(p), "%s/volumes/%s", a->path, name);
	if (mkdir(p, 0700) < 0)
		return -errno;
	snprintf(p, sizeof(p), "%s/volumes/%s/_data", a->path, name);
	return mkdir(p, 0755) < 0 ? -errno : 0;
}

static int vol_create(struct vol_args *a, int argc, char **argv)
{
	char name[33];
	int r;

	if (argc - optind > 1)
		return cli_usage_error(argv[1], "expected at most one NAME");
	if (argc - optind == 1) {
		if (!net_name_valid(argv[optind]))
			return cli_usage_error(argv[1],
					       "`%.64s`: a volume name is [A-Za-z0-9_.-], at "
					       "most 32, not starting with . or -",
					       argv[optind]);
		snprintf(name, sizeof(name), "%s", argv[optind]);
	} else {
		unsigned char b[16];

		if (getrandom(b, sizeof(b), 0) != sizeof(b))
			return cli_usage_error(argv[1], "getrandom: %s", strerror(errno));
		for (size_t i = 0; i < sizeof(b); i++)
			snprintf(name + 2 * i, 3, "%02x", b[i]);
	}
	r = make(a, name);
	if (r == -EEXIST) {
		cli_usage_error(argv[1], "volume `%s` already exists in the store %s", name,
				a->path);
		return EXIT_ISOLA;
	}
	if (r < 0) {
		cli_usage_error(argv[1], "volume `%s`: %s", name, strerror(-r));
		return EXIT_ISOLA;
	}
	printf("%s\n", name);
	return 0;
}

static json_t *describe(const struct vol_args *a, const char *name)
{
	_cleanup_free_ char *data = data_path(a, name);
	char when[64] = "";
	struct stat st;
	struct tm tm;

	if (data && stat(data, &st) == 0 && gmtime_r(&st.st_mtim.tv_sec, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s, s:s, s:s, s:s, s:{}, s:s, s:{}}", "Name", name, "Driver", "local",
			 "Mountpoint", data ? data : "", "CreatedAt", when, "Labels", "Scope",
			 "local", "Options");
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The volumes' names, sorted. */
static char **names(const struct vol_args *a)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	char **v = NULL;
	struct dirent *de;

	if (asprintf(&dir, "%s/volumes", a->path) < 0 || !(d = opendir(dir)))
		return NULL;
	while ((de = readdir(d)))
		if (net_name_valid(de->d_name) && exists(a, de->d_name) &&
		    strv_push(&v, de->d_name) < 0)
			break;
	if (v)
		qsort(v, strv_length(v), sizeof(*v), cmp_str);
	return v;
}

static int vol_ls(struct vol_args *a, int argc, char **argv)
{
	_cleanup_strv_ char **v = names(a);
	_cleanup_json_ json_t *list = json_array();

	if (argc - optind != 0)
		return cli_usage_error(argv[1], "takes no NAME");
	if (a->format && !streq(a->format, "json") && !streq(a->format, "table"))
		return cli_usage_error(argv[1], "--format `%s`: expected json or table", a->format);
	if (a->format && streq(a->format, "json")) {
		_cleanup_free_ char *text = NULL;

		for (size_t i = 0; v && v[i]; i++)
			json_array_append_new(list, describe(a, v[i]));
		text = json_dumps(list, JSON_INDENT(4));
		printf("%s\n", text ? text : "[]");
		return 0;
	}
	if (!a->quiet)
		printf("%-10s  %s\n", "DRIVER", "VOLUME NAME");
	for (size_t i = 0; v && v[i]; i++)
		if (a->quiet)
			printf("%s\n", v[i]);
		else
			printf("%-10s  %s\n", "local", v[i]);
	return 0;
}

static int vol_inspect(struct vol_args *a, int argc, char **argv)
{
	_cleanup_json_ json_t *list = json_array();
	_cleanup_free_ char *text = NULL;
	int rc = 0;

	if (argc - optind < 1)
		return cli_usage_error(argv[1], "expected volume names");
	for (int i = optind; i < argc; i++) {
		if (!exists(a, argv[i])) {
			cli_usage_error(argv[1], "no volume `%.64s` in the store %s", argv[i],
					a->path);
			rc = EXIT_ISOLA;
			continue;
		}
		json_array_append_new(list, describe(a, argv[i]));
	}
	text = json_dumps(list, JSON_INDENT(4));
	printf("%s\n", text ? text : "[]");
	return rc;
}

/* Take volume name out whole (renamed into tmp/), then remove it. */
static int remove_volume(const struct vol_args *a, const char *name, const char *cmd)
{
	_cleanup_close_ int vfd = openat(a->s->dfd, "volumes", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_err_ struct err *err = NULL;
	bool moved = false;

	if (vfd < 0)
		err_make(&err, errno, "open `%s/volumes`", a->path);
	else if (img_store_remove_whole(a->s, vfd, name, "gc-volume", &moved, &err) >= 0)
		return 0;
	if (moved)
		err_wrap(&err, "%s: volume `%s` (the rest goes with `isola image prune`)", cmd,
			 name);
	else
		err_wrap(&err, "%s: volume `%s`", cmd, name);
	cli_fail(&err);
	return EXIT_ISOLA;
}

static int vol_rm(struct vol_args *a, int argc, char **argv)
{
	int rc = 0;

	if (argc - optind < 1)
		return cli_usage_error(argv[1], "expected volume names");
	for (int i = optind; i < argc; i++) {
		_cleanup_strv_ char **by = NULL;
		int r;

		if (!exists(a, argv[i])) {
			cli_usage_error(argv[1], "no volume `%.64s` in the store %s", argv[i],
					a->path);
			rc = rc ? rc : EXIT_NO_VOLUME;
			continue;
		}
		by = users(a, argv[i]);
		if (by) {
			cli_usage_error(argv[1],
					"volume `%s` is used by container `%s`%s; remove the "
					"container first",
					argv[i], by[0], by[1] ? " and others" : "");
			rc = rc ? rc : EXIT_IN_USE;
			continue;
		}
		r = remove_volume(a, argv[i], argv[1]);
		if (r) {
			rc = rc ? rc : r;
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}

static int vol_prune(struct vol_args *a, int argc, char **argv)
{
	_cleanup_strv_ char **v = names(a);
	int rc = 0;

	if (argc - optind != 0)
		return cli_usage_error(argv[1], "takes no NAME");
	for (size_t i = 0; v && v[i]; i++) {
		_cleanup_strv_ char **by = users(a, v[i]);

		if (by)
			continue;
		if (remove_volume(a, v[i], argv[1]))
			rc = EXIT_ISOLA;
		else
			printf("%s\n", v[i]);
	}
	return rc;
}

/* clang-format off */
const struct cli_command cli_volume_subcommands[] = {
	{ "volume create", NULL, "make a named volume (run -v NAME:/DST makes one on first use too)", "[NAME]", cmd_volume_opts },
	{ "volume ls", NULL, "list the named volumes", "", cmd_volume_opts },
	{ "volume inspect", NULL, "show named volumes as JSON", "NAME...", cmd_volume_opts },
	{ "volume rm", NULL, "remove named volumes no container uses (exit 2 if one does)", "NAME...", cmd_volume_opts },
	{ "volume prune", NULL, "remove every named volume no container uses", "", cmd_volume_opts },
	{},
};
/* clang-format on */

int cmd_volume(struct cli_globals *g, int argc, char **argv)
{
	struct vol_args a = {};
	const char *sub;
	int r;

	(void)g;
	sub = cli_sub_resolve(argc, argv, "volume", cli_volume_subcommands,
			      "create, ls, inspect, rm or prune", &r);
	if (!sub)
		return r;
	r = open_args(&a, argc - 1, argv + 1);
	if (r) {
		close_args(&a);
		return r < 0 ? 0 : r;
	}
	optind++;
	if (streq(sub, "create"))
		r = vol_create(&a, argc, argv);
	else if (streq(sub, "ls"))
		r = vol_ls(&a, argc, argv);
	else if (streq(sub, "inspect"))
		r = vol_inspect(&a, argc, argv);
	else if (streq(sub, "rm"))
		r = vol_rm(&a, argc, argv);
	else
		r = vol_prune(&a, argc, argv);
	close_args(&a);
	return r;
}
