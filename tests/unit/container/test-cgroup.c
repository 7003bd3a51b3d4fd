/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cgroup drivers against fake cgroup trees under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cgroup.h"
#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "tap.h"

static char top[] = "/tmp/isola-test-cgroup.XXXXXX";

static void touch(const char *fmt, ...)
{
	char p[PATH_MAX], *slash;
	struct err *err = NULL;
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	slash = strrchr(p, '/');
	*slash = '\0';
	mkdir_p(p, 0755, &err);
	err_free(&err);
	*slash = '/';
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

static void put(const char *path, const char *data)
{
	struct err *err = NULL;

	write_file_at(AT_FDCWD, path, data, &err);
	err_free(&err);
}

static char *get(const char *fmt, ...)
{
	char p[PATH_MAX];
	char *data = NULL;
	struct err *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	if (read_file_at(AT_FDCWD, p, 4096, &data, NULL, &err) < 0) {
		err_free(&err);
		return strdup("(missing)");
	}
	return data;
}

#define is_file(want, ...)                                                       \
	do {                                                                     \
		_cleanup_free_ char *_g = get(__VA_ARGS__);                      \
		ok(streq(_g, want), "%s = %s (got %s)", #__VA_ARGS__, want, _g); \
	} while (0)

static void make_hybrid(const char *root)
{
	static const char *const files[] = {
	    "memory/t1/memory.limit_in_bytes",
	    "memory/t1/memory.memsw.limit_in_bytes",
	    "memory/t1/memory.soft_limit_in_bytes",
	    "memory/t1/memory.swappiness",
	    "memory/t1/memory.oom_control",
	    "cpu/t1/cpu.shares",
	    "cpu/t1/cpu.cfs_quota_us",
	    "cpu/t1/cpu.cfs_period_us",
	    "cpuset/t1/cpuset.cpus",
	    "cpuset/t1/cpuset.mems",
	    "pids/t1/pids.max",
	    "devices/t1/devices.allow",
	    "devices/t1/devices.deny",
	    "freezer/t1/freezer.state",
	    "blkio/t1/cgroup.procs",
	    "unified/t1/cgroup.procs",
	    "unified/cgroup.controllers",
	    "unified/cgroup.subtree_control",
	    "unified/t1/hugetlb.2MB.max",
	    "pids/t1/cgroup.procs",
	    "memory/t1/cgroup.procs",
	    "cpu/t1/cgroup.procs",
	    "cpuset/t1/cgroup.procs",
	    "devices/t1/cgroup.procs",
	    "freezer/t1/cgroup.procs",
	    "systemd/t1/cgroup.procs",
	};

	static const char *const ctrls[] = {"memory",  "cpu",	  "cpuset", "pids",
					    "devices", "freezer", "blkio",  "systemd"};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		touch("%s/%s", root, files[i]);
	for (size_t i = 0; i < ARRAY_SIZE(ctrls); i++)
		touch("%s/%s/cgroup.procs", root, ctrls[i]);
	{
		char p[PATH_MAX];

		touch("%s/cpuset/cpuset.cpus", root);
		touch("%s/cpuset/cpuset.mems", root);
		snprintf(p, sizeof(p), "%s/cpuset/cpuset.cpus", root);
		put(p, "0-1\n");
		snprintf(p, sizeof(p), "%s/cpuset/cpuset.mems", root);
		put(p, "0\n");
		/* Already set up: not copied from the parent again. */
		snprintf(p, sizeof(p), "%s/cpuset/t1/cpuset.cpus", root);
		put(p, "1");
	}
	/* Not a mounted hierarchy (no cgroup.procs): must be left alone. */
	touch("%s/net_cls/README", root);
	/* A named hierarchy other than name=systemd: left alone too. */
	touch("%s/named/cgroup.procs", root);
}

static void test_hybrid(void)
{
	char root[256], p[PATH_MAX];
	_cleanup_json_ json_t *res = json_loads(
	    "{\"memory\":{\"limit\":67108864,\"swap\":134217728,\"reservation\":1048576,"
	    "\"swappiness\":10,\"disableOOMKiller\":true},"
	    "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"cpus\":\"0\",\"mems\":"
	    "\"0\"},"
	    "\"pids\":{\"limit\":32},"
	    "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
	    "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
	    "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"}]}",
	    0, NULL);
	struct ct_cgroup *cg = NULL, *cg2 = NULL;
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	struct err *err = NULL;
	size_t n = 0;
	bool frozen = true;

	snprintf(root, sizeof(root), "%s/hybrid", top);
	make_hybrid(root);
	is_int(ct_cgroup_create_at(root, "/t1", "c1", res, false, &cg, &err), 0,
	       "hybrid: create with resources (%s)", err ? err->msg : "ok");
	if (!cg)
		return;
	is_file("67108864", "%s/memory/t1/memory.limit_in_bytes", root);
	is_file("134217728", "%s/memory/t1/memory.memsw.limit_in_bytes", root);
	is_file("1048576", "%s/memory/t1/memory.soft_limit_in_bytes", root);
	is_file("10", "%s/memory/t1/memory.swappiness", root);
	is_file("1", "%s/memory/t1/memory.oom_control", root);
	is_file("512", "%s/cpu/t1/cpu.shares", root);
	is_file("50000", "%s/cpu/t1/cpu.cfs_quota_us", root);
	is_file("100000", "%s/cpu/t1/cpu.cfs_period_us", root);
	is_file("0", "%s/cpuset/t1/cpuset.cpus", root);
	is_file("32", "%s/pids/t1/pids.max", root);
	is_file("4194304", "%s/unified/t1/hugetlb.2MB.max", root); /* hybrid: hugetlb in cgroup2 */
	is_file("+hugetlb", "%s/unified/cgroup.subtree_control", root);
	/* One open file per rules file, one write per rule (appended here, a plain file). */
	is_file("c 1:3 rwc *:* mb *:* mc 1:3 rwmc 1:5 rwmc 1:7 rwmc 5:0 rwmc 1:8 rwmc 1:9 rwmc 5:1 "
		"rwmc 5:2 rwm"
		"c 136:* rwmc 10:200 rwm",
		"%s/devices/t1/devices.allow", root);
	is_file("aa", "%s/devices/t1/devices.deny", root); /* deny-all, then the rule */

	is_int(ct_cgroup_enter(cg, 4242, &err), 0, "enter writes every hierarchy");
	is_file("4242", "%s/unified/t1/cgroup.procs", root);
	is_file("4242", "%s/memory/t1/cgroup.procs", root);
	is_file("4242", "%s/systemd/t1/cgroup.procs", root); /* name=systemd, as runc */
	snprintf(p, sizeof(p), "%s/named/t1", root);
	ok(!path_exists(p), "no directory made in another named hierarchy");
	snprintf(p, sizeof(p), "%s/net_cls/t1", root);
	ok(!path_exists(p), "no directory made where no hierarchy is mounted");
	snprintf(p, sizeof(p), "%s/pids/t1/cgroup.procs", root);
	put(p, "17\n4242\n");
	is_int(ct_cgroup_pids(cg, &pids, &n, &err), 0, "pids");
	ok(n == 2 && pids[0] == 17 && pids[1] == 4242, "pids listed from cgroup.procs");

	is_int(ct_cgroup_freeze(cg, true, &err), 0, "freeze");
	is_file("FROZEN", "%s/freezer/t1/freezer.state", root);
	is_int(ct_cgroup_is_frozen(cg, &frozen, &err), 0, "is_frozen");
	ok(frozen, "frozen");
	is_int(ct_cgroup_freeze(cg, false, &err), 0, "thaw");
	is_file("THAWED", "%s/freezer/t1/freezer.state", root);

	{
		_cleanup_json_ json_t *stats = NULL;

		touch("%s/pids/t1/pids.current", root);
		snprintf(p, sizeof(p), "%s/pids/t1/pids.current", root);
		put(p, "3\n");
		touch("%s/memory/t1/memory.usage_in_bytes", root);
		snprintf(p, sizeof(p), "%s/memory/t1/memory.usage_in_bytes", root);
		put(p, "4096\n");
		touch("%s/blkio/t1/blkio.throttle.io_service_bytes_recursive", root);
		snprintf(p, sizeof(p), "%s/blkio/t1/blkio.throttle.io_service_bytes_recursive",
			 root);
		put(p, "8:16 Read 4096\n8:16 Write 512\nTotal 4608\n");
		is_int(ct_cgroup_stats(cg, &stats, &err), 0, "stats");
		{
			json_t *b = json_object_get(json_object_get(stats, "blkio"),
						    "ioServiceBytesRecursive");
			json_t *e = json_array_get(b, 0);

			ok(json_array_size(b) == 2, "stats: blkio lines without Total");
			ok(json_integer_value(json_object_get(e, "minor")) == 16 &&
			       streq(json_string_value(json_object_get(e, "op")), "Read") &&
			       json_integer_value(json_object_get(e, "value")) == 4096,
			   "stats: blkio 8:16 Read 4096");
		}
		is_int(
		    json_integer_value(json_object_get(json_object_get(stats, "pids"), "current")),
		    3, "stats: pids.current");
		is_int(json_integer_value(json_object_get(json_object_get(stats, "pids"), "limit")),
		       32, "stats: pids.limit");
		is_int(json_integer_value(json_object_get(
			   json_object_get(json_object_get(stats, "memory"), "usage"), "usage")),
		       4096, "stats: memory.usage.usage");
	}
	j = ct_cgroup_to_json(cg);
	is_int(ct_cgroup_from_json(j, &cg2, &err), 0, "state JSON round trip");
	{
		_cleanup_json_ json_t *j2 = ct_cgroup_to_json(cg2);

		ok(json_equal(j, j2), "round trip is identical");
	}
	{
		_cleanup_json_ json_t *upd = json_loads(
		    "{\"pids\":{\"limit\":-1},\"cpu\":{\"shares\":0,\"quota\":0},\"memory\":"
		    "{\"limit\":33554432}}",
		    0, NULL);

		_cleanup_json_ json_t *low =
		    json_loads("{\"memory\":{\"limit\":2048,\"checkBeforeUpdate\":true}}", 0, NULL);

		ok(ct_cgroup_update(cg2, low, &err) == -EBUSY && err &&
		       strstr(err->msg, "below the current usage 4096"),
		   "checkBeforeUpdate refuses a limit below usage (%s)", err ? err->msg : "");
		err_free(&err);
		is_int(ct_cgroup_update(cg2, upd, &err), 0, "update");
		is_file("max", "%s/pids/t1/pids.max", root);
		is_file("33554432", "%s/memory/t1/memory.limit_in_bytes", root);
		is_file("512", "%s/cpu/t1/cpu.shares", root);	      /* 0 = unchanged */
		is_file("50000", "%s/cpu/t1/cpu.cfs_quota_us", root); /* 0 = unchanged */
	}
	ct_cgroup_free(cg2);
	ct_cgroup_free(cg);
	err_free(&err);
}

/* cg_key_value and cg_next_line: the text helpers of rollback and OOM events. */
static void test_key_value(void)
{
	static const struct {
		const char *text, *key, *want; /* want NULL: no such key */
	} cases[] = {
	    {"rbps_x 5\nrbps 7\n", "rbps", "7"}, /* a key that begins another is not it */
	    {"rbps 7\nrbps_x 5\n", "rbps_x", "5"},
	    {"xrbps 1\n", "rbps", NULL},
	    {"oom_kill_disable 0\nunder_oom 0\noom_kill 3", "oom_kill", "3"}, /* no last newline */
	    {"low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n", "oom_kill", "1"},   /* key at the end */
	    {"", "oom_kill", NULL},
	    {"\n\n", "oom_kill", NULL},
	    {"oom_kill\n", "oom_kill", ""}, /* a bare key: an empty value */
	    {"oom_kill \n", "oom_kill", ""},
	    {"8:0 rbps=1 wbps=max\n8:16 rbps=2", "8:16", "rbps=2"},
	    {"8:0 rbps=1 wbps=max\n", "8:0", "rbps=1 wbps=max"}, /* the rest of the line */
	    {"a 1\na 2\n", "a", "1"},				 /* the first line wins */
	};
	static const struct {
		const char *text;
		size_t n;
		const char *lines[4];
	} splits[] = {
	    {"", 0, {NULL}}, {"a", 1, {"a"}}, {"a\n", 1, {"a"}}, {"a\n\nb", 3, {"a", "", "b"}},
	    {"\n", 1, {""}},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *v = NULL;
		size_t len = 99;
		bool found =
		    cg_key_value(cases[i].text, cases[i].key, strlen(cases[i].key), &v, &len);

		if (!cases[i].want)
			ok(!found, "key_value %zu: no `%s`", i, cases[i].key);
		else
			ok(found && len == strlen(cases[i].want) &&
			       strncmp(v, cases[i].want, len) == 0,
			   "key_value %zu: `%s` = `%s` (got `%.*s`)", i, cases[i].key,
			   cases[i].want, found ? (int)len : 0, found ? v : "");
	}
	/* klen bytes of a longer string: restore_keyed passes a word of another line. */
	ok(cg_key_value("8:0 0\n", "8:0 rbps=5", 3, NULL, NULL), "key_value: klen bytes of key");
	ok(!cg_key_value("8:0 0\n", "8:01", 4, NULL, NULL), "key_value: 8:01 is not 8:0");
	for (size_t i = 0; i < ARRAY_SIZE(splits); i++) {
		const char *line;
		size_t n = 0, len, bad = 0;

		for (const char *p = splits[i].text; cg_next_line(&p, &line, &len); n++)
			if (n >= splits[i].n || len != strlen(splits[i].lines[n]) ||
			    strncmp(line, splits[i].lines[n], len) != 0)
				bad++;
		ok(n == splits[i].n && !bad, "next_line %zu: %zu lines (got %zu, %zu wrong)", i,
		   splits[i].n, n, bad);
	}
}

/* Replace a control file by a FIFO: opening it to read blocks until timed out. */
static void fifo(const char *root, const char *file)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, file);
	unlink(p);
	mkfifo(p, 0600);
}

/* Replace a control file by a directory: reads and writes of it fail. */
static void unwritable(const char *root, const char *file)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, file);
	unlink(p);
	mkdir(p, 0755);
}

/* ct_cgroup_update(res) in a child with a 5 s alarm: 0, or what killed it. */
static int update_in_child(struct ct_cgroup *cg, const char *res_json)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		json_t *res = json_loads(res_json, 0, NULL);
		struct err *err = NULL;

		alarm(5);
		_exit(ct_cgroup_update(cg, res, &err) < 0 ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
}

/*
 * An update reads only what it may write: the files of the controllers it
 * names, in their hierarchy (FIFOs stand in for the others: a read of one
 * would hang), and hugetlb limits of the sizes it names.  A failed one still
 * puts back what it wrote.
 */
static void test_update_saves_only_its_files(void)
{
	char root[256], p[PATH_MAX];
	struct ct_cgroup *cg = NULL;
	struct err *err = NULL;

	snprintf(root, sizeof(root), "%s/upd", top);
	make_hybrid(root);
	touch("%s/blkio/t1/blkio.weight", root);
	touch("%s/blkio/t1/blkio.throttle.read_bps_device", root);
	if (ct_cgroup_create_at(root, "/t1", "t1", NULL, false, &cg, &err) < 0) {
		ok(false, "hybrid cgroup for update (%s)", err ? err->msg : "?");
		err_free(&err);
		return;
	}
	fifo(root, "cpu/t1/cpu.shares");
	fifo(root, "blkio/t1/blkio.weight");
	fifo(root, "pids/t1/pids.max");
	fifo(root, "unified/t1/hugetlb.2MB.max");
	fifo(root, "unified/t1/hugetlb.1GB.max");
	is_int(update_in_child(cg, "{\"memory\":{\"limit\":33554432}}"), 0,
	       "memory-only update reads no cpu, blkio, pids or hugetlb file");
	is_file("33554432", "%s/memory/t1/memory.limit_in_bytes", root);

	/* A failed update (cpuset.cpus cannot be written) puts the memory limit back. */
	unwritable(root, "cpuset/t1/cpuset.cpus");
	is_int(update_in_child(cg, "{\"memory\":{\"limit\":67108864},\"cpu\":{\"cpus\":\"0\"}}"), 1,
	       "update with an unwritable cpuset.cpus fails");
	is_file("33554432", "%s/memory/t1/memory.limit_in_bytes", root);

	/*
	 * hugetlb (the 2MB limit only, in the cgroup2 tree) goes back too.  (The
	 * fake files are not truncated by a write: old and new are of one length.)
	 */
	snprintf(p, sizeof(p), "%s/unified/t1/hugetlb.2MB.max", root);
	unlink(p);
	touch("%s", p);
	put(p, "1048576");
	snprintf(p, sizeof(p), "%s/blkio/t1/blkio.weight", root);
	unlink(p);
	unwritable(root, "blkio/t1/blkio.throttle.read_bps_device");
	is_int(update_in_child(cg, "{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
				   "\"blockIO\":{\"throttleReadBpsDevice\":"
				   "[{\"major\":7,\"minor\":0,\"rate\":5}]}}"),
	       1, "update with an unwritable throttle fails");
	is_file("1048576", "%s/unified/t1/hugetlb.2MB.max", root);
	ct_cgroup_free(cg);
}

static void expect_fail(const char *root, const char *path, const char *res_json, const char *want)
{
	_cleanup_json_ json_t *res = res_json ? json_loads(res_json, 0, NULL) : NULL;
	struct ct_cgroup *cg = NULL;
	struct err *err = NULL;

	ok(ct_cgroup_create_at(root, path, "c1", res, false, &cg, &err) < 0 && !cg, "fails: %s",
	   want);
	ok(err && strstr(err->msg, want), "message: %s", err ? err->msg : "(none)");
	err_free(&err);
	ct_cgroup_free(cg);
}

static void test_errors_and_cleanup(void)
{
	char root[256];
	struct ct_cgroup *cg = NULL;
	struct err *err = NULL;

	snprintf(root, sizeof(root), "%s/hybrid", top);
	/* An existing cgroup with a process is another container's (runc 1.2's check). */
	expect_fail(root, "/t1", NULL, "holds 1 processes (another container's?)");
	{
		static const char *const hs[] = {"memory",  "cpu",   "cpuset",	"pids",	  "devices",
						 "freezer", "blkio", "systemd", "unified"};
		char p[PATH_MAX];

		for (size_t i = 0; i < ARRAY_SIZE(hs); i++) {
			snprintf(p, sizeof(p), "%s/%s/t1/cgroup.procs", root, hs[i]);
			put(p, "");
		}
	}
	expect_fail(root, "/", NULL, "cgroupsPath `/`: names the hierarchy's root");
	expect_fail(root, "///", NULL, "cgroupsPath `///`: names the hierarchy's root");
	expect_fail(root, "/t1", "{\"unified\":{\"cgroup.procs\":\"1\"}}",
		    "linux.resources.unified: bad key `cgroup.procs`");
	expect_fail(root, "/t1", "{\"unified\":{\"cgroup.kill\":\"1\"}}",
		    "linux.resources.unified: bad key `cgroup.kill`");
	expect_fail(root, "/t1", "{\"memory\":{\"limit\":-2}}",
		    "linux.resources.memory.limit: -2: expected -1 (unlimited) or more");
	expect_fail(root, "/t1", "{\"pids\":{\"limit\":-5}}",
		    "linux.resources.pids.limit: -5: expected -1 (unlimited) or more");
	expect_fail(root, "/t1", "{\"memory\":\"x\"}",
		    "linux.resources.memory: expected an object");
	expect_fail(root, "/t1", "{\"cpu\":[1]}", "linux.resources.cpu: expected an object");
	expect_fail(root, "/t1", "{\"blockIO\":{\"weight\":500}}",
		    "linux.resources.blockIO.weight: `");
	expect_fail(root, "/t1", "{\"hugepageLimits\":[{\"pageSize\":\"2XB\",\"limit\":1}]}",
		    "linux.resources.hugepageLimits[0].pageSize: `2XB` is not like 2MB");
	expect_fail(
	    root, "/t1", "{\"network\":{\"classID\":1}}",
	    "linux.resources.network.classID: the net_cls cgroup controller is not mounted");
	expect_fail(root, "/t1", "{\"rdma\":{\"mlx5_0\":{\"hcaHandles\":2}}}",
		    "linux.resources.rdma: the rdma cgroup controller is not available");
	expect_fail(root, "/t1", "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8}]}}",
		    "throttleReadBpsDevice[0]: major and minor are required");
	expect_fail(root, "/t1",
		    "{\"blockIO\":{\"weightDevice\":[{\"major\":8,\"minor\":0,"
		    "\"weight\":5}]}}",
		    "weightDevice[0].weight: 5 is not 10..1000");
	expect_fail(root, "/t1",
		    "{\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":4294967297,"
		    "\"minor\":1}]}",
		    "devices[0]: major 4294967297, minor 1 is not a device number");
	expect_fail(root, "/t1", "{\"cpu\":{\"idle\":2}}",
		    "linux.resources.cpu.idle: 2 is not 0 or 1");
	expect_fail(root, "/t1", "{\"memory\":{\"swappiness\":300}}",
		    "linux.resources.memory.swappiness: 300 is not 0..100");
	/* Hybrid: linux.resources.unified goes to the cgroup2 tree, with v2's checks. */
	expect_fail(root, "/t1", "{\"unified\":{\".x\":\"1\"}}",
		    "linux.resources.unified: bad key `.x`");
	expect_fail(root, "/t1", "{\"unified\":{\"memory.high\":1}}",
		    "linux.resources.unified.memory.high: expected a string");
	expect_fail(root, "system.slice:isola:c1", NULL,
		    "systemd cgroup driver not available: no systemd");
	expect_fail(root, "/a/../../etc", NULL, "`.` and `..` are not allowed");
	/* A failure after mkdir removes what it made. */
	expect_fail(root, "/new/c3", "{\"pids\":{\"limit\":5}}", "pids.max`: not supported");
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/memory/new/c3", root);
		ok(!path_exists(p), "failed create left no directory behind");
	}

	is_int(ct_cgroup_create_at(root, "/new/c2", "c2", NULL, false, &cg, &err), 0,
	       "create makes the directories");
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/memory/new/c2", root);
		ok(path_exists(p), "memory/new/c2 exists");
		is_int(ct_cgroup_destroy(cg, &err), 0, "destroy (%s)", err ? err->msg : "ok");
		ok(!path_exists(p), "memory/new/c2 removed");
		snprintf(p, sizeof(p), "%s/unified/new/c2", root);
		ok(!path_exists(p), "unified/new/c2 removed");
	}
	ct_cgroup_free(cg);
	err_free(&err);
}

/* blockIO per device, network and cpu.idle on v1 (a net_cls,net_prio hierarchy). */
static void test_v1_more(void)
{
	static const char *const files[] = {
	    "blkio/t3/blkio.throttle.read_bps_device",
	    "blkio/t3/blkio.throttle.write_iops_device",
	    "blkio/t3/blkio.bfq.weight",
	    "blkio/t3/blkio.bfq.weight_device",
	    "net_cls,net_prio/cgroup.procs",
	    "net_cls,net_prio/t3/net_cls.classid",
	    "net_cls,net_prio/t3/net_prio.ifpriomap",
	    "cpu/t3/cpu.idle",
	    "cpu/t3/cpu.cfs_burst_us",
	    "memory/t3/memory.use_hierarchy",
	};
	_cleanup_json_ json_t *res =
	    json_loads("{\"blockIO\":{\"weight\":300,\"weightDevice\":[{\"major\":8,\"minor\":0,"
		       "\"weight\":200}],\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,"
		       "\"rate\":1048576}],\"throttleWriteIOPSDevice\":[{\"major\":254,\"minor\":0,"
		       "\"rate\":100}]},\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":"
		       "\"eth0\",\"priority\":5}]},\"cpu\":{\"idle\":1,\"burst\":5000},\"memory\":{"
		       "\"useHierarchy\":true}}",
		       0, NULL);
	struct ct_cgroup *cg = NULL;
	struct err *err = NULL;
	char root[256];

	snprintf(root, sizeof(root), "%s/hybrid", top);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		touch("%s/%s", root, files[i]);
	is_int(ct_cgroup_create_at(root, "/t3", "c3", res, false, &cg, &err), 0,
	       "v1: blockIO, network, idle (%s)", err ? err->msg : "ok");
	is_file("300", "%s/blkio/t3/blkio.bfq.weight", root);
	is_file("8:0 200", "%s/blkio/t3/blkio.bfq.weight_device", root);
	is_file("8:0 1048576", "%s/blkio/t3/blkio.throttle.read_bps_device", root);
	is_file("254:0 100", "%s/blkio/t3/blkio.throttle.write_iops_device", root);
	is_file("1048577", "%s/net_cls,net_prio/t3/net_cls.classid", root);
	is_file("eth0 5", "%s/net_cls,net_prio/t3/net_prio.ifpriomap", root);
	is_file("1", "%s/cpu/t3/cpu.idle", root);
	is_file("5000", "%s/cpu/t3/cpu.cfs_burst_us", root);
	is_file("1", "%s/memory/t3/memory.use_hierarchy", root);
	ct_cgroup_free(cg);
	err_free(&err);
}

static void test_v2(void)
{
	char root[256];
	_cleanup_json_ json_t *res = json_loads(
	    "{\"memory\":{\"limit\":67108864,\"swap\":134217728},\"cpu\":{\"shares\":1024,"
	    "\"quota\":20000},\"pids\":{\"limit\":-1},\"blockIO\":{\"weight\":500}}",
	    0, NULL);
	static const char *const files[] = {"memory.max",  "memory.swap.max", "cpu.weight",
					    "cpu.max",	   "pids.max",	      "io.weight",
					    "cgroup.procs"};
	struct ct_cgroup *cg = NULL;
	struct err *err = NULL;

	snprintf(root, sizeof(root), "%s/v2", top);
	touch("%s/cgroup.controllers", root);
	put(strcat(strcpy((char[PATH_MAX]){0}, root), "/cgroup.controllers"),
	    "cpu io memory pids\n");
	touch("%s/cgroup.subtree_control", root);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		touch("%s/t2/%s", root, files[i]);
	is_int(ct_cgroup_create_at(root, "t2x/../t2", "c", NULL, false, &cg, &err), -EINVAL,
	       "v2: `..` rejected");
	err_free(&err);
	is_int(ct_cgroup_create_at(root, "/t2", "c", res, false, &cg, &err), 0, "v2: create (%s)",
	       err ? err->msg : "ok");
	is_file("67108864", "%s/t2/memory.max", root);
	is_file("67108864", "%s/t2/memory.swap.max", root);
	is_file("39", "%s/t2/cpu.weight", root);
	is_file("20000 100000", "%s/t2/cpu.max", root);
	is_file("max", "%s/t2/pids.max", root);
	is_file("4950", "%s/t2/io.weight", root);
	ct_cgroup_free(cg);
	err_free(&err);
}

/* The default /isola/<id>: the parent goes with the last container in it. */
static void test_default_parent(void)
{
	struct ct_cgroup *a = NULL, *b = NULL, *a2 = NULL;
	_cleanup_json_ json_t *j = NULL;
	struct err *err = NULL;
	char root[256], p[PATH_MAX];

	snprintf(root, sizeof(root), "%s/hybrid", top);
	snprintf(p, sizeof(p), "%s/memory/isola", root);
	is_int(ct_cgroup_create_at(root, NULL, "d1", NULL, false, &a, &err), 0, "default path d1");
	is_int(ct_cgroup_create_at(root, NULL, "d2", NULL, false, &b, &err), 0, "default path d2");
	/* delete reads the cgroup back from state.json */
	j = ct_cgroup_to_json(a);
	is_int(ct_cgroup_from_json(j, &a2, &err), 0, "state round trip keeps defaultParent");
	is_int(ct_cgroup_destroy(a2, &err), 0, "destroy d1");
	ok(path_exists(p), "isola/ stays while d2 is in it");
	is_int(ct_cgroup_destroy(b, &err), 0, "destroy d2");
	ok(!path_exists(p), "isola/ removed with the last container");
	snprintf(p, sizeof(p), "%s/unified/isola", root);
	ok(!path_exists(p), "unified/isola removed too");
	snprintf(p, sizeof(p), "%s/memory", root);
	ok(path_exists(p), "the hierarchy itself stays");
	ct_cgroup_free(a);
	ct_cgroup_free(a2);
	ct_cgroup_free(b);
	err_free(&err);
}

/* The state written between prepare and realize is enough for delete after a crash. */
static void test_prepare_realize(void)
{
	struct ct_cgroup *cg = NULL, *from_state = NULL;
	_cleanup_json_ json_t *state = NULL;
	struct err *err = NULL;
	char root[256], p[PATH_MAX];

	snprintf(root, sizeof(root), "%s/hybrid", top);
	snprintf(p, sizeof(p), "%s/memory/crash/c5", root);
	is_int(ct_cgroup_prepare_at(root, "/crash/c5", "c5", false, &cg, &err), 0, "prepare");
	ok(!path_exists(p), "prepare makes nothing");
	state = ct_cgroup_to_json(cg);
	is_int(ct_cgroup_realize(cg, NULL, &err), 0, "realize (%s)", err ? err->msg : "ok");
	ok(path_exists(p), "realize makes the directories");
	/* The create dies here: only the state written before realize is left. */
	is_int(ct_cgroup_from_json(state, &from_state, &err), 0, "state read back");
	is_int(ct_cgroup_destroy(from_state, &err), 0, "delete after the crash");
	ok(!path_exists(p), "the cgroup the dead create made is removed");
	ct_cgroup_free(from_state);
	ct_cgroup_free(cg);
	/* An existing cgroup is not ours: realize must not claim it. */
	snprintf(p, sizeof(p), "%s/memory/t1", root);
	is_int(ct_cgroup_prepare_at(root, "/t1", "c1", false, &cg, &err), 0, "prepare existing");
	is_int(ct_cgroup_destroy(cg, &err), 0, "destroy");
	ok(path_exists(p), "an existing cgroup is left alone");
	ct_cgroup_free(cg);
	err_free(&err);
}

static void put_at(const char *root, const char *file, const char *data)
{
	char p[PATH_MAX];

	touch("%s/%s", root, file);
	snprintf(p, sizeof(p), "%s/%s", root, file);
	put(p, data);
}

/* v2 freeze (cgroup.freeze, waiting for cgroup.events) and stats from a fake tree. */
static void test_v2_freeze_stats(void)
{
	_cleanup_json_ json_t *stats = NULL,
			      *unified = json_loads("{\"unified\":{\"memory.high\":\"1048576\"}}",
						    0, NULL);
	struct ct_cgroup *cg = NULL;
	struct err *err = NULL;
	char root[256], dir[300];
	bool frozen = false;

	snprintf(root, sizeof(root), "%s/v2", top);
	snprintf(dir, sizeof(dir), "%s/t5", root);
	put_at(dir, "cgroup.procs", "");
	put_at(dir, "memory.high", "max");
	put_at(dir, "cgroup.freeze", "0");
	put_at(dir, "cgroup.events", "populated 1\nfrozen 1\n");
	put_at(dir, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
	put_at(dir, "memory.current", "8192\n");
	put_at(dir, "pids.current", "2\n");
	put_at(dir, "io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
	is_int(ct_cgroup_create_at(root, "/t5", "c", unified, false, &cg, &err), 0,
	       "v2: unified keys (%s)", err ? err->msg : "ok");
	is_file("1048576", "%s/memory.high", dir);
	is_int(ct_cgroup_freeze(cg, true, &err), 0, "v2: freeze");
	is_file("1", "%s/cgroup.freeze", dir);
	is_int(ct_cgroup_is_frozen(cg, &frozen, &err), 0, "v2: is_frozen");
	ok(frozen, "v2: frozen read from cgroup.events");
	put_at(dir, "cgroup.events", "populated 1\nfrozen 0\n");
	is_int(ct_cgroup_freeze(cg, false, &err), 0, "v2: thaw");
	is_file("0", "%s/cgroup.freeze", dir);
	is_int(ct_cgroup_stats(cg, &stats, &err), 0, "v2: stats");
	ok(json_integer_value(json_object_get(
	       json_object_get(json_object_get(stats, "cpu"), "usage"), "total")) == 1500000,
	   "v2: cpu usage in ns");
	ok(json_integer_value(json_object_get(
	       json_object_get(json_object_get(stats, "memory"), "usage"), "usage")) == 8192,
	   "v2: memory.current");
	ok(json_array_size(
	       json_object_get(json_object_get(stats, "blkio"), "ioServiceBytesRecursive")) == 2,
	   "v2: io.stat as Read and Write entries");
	ct_cgroup_free(cg);
	err_free(&err);
}

static void test_v2_more(void)
{
	_cleanup_json_ json_t *res = json_loads(
	    "{\"blockIO\":{\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":1000}],"
	    "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":16,\"rate\":4096}]},"
	    "\"rdma\":{\"mlx5_0\":{\"hcaHandles\":3}},\"cpu\":{\"idle\":1,\"burst\":1000}}",
	    0, NULL);
	static const char *const files[] = {"io.max", "io.weight", "rdma.max", "cpu.idle",
					    "cpu.max.burst"};
	struct ct_cgroup *cg = NULL;
	struct err *err = NULL;
	char root[256];

	snprintf(root, sizeof(root), "%s/v2", top);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		touch("%s/t4/%s", root, files[i]);
	touch("%s/t4/cgroup.procs", root);
	is_int(ct_cgroup_create_at(root, "/t4", "c", res, false, &cg, &err), 0,
	       "v2: io, rdma, idle (%s)", err ? err->msg : "ok");
	is_file("8:0 10000", "%s/t4/io.weight", root);
	is_file("8:16 wbps=4096", "%s/t4/io.max", root);
	is_file("mlx5_0 hca_handle=3 hca_object=max", "%s/t4/rdma.max", root);
	is_file("1", "%s/t4/cpu.idle", root);
	is_file("1000", "%s/t4/cpu.max.burst", root);
	ct_cgroup_free(cg);
	err_free(&err);
	expect_fail(root, "/t4", "{\"network\":{\"classID\":1}}",
		    "linux.resources.network: net_cls and net_prio do not exist on cgroup v2");
	expect_fail(root, "/t4", "{\"unified\":{\"a/b\":\"1\"}}",
		    "linux.resources.unified: bad key `a/b`");
	expect_fail(root, "/t4", "{\"unified\":{\"memory.high\":1}}",
		    "linux.resources.unified.memory.high: expected a string");
}

/*
 * Joining without cgroup.procs: a v1 hierarchy with a `tasks` file is joined by
 * the child writing "0" there; cgroup2 (here a plain directory, so clone3
 * refuses CLONE_INTO_CGROUP) and v1 without `tasks` fall back to the parent
 * writing the pid.
 */
static void test_join(void)
{
	char root[PATH_MAX], p[PATH_MAX];
	struct ct_cgroup *cg = NULL;
	struct ct_cgroup_join *j = NULL;
	struct err *err = NULL;
	int status = -1;
	pid_t pid;

	snprintf(root, sizeof(root), "%s/join", top);
	make_hybrid(root);
	touch("%s/memory/t1/tasks", root);
	touch("%s/pids/t1/tasks", root);
	is_int(ct_cgroup_create_at(root, "/t1", "c1", NULL, false, &cg, &err), 0, "join: create");
	if (!cg)
		return;
	is_int(ct_cgroup_join_open(cg, &j, &err), 0, "join: open (%s)", err ? err->msg : "ok");
	if (!j)
		return;
	pid = ct_cgroup_join_clone(j, 0);
	if (pid == 0)
		_exit(ct_cgroup_join_self(j, NULL) < 0 ? 1 : 0);
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && status == 0,
	   "join: the child joins itself");
	is_int(ct_cgroup_join_finish(j, pid, &err), 0, "join: finish");
	is_file("0", "%s/memory/t1/tasks", root);
	is_file("0", "%s/pids/t1/tasks", root);
	is_file("", "%s/memory/t1/cgroup.procs", root);
	is_file("", "%s/pids/t1/cgroup.procs", root);
	snprintf(p, sizeof(p), "%d", (int)pid);
	is_file(p, "%s/cpu/t1/cgroup.procs", root); /* no tasks file: the parent writes */
	is_file(p, "%s/unified/t1/cgroup.procs", root);
	ct_cgroup_join_free(j);
	ct_cgroup_free(cg);
}

int main(void)
{
	struct err *err = NULL;

	if (!mkdtemp(top))
		return 1;
	test_hybrid();
	test_key_value();
	test_update_saves_only_its_files();
	test_errors_and_cleanup();
	test_v1_more();
	test_default_parent();
	test_prepare_realize();
	test_v2();
	test_v2_more();
	test_v2_freeze_stats();
	test_join();
	rm_rf_at(AT_FDCWD, top, &err);
	err_free(&err);
	return tap_done();
}
