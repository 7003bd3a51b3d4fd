/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola list [-q] [--format table|json] */
#include <stddef.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"
#include "jsonutil.h"
#include "state.h"

/* Weak: NSS loads modules with dlopen, which the static isola has not (src/cli/dynamic.c). */
#pragma weak getpwuid_r

/*
 * runc's list OWNER: the name of the user owning the container's state
 * directory, "#UID" when it has none (the static build has no NSS: root is
 * still "root").
 */
static void dir_owner(int dirfd, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	struct stat sb;

	if (fstat(dirfd, &sb) < 0) {
		snprintf(buf, size, "?");
		return;
	}
	if (getpwuid_r && getpwuid_r(sb.st_uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		snprintf(buf, size, "%s", res->pw_name);
	else if (sb.st_uid == 0)
		snprintf(buf, size, "root");
	else
		snprintf(buf, size, "#%u", (unsigned)sb.st_uid);
}

static void print_one(const char *root, const char *id, bool quiet, json_t *arr, bool header)
{
	char owner[256];
	json_t *j;
	_cleanup_close_ int dirfd = -1;
	struct ct_state st = {};
	struct err *err = NULL;
	enum ct_status s;
	bool busy;

	if (ct_state_open_dir_read(root, id, &dirfd, &busy, &err) < 0 ||
	    ct_state_read_busy(dirfd, id, &st, &busy, &err) < 0) {
		err_free(&err);
		return;
	}
	s = ct_state_status_read(dirfd, &st, busy);
	if (*st.owner)
		snprintf(owner, sizeof(owner), "%s", st.owner);
	else
		dir_owner(dirfd, owner, sizeof(owner));
	if (quiet) {
		printf("%s\n", st.id);
	} else if (arr) {
		/* The same owner as the table's, as runc's list --format json. */
		j = ct_state_to_oci_json(&st, s);
		if (j)
			json_object_set_new(j, "owner", json_string(owner));
		json_array_append_new(arr, j);
	} else {
		printf("%-12s %-8d %-10s %-40s %-32s %s\n", st.id, s == CT_STOPPED ? 0 : st.pid,
		       ct_status_name(s), st.bundle, st.created, owner);
	}
	ct_state_clear(&st);
}

const struct cli_opt cmd_list_opts[] = {
    {"quiet", 'q', NULL, "print the container ids only"},
    {"format", 'f', "table|json", "the output format (default: table)"},
    {},
};

int cmd_list(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	_cleanup_json_ json_t *arr = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	bool quiet = false;
	struct dirent *e;
	int c;

	cli_parser_init(&p, argv[0], cmd_list_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		if (c == 'q')
			quiet = true;
		else if (streq(optarg, "json") && !arr)
			arr = json_array();
		else if (!streq(optarg, "table"))
			return cli_usage_error(argv[0], "--format `%s`: expected table or json",
					       optarg);
	}
	if (c < 0)
		return p.exit_code;
	if (optind != argc)
		return cli_usage_error(argv[0], "takes no arguments");
	d = opendir(g->root);
	if (!d && errno != ENOENT)
		return cli_usage_error(argv[0], "open `%s`: %m", g->root);
	if (!quiet && !arr)
		printf("%-12s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			print_one(g->root, e->d_name, quiet, arr, false);
	if (arr && !quiet) {
		json_dumpf(arr, stdout, JSON_COMPACT);
		putchar('\n');
	}
	return 0;
}
