/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>

#include "cgroup.h"

int ct_cgroup_create(const char *cgroups_path, const char *id, json_t *linux_resources,
		     bool systemd, struct ct_cgroup **ret, struct err **err)
{
	return err_make(err, ENOSYS, "cgroups: not implemented yet");
}

int ct_cgroup_enter(struct ct_cgroup *cg, pid_t pid, struct err **err)
{
	return err_make(err, ENOSYS, "cgroups: not implemented yet");
}

int ct_cgroup_pids(struct ct_cgroup *cg, pid_t **ret, size_t *ret_n, struct err **err)
{
	return err_make(err, ENOSYS, "cgroups: not implemented yet");
}

int ct_cgroup_freeze(struct ct_cgroup *cg, bool frozen, struct err **err)
{
	return err_make(err, ENOSYS, "cgroups: not implemented yet");
}

int ct_cgroup_is_frozen(struct ct_cgroup *cg, bool *ret, struct err **err)
{
	return err_make(err, ENOSYS, "cgroups: not implemented yet");
}

int ct_cgroup_destroy(struct ct_cgroup *cg, struct err **err)
{
	return err_make(err, ENOSYS, "cgroups: not implemented yet");
}

json_t *ct_cgroup_to_json(const struct ct_cgroup *cg)
{
	return NULL;
}

int ct_cgroup_from_json(json_t *j, struct ct_cgroup **ret, struct err **err)
{
	return err_make(err, ENOSYS, "cgroups: not implemented yet");
}

void ct_cgroup_free(struct ct_cgroup *cg)
{
}
