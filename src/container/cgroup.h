/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Container cgroups on cgroup v1, v2 (unified) and hybrid hosts (v1
 * controllers plus a cgroup2 mount at /sys/fs/cgroup/unified).
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "err.h"

struct ct_cgroup;

/* Two steps, so that the caller can record the cgroup in its state before
 * anything exists.  prepare resolves cgroups_path as runc does (absolute: from
 * each hierarchy's root; relative: below our own cgroup; NULL: "/isola/<id>")
 * and makes nothing; realize makes the directories and applies linux_resources
 * (may be NULL), removing what it made on failure. */
int ct_cgroup_prepare(const char *cgroups_path, const char *id, bool systemd,
		      struct ct_cgroup **ret, struct err **err);
int ct_cgroup_prepare_at(const char *root, const char *cgroups_path, const char *id, bool systemd,
			 struct ct_cgroup **ret, struct err **err);
int ct_cgroup_realize(struct ct_cgroup *cg, json_t *linux_resources, struct err **err);
int ct_cgroup_enter(struct ct_cgroup *cg, pid_t pid, struct err **err);

/*
 * Entering a new process without the kernel's global cgroup lock (see
 * cgroup-join.c): open before the fork; clone with ct_cgroup_join_clone
 * (flags are clone(2)'s, SIGCHLD added; j may be NULL); the child, still
 * single-threaded, calls ct_cgroup_join_self first thing; the parent then
 * calls ct_cgroup_join_finish for what the child could not do itself.
 */
struct ct_cgroup_join;
int ct_cgroup_join_open(struct ct_cgroup *cg, struct ct_cgroup_join **ret, struct err **err);
pid_t ct_cgroup_join_clone(struct ct_cgroup_join *j, unsigned long flags);
int ct_cgroup_join_self(struct ct_cgroup_join *j, struct err **err);
int ct_cgroup_join_finish(struct ct_cgroup_join *j, pid_t pid, struct err **err);
void ct_cgroup_join_free(struct ct_cgroup_join *j);
int ct_cgroup_pids(struct ct_cgroup *cg, pid_t **ret, size_t *ret_n, struct err **err);
int ct_cgroup_freeze(struct ct_cgroup *cg, bool frozen, struct err **err);
int ct_cgroup_is_frozen(struct ct_cgroup *cg, bool *ret, struct err **err);
/* rmdir everywhere it created (kills what is left inside first). */
int ct_cgroup_destroy(struct ct_cgroup *cg, struct err **err);
/* Kept in state.json. */
json_t *ct_cgroup_to_json(const struct ct_cgroup *cg);
int ct_cgroup_from_json(json_t *j, struct ct_cgroup **ret, struct err **err);
void ct_cgroup_free(struct ct_cgroup *cg);

/* Apply (more) linux.resources to an existing cgroup (`isola update`). */
int ct_cgroup_update(struct ct_cgroup *cg, json_t *linux_resources, struct err **err);
/* prepare + realize with the cgroup file systems under root (tests use a fake
 * tree; the real root is /sys/fs/cgroup). */
int ct_cgroup_create_at(const char *root, const char *cgroups_path, const char *id,
			json_t *linux_resources, bool systemd, struct ct_cgroup **ret,
			struct err **err);
/* Usage counters as runc's `events --stats` "data" object (cpu, memory, pids). */
int ct_cgroup_stats(struct ct_cgroup *cg, json_t **ret, struct err **err);

/* OOM notifications: the fd polls readable when an OOM kill may have
 * happened in the container's memory cgroup; ct_oom_watch_read says how many. */
struct ct_oom_watch;
int ct_cgroup_oom_watch(struct ct_cgroup *cg, struct ct_oom_watch **ret, struct err **err);
int ct_oom_watch_fd(const struct ct_oom_watch *w);
int ct_oom_watch_read(struct ct_oom_watch *w, uint64_t *ret_new, struct err **err);
void ct_oom_watch_free(struct ct_oom_watch *w);
