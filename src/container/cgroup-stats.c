/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Resource usage in the shape of runc's `events --stats` data ("cpu",
 * "memory", "pids", "blkio", "hugetlb", and on v1 "cpuset"), read from v1
 * controller files or the v2 directory; names as runc's types.go, and its
 * omitempty fields left out when zero.  A file the host lacks leaves its
 * field out rather than failing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "fdutil.h"
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

/*
 * runc's percpu_user and percpu_kernel: cpuacct.usage_all is a "cpu user
 * system" header, then "N user_ns system_ns" for each CPU in order.
 */
static void v1_percpu_modes(const char *acct, json_t *usage)
{
	_cleanup_free_ char *data = NULL;
	json_t *user = json_array(), *sys = json_array();
	char *line, *save = NULL;

	if (acct && user && sys && cg_read(acct, "cpuacct.usage_all", &data, NULL) == 0)
		for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			unsigned long long u, k;
			unsigned cpu;

			if (sscanf(line, "%u %llu %llu", &cpu, &u, &k) != 3 ||
			    cpu != json_array_size(user))
				continue;
			json_array_append_new(user, json_integer((json_int_t)u));
			json_array_append_new(sys, json_integer((json_int_t)k));
		}
	if (json_array_size(user)) {
		json_object_set(usage, "percpu_kernel", sys);
		json_object_set(usage, "percpu_user", user);
	}
	json_decref(user);
	json_decref(sys);
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
	v1_percpu_modes(acct, usage);
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

/* runc's MemoryData from PREFIX{usage_in_bytes,max_usage_in_bytes,limit_in_bytes,failcnt}. */
static json_t *v1_memory_entry(const char *m, const char *prefix)
{
	static const char *const keys[][2] = {{"usage", "usage_in_bytes"},
					      {"max", "max_usage_in_bytes"},
					      {"limit", "limit_in_bytes"},
					      {"failcnt", "failcnt"}};
	json_t *o = json_object();
	char file[64];

	for (size_t i = 0; o && i < ARRAY_SIZE(keys); i++) {
		snprintf(file, sizeof(file), "%s%s", prefix, keys[i][1]);
		set_u64(o, keys[i][0], m, file);
	}
	return o;
}

static json_t *v1_memory(struct ct_cgroup *cg)
{
	const char *m = dir_of(cg, "memory");
	json_t *usage = json_object(), *swap = json_object(), *raw, *o;

	set_u64(usage, "usage", m, "memory.usage_in_bytes");
	set_u64(usage, "max", m, "memory.max_usage_in_bytes");
	set_u64(usage, "limit", m, "memory.limit_in_bytes");
	set_u64(usage, "failcnt", m, "memory.failcnt");
	set_u64(swap, "usage", m, "memory.memsw.usage_in_bytes");
	set_u64(swap, "max", m, "memory.memsw.max_usage_in_bytes");
	set_u64(swap, "limit", m, "memory.memsw.limit_in_bytes");
	set_u64(swap, "failcnt", m, "memory.memsw.failcnt");
	raw = read_keyed(m, "memory.stat");
	o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:O}", "cache", keyed(raw, "cache"), "usage",
		      usage, "swap", swap, "kernel", v1_memory_entry(m, "memory.kmem."),
		      "kernelTCP", v1_memory_entry(m, "memory.kmem.tcp."), "raw", raw);
	json_decref(raw);
	return o;
}

static json_t *pids(const char *dir)
{
	json_t *p = json_object();

	set_u64(p, "current", dir, "pids.current");
	set_u64(p, "limit", dir, "pids.max");
	return p;
}

static json_t *blkio_entry(const char *dev, const char *op, uint64_t v)
{
	unsigned maj = 0, min = 0;

	if (sscanf(dev, "%u:%u", &maj, &min) != 2)
		return NULL;
	return json_pack("{s:I, s:I, s:s, s:I}", "major", (json_int_t)maj, "minor", (json_int_t)min,
			 "op", op, "value", (json_int_t)v);
}

/* v1 "maj:min Op value" lines (the "Total" line is left out, as runc does). */
static json_t *v1_blkio_list(const char *dir, const char *file)
{
	_cleanup_free_ char *data = NULL;
	json_t *arr = json_array();
	char *line, *save = NULL;

	if (!dir || !arr || cg_read(dir, file, &data, NULL) < 0)
		return arr;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char dev[32], op[16];
		unsigned long long v;

		if (sscanf(line, "%31s %15s %llu", dev, op, &v) == 3)
			json_array_append_new(arr, blkio_entry(dev, op, v));
	}
	return arr;
}

/* v2 io.stat: "maj:min rbytes=N wbytes=N rios=N wios=N ..." as runc's Read/Write entries. */
static json_t *v2_blkio(const char *dir)
{
	_cleanup_free_ char *data = NULL;
	json_t *bytes = json_array(), *ios = json_array();
	char *line, *save = NULL;

	if (cg_read(dir, "io.stat", &data, NULL) == 0)
		for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			unsigned long long rb, wb, rio, wio;
			char dev[32];

			if (sscanf(line, "%31s rbytes=%llu wbytes=%llu rios=%llu wios=%llu", dev,
				   &rb, &wb, &rio, &wio) != 5)
				continue;
			json_array_append_new(bytes, blkio_entry(dev, "Read", rb));
			json_array_append_new(bytes, blkio_entry(dev, "Write", wb));
			json_array_append_new(ios, blkio_entry(dev, "Read", rio));
			json_array_append_new(ios, blkio_entry(dev, "Write", wio));
		}
	return json_pack("{s:o, s:o}", "ioServiceBytesRecursive", bytes, "ioServicedRecursive",
			 ios);
}

/* {"2MB": {usage, max, failcnt}} for each huge page size the kernel has. */
static json_t *hugetlb(const char *dir, bool v2)
{
	static const struct {
		const char *kb, *name;
	} sizes[] = {{"64", "64KB"},
		     {"2048", "2MB"},
		     {"32768", "32MB"},
		     {"524288", "512MB"},
		     {"1048576", "1GB"}};
	json_t *o = json_object();
	char file[96], p[128];

	for (size_t i = 0; dir && o && i < ARRAY_SIZE(sizes); i++) {
		json_t *e = json_object();

		snprintf(p, sizeof(p), "/sys/kernel/mm/hugepages/hugepages-%skB", sizes[i].kb);
		snprintf(file, sizeof(file), "hugetlb.%s.%s", sizes[i].name,
			 v2 ? "current" : "usage_in_bytes");
		if (!path_exists(p) || !cg_has_file(dir, file)) {
			json_decref(e);
			continue;
		}
		set_u64(e, "usage", dir, file);
		if (!v2) {
			snprintf(file, sizeof(file), "hugetlb.%s.max_usage_in_bytes",
				 sizes[i].name);
			set_u64(e, "max", dir, file);
			snprintf(file, sizeof(file), "hugetlb.%s.failcnt", sizes[i].name);
			set_u64(e, "failcnt", dir, file);
		}
		json_object_set_new(o, sizes[i].name, e);
	}
	return o;
}

/* A cpuset list ("0-3,8") as runc's []uint16; at most CPUSET_MAX entries, else []. */
#define CPUSET_MAX 8192
static json_t *cpuset_list(const char *dir, const char *file)
{
	_cleanup_free_ char *data = NULL;
	json_t *arr = json_array();
	char *tok, *save = NULL;

	if (!dir || !arr || cg_read(dir, file, &data, NULL) < 0)
		return arr;
	for (tok = strtok_r(data, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save)) {
		unsigned lo, hi;
		int n = sscanf(tok, "%u-%u", &lo, &hi);

		if (n == 1)
			hi = lo;
		if (n < 1 || hi < lo || hi >= CPUSET_MAX ||
		    json_array_size(arr) + (hi - lo) >= CPUSET_MAX) {
			json_array_clear(arr);
			break;
		}
		for (unsigned i = lo; i <= hi; i++)
			json_array_append_new(arr, json_integer(i));
	}
	return arr;
}

/* runc's CPUSetStats: the lists and the cpuset.* flags (sched_relax_domain_level is signed). */
static json_t *v1_cpuset(const char *dir)
{
	static const char *const flags[] = {
	    "cpu_exclusive",   "mem_hardwall",	     "mem_exclusive",
	    "memory_migrate",  "memory_spread_page", "memory_spread_slab",
	    "memory_pressure", "sched_load_balance", "sched_relax_domain_level"};
	json_t *o = json_pack("{s:o, s:o}", "cpus", cpuset_list(dir, "cpuset.cpus"), "mems",
			      cpuset_list(dir, "cpuset.mems"));
	char file[64];

	for (size_t i = 0; dir && o && i < ARRAY_SIZE(flags); i++) {
		_cleanup_free_ char *data = NULL;
		int64_t v;

		snprintf(file, sizeof(file), "cpuset.%s", flags[i]);
		if (cg_read(dir, file, &data, NULL) < 0)
			continue;
		data[strcspn(data, "\n")] = '\0';
		if (parse_i64(data, &v) == 0)
			json_object_set_new(o, flags[i], json_integer(v));
	}
	return o;
}

/*
 * Leave out of @o each of @keys whose value is zero or empty: the fields
 * runc's types.go tags omitempty, so that a counter that has not moved
 * (throttling, a pids.max of "max", memory.stat's cache) is absent as in
 * runc's output rather than 0.  Objects that are Go structs stay.
 */
static void omit_empty(json_t *o, const char *const *keys)
{
	for (; o && *keys; keys++) {
		json_t *v = json_object_get(o, *keys);

		if (v && ((json_is_integer(v) && json_integer_value(v) == 0) ||
			  (json_is_array(v) && json_array_size(v) == 0) ||
			  (json_is_object(v) && json_object_size(v) == 0) ||
			  (json_is_string(v) && json_string_length(v) == 0)))
			json_object_del(o, *keys);
	}
}

/* runc's shape: its omitempty fields, and intel_rdt and network_interfaces always there. */
static int runc_shape(json_t *s)
{
	static const char *const usage[] = {"total", "percpu", "percpu_kernel", "percpu_user",
					    NULL};
	static const char *const throttling[] = {"periods", "throttledPeriods", "throttledTime",
						 NULL};
	static const char *const memory[] = {"cache", "raw", NULL};
	static const char *const entries[] = {"usage", "swap", "kernel", "kernelTCP", NULL};
	static const char *const entry[] = {"usage", "max", NULL};
	static const char *const pids[] = {"current", "limit", NULL};
	static const char *const blkio_entry[] = {"major", "minor", "op", "value", NULL};
	static const char *const blkio_lists[] = {"ioServiceBytesRecursive", "ioServicedRecursive",
						  NULL};
	json_t *cpu = json_object_get(s, "cpu"), *mem = json_object_get(s, "memory");
	json_t *blkio = json_object_get(s, "blkio"), *v, *e;
	const char *key;
	size_t i;

	omit_empty(json_object_get(cpu, "usage"), usage);
	omit_empty(json_object_get(cpu, "throttling"), throttling);
	for (i = 0; entries[i]; i++)
		omit_empty(json_object_get(mem, entries[i]), entry);
	omit_empty(mem, memory);
	omit_empty(json_object_get(s, "pids"), pids);
	json_object_foreach (blkio, key, v) {
		json_array_foreach (v, i, e)
			omit_empty(e, blkio_entry);
	}
	omit_empty(blkio, blkio_lists);
	json_object_foreach (json_object_get(s, "hugetlb"), key, v)
		omit_empty(v, entry);
	if (json_object_set_new(s, "intel_rdt", json_object()) < 0 ||
	    json_object_set_new(s, "network_interfaces", json_null()) < 0)
		return -1;
	return 0;
}

int cg_v1_stats(struct ct_cgroup *cg, json_t **ret, struct err **err)
{
	const char *blkio = dir_of(cg, "blkio"), *huge = dir_of(cg, "hugetlb");
	bool huge_v2 = !huge && (huge = dir_of(cg, "unified"));
	json_t *o = json_pack(
	    "{s:o, s:o, s:o, s:{s:o, s:o}, s:o}", "cpu", v1_cpu(cg), "memory", v1_memory(cg),
	    "pids", pids(dir_of(cg, "pids")), "blkio", "ioServiceBytesRecursive",
	    v1_blkio_list(blkio, "blkio.throttle.io_service_bytes_recursive"),
	    "ioServicedRecursive", v1_blkio_list(blkio, "blkio.throttle.io_serviced_recursive"),
	    "hugetlb", hugetlb(huge, huge_v2));

	if (o && dir_of(cg, "cpuset"))
		json_object_set_new(o, "cpuset", v1_cpuset(dir_of(cg, "cpuset")));
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
	if (o) {
		json_object_set_new(o, "blkio", v2_blkio(d));
		json_object_set_new(o, "hugetlb", hugetlb(d, true));
	}
	json_decref(cpu);
	if (!o)
		return err_make(err, ENOMEM, "cgroup stats");
	*ret = o;
	return 0;
}

int ct_cgroup_stats(struct ct_cgroup *cg, json_t **ret, struct err **err)
{
	int r = cg->layout == CG_LAYOUT_V2 ? cg_v2_stats(cg, ret, err) : cg_v1_stats(cg, ret, err);

	if (r < 0)
		return r;
	if (runc_shape(*ret) < 0) {
		json_decref(*ret);
		*ret = NULL;
		return err_make(err, ENOMEM, "cgroup stats");
	}
	return 0;
}
