/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Shared by pause, resume, ps, update and events: a locked container and its cgroup. */
#include "cgroup.h"
#include "state.h"

struct cgroup_target {
	int dirfd;
	struct ct_state st;
	enum ct_status status;
	struct ct_cgroup *cg;
};

/* Open and lock <root>/<id>, read its state and its recorded cgroup. */
int cgroup_target_open(const char *root, const char *id, struct cgroup_target *t, struct err **err);
void cgroup_target_close(struct cgroup_target *t);
/* pause (frozen) and resume: argv is "<cmd> ID"; returns the exit code. */
int cgroup_target_freeze_cmd(const char *root, int argc, char **argv, bool frozen);
