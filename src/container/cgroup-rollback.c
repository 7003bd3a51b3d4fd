/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ct_cgroup_update: change a live container's limits all or nothing.  The
 * control files this update may write are read first; when one write fails,
 * the ones that changed get their old values back, as runc's Set() puts the
 * previous resources back.  Without it a failed update (a cpuset the host
 * lacks after a new memory limit) left a container with half the new
 * limits while its engine (containerd, which keeps the old spec on error)
 * believed the old ones.
 *
 * Only the files of the controllers the update writes are read, in the
 * hierarchy its driver writes them to (part_wanted and part_dir mirror
 * cgroup-v1.c and cgroup-v2.c; hugetlb limits of the page sizes it names):
 * an update of the memory limit alone reads the memory files, not every
 * control file of every hierarchy.
 *
 * Single values are written back whole, and memory.oom_control's
 * oom_kill_disable on its own.  Per-device lists (blkio throttles
 * and weights, io.max) get each changed line back and lose the devices the
 * update added; hugetlb limits and the files named by linux.resources.unified
 * are saved as they are found; a cgroup2 hugetlb.*.max the update brought
 * (it turns hugetlb on in the tree) goes back to "max", its default.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "log.h"

/* The parts of linux.resources that write control files on a live container. */
enum cg_part {
	CG_PART_MEMORY,
	CG_PART_CPU,
	CG_PART_CPUSET,
	CG_PART_PIDS,
	CG_PART_BLKIO,
	CG_PART_NET_CLS,
	CG_PART_NET_PRIO,
	CG_PART_RDMA,
	CG_PART_N,
};

/* The v1 controller each part is written to (v2: all in the one directory). */
static const char *const part_controller[CG_PART_N] = {
    [CG_PART_MEMORY] = "memory",     [CG_PART_CPU] = "cpu",	[CG_PART_CPUSET] = "cpuset",
    [CG_PART_PIDS] = "pids",	     [CG_PART_BLKIO] = "blkio", [CG_PART_NET_CLS] = "net_cls",
    [CG_PART_NET_PRIO] = "net_prio", [CG_PART_RDMA] = "rdma",
};

enum { V1 = 1, V2 = 2 };

/*
 * The files the drivers may write for each part, and on which layout's
 * driver (a hybrid host's controllers use the v1 driver).  keyed: "KEY
 * VALUE…" lines, one key (a device, an interface) per write; a key the
 * update added is taken out again by writing KEY and reset (NULL where keys
 * never go away: net_prio lists every interface).  field: the one setting
 * saved of a file that shows it among counters ("oom_kill_disable 0\nunder_oom 0…").
 */
static const struct saved_file_def {
	enum cg_part part;
	unsigned layouts;
	const char *name;
	bool keyed;
	const char *reset, *field;
} saved_files[] = {
    {CG_PART_MEMORY, V1, "memory.limit_in_bytes"},
    {CG_PART_MEMORY, V1, "memory.memsw.limit_in_bytes"},
    {CG_PART_MEMORY, V1, "memory.soft_limit_in_bytes"},
    {CG_PART_MEMORY, V1, "memory.swappiness"},
    {CG_PART_MEMORY, V1, "memory.oom_control", .field = "oom_kill_disable"},
    {CG_PART_MEMORY, V2, "memory.max"},
    {CG_PART_MEMORY, V2, "memory.swap.max"},
    {CG_PART_MEMORY, V2, "memory.low"},
    {CG_PART_CPU, V1, "cpu.shares"},
    {CG_PART_CPU, V1, "cpu.cfs_period_us"},
    {CG_PART_CPU, V1, "cpu.cfs_quota_us"},
    {CG_PART_CPU, V1, "cpu.rt_period_us"},
    {CG_PART_CPU, V1, "cpu.rt_runtime_us"},
    {CG_PART_CPU, V1, "cpu.cfs_burst_us"},
    {CG_PART_CPU, V1 | V2, "cpu.idle"},
    {CG_PART_CPU, V2, "cpu.weight"},
    {CG_PART_CPU, V2, "cpu.max"},
    {CG_PART_CPU, V2, "cpu.max.burst"},
    {CG_PART_CPUSET, V1 | V2, "cpuset.cpus"},
    {CG_PART_CPUSET, V1 | V2, "cpuset.mems"},
    {CG_PART_PIDS, V1 | V2, "pids.max"},
    {CG_PART_BLKIO, V1, "blkio.weight"},
    {CG_PART_BLKIO, V1, "blkio.leaf_weight"},
    {CG_PART_BLKIO, V1, "blkio.bfq.weight"},
    {CG_PART_BLKIO, V1, "blkio.throttle.read_bps_device", true, "0"},
    {CG_PART_BLKIO, V1, "blkio.throttle.write_bps_device", true, "0"},
    {CG_PART_BLKIO, V1, "blkio.throttle.read_iops_device", true, "0"},
    {CG_PART_BLKIO, V1, "blkio.throttle.write_iops_device", true, "0"},
    {CG_PART_BLKIO, V1, "blkio.weight_device", true, "0"},
    {CG_PART_BLKIO, V1, "blkio.leaf_weight_device", true, "0"},
    {CG_PART_BLKIO, V1, "blkio.bfq.weight_device", true, "0"},
    {CG_PART_BLKIO, V2, "io.max", true, "rbps=max wbps=max riops=max wiops=max"},
    {CG_PART_BLKIO, V2, "io.weight", true, "default"},
    {CG_PART_BLKIO, V2, "io.bfq.weight", true, "default"},
    {CG_PART_NET_CLS, V1, "net_cls.classid"},
    {CG_PART_NET_PRIO, V1, "net_prio.ifpriomap", true, NULL},
    {CG_PART_RDMA, V1 | V2, "rdma.max", true, NULL},
};

struct cg_saved_file {
	const char *dir;
	char *file;
	char *value; /* as read, one trailing newline dropped; or the field's value */
	const struct saved_file_def *def; /* NULL: a single value (hugetlb, most unified keys) */
	bool absent; /* no such file before: it appeared with the update, value is its default */
};

struct cg_saved {
	struct cg_saved_file *f;
	size_t n, cap;
};

static void saved_free(struct cg_saved *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->f[i].file);
		free(s->f[i].value);
	}
	free(s->f);
}

static void value_trim(char *v)
{
	size_t len = strlen(v);

	if (len && v[len - 1] == '\n')
		v[len - 1] = '\0';
}

/* Replace text (a file with a field) by the value on its "field VALUE" line. */
static int field_value(char **text, const char *field)
{
	const char *v;
	char *copy;
	size_t len;

	if (!cg_key_value(*text, field, strlen(field), &v, &len))
		return -ENOENT;
	if (!(copy = strndup(v, len)))
		return -ENOMEM;
	free(*text);
	*text = copy;
	return 0;
}

static bool saved_has(const struct cg_saved *s, const char *dir, const char *file)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->f[i].dir == dir && streq(s->f[i].file, file))
			return true;
	return false;
}

/* hugetlb.<size>.max: a cgroup2 hugetlb limit, whose file appears (as "max")
 * when the update turns hugetlb on. */
static bool is_hugetlb_max(const char *name)
{
	size_t len = strlen(name);

	return strncmp(name, "hugetlb.", 8) == 0 && len > 12 && streq(name + len - 4, ".max");
}

static int saved_add(struct cg_saved *s, struct cg_saved_file f)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct cg_saved_file *n = reallocarray(s->f, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->f = n;
		s->cap = cap;
	}
	if (!(f.file = strdup(f.file)))
		return -ENOMEM;
	s->f[s->n++] = f;
	return 0;
}

/*
 * Remember dir/file's value, once.  A file the host lacks is skipped, but for
 * a cgroup2 hugetlb limit: that one may appear with the update, as "max".
 */
static int save_one(struct cg_saved *s, const char *dir, const char *file,
		    const struct saved_file_def *def)
{
	_cleanup_free_ char *v = NULL;
	bool absent = false;
	int r;

	if (saved_has(s, dir, file))
		return 0;
	r = cg_read(dir, file, &v, NULL);
	if (r == -ENOENT && is_hugetlb_max(file)) {
		absent = true;
		if (!(v = strdup("max")))
			return -ENOMEM;
	} else if (r < 0) {
		return 0;
	} else {
		value_trim(v);
		r = def && def->field ? field_value(&v, def->field) : 0;
		if (r == -ENOMEM)
			return r;
		/* A multi-line file not known as keyed cannot be written back whole. */
		if (r < 0 || (!(def && def->keyed) && strchr(v, '\n')))
			return 0;
	}
	r = saved_add(s, (struct cg_saved_file){dir, (char *)file, v, def, absent});
	if (r >= 0)
		TAKE_PTR(v);
	return r;
}

/* Which parts of linux.resources r writes (cf. the drivers' checks). */
static bool part_wanted(const struct cg_resources *r, enum cg_part p)
{
	size_t n = r->n_weight_devs;

	switch (p) {
	case CG_PART_MEMORY:
		return r->has_mem_limit || r->has_mem_reservation || r->has_mem_swap ||
		       r->has_swappiness || r->has_oom_disable || r->has_use_hierarchy;
	case CG_PART_CPU:
		return r->has_shares || r->has_quota || r->has_period || r->has_rt_runtime ||
		       r->has_rt_period || r->has_idle || r->has_burst;
	case CG_PART_CPUSET:
		return r->cpus || r->mems;
	case CG_PART_PIDS:
		return r->has_pids_limit;
	case CG_PART_BLKIO:
		for (int t = 0; t < CG_THROTTLE_N; t++)
			n += r->n_throttle[t];
		return n || r->has_blkio_weight || r->has_blkio_leaf_weight;
	case CG_PART_NET_CLS:
		return r->has_classid;
	case CG_PART_NET_PRIO:
		return r->n_prios;
	case CG_PART_RDMA:
		return r->n_rdma;
	case CG_PART_N:
		break;
	}
	return false;
}

/*
 * The directory the driver writes part p to: v2's one directory; else the
 * v1 controller's hierarchy, or the cgroup2 tree of a hybrid host for rdma
 * and hugetlb when no v1 hierarchy has them (as v1_rdma, v1_hugetlb).
 */
static const char *part_dir(struct ct_cgroup *cg, const char *controller, unsigned *ret_layout)
{
	struct cg_hier *h;

	*ret_layout = V1;
	if (cg->layout == CG_LAYOUT_V2) {
		*ret_layout = V2;
		return cg->h[0].path;
	}
	if ((h = cg_find(cg, controller)))
		return h->path;
	if (!streq(controller, "rdma") && !streq(controller, "hugetlb"))
		return NULL;
	*ret_layout = V2;
	h = cg_find(cg, "unified");
	return h ? h->path : NULL;
}

static int save_hugetlb(struct ct_cgroup *cg, const struct cg_resources *r, struct cg_saved *s)
{
	unsigned layout;
	const char *dir = r->n_hugepages ? part_dir(cg, "hugetlb", &layout) : NULL;
	char file[64];

	for (size_t i = 0; dir && i < r->n_hugepages; i++) {
		snprintf(file, sizeof(file),
			 layout == V1 ? "hugetlb.%s.limit_in_bytes" : "hugetlb.%s.max",
			 r->hugepages[i].size);
		if (save_one(s, dir, file, NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The table's entry for a file named by linux.resources.unified (io.max is keyed there too). */
static const struct saved_file_def *def_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(saved_files); i++)
		if (streq(saved_files[i].name, name))
			return &saved_files[i];
	return NULL;
}

/* Read the files that this update may write, where it writes them. */
static int save(struct ct_cgroup *cg, const struct cg_resources *r, struct cg_saved *s)
{
	struct cg_hier *u = cg->layout == CG_LAYOUT_V2 ? &cg->h[0] : cg_find(cg, "unified");
	const char *key;
	json_t *v;

	for (enum cg_part p = 0; p < CG_PART_N; p++) {
		unsigned layout;
		const char *dir =
		    part_wanted(r, p) ? part_dir(cg, part_controller[p], &layout) : NULL;

		for (size_t f = 0; dir && f < ARRAY_SIZE(saved_files); f++)
			if (saved_files[f].part == p && (saved_files[f].layouts & layout) &&
			    save_one(s, dir, saved_files[f].name, &saved_files[f]) < 0)
				return -ENOMEM;
	}
	if (save_hugetlb(cg, r, s) < 0)
		return -ENOMEM;
	/* unified's keys name files; cg_write_unified refuses the same ones. */
	if (u && json_is_object(r->unified))
		json_object_foreach (r->unified, key, v)
			if (!strchr(key, '/') && key[0] != '.' &&
			    save_one(s, u->path, key, def_find(key)) < 0)
				return -ENOMEM;
	return 0;
}

/* Does text hold line (len bytes, no newline) as one of its lines? */
static bool has_line(const char *text, const char *line, size_t len)
{
	const char *l;
	size_t n;

	for (const char *p = text; cg_next_line(&p, &l, &n);)
		if (n == len && memcmp(l, line, len) == 0)
			return true;
	return false;
}

/* Put back the saved lines that changed and take out the keys the update added. */
static int restore_keyed(const struct cg_saved_file *s, const char *now, struct err **err)
{
	const char *line;
	size_t n;

	for (const char *p = s->value; cg_next_line(&p, &line, &n);)
		if (n && !has_line(now, line, n) &&
		    cg_writef(s->dir, s->file, err, "%.*s", (int)n, line) < 0)
			return -1;
	if (!s->def->reset)
		return 0;
	for (const char *p = now; cg_next_line(&p, &line, &n);) {
		size_t klen = strcspn(line, " \n");

		if (klen && !cg_key_value(s->value, line, klen, NULL, NULL) &&
		    cg_writef(s->dir, s->file, err, "%.*s %s", (int)klen, line, s->def->reset) < 0)
			return -1;
	}
	return 0;
}

/* Is f as saved?  A file saved as absent that is still absent is. */
static bool restore_is_back(const struct cg_saved_file *f, char **now)
{
	const char *field = f->def ? f->def->field : NULL;

	if (cg_read(f->dir, f->file, now, NULL) < 0)
		return f->absent;
	value_trim(*now);
	if (field && field_value(now, field) < 0)
		(*now)[0] = '\0';
	return streq(*now, f->value);
}

/* Write back the saved values that differ now; true when all are back. */
static bool restore_pass(struct cg_saved *s, bool *done, bool warn)
{
	bool all = true;

	for (size_t i = 0; i < s->n; i++) {
		struct cg_saved_file *f = &s->f[i];
		_cleanup_free_ char *now = NULL;
		struct err *err = NULL;
		int r;

		if (done[i])
			continue;
		if (restore_is_back(f, &now)) {
			done[i] = true;
			continue;
		}
		r = f->def && f->def->keyed && now ? restore_keyed(f, now, &err)
						   : cg_write(f->dir, f->file, f->value, &err);
		if (r >= 0) {
			done[i] = true;
			continue;
		}
		all = false;
		if (warn)
			log_warn("update failed, and so did putting `%s` back in `%s/%s`: %s",
				 f->value, f->dir, f->file, err ? err->msg : "?");
		err_free(&err);
	}
	return all;
}

int ct_cgroup_update(struct ct_cgroup *cg, json_t *linux_resources, struct err **err)
{
	struct cg_resources res;
	struct cg_saved s = {0};
	_cleanup_free_ bool *done = NULL;
	int r;

	r = cg_resources_parse(linux_resources, &res, err);
	if (r < 0)
		return r;
	if (save(cg, &res, &s) < 0) {
		saved_free(&s);
		cg_resources_clear(&res);
		return err_make(err, ENOMEM, "update");
	}
	r = cg->ops->apply(cg, &res, err);
	if (r < 0 && (done = calloc(s.n ? s.n : 1, sizeof(*done)))) {
		/* Two passes: memory.limit and memsw (or cpu.max's parts) must
		 * go back in the order that keeps each write valid. */
		if (!restore_pass(&s, done, false))
			restore_pass(&s, done, true);
	}
	saved_free(&s);
	cg_resources_clear(&res);
	return r;
}
