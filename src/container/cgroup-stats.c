/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Resource usage in the shape of runc's `events --stats` data ("cpu",
 * "memory", "pids"), read from v1 controller files or the v2 directory.
 * A file the host lacks leaves its field out rather than failing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "parse.h"

/* The first number in a file ("max" reads as 0). */
static bool read_u64(const char *dir, const char *file, uint64_t *ret)
{
	_cleanup_free_ char *data = NULL;

	if (!dir || cg_read(dir, file, &data, NULL) < 0)
		return false;
	data[strcspn(data, " \n")] = '\0';
	if (streq(data, "max")) {
		*ret = 0;
		return true;
	}
	return parse_u64(data, ret) == 0;
}

static void set_u64(json_t *o, const char *key, const char *dir, const char *file)
{
	uint64_t v;

	if (read_u64(dir, file, &v))
		json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* "key value" lines (memory.stat, cpu.stat, cpuacct.stat) as an object. */
static json_t *read_keyed(const char *dir, const char *file)
{
	_cleanup_free_ char *data = NULL;
	json_t *o = json_object();
	char *line, *save = NULL;

	if (!dir || !o || cg_read(dir, file, &data, NULL) < 0)
		return o;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		uint64_t v;

		if (!sp)
			continue;
		*sp = '\0';
		if (parse_u64(sp + 1, &v) == 0)
			json_object_set_new(o, line, json_integer((json_int_t)v));
	}
	return o;
}

static json_int_t keyed(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *dir_of(struct ct_cgroup *cg, const char *ctrl)
{
	struct cg_hier *h = cg_find(cg, ctrl);

	return h ? h->path : NULL;
}

static json_t *v1_cpu(struct ct_cgroup *cg)
{
	const char *acct = dir_of(cg, "cpuacct");
	_cleanup_free_ char *percpu = NULL;
	json_t *usage = json_object(), *per = json_array(), *stat, *o;
	long hz = sysconf(_SC_CLK_TCK);
	char *tok, *save = NULL;

	set_u64(usage, "total", acct, "cpuacct.usage");
	if (acct && cg_read(acct, "cpuacct.usage_percpu", &percpu, NULL) == 0)
		for (tok = strtok_r(percpu, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save)) {
			uint64_t v;

			if (parse_u64(tok, &v) == 0)
				json_array_append_new(per, json_integer((json_int_t)v));
		}
	json_object_set_new(usage, "percpu", per);
	stat = read_keyed(acct, "cpuacct.stat");
	if (hz > 0 && json_object_size(stat)) {
		json_object_set_new(usage, "user",
				    json_integer(keyed(stat, "user") * (1000000000 / hz)));
		json_object_set_new(usage, "kernel",
				    json_integer(keyed(stat, "system") * (1000000000 / hz)));
	}
	json_decref(stat);
	stat = read_keyed(dir_of(cg, "cpu"), "cpu.stat");
	o = json_pack("{s:o, s:{s:I, s:I, s:I}}", "usage", usage, "throttling", "periods",
		      keyed(stat, "nr_periods"), "throttledPeriods", keyed(stat, "nr_throttled"),
		      "throttledTime", keyed(stat, "throttled_time"));
	json_decref(stat);
	return o;
}

static json_t *v1_memory(struct ct_cgroup *cg)
{
	const char *m = dir_of(cg, "memory");
	json_t *usage = json_object(), *swap = json_object();

	set_u64(usage, "usage", m, "memory.usage_in_bytes");
	set_u64(usage, "max", m, "memory.max_usage_in_bytes");
	set_u64(usage, "limit", m, "memory.limit_in_bytes");
	set_u64(usage, "failcnt", m, "memory.failcnt");
	set_u64(swap, "usage", m, "memory.memsw.usage_in_bytes");
	set_u64(swap, "max", m, "memory.memsw.max_usage_in_bytes");
	set_u64(swap, "limit", m, "memory.memsw.limit_in_bytes");
	set_u64(swap, "failcnt", m, "memory.memsw.failcnt");
	return json_pack("{s:o, s:o, s:o}", "usage", usage, "swap", swap, "raw",
			 read_keyed(m, "memory.stat"));
}

static json_t *pids(const char *dir)
{
	json_t *p = json_object();

	set_u64(p, "current", dir, "pids.current");
	set_u64(p, "limit", dir, "pids.max");
	return p;
}

int cg_v1_stats(struct ct_cgroup *cg, json_t **ret, struct err **err)
{
	json_t *o = json_pack("{s:o, s:o, s:o}", "cpu", v1_cpu(cg), "memory", v1_memory(cg), "pids",
			      pids(dir_of(cg, "pids")));

	if (!o)
		return err_make(err, ENOMEM, "cgroup stats");
	*ret = o;
	return 0;
}

int cg_v2_stats(struct ct_cgroup *cg, json_t **ret, struct err **err)
{
	const char *d = cg->h[0].path;
	json_t *cpu = read_keyed(d, "cpu.stat"), *mem = json_object(), *o;

	set_u64(mem, "usage", d, "memory.current");
	set_u64(mem, "max", d, "memory.peak");
	set_u64(mem, "limit", d, "memory.max");
	o = json_pack("{s:{s:{s:I, s:I, s:I, s:[]}, s:{s:I, s:I, s:I}},"
		      " s:{s:o, s:o}, s:o}",
		      "cpu", "usage", "total", keyed(cpu, "usage_usec") * 1000, "user",
		      keyed(cpu, "user_usec") * 1000, "kernel", keyed(cpu, "system_usec") * 1000,
		      "percpu", "throttling", "periods", keyed(cpu, "nr_periods"),
		      "throttledPeriods", keyed(cpu, "nr_throttled"), "throttledTime",
		      keyed(cpu, "throttled_usec") * 1000, "memory", "usage", mem, "raw",
		      read_keyed(d, "memory.stat"), "pids", pids(d));
	json_decref(cpu);
	if (!o)
		return err_make(err, ENOMEM, "cgroup stats");
	*ret = o;
	return 0;
}

int ct_cgroup_stats(struct ct_cgroup *cg, json_t **ret, struct err **err)
{
	return cg->layout == CG_LAYOUT_V2 ? cg_v2_stats(cg, ret, err) : cg_v1_stats(cg, ret, err);
}
