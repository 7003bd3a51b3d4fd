/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cgroup v1 driver: one directory per controller hierarchy.  Also used on
 * hybrid hosts, where the cgroup2 tree only tracks membership (and takes the
 * linux.resources.unified keys).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "fdutil.h"
#include "log.h"

static struct cg_hier *need(struct ct_cgroup *cg, const char *ctrl, const char *field,
			    struct err **err)
{
	struct cg_hier *h = cg_find(cg, ctrl);

	if (!h)
		err_make(err, ENOENT, "linux.resources.%s: the %s cgroup controller is not mounted",
			 field, ctrl);
	return h;
}

/* A new cpuset cgroup starts empty: copy cpus and mems from its parent. */
static int v1_init_dir(struct ct_cgroup *cg, struct cg_hier *h, const char *dir, struct err **err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	_cleanup_free_ char *parent = strdup(dir);

	if (!cg_find(cg, "cpuset") || cg_find(cg, "cpuset") != h || !parent)
		return parent ? 0 : err_make(err, ENOMEM, "cgroup");
	*strrchr(parent, '/') = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *mine = NULL, *theirs = NULL;
		int r;

		r = cg_read(dir, files[i], &mine, NULL);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return err_make(err, -r, "read `%s/%s`", dir, files[i]);
		if (cg_read(parent, files[i], &theirs, err) < 0)
			return cg_err(err);
		if (strspn(mine, " \n") != strlen(mine))
			continue;
		r = cg_write(dir, files[i], theirs, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_below_usage(const char *dir, int64_t limit, struct err **err)
{
	_cleanup_free_ char *usage = NULL;

	if (cg_read(dir, "memory.usage_in_bytes", &usage, NULL) < 0)
		return err_make(err, EBUSY, "%lld bytes is below the memory in use",
				(long long)limit);
	usage[strcspn(usage, "\n")] = '\0';
	return err_make(err, 0,
			"%lld bytes is below the %s bytes in use, which the kernel could not "
			"reclaim",
			(long long)limit, usage);
}

static int v1_memory(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err)
{
	struct cg_hier *h;
	int rc = 0;

	if (!(r->has_mem_limit || r->has_mem_reservation || r->has_mem_swap || r->has_swappiness ||
	      r->has_oom_disable || r->has_use_hierarchy))
		return 0;
	if (!(h = need(cg, "memory", "memory", err)))
		return cg_err(err);
	if (r->has_mem_limit && r->check_before_update &&
	    cg_check_usage(h->path, "memory.usage_in_bytes", r->mem_limit, err) < 0)
		return cg_err(err);
	/* memsw must stay >= limit: when growing, raise memsw first. */
	if (r->has_mem_limit) {
		struct err *first = NULL;

		rc = cg_writef(h->path, "memory.limit_in_bytes", &first, "%lld",
			       (long long)r->mem_limit);
		if (rc == -EINVAL && r->has_mem_swap) {
			err_free(&first);
			rc = cg_writef(h->path, "memory.memsw.limit_in_bytes", err, "%lld",
				       (long long)r->mem_swap);
			if (rc >= 0)
				rc = cg_writef(h->path, "memory.limit_in_bytes", err, "%lld",
					       (long long)r->mem_limit);
		} else if (rc == -EBUSY) {
			/* The kernel could not reclaim down to the new limit. */
			err_free(&first);
			rc = v1_below_usage(h->path, r->mem_limit, err);
		} else if (rc < 0 && err && !*err) {
			*err = first; /* as it is: wrapping it again would repeat strerror */
		} else {
			err_free(&first);
		}
		if (rc < 0)
			return err_wrap(err, "linux.resources.memory.limit");
	}
	if (r->has_mem_swap && cg_writef(h->path, "memory.memsw.limit_in_bytes", err, "%lld",
					 (long long)r->mem_swap) < 0)
		return err_wrap(err, "linux.resources.memory.swap");
	if (r->has_mem_reservation && cg_writef(h->path, "memory.soft_limit_in_bytes", err, "%lld",
						(long long)r->mem_reservation) < 0)
		return err_wrap(err, "linux.resources.memory.reservation");
	if (r->has_swappiness && cg_writef(h->path, "memory.swappiness", err, "%llu",
					   (unsigned long long)r->swappiness) < 0)
		return err_wrap(err, "linux.resources.memory.swappiness");
	if (r->has_oom_disable &&
	    cg_write(h->path, "memory.oom_control", r->oom_disable ? "1" : "0", err) < 0)
		return err_wrap(err, "linux.resources.memory.disableOOMKiller");
	/* Kernels since 5.15 keep it at 1 and refuse 0: that is an error here too. */
	if (r->has_use_hierarchy &&
	    cg_write(h->path, "memory.use_hierarchy", r->use_hierarchy ? "1" : "0", err) < 0)
		return err_wrap(err, "linux.resources.memory.useHierarchy");
	return 0;
}

static int v1_cpu(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err)
{
	struct cg_hier *h;

	if (r->has_shares || r->has_quota || r->has_period || r->has_rt_runtime ||
	    r->has_rt_period || r->has_idle || r->has_burst) {
		if (!(h = need(cg, "cpu", "cpu", err)))
			return cg_err(err);
		if (r->has_shares && cg_writef(h->path, "cpu.shares", err, "%llu",
					       (unsigned long long)r->shares) < 0)
			return err_wrap(err, "linux.resources.cpu.shares");
		if (r->has_period && r->period &&
		    cg_writef(h->path, "cpu.cfs_period_us", err, "%llu",
			      (unsigned long long)r->period) < 0)
			return err_wrap(err, "linux.resources.cpu.period");
		if (r->has_quota && cg_writef(h->path, "cpu.cfs_quota_us", err, "%lld",
					      r->quota > 0 ? (long long)r->quota : -1LL) < 0)
			return err_wrap(err, "linux.resources.cpu.quota");
		if (r->has_rt_period && r->rt_period &&
		    cg_writef(h->path, "cpu.rt_period_us", err, "%llu",
			      (unsigned long long)r->rt_period) < 0)
			return err_wrap(err, "linux.resources.cpu.realtimePeriod");
		if (r->has_rt_runtime && cg_writef(h->path, "cpu.rt_runtime_us", err, "%lld",
						   (long long)r->rt_runtime) < 0)
			return err_wrap(err, "linux.resources.cpu.realtimeRuntime");
		if (r->has_idle &&
		    cg_writef(h->path, "cpu.idle", err, "%lld", (long long)r->idle) < 0)
			return err_wrap(err, "linux.resources.cpu.idle");
		if (r->has_burst && cg_writef(h->path, "cpu.cfs_burst_us", err, "%llu",
					      (unsigned long long)r->burst) < 0)
			return err_wrap(err, "linux.resources.cpu.burst");
	}
	if (r->cpus || r->mems) {
		if (!(h = need(cg, "cpuset", "cpu.cpus", err)))
			return cg_err(err);
		if (r->cpus && cg_write(h->path, "cpuset.cpus", r->cpus, err) < 0)
			return err_wrap(err, "linux.resources.cpu.cpus");
		if (r->mems && cg_write(h->path, "cpuset.mems", r->mems, err) < 0)
			return err_wrap(err, "linux.resources.cpu.mems");
	}
	return 0;
}

static void device_rule(const struct cg_device_rule *d, char *buf, size_t len)
{
	char maj[24] = "*", min[24] = "*";

	if (d->major >= 0)
		snprintf(maj, sizeof(maj), "%lld", (long long)d->major);
	if (d->minor >= 0)
		snprintf(min, sizeof(min), "%lld", (long long)d->minor);
	if (d->type == 'a')
		snprintf(buf, len, "a");
	else
		snprintf(buf, len, "%c %s:%s %s", d->type, maj, min, d->access);
}

/* Open devices.allow or devices.deny of @dir once: each write() to it is one rule. */
static int open_devices_file(int dfd, const char *dir, const char *file, int *fd, struct err **err)
{
	if (*fd >= 0)
		return 0;
	*fd = openat(dfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0)
		return err_make(err, errno, "open `%s/%s`", dir, file);
	return 0;
}

static int write_rule(int fd, const char *dir, const char *file, const char *rule, struct err **err)
{
	int r = write_all(fd, rule, strlen(rule));

	return r < 0 ? err_make(err, -r, "write `%s` to `%s/%s`", rule, dir, file) : 0;
}

/* "a" in a v1 devices file is every device with every access, whatever follows it. */
static bool v1_is_all(const struct cg_device_rule *d)
{
	return d->type == 'a' && d->major < 0 && d->minor < 0 && strchr(d->access, 'r') &&
	       strchr(d->access, 'w') && strchr(d->access, 'm');
}

/* Whether @a and @b (type, major, minor; -1 any) have a device in common. */
static bool v1_overlap(const struct cg_device_rule *a, const struct cg_device_rule *b)
{
	return (a->type == 'a' || b->type == 'a' || a->type == b->type) &&
	       (a->major < 0 || b->major < 0 || a->major == b->major) &&
	       (a->minor < 0 || b->minor < 0 || a->minor == b->minor);
}

/*
 * The rules as v1 can take them: an "a" rule that is not every device with
 * rwm is written as a c and a b rule (the kernel reads "a r" as "a", all of
 * rwm: an allow of reading every device allowed writing them too).  *src
 * is each one's index in the config.
 */
static size_t v1_expand(const struct cg_resources *r, struct cg_device_rule *out, size_t *src)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_devices; i++) {
		const struct cg_device_rule *d = &r->devices[i];

		out[n] = *d;
		src[n++] = i;
		if (d->type != 'a' || v1_is_all(d))
			continue;
		out[n - 1].type = 'c';
		out[n] = *d;
		out[n].type = 'b';
		src[n++] = i;
	}
	return n;
}

/*
 * In deny-by-default mode the kernel's deny takes back only an allow of the
 * very same numbers: after "b *:* rwm", "deny b 7:0" changes nothing, and
 * after "c 1:3 rwm", neither does "deny c *:*", where the spec's
 * last-match-wins (the eBPF program on v2) denies 7:0 and 1:3.  A deny that
 * overlaps an earlier allow without being the same numbers is refused
 * rather than applied wider than it says.  (The
 * other way round, an allow narrower than an earlier deny in allow-by-default
 * mode, only denies more, and is left.)
 */
static int v1_check(const struct cg_device_rule *d, const size_t *src, size_t n, struct err **err)
{
	bool deny_default = true;

	for (size_t i = 0; i < n; i++) {
		if (v1_is_all(&d[i])) {
			deny_default = !d[i].allow;
			continue;
		}
		if (d[i].allow || !deny_default)
			continue;
		for (size_t j = i; j-- > 0 && !v1_is_all(&d[j]);) {
			const struct cg_device_rule *w = &d[j];
			bool same = w->type == d[i].type && w->major == d[i].major &&
				    w->minor == d[i].minor;

			if (w->allow && !same && v1_overlap(w, &d[i]) &&
			    strpbrk(w->access, d[i].access))
				return err_make(
				    err, 0,
				    "linux.resources.devices[%zu]: on cgroup v1 a deny "
				    "takes back only an allow of the same type and "
				    "numbers, and devices[%zu] would stay allowed; list "
				    "the allows without the devices to deny instead",
				    src[i], src[j]);
		}
	}
	return 0;
}

static int v1_devices(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err)
{
	_cleanup_close_ int dfd = -1, allow = -1, deny = -1;
	_cleanup_free_ struct cg_device_rule *d = NULL;
	_cleanup_free_ size_t *src = NULL;
	struct cg_hier *h;
	char rule[96];
	size_t n;

	if (!r->has_devices)
		return 0;
	d = calloc(2 * r->n_devices + 1, sizeof(*d));
	src = calloc(2 * r->n_devices + 1, sizeof(*src));
	if (!d || !src)
		return err_make(err, ENOMEM, "linux.resources.devices");
	n = v1_expand(r, d, src);
	if (v1_check(d, src, n, err) < 0)
		return cg_err(err);
	if (!(h = need(cg, "devices", "devices", err)))
		return cg_err(err);
	dfd = open(h->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_make(err, errno, "linux.resources.devices: open `%s`", h->path);
	/* Start from deny-all; the rules then apply in order, as in the spec. */
	if (open_devices_file(dfd, h->path, "devices.deny", &deny, err) < 0 ||
	    write_rule(deny, h->path, "devices.deny", "a", err) < 0)
		return err_wrap(err, "linux.resources.devices");
	for (size_t i = 0; i < n; i++) {
		const char *file = d[i].allow ? "devices.allow" : "devices.deny";
		int *fd = d[i].allow ? &allow : &deny;

		device_rule(&d[i], rule, sizeof(rule));
		if (open_devices_file(dfd, h->path, file, fd, err) < 0 ||
		    write_rule(*fd, h->path, file, rule, err) < 0)
			return err_wrap(err, "linux.resources.devices[%zu]", src[i]);
	}
	for (size_t i = 0; i < cg_n_default_devices; i++) {
		device_rule(&cg_default_devices[i], rule, sizeof(rule));
		if (open_devices_file(dfd, h->path, "devices.allow", &allow, err) < 0 ||
		    write_rule(allow, h->path, "devices.allow", rule, err) < 0)
			return err_wrap(err, "default device rule `%s`", rule);
	}
	return 0;
}

static int v1_unified(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err)
{
	struct cg_hier *h;

	if (!r->unified || json_object_size(r->unified) == 0)
		return 0;
	h = cg_find(cg, "unified");
	if (!h)
		return err_make(err, 0,
				"linux.resources.unified: this host has no cgroup2 hierarchy");
	return cg_write_unified(h->path, r->unified, err);
}

/* hugetlb is a v1 controller on some hosts and lives in the cgroup2 tree on others. */
static int v1_hugetlb(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err)
{
	struct cg_hier *h = cg_find(cg, "hugetlb");
	char file[64];

	if (r->n_hugepages == 0)
		return 0;
	if (!h) {
		h = cg_find(cg, "unified");
		if (h)
			return cg_v2_hugetlb(h->mount, h->path, r, err);
		return err_make(err, 0,
				"linux.resources.hugepageLimits: the hugetlb cgroup "
				"controller is not mounted");
	}
	for (size_t i = 0; i < r->n_hugepages; i++) {
		snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", r->hugepages[i].size);
		if (cg_writef(h->path, file, err, "%llu",
			      (unsigned long long)r->hugepages[i].limit) < 0)
			return err_wrap(err, "linux.resources.hugepageLimits[%zu]", i);
	}
	return 0;
}

/* "maj:min value" lines into file, one write each (the kernel takes one per write). */
static int write_devs(const char *dir, const char *file, const struct cg_blkio_dev *d, size_t n,
		      bool leaf, struct err **err)
{
	for (size_t i = 0; i < n; i++) {
		if (leaf ? !d[i].has_leaf : !d[i].has_value)
			continue;
		if (cg_writef(dir, file, err, "%lld:%lld %llu", (long long)d[i].major,
			      (long long)d[i].minor,
			      (unsigned long long)(leaf ? d[i].leaf : d[i].value)) < 0)
			return cg_err(err);
	}
	return 0;
}

static bool blkio_wanted(const struct cg_resources *r)
{
	size_t n = r->n_weight_devs;

	for (int t = 0; t < CG_THROTTLE_N; t++)
		n += r->n_throttle[t];
	return n || r->has_blkio_weight || r->has_blkio_leaf_weight;
}

static int v1_blkio(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err)
{
	const char *bfq = "", *w = "linux.resources.blockIO";
	struct cg_hier *h;
	char file[64];

	if (!blkio_wanted(r))
		return 0;
	if (!(h = need(cg, "blkio", "blockIO", err)))
		return cg_err(err);
	/* CFQ's files are gone from current kernels; BFQ names them blkio.bfq.*. */
	if (!cg_has_file(h->path, "blkio.weight") && cg_has_file(h->path, "blkio.bfq.weight"))
		bfq = "bfq.";
	snprintf(file, sizeof(file), "blkio.%sweight", bfq);
	if (r->has_blkio_weight &&
	    cg_writef(h->path, file, err, "%llu", (unsigned long long)r->blkio_weight) < 0)
		return err_wrap(err, "%s.weight", w);
	if (r->has_blkio_leaf_weight && cg_writef(h->path, "blkio.leaf_weight", err, "%llu",
						  (unsigned long long)r->blkio_leaf_weight) < 0)
		return err_wrap(err, "%s.leafWeight", w);
	snprintf(file, sizeof(file), "blkio.%sweight_device", bfq);
	if (write_devs(h->path, file, r->weight_devs, r->n_weight_devs, false, err) < 0 ||
	    write_devs(h->path, "blkio.leaf_weight_device", r->weight_devs, r->n_weight_devs, true,
		       err) < 0)
		return err_wrap(err, "%s.weightDevice", w);
	for (int t = 0; t < CG_THROTTLE_N; t++)
		if (write_devs(h->path, cg_throttle_v1[t], r->throttle[t], r->n_throttle[t], false,
			       err) < 0)
			return err_wrap(err, "%s: throttle", w);
	return 0;
}

static int v1_network(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err)
{
	struct cg_hier *h;

	if (r->has_classid) {
		if (!(h = need(cg, "net_cls", "network.classID", err)))
			return cg_err(err);
		if (cg_writef(h->path, "net_cls.classid", err, "%u", r->classid) < 0)
			return err_wrap(err, "linux.resources.network.classID");
	}
	if (!r->n_prios)
		return 0;
	if (!(h = need(cg, "net_prio", "network.priorities", err)))
		return cg_err(err);
	for (size_t i = 0; i < r->n_prios; i++)
		if (cg_writef(h->path, "net_prio.ifpriomap", err, "%s %u", r->prios[i].name,
			      r->prios[i].prio) < 0)
			return err_wrap(err, "linux.resources.network.priorities[%zu]", i);
	return 0;
}

/* rdma is a v1 controller on some hosts, and in the cgroup2 tree on others. */
static int v1_rdma(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err)
{
	struct cg_hier *h = cg_find(cg, "rdma");
	char line[128];

	if (!r->n_rdma)
		return 0;
	if (!h && (h = cg_find(cg, "unified")) && !cg_has_file(h->path, "rdma.max"))
		h = NULL;
	if (!h)
		return err_make(err, ENOENT,
				"linux.resources.rdma: the rdma cgroup controller is "
				"not available on this host");
	for (size_t i = 0; i < r->n_rdma; i++) {
		cg_rdma_line(&r->rdma[i], line, sizeof(line));
		if (cg_write(h->path, "rdma.max", line, err) < 0)
			return err_wrap(err, "linux.resources.rdma.%s", r->rdma[i].name);
	}
	return 0;
}

static int v1_apply(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err)
{
	struct cg_hier *h;

	if (v1_memory(cg, r, err) < 0 || v1_cpu(cg, r, err) < 0 || v1_devices(cg, r, err) < 0 ||
	    v1_unified(cg, r, err) < 0 || v1_hugetlb(cg, r, err) < 0 || v1_blkio(cg, r, err) < 0 ||
	    v1_network(cg, r, err) < 0 || v1_rdma(cg, r, err) < 0)
		return cg_err(err);
	if (r->has_pids_limit) {
		if (!(h = need(cg, "pids", "pids", err)))
			return cg_err(err);
		if (r->pids_limit > 0
			? cg_writef(h->path, "pids.max", err, "%lld", (long long)r->pids_limit) < 0
			: cg_write(h->path, "pids.max", "max", err) < 0)
			return err_wrap(err, "linux.resources.pids.limit");
	}
	return 0;
}

static int v1_freeze(struct ct_cgroup *cg, bool frozen, struct err **err)
{
	struct cg_hier *h = cg_find(cg, "freezer");
	const char *want = frozen ? "FROZEN" : "THAWED";

	if (!h)
		return err_make(err, ENOENT, "the freezer cgroup controller is not mounted");
	if (frozen)
		cg_evict_kthreads(h, "tasks", "tasks");
	/* FREEZING can linger while tasks are busy; re-ask until it sticks (~2 s). */
	for (int i = 0; i < 400; i++) {
		_cleanup_free_ char *state = NULL;

		if (cg_write(h->path, "freezer.state", want, err) < 0 ||
		    cg_read(h->path, "freezer.state", &state, err) < 0)
			return cg_err(err);
		if (strncmp(state, want, strlen(want)) == 0)
			return 0;
		usleep(i < 10 ? 500 : 5000);
	}
	if (frozen) {
		struct err *ignored = NULL;

		cg_write(h->path, "freezer.state", "THAWED", &ignored);
		err_free(&ignored);
	}
	return err_make(err, EBUSY, "`%s`: freezer did not reach %s", h->path, want);
}

static int v1_is_frozen(struct ct_cgroup *cg, bool *ret, struct err **err)
{
	struct cg_hier *h = cg_find(cg, "freezer");
	_cleanup_free_ char *state = NULL;

	if (!h)
		return err_make(err, ENOENT, "the freezer cgroup controller is not mounted");
	if (cg_read(h->path, "freezer.state", &state, err) < 0)
		return cg_err(err);
	*ret = strncmp(state, "FROZEN", 6) == 0;
	return 0;
}

const struct cg_ops cg_v1_ops = {
    .name = "v1",
    .init_dir = v1_init_dir,
    .apply = v1_apply,
    .freeze = v1_freeze,
    .is_frozen = v1_is_frozen,
};
