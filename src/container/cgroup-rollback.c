/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ct_cgroup_update: change a live container's limits all or nothing.  The
 * control files an update may write are read first; when one write fails,
 * the ones that changed get their old values back, as runc's Set() puts the
 * previous resources back.  Without it a failed update (a cpuset the host
 * lacks after a new memory limit) left a container with half the new
 * limits while its engine (containerd, which keeps the old spec on error)
 * believed the old ones.
 *
 * Single values are written back whole, and memory.oom_control's
 * oom_kill_disable on its own.  Per-device lists (blkio throttles
 * and weights, io.max) get each changed line back and lose the devices the
 * update added; hugetlb limits and the files named by linux.resources.unified
 * are saved as they are found; a cgroup2 hugetlb.*.max the update brought
 * (it turns hugetlb on in the tree) goes back to "max", its default.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "log.h"

/* The single-value files cg_set_resources() may write on a live container. */
static const char *const saved_files[] = {
    "memory.limit_in_bytes",
    "memory.memsw.limit_in_bytes",
    "memory.soft_limit_in_bytes",
    "memory.swappiness",
    "memory.max",
    "memory.swap.max",
    "memory.low",
    "memory.high",
    "cpu.shares",
    "cpu.cfs_period_us",
    "cpu.cfs_quota_us",
    "cpu.rt_period_us",
    "cpu.rt_runtime_us",
    "cpu.cfs_burst_us",
    "cpu.idle",
    "cpu.weight",
    "cpu.max",
    "cpu.max.burst",
    "cpuset.cpus",
    "cpuset.mems",
    "pids.max",
    "blkio.weight",
    "blkio.leaf_weight",
    "blkio.bfq.weight",
    "net_cls.classid",
    "memory.oom_control",
};

/*
 * Files of "KEY VALUE…" lines, one key (a device, an interface) per write.
 * A key the update added is taken out again by writing KEY and `reset`;
 * NULL where keys never go away (net_prio lists every interface).
 */
static const struct keyed_file {
	const char *name, *reset;
} keyed_files[] = {
    {"blkio.throttle.read_bps_device", "0"},
    {"blkio.throttle.write_bps_device", "0"},
    {"blkio.throttle.read_iops_device", "0"},
    {"blkio.throttle.write_iops_device", "0"},
    {"blkio.weight_device", "0"},
    {"blkio.leaf_weight_device", "0"},
    {"blkio.bfq.weight_device", "0"},
    {"io.max", "rbps=max wbps=max riops=max wiops=max"},
    {"io.weight", "default"},
    {"io.bfq.weight", "default"},
    {"net_prio.ifpriomap", NULL},
    {"rdma.max", NULL},
};

/* Files that show one setting among counters: "oom_kill_disable 0\nunder_oom 0…". */
static const struct field_file {
	const char *name, *field;
} field_files[] = {
    {"memory.oom_control", "oom_kill_disable"},
};

struct cg_saved_file {
	const char *dir;
	char *file;
	char *value; /* as read, one trailing newline dropped; or the field's value */
	const struct keyed_file *keyed; /* NULL: a single value */
	const char *field;		/* the setting of a field_files file */
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

static const char *field_find(const char *file)
{
	for (size_t i = 0; i < ARRAY_SIZE(field_files); i++)
		if (streq(field_files[i].name, file))
			return field_files[i].field;
	return NULL;
}

/* Replace text (a field_files file's) by the value on its "field VALUE" line. */
static int field_value(char **text, const char *field)
{
	size_t flen = strlen(field);

	for (const char *p = *text; *p;) {
		size_t n = strcspn(p, "\n");

		if (n > flen && p[flen] == ' ' && strncmp(p, field, flen) == 0) {
			char *v = strndup(p + flen + 1, n - flen - 1);

			if (!v)
				return -ENOMEM;
			free(*text);
			*text = v;
			return 0;
		}
		p += n + (p[n] == '\n');
	}
	return -ENOENT;
}

static const struct keyed_file *keyed_find(const char *file)
{
	for (size_t i = 0; i < ARRAY_SIZE(keyed_files); i++)
		if (streq(keyed_files[i].name, file))
			return &keyed_files[i];
	return NULL;
}

static bool saved_has(const struct cg_saved *s, const char *dir, const char *file)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->f[i].dir == dir && streq(s->f[i].file, file))
			return true;
	return false;
}

/* Remember dir/file's value, once; a file the host lacks is skipped. */
static int save_one(struct cg_saved *s, const char *dir, const char *file)
{
	const struct keyed_file *k = keyed_find(file);
	const char *field = field_find(file);
	char *v = NULL, *name;

	if (saved_has(s, dir, file))
		return 0;
	if (!cg_has_file(dir, file) || cg_read(dir, file, &v, NULL) < 0)
		return 0;
	value_trim(v);
	if (field && field_value(&v, field) < 0) {
		free(v);
		return 0;
	}
	/* A multi-line file not known as keyed cannot be written back whole. */
	if (!k && strchr(v, '\n')) {
		free(v);
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct cg_saved_file *f = reallocarray(s->f, cap, sizeof(*f));

		if (!f)
			goto oom;
		s->f = f;
		s->cap = cap;
	}
	if (!(name = strdup(file)))
		goto oom;
	s->f[s->n++] = (struct cg_saved_file){dir, name, v, k, field};
	return 0;
oom:
	free(v);
	return -ENOMEM;
}

static bool is_hugetlb_limit(const char *name)
{
	size_t len = strlen(name);

	return strncmp(name, "hugetlb.", 8) == 0 &&
	       ((len > 15 && streq(name + len - 15, ".limit_in_bytes")) ||
		(len > 4 && streq(name + len - 4, ".max")));
}

static int save_hugetlb(struct cg_saved *s, const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (is_hugetlb_limit(e->d_name) && save_one(s, dir, e->d_name) < 0)
			return -ENOMEM;
	return 0;
}

/* Read what each hierarchy of cg has of the files the update may write. */
static int save(struct ct_cgroup *cg, json_t *linux_resources, struct cg_saved *s)
{
	json_t *unified = json_object_get(linux_resources, "unified");
	const char *key;
	json_t *v;

	for (size_t i = 0; i < cg->n; i++) {
		const char *dir = cg->h[i].path;

		for (size_t f = 0; f < ARRAY_SIZE(saved_files); f++)
			if (save_one(s, dir, saved_files[f]) < 0)
				return -ENOMEM;
		for (size_t f = 0; f < ARRAY_SIZE(keyed_files); f++)
			if (save_one(s, dir, keyed_files[f].name) < 0)
				return -ENOMEM;
		if (save_hugetlb(s, dir) < 0)
			return -ENOMEM;
		/* unified's keys name files; cg_write_unified refuses the same ones. */
		if (json_is_object(unified))
			json_object_foreach (unified, key, v)
				if (!strchr(key, '/') && key[0] != '.' && save_one(s, dir, key) < 0)
					return -ENOMEM;
	}
	return 0;
}

/* Does text hold line (len bytes, no newline) as one of its lines? */
static bool has_line(const char *text, const char *line, size_t len)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		if (n == len && memcmp(p, line, len) == 0)
			return true;
		p += n + (p[n] == '\n');
	}
	return false;
}

/* Does text hold a line whose first word is key (klen bytes)? */
static bool has_key(const char *text, const char *key, size_t klen)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		if (strcspn(p, " \n") == klen && memcmp(p, key, klen) == 0)
			return true;
		p += n + (p[n] == '\n');
	}
	return false;
}

/* Put back the saved lines that changed and take out the keys the update added. */
static int restore_keyed(const struct cg_saved_file *s, const char *now, struct err **err)
{
	for (const char *p = s->value; *p;) {
		size_t n = strcspn(p, "\n");
		_cleanup_free_ char *line = strndup(p, n);

		if (!line)
			return err_make(err, ENOMEM, "update");
		if (n && !has_line(now, p, n) && cg_write(s->dir, s->file, line, err) < 0)
			return -1;
		p += n + (p[n] == '\n');
	}
	if (!s->keyed->reset)
		return 0;
	for (const char *p = now; *p;) {
		size_t n = strcspn(p, "\n"), klen = strcspn(p, " \n");

		if (klen && !has_key(s->value, p, klen) &&
		    cg_writef(s->dir, s->file, err, "%.*s %s", (int)klen, p, s->keyed->reset) < 0)
			return -1;
		p += n + (p[n] == '\n');
	}
	return 0;
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
		if (cg_read(f->dir, f->file, &now, NULL) >= 0) {
			value_trim(now);
			if (f->field && field_value(&now, f->field) < 0)
				now[0] = '\0';
			if (streq(now, f->value)) {
				done[i] = true;
				continue;
			}
		}
		r = f->keyed && now ? restore_keyed(f, now, &err)
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

/* hugetlb.*.max files that appeared during the update: no limit before. */
static void restore_new_hugetlb(struct ct_cgroup *cg, const struct cg_saved *s)
{
	for (size_t i = 0; i < cg->n; i++) {
		_cleanup_closedir_ DIR *d = opendir(cg->h[i].path);
		struct dirent *e;
		size_t len;

		while (d && (e = readdir(d))) {
			struct err *err = NULL;

			len = strlen(e->d_name);
			if (!is_hugetlb_limit(e->d_name) || len < 4 ||
			    !streq(e->d_name + len - 4, ".max") ||
			    saved_has(s, cg->h[i].path, e->d_name))
				continue;
			if (cg_write(cg->h[i].path, e->d_name, "max", &err) < 0)
				log_warn(
				    "update failed, and so did putting `max` back in `%s/%s`: %s",
				    cg->h[i].path, e->d_name, err ? err->msg : "?");
			err_free(&err);
		}
	}
}

int ct_cgroup_update(struct ct_cgroup *cg, json_t *linux_resources, struct err **err)
{
	struct cg_saved s = {0};
	_cleanup_free_ bool *done = NULL;
	int r;

	if (save(cg, linux_resources, &s) < 0) {
		saved_free(&s);
		return err_make(err, ENOMEM, "update");
	}
	r = cg_set_resources(cg, linux_resources, err);
	if (r < 0 && (done = calloc(s.n ? s.n : 1, sizeof(*done)))) {
		/* Two passes: memory.limit and memsw (or cpu.max's parts) must
		 * go back in the order that keeps each write valid. */
		if (!restore_pass(&s, done, false))
			restore_pass(&s, done, true);
		restore_new_hugetlb(cg, &s);
	}
	saved_free(&s);
	return r;
}
