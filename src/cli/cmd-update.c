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
#include "opt.h"
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
	OPT_KMEM,
	OPT_KMEM_TCP,
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
    {OPT_KMEM, "memory", "kernel", false, true},
    {OPT_KMEM_TCP, "memory", "kernelTCP", false, true},
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

extern const struct cli_opt cmd_update_opts[];

/* The option as the user typed it, for messages. */
static const char *flag_name(const struct flag *f)
{
	for (const struct cli_opt *o = cmd_update_opts; o->name; o++)
		if (o->key == CLI_LONG(f->opt))
			return o->name;
	return f->key;
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
			return err_make(err, 0, "--%s `%s`: expected a size such as 512m",
					flag_name(f), val);
		v = json_integer((json_int_t)size);
	} else {
		if (parse_i64(val, &num) < 0)
			return err_make(err, 0, "--%s `%s`: expected a number", flag_name(f), val);
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

const struct cli_opt cmd_update_opts[] = {
    {"resources", 'r', "FILE", "a LinuxResources JSON file, or - for stdin; the flags override it"},
    {"blkio-weight", CLI_LONG(OPT_BLKIO), "N", "block IO weight, 10..1000"},
    {"cpu-period", CLI_LONG(OPT_PERIOD), "USEC", "CPU CFS period"},
    {"cpu-quota", CLI_LONG(OPT_QUOTA), "USEC", "CPU CFS quota per period"},
    {"cpu-share", CLI_LONG(OPT_SHARE), "N", "CPU shares (relative weight)"},
    {"cpu-rt-period", CLI_LONG(OPT_RT_PERIOD), "USEC", "CPU realtime period"},
    {"cpu-rt-runtime", CLI_LONG(OPT_RT_RUNTIME), "USEC", "CPU realtime runtime per period"},
    {"cpuset-cpus", CLI_LONG(OPT_CPUS), "LIST", "CPUs the container may use, e.g. 0-2,4"},
    {"cpuset-mems", CLI_LONG(OPT_MEMS), "LIST", "memory nodes the container may use"},
    {"memory", CLI_LONG(OPT_MEMORY), "SIZE", "memory limit, e.g. 512m (-1: none)"},
    {"memory-reservation", CLI_LONG(OPT_RESERVATION), "SIZE", "memory soft limit"},
    {"memory-swap", CLI_LONG(OPT_SWAP), "SIZE", "memory plus swap limit (-1: none)"},
    {"pids-limit", CLI_LONG(OPT_PIDS), "N", "maximum number of processes"},
    {"kernel-memory", CLI_LONG(OPT_KMEM), "SIZE", "checked, then ignored with a warning (as runc)"},
    {"kernel-memory-tcp", CLI_LONG(OPT_KMEM_TCP), "SIZE",
     "checked, then ignored with a warning (as runc)"},
    {"l3-cache-schema", CLI_LONG(OPT_L3), "SCHEMA", "Intel RDT L3 schema (refused: not supported)"},
    {"mem-bw-schema", CLI_LONG(OPT_MEMBW), "SCHEMA",
     "Intel RDT memory bandwidth (refused: not supported)"},
    {},
};

int cmd_update(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	const char *vals[OPT_MEMBW + 1] = {}, *res_path = NULL;
	_cleanup_json_ json_t *res = NULL;
	struct cgroup_target t;
	struct err *err = NULL;
	int c, r;

	cli_parser_init(&p, argv[0], cmd_update_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		if (c == 'r')
			res_path = optarg;
		else if (c == CLI_LONG(OPT_L3) || c == CLI_LONG(OPT_MEMBW))
			return cli_usage_error(argv[0], "Intel RDT (--%s) is not supported",
					       c == CLI_LONG(OPT_L3) ? "l3-cache-schema"
								     : "mem-bw-schema");
		else
			vals[c - CLI_LONG(0)] = optarg;
	}
	if (c < 0)
		return p.exit_code;
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
