/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola events [--stats] [--interval DURATION] ID
 * --stats prints one runc-style {"type":"stats","id":...,"data":{...}} line;
 * otherwise a stats line every interval (default 5s) until the container
 * stops.  OOM notifications are not supported yet.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgroup-target.h"
#include "cleanup.h"
#include "cli.h"
#include "jsonutil.h"
#include "parse.h"

/* "5s", "500ms", "1m" or plain seconds, to milliseconds (max one day). */
static int parse_interval(const char *s, uint64_t *ret_ms)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
	    {"ms", 1},
	    {"s", 1000},
	    {"m", 60000},
	    {"", 1000},
	};
	char num[32];
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		size_t len = strlen(s), sl = strlen(units[i].suffix);

		if (len <= sl || len - sl >= sizeof(num) || strcmp(s + len - sl, units[i].suffix))
			continue;
		memcpy(num, s, len - sl);
		num[len - sl] = '\0';
		if (parse_u64(num, &v) < 0 || v == 0 || v > 86400000 / units[i].ms)
			return -EINVAL;
		*ret_ms = v * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

/* Print one stats event; returns 1 when the container has stopped. */
static int print_stats(const char *root, const char *id, struct err **err)
{
	_cleanup_json_ json_t *data = NULL, *ev = NULL;
	struct cgroup_target t;
	int r;

	r = cgroup_target_open(root, id, &t, err);
	if (r < 0)
		return r;
	if (t.status == CT_STOPPED) {
		cgroup_target_close(&t);
		return 1;
	}
	r = ct_cgroup_stats(t.cg, &data, err);
	cgroup_target_close(&t);
	if (r < 0)
		return r;
	ev = json_pack("{s:s, s:s, s:O}", "type", "stats", "id", id, "data", data);
	if (!ev || json_dumpf(ev, stdout, JSON_COMPACT) < 0)
		return err_make(err, ENOMEM, "events");
	putchar('\n');
	fflush(stdout);
	return 0;
}

int cmd_events(struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"stats", no_argument, NULL, 's'},
	    {"interval", required_argument, NULL, 'i'},
	    {},
	};
	uint64_t interval_ms = 5000;
	struct err *err = NULL;
	bool once = false;
	int c, r;

	while ((c = getopt_long_only(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 's')
			once = true;
		else if (c == 'i' && parse_interval(optarg, &interval_ms) == 0)
			continue;
		else if (c == 'i')
			return cli_usage_error(
			    argv[0], "--interval `%s`: expected e.g. 5s or 500ms", optarg);
		else
			return 1;
	}
	if (optind != argc - 1)
		return cli_usage_error(argv[0], "expected one container id");
	for (;;) {
		struct timespec ts = {(time_t)(interval_ms / 1000),
				      (long)(interval_ms % 1000) * 1000000};

		r = print_stats(g->root, argv[optind], &err);
		if (r < 0)
			return cli_fail(&err);
		if (r == 1 && once)
			return cli_usage_error(argv[0], "container `%s` is stopped", argv[optind]);
		if (r == 1 || once)
			return 0;
		nanosleep(&ts, NULL);
	}
}
