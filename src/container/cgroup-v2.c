/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cgroup v2 (unified) driver.  Values are converted from the spec's v1
 * units as runc does: cpu.weight from shares, memory.swap.max = swap - limit,
 * io.weight from the blkio weight.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "log.h"

/* Enable the controllers the root offers in the parent of each new level. */
static int v2_init_dir(struct ct_cgroup *cg, struct cg_hier *h, const char *dir, struct err **err)
{
	static const char *const wanted[] = {"cpu",  "cpuset",	"io",  "memory",
					     "pids", "hugetlb", "rdma"};
	_cleanup_free_ char *parent = strdup(dir), *avail = NULL;
	char buf[128] = "";

	if (!parent)
		return err_make(err, ENOMEM, "cgroup");
	*strrchr(parent, '/') = '\0';
	if (cg_read(parent, "cgroup.controllers", &avail, err) < 0)
		return cg_err(err);
	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
		const char *p = strstr(avail, wanted[i]);
		size_t n = strlen(wanted[i]);

		if (p && (p == avail || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " +%s", wanted[i]);
	}
	if (!buf[0])
		return 0;
	/* Fails with EBUSY if the parent holds processes; resource writes then say what is missing.
	 */
	{
		struct err *e = NULL;

		if (cg_write(parent, "cgroup.subtree_control", buf + 1, &e) < 0)
			log_debug("%s", e->msg);
		err_free(&e);
	}
	return 0;
}

static int v2_memory(const char *dir, const struct cg_resources *r, struct err **err)
{
	if (r->has_mem_limit && r->check_before_update &&
	    cg_check_usage(dir, "memory.current", r->mem_limit, err) < 0)
		return cg_err(err);
	if (r->has_mem_limit &&
	    (r->mem_limit > 0 ? cg_writef(dir, "memory.max", err, "%lld", (long long)r->mem_limit)
			      : cg_write(dir, "memory.max", "max", err)) < 0)
		return err_wrap(err, "linux.resources.memory.limit");
	if (r->has_mem_reservation && r->mem_reservation > 0 &&
	    cg_writef(dir, "memory.low", err, "%lld", (long long)r->mem_reservation) < 0)
		return err_wrap(err, "linux.resources.memory.reservation");
	if (r->has_mem_swap) {
		char val[32] = "max";

		if (r->mem_swap > 0 && r->has_mem_limit && r->mem_limit > 0) {
			if (r->mem_swap < r->mem_limit)
				return err_make(err, 0,
						"linux.resources.memory.swap: %lld is less than "
						"memory.limit %lld",
						(long long)r->mem_swap, (long long)r->mem_limit);
			snprintf(val, sizeof(val), "%lld", (long long)(r->mem_swap - r->mem_limit));
		} else if (r->mem_swap > 0) {
			return err_make(
			    err, 0, "linux.resources.memory.swap: needs memory.limit on cgroup v2");
		}
		if (cg_write(dir, "memory.swap.max", val, err) < 0)
			return err_wrap(err, "linux.resources.memory.swap");
	}
	if (r->has_swappiness)
		log_warn("linux.resources.memory.swappiness: not available on cgroup v2; ignored");
	if (r->has_oom_disable && r->oom_disable)
		log_warn(
		    "linux.resources.memory.disableOOMKiller: not available on cgroup v2; ignored");
	return 0;
}

static int v2_cpu(const char *dir, const struct cg_resources *r, struct err **err)
{
	if (r->has_shares && r->shares) {
		uint64_t s = r->shares < 2 ? 2 : r->shares > 262144 ? 262144 : r->shares;

		if (cg_writef(dir, "cpu.weight", err, "%llu",
			      (unsigned long long)(1 + ((s - 2) * 9999) / 262142)) < 0)
			return err_wrap(err, "linux.resources.cpu.shares");
	}
	if (r->has_quota || r->has_period) {
		char quota[32] = "max";
		uint64_t period = r->has_period && r->period ? r->period : 100000;

		if (r->has_quota && r->quota > 0)
			snprintf(quota, sizeof(quota), "%lld", (long long)r->quota);
		if (cg_writef(dir, "cpu.max", err, "%s %llu", quota, (unsigned long long)period) <
		    0)
			return err_wrap(err, "linux.resources.cpu.quota");
	}
	if (r->has_burst &&
	    cg_writef(dir, "cpu.max.burst", err, "%llu", (unsigned long long)r->burst) < 0)
		return err_wrap(err, "linux.resources.cpu.burst");
	if (r->has_rt_runtime || r->has_rt_period)
		return err_make(err, 0,
				"linux.resources.cpu.realtimeRuntime: not available on cgroup v2");
	if (r->cpus && cg_write(dir, "cpuset.cpus", r->cpus, err) < 0)
		return err_wrap(err, "linux.resources.cpu.cpus");
	if (r->mems && cg_write(dir, "cpuset.mems", r->mems, err) < 0)
		return err_wrap(err, "linux.resources.cpu.mems");
	return 0;
}

/* Enable hugetlb in every ancestor below mount_dir (only when limits are asked for). */
static int enable_hugetlb(const char *mount_dir, const char *dir, struct err **err)
{
	_cleanup_free_ char *p = strdup(dir);
	size_t mlen = strlen(mount_dir);

	if (!p)
		return err_make(err, ENOMEM, "cgroup");
	for (char *s = p + mlen; s && *s;) {
		char *slash = strchr(s + 1, '/');

		*s = '\0';
		if (cg_write(p[0] ? p : "/", "cgroup.subtree_control", "+hugetlb", err) < 0)
			return err_wrap(err, "linux.resources.hugepageLimits");
		*s = '/';
		s = slash;
	}
	return 0;
}

int cg_v2_hugetlb(const char *mount_dir, const char *dir, const struct cg_resources *r,
		  struct err **err)
{
	char file[64];

	if (r->n_hugepages == 0)
		return 0;
	if (enable_hugetlb(mount_dir, dir, err) < 0)
		return cg_err(err);
	for (size_t i = 0; i < r->n_hugepages; i++) {
		snprintf(file, sizeof(file), "hugetlb.%s.max", r->hugepages[i].size);
		if (cg_writef(dir, file, err, "%llu", (unsigned long long)r->hugepages[i].limit) <
		    0)
			return err_wrap(err, "linux.resources.hugepageLimits[%zu]", i);
	}
	return 0;
}

/* The spec's blkio weight (10..1000) as io.weight (1..10000), as runc converts. */
static uint64_t io_weight(uint64_t w)
{
	return 1 + (w - 10) * 9999 / 990;
}

static int v2_io_weights(const char *dir, const struct cg_resources *r, struct err **err)
{
	bool bfq = cg_has_file(dir, "io.bfq.weight");
	const char *file = bfq ? "io.bfq.weight" : "io.weight";

	if (r->has_blkio_weight &&
	    cg_writef(dir, file, err, "%llu",
		      (unsigned long long)(bfq ? r->blkio_weight : io_weight(r->blkio_weight))) < 0)
		return err_wrap(err, "linux.resources.blockIO.weight");
	for (size_t i = 0; i < r->n_weight_devs; i++) {
		const struct cg_blkio_dev *d = &r->weight_devs[i];

		if (d->has_value &&
		    cg_writef(dir, file, err, "%lld:%lld %llu", (long long)d->major,
			      (long long)d->minor,
			      (unsigned long long)(bfq ? d->value : io_weight(d->value))) < 0)
			return err_wrap(err, "linux.resources.blockIO.weightDevice[%zu]", i);
	}
	if (r->has_blkio_leaf_weight)
		log_warn("linux.resources.blockIO.leafWeight: not available on cgroup v2; ignored");
	return 0;
}

static int v2_io(const char *dir, const struct cg_resources *r, struct err **err)
{
	if (v2_io_weights(dir, r, err) < 0)
		return cg_err(err);
	/* io.max takes "maj:min key=value" lines, one key per write here. */
	for (int t = 0; t < CG_THROTTLE_N; t++)
		for (size_t i = 0; i < r->n_throttle[t]; i++) {
			const struct cg_blkio_dev *d = &r->throttle[t][i];

			if (cg_writef(dir, "io.max", err, "%lld:%lld %s=%llu", (long long)d->major,
				      (long long)d->minor, cg_throttle_v2[t],
				      (unsigned long long)d->value) < 0)
				return err_wrap(err, "linux.resources.blockIO: throttle");
		}
	return 0;
}

/* network, rdma, cpu.idle, memory.useHierarchy on v2. */
static int v2_other(const char *dir, const struct cg_resources *r, struct err **err)
{
	char line[128];

	if (r->has_classid || r->n_prios)
		return err_make(
		    err, 0,
		    "linux.resources.network: net_cls and net_prio do not exist on "
		    "cgroup v2 (use a BPF program or tc on the container's interfaces)");
	for (size_t i = 0; i < r->n_rdma; i++) {
		cg_rdma_line(&r->rdma[i], line, sizeof(line));
		if (cg_write(dir, "rdma.max", line, err) < 0)
			return err_wrap(err, "linux.resources.rdma.%s", r->rdma[i].name);
	}
	if (r->has_idle && cg_writef(dir, "cpu.idle", err, "%lld", (long long)r->idle) < 0)
		return err_wrap(err, "linux.resources.cpu.idle");
	if (r->has_use_hierarchy && !r->use_hierarchy)
		log_warn("linux.resources.memory.useHierarchy: cgroup v2 is always hierarchical; "
			 "false is ignored");
	return 0;
}

/* The user's rules, then the default devices, as one eBPF device filter. */
static int v2_devices(const char *dir, const struct cg_resources *r, struct err **err)
{
	_cleanup_free_ struct cg_device_rule *all =
	    calloc(r->n_devices + cg_n_default_devices, sizeof(*all));

	if (!all)
		return err_make(err, ENOMEM, "linux.resources.devices");
	memcpy(all, r->devices, r->n_devices * sizeof(*all));
	memcpy(all + r->n_devices, cg_default_devices, cg_n_default_devices * sizeof(*all));
	if (cg_bpf_devices_attach(dir, all, r->n_devices + cg_n_default_devices, err) < 0)
		return err_wrap(err, "linux.resources.devices");
	return 0;
}

static int v2_apply(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err)
{
	const char *dir = cg->h[0].path;

	if (v2_memory(dir, r, err) < 0 || v2_cpu(dir, r, err) < 0)
		return cg_err(err);
	if (r->has_pids_limit &&
	    (r->pids_limit > 0 ? cg_writef(dir, "pids.max", err, "%lld", (long long)r->pids_limit)
			       : cg_write(dir, "pids.max", "max", err)) < 0)
		return err_wrap(err, "linux.resources.pids.limit");
	if (v2_io(dir, r, err) < 0 || v2_other(dir, r, err) < 0)
		return cg_err(err);
	if (cg_v2_hugetlb(cg->h[0].mount, dir, r, err) < 0)
		return cg_err(err);
	if (r->has_devices && v2_devices(dir, r, err) < 0)
		return cg_err(err);
	return cg_write_unified(dir, r->unified, err);
}

static int v2_is_frozen(struct ct_cgroup *cg, bool *ret, struct err **err)
{
	_cleanup_free_ char *events = NULL;
	const char *p;

	if (cg_read(cg->h[0].path, "cgroup.events", &events, err) < 0)
		return cg_err(err);
	p = strstr(events, "frozen ");
	*ret = p && p[7] == '1';
	return 0;
}

static int v2_freeze(struct ct_cgroup *cg, bool frozen, struct err **err)
{
	if (frozen)
		cg_evict_kthreads(&cg->h[0], "cgroup.threads", "cgroup.procs");
	if (cg_write(cg->h[0].path, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
		return cg_err(err);
	for (int i = 0; i < 400; i++) {
		bool now = !frozen;

		if (v2_is_frozen(cg, &now, err) < 0)
			return cg_err(err);
		if (now == frozen)
			return 0;
		usleep(i < 10 ? 500 : 5000);
	}
	/* A pause that did not finish is undone: the container stays running, not half frozen. */
	if (frozen) {
		struct err *ignored = NULL;

		cg_write(cg->h[0].path, "cgroup.freeze", "0", &ignored);
		err_free(&ignored);
	}
	return err_make(err, EBUSY, "`%s`: cgroup did not %s", cg->h[0].path,
			frozen ? "freeze" : "thaw");
}

const struct cg_ops cg_v2_ops = {
    .name = "v2",
    .init_dir = v2_init_dir,
    .apply = v2_apply,
    .freeze = v2_freeze,
    .is_frozen = v2_is_frozen,
};
