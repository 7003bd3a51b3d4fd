/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola update [options] ID: change a container's cgroup limits.
 * -r FILE|- reads a LinuxResources JSON (containerd sends it on stdin);
 * the flags below override fields of it.  As in runc, device rules are
 * not updated.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "cgroup-target.h"
#include "cleanup.h"
#include "cli.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "parse.h"

#define MAX_RESOURCES_JSON (1 << 20)

enum {
	OPT_BLKIO = 1,
	OPT_PERIOD,
	OPT_QUOTA,
	OPT_SHARE,
	OPT_RT_PERIOD,
	OPT_RT_RUNTIME,
	OPT_CPUS,
	OPT_MEMS,
	OPT_MEMORY,
	OPT_RESERVATION,
	OPT_SWAP,
	OPT_PIDS,
	OPT_L3,
	OPT_MEMBW,
};

/* Which JSON field each flag sets; `size` flags take 512m-style values and -1. */
static const struct flag {
	int opt;
	const char *group, *key;
	bool is_string, size;
} flags[] = {
    {OPT_BLKIO, "blockIO", "weight"},
    {OPT_PERIOD, "cpu", "period"},
    {OPT_QUOTA, "cpu", "quota"},
    {OPT_SHARE, "cpu", "shares"},
    {OPT_RT_PERIOD, "cpu", "realtimePeriod"},
    {OPT_RT_RUNTIME, "cpu", "realtimeRuntime"},
    {OPT_CPUS, "cpu", "cpus", true},
    {OPT_MEMS, "cpu", "mems", true},
    {OPT_MEMORY, "memory", "limit", false, true},
    {OPT_RESERVATION, "memory", "reservation", false, true},
    {OPT_SWAP, "memory", "swap", false, true},
    {OPT_PIDS, "pids", "limit"},
};

static int load_resources(const char *path, json_t **ret, struct err **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path) {
		*ret = json_object();
		return *ret ? 0 : err_make(err, ENOMEM, "update");
	}
	if (streq(path, "-")) {
		r = read_all_fd(STDIN_FILENO, MAX_RESOURCES_JSON, &buf, &len);
		if (r < 0)
			return err_make(err, -r, "read resources from stdin");
		r = json_load_buf_capped("stdin", buf, len, MAX_RESOURCES_JSON, ret, err);
	} else {
		r = json_load_file_capped(AT_FDCWD, path, MAX_RESOURCES_JSON, ret, err);
	}
	if (r >= 0 && !json_is_object(*ret)) {
		json_decref(*ret);
		return err_make(err, 0, "%s: expected a LinuxResources object",
				streq(path, "-") ? "stdin" : path);
	}
	return r;
}

static int set_flag(json_t *res, const struct flag *f, const char *val, struct err **err)
{
	json_t *group = json_object_get(res, f->group), *v;
	int64_t num = 0;
	uint64_t size;

	if (f->is_string) {
		v = json_string(val);
	} else if (f->size && !streq(val, "-1")) {
		if (parse_size(val, &size) < 0 || size > INT64_MAX)
			return err_make(err, 0, "--%s `%s`: expected a size such as 512m", f->key,
					val);
		v = json_integer((json_int_t)size);
	} else {
		if (parse_i64(val, &num) < 0)
			return err_make(err, 0, "%s.%s `%s`: expected a number", f->group, f->key,
					val);
		v = json_integer(num);
	}
	if (!group || !json_is_object(group)) {
		group = json_object();
		json_object_set_new(res, f->group, group);
	}
	if (!v || json_object_set_new(group, f->key, v) < 0)
		return err_make(err, ENOMEM, "update");
	return 0;
}

int cmd_update(struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"resources", required_argument, NULL, 'r'},
	    {"blkio-weight", required_argument, NULL, OPT_BLKIO},
	    {"cpu-period", required_argument, NULL, OPT_PERIOD},
	    {"cpu-quota", required_argument, NULL, OPT_QUOTA},
	    {"cpu-share", required_argument, NULL, OPT_SHARE},
	    {"cpu-rt-period", required_argument, NULL, OPT_RT_PERIOD},
	    {"cpu-rt-runtime", required_argument, NULL, OPT_RT_RUNTIME},
	    {"cpuset-cpus", required_argument, NULL, OPT_CPUS},
	    {"cpuset-mems", required_argument, NULL, OPT_MEMS},
	    {"memory", required_argument, NULL, OPT_MEMORY},
	    {"memory-reservation", required_argument, NULL, OPT_RESERVATION},
	    {"memory-swap", required_argument, NULL, OPT_SWAP},
	    {"pids-limit", required_argument, NULL, OPT_PIDS},
	    {"l3-cache-schema", required_argument, NULL, OPT_L3},
	    {"mem-bw-schema", required_argument, NULL, OPT_MEMBW},
	    {},
	};
	const char *vals[OPT_MEMBW + 1] = {}, *res_path = NULL;
	_cleanup_json_ json_t *res = NULL;
	struct cgroup_target t;
	struct err *err = NULL;
	int c, r;

	while ((c = getopt_long_only(argc, argv, "+r:", opts, NULL)) != -1) {
		if (c == 'r')
			res_path = optarg;
		else if (c == OPT_L3 || c == OPT_MEMBW)
			return cli_usage_error(argv[0], "Intel RDT (--%s) is not supported yet",
					       c == OPT_L3 ? "l3-cache-schema" : "mem-bw-schema");
		else if (c > 0 && c <= OPT_MEMBW)
			vals[c] = optarg;
		else
			return 1;
	}
	if (optind != argc - 1)
		return cli_usage_error(argv[0], "expected one container id");
	if (load_resources(res_path, &res, &err) < 0)
		return cli_fail(&err);
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (vals[flags[i].opt] && set_flag(res, &flags[i], vals[flags[i].opt], &err) < 0)
			return cli_fail(&err);
	json_object_del(res, "devices");
	if (cgroup_target_open(g->root, argv[optind], &t, &err) < 0)
		return cli_fail(&err);
	if (t.status == CT_STOPPED)
		r = err_make(&err, 0, "container `%s` is stopped", argv[optind]);
	else
		r = ct_cgroup_update(t.cg, res, &err);
	cgroup_target_close(&t);
	if (r < 0) {
		err_wrap(&err, "update `%s`", argv[optind]);
		return cli_fail(&err);
	}
	return 0;
}
