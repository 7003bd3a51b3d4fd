/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ct_cgroup_update: change a live container's limits all or nothing.  The
 * control files an update may write are read first; when one write fails,
 * the ones that changed get their old values back, as runc's Set() puts the
 * previous resources back.  Without it a failed update (a cpuset the host
 * lacks after a new memory limit) left a container with half the new
 * limits while its engine (containerd, which keeps the old spec on error)
 * believed the old ones.
 */
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "log.h"

/* Every file cg_set_resources() may write on a live container, v1 and v2. */
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
    "io.weight",
    "io.bfq.weight",
};

#define N_SAVED (sizeof(saved_files) / sizeof(saved_files[0]))

struct cg_saved_file {
	const char *dir, *file;
	char *value; /* as read, one trailing newline dropped; NULL if the host lacks it */
};

static void saved_free(struct cg_saved_file *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].value);
	free(s);
}

static void value_trim(char *v)
{
	size_t len = strlen(v);

	if (len && v[len - 1] == '\n')
		v[len - 1] = '\0';
}

/* Read what each hierarchy of cg has of saved_files. */
static struct cg_saved_file *save(struct ct_cgroup *cg, size_t *ret_n)
{
	struct cg_saved_file *s = calloc(cg->n * N_SAVED, sizeof(*s));
	size_t n = 0;

	if (!s)
		return NULL;
	for (size_t i = 0; i < cg->n; i++) {
		for (size_t f = 0; f < N_SAVED; f++) {
			char *v = NULL;

			if (!cg_has_file(cg->h[i].path, saved_files[f]) ||
			    cg_read(cg->h[i].path, saved_files[f], &v, NULL) < 0)
				continue;
			value_trim(v);
			s[n++] = (struct cg_saved_file){cg->h[i].path, saved_files[f], v};
		}
	}
	*ret_n = n;
	return s;
}

/* Write back the saved values that differ now; true when all are back. */
static bool restore_pass(struct cg_saved_file *s, size_t n, bool *done, bool warn)
{
	bool all = true;

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *now = NULL;
		struct err *err = NULL;

		if (done[i])
			continue;
		if (cg_read(s[i].dir, s[i].file, &now, NULL) >= 0) {
			value_trim(now);
			if (strcmp(now, s[i].value) == 0) {
				done[i] = true;
				continue;
			}
		}
		if (cg_write(s[i].dir, s[i].file, s[i].value, &err) >= 0) {
			done[i] = true;
			continue;
		}
		all = false;
		if (warn)
			log_warn("update failed, and so did putting `%s` back in `%s/%s`: %s",
				 s[i].value, s[i].dir, s[i].file, err ? err->msg : "?");
		err_free(&err);
	}
	return all;
}

int ct_cgroup_update(struct ct_cgroup *cg, json_t *linux_resources, struct err **err)
{
	size_t n = 0;
	struct cg_saved_file *s = save(cg, &n);
	_cleanup_free_ bool *done = NULL;
	int r;

	if (!s)
		return err_make(err, ENOMEM, "update");
	r = cg_set_resources(cg, linux_resources, err);
	if (r < 0 && (done = calloc(n ? n : 1, sizeof(*done)))) {
		/* Two passes: memory.limit and memsw (or cpu.max's parts) must
		 * go back in the order that keeps each write valid. */
		if (!restore_pass(s, n, done, false))
			restore_pass(s, n, done, true);
	}
	saved_free(s, n);
	return r;
}
