/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Named volumes of `run IMAGE -v NAME:/DST`, as podman's `volume` commands:
 *   isola volume create  [--store D] [-l K=V]... [NAME]  (no NAME: 32 random hex digits)
 *   isola volume ls      [--store D] [-q] [--format json|table] [--filter label=K[=V]]...
 *   isola volume inspect [--store D] NAME...
 *   isola volume rm      [--store D] NAME...       not one a container uses
 *   isola volume prune   [--store D] [-f] [--filter label=K[=V]]...  every volume no
 *                                                  container uses (with those labels)
 *
 * Labels are kept in <store>/volumes/NAME/labels.json beside _data, written before
 * the volume is listed as made; a volume run made has none.  The local driver's
 * options (-o type=tmpfs, ...) are refused: a volume here is a plain directory.
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

enum { OPT_STORE = CLI_LONG(1), OPT_FORMAT, OPT_FILTER };

/* Labels: how many, and how long a key and a value may be (the file stays small). */
#define VOL_LABELS_MAX	  64
#define VOL_LABEL_KEY_MAX 256
#define VOL_LABEL_VAL_MAX 4096

/* clang-format off */
const struct cli_opt cmd_volume_opts[] = {
	{"store", OPT_STORE, "DIR", "the image store that holds the volumes (default $ISOLA_STORE or " ISOLA_DEFAULT_STORE ")"},
	{"format", OPT_FORMAT, "json|table", "ls: the output format (default: table)"},
	{"quiet", 'q', NULL, "ls: names only"},
	{"force", 'f', NULL, "prune: accepted (isola asks no question)"},
	{"label", 'l', "KEY=VALUE", "create: a label (repeatable)"},
	{"filter", OPT_FILTER, "label=KEY[=VALUE]", "ls, prune: only volumes with that label (repeatable: all of them)"},
	{"opt", 'o', "K=V", "create: refused (podman's local driver options: isola's volumes are plain directories)"},
	{},
};
/* clang-format on */

/* podman volume rm: 1 no such volume, 2 in use. */
#define EXIT_NO_VOLUME 1
#define EXIT_IN_USE    2

struct vol_args {
	const char *store, *format;
	bool quiet;
	const char *opt;       /* -o, refused by create */
	json_t *labels;	       /* create's -l: an object */
	char **filters;	       /* --filter label=K[=V] */
	const char *bad_label; /* the first -l refused, and why */
	const char *bad_why;
	struct img_store *s;
	char *path; /* the store's real path */
};

/* -l KEY[=VALUE] into a->labels; the first bad one is kept for create's error. */
static void add_label(struct vol_args *a, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	_cleanup_free_ char *key = strndup(kv, klen);
	const char *why = NULL;
	json_t *v;

	if (!a->labels)
		a->labels = json_object();
	if (!key || !a->labels)
		why = "out of memory";
	else if (klen == 0)
		why = "an empty key";
	else if (klen > VOL_LABEL_KEY_MAX || (eq && strlen(eq + 1) > VOL_LABEL_VAL_MAX))
		why = "a key over 256 bytes or a value over 4096";
	else if (json_object_size(a->labels) >= VOL_LABELS_MAX)
		why = "more than 64 labels";
	else if (!(v = json_string(eq ? eq + 1 : "")) || json_object_set_new(a->labels, key, v))
		why = "not UTF-8";
	if (why && !a->bad_label) {
		a->bad_label = kv;
		a->bad_why = why;
	}
}

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
		case 'o':
			a->opt = optarg;
			break;
		case 'l':
			add_label(a, optarg);
			break;
		case OPT_FILTER:
			if (strv_push(&a->filters, optarg) < 0)
				return EXIT_ISOLA;
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
	json_decref(a->labels);
	strv_free(a->filters);
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

/* labels.json beside _data; on failure the volume goes again (nothing half made). */
static int write_labels(const struct vol_args *a, const char *name)
{
	_cleanup_free_ char *text = json_dumps(a->labels, JSON_COMPACT | JSON_SORT_KEYS);
	_cleanup_close_ int dfd = -1;
	_cleanup_err_ struct err *err = NULL;
	char p[4096];
	int r;

	snprintf(p, sizeof(p), "%s/volumes/%s", a->path, name);
	dfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	r = dfd < 0 ? -errno : !text ? -ENOMEM : 0;
	if (r >= 0)
		r = write_file_atomic_at(dfd, "labels.json", text, strlen(text), 0644, &err);
	if (r < 0) {
		_cleanup_close_ int vfd = -1;
		bool moved = false;
		struct err *e = NULL;

		snprintf(p, sizeof(p), "%s/volumes", a->path);
		vfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (vfd >= 0)
			img_store_remove_whole(a->s, vfd, name, "gc-volume", &moved, &e);
		err_free(&e);
	}
	return r;
}

/* The volume's labels (an object, {} without any; a file over 1 MiB or unreadable: {}). */
static json_t *labels_of(const struct vol_args *a, const char *name)
{
	_cleanup_free_ char *p = NULL;
	json_t *j = NULL;

	if (asprintf(&p, "%s/volumes/%s/labels.json", a->path, name) < 0)
		return json_object();
	if (json_load_file_capped(AT_FDCWD, p, 1u << 20, &j, NULL) < 0 || !json_is_object(j)) {
		json_decref(j);
		return json_object();
	}
	return j;
}

/* Has volume name every label the filters ask for?  -EINVAL: a filter that is not label=. */
static int matches(const struct vol_args *a, const char *name)
{
	_cleanup_json_ json_t *l = NULL;

	for (size_t i = 0; a->filters && a->filters[i]; i++) {
		const char *f = a->filters[i], *kv = f + 6, *eq;
		_cleanup_free_ char *key = NULL;
		json_t *v;

		if (strncmp(f, "label=", 6) || !*kv)
			return -EINVAL;
		if (!l)
			l = labels_of(a, name);
		eq = strchr(kv, '=');
		key = strndup(kv, eq ? (size_t)(eq - kv) : strlen(kv));
		v = key ? json_object_get(l, key) : NULL;
		if (!v || (eq && (!json_is_string(v) || !streq(json_string_value(v), eq + 1))))
			return 0;
	}
	return 1;
}

/* --filter given to ls or prune: each one label=KEY[=VALUE]; no create-only option. */
static int check_filters(const struct vol_args *a, const char *cmd)
{
	if (a->labels || a->bad_label || a->opt) {
		cli_usage_error(cmd, "--label and -o are for create");
		return EXIT_ISOLA;
	}
	for (size_t i = 0; a->filters && a->filters[i]; i++)
		if (strncmp(a->filters[i], "label=", 6) || !a->filters[i][6]) {
			cli_usage_error(cmd, "--filter `%.64s`: expected label=KEY[=VALUE]",
					a->filters[i]);
			return EXIT_ISOLA;
		}
	return 0;
}

static int vol_create(struct vol_args *a, int argc, char **argv)
{
	char name[33];
	int r;

	if (argc - optind > 1)
		return cli_usage_error(argv[1], "expected at most one NAME");
	/* podman's code for a refused option: 125. */
	if (a->opt) {
		cli_usage_error(argv[1],
				"-o `%.64s`: driver options are not supported (isola's volumes "
				"are plain directories of the store)",
				a->opt);
		return EXIT_ISOLA;
	}
	if (a->bad_label || a->filters) {
		if (a->bad_label)
			cli_usage_error(argv[1], "--label `%.64s`: %s", a->bad_label, a->bad_why);
		else
			cli_usage_error(argv[1], "--filter is for ls and prune");
		return EXIT_ISOLA;
	}
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
	if (r >= 0 && a->labels)
		r = write_labels(a, name);
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
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:{}}", "Name", name, "Driver", "local",
			 "Mountpoint", data ? data : "", "CreatedAt", when, "Labels",
			 labels_of(a, name), "Scope", "local", "Options");
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Take out of v (in place) the names the filters do not match. */
static void drop_unmatched(const struct vol_args *a, char **v)
{
	size_t k = 0;

	for (size_t i = 0; v && v[i]; i++) {
		if (matches(a, v[i]) == 1)
			v[k++] = v[i];
		else
			free(v[i]);
	}
	if (v)
		v[k] = NULL;
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
	int r;

	if (argc - optind != 0)
		return cli_usage_error(argv[1], "takes no NAME");
	if (a->format && !streq(a->format, "json") && !streq(a->format, "table"))
		return cli_usage_error(argv[1], "--format `%s`: expected json or table", a->format);
	r = check_filters(a, argv[1]);
	if (r)
		return r;
	drop_unmatched(a, v);
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
	int r, rc = 0;

	if (argc - optind != 0)
		return cli_usage_error(argv[1], "takes no NAME");
	r = check_filters(a, argv[1]);
	if (r)
		return r;
	drop_unmatched(a, v);
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
