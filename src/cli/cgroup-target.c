/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <unistd.h>

#include "cgroup-target.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"

int cgroup_target_open(const char *root, const char *id, struct cgroup_target *t, struct err **err)
{
	int r;

	*t = (struct cgroup_target){.dirfd = -1};
	r = ct_state_open_dir(root, id, &t->dirfd, err);
	if (r >= 0)
		r = ct_state_read(t->dirfd, id, &t->st, err);
	/* A VM container's cgroup holds its monitor and VMM (src/vmct/oci.c). */
	if (r >= 0 && !t->st.cgroup)
		r = err_make(err, ENOENT, "container `%s`: no cgroup recorded", id);
	if (r >= 0)
		r = ct_cgroup_from_json(t->st.cgroup, &t->cg, err);
	if (r < 0) {
		cgroup_target_close(t);
		return r;
	}
	t->status = ct_state_status(t->dirfd, &t->st);
	return 0;
}

void cgroup_target_close(struct cgroup_target *t)
{
	ct_cgroup_free(t->cg);
	t->cg = NULL;
	ct_state_clear(&t->st);
	if (t->dirfd >= 0)
		close(t->dirfd);
	t->dirfd = -1;
}

/*
 * As runc: pause takes a running or a created container (a paused created
 * one stays unstarted: start refuses it until resume), resume a paused one.
 * A VM container's monitor answers start, so it is paused only once running.
 */
static int check_freeze(const struct cgroup_target *t, const char *id, bool frozen,
			struct err **err)
{
	bool ok = frozen ? t->status == CT_RUNNING ||
			       (t->status == CT_CREATED && !ct_state_is_vm(t->dirfd))
			 : t->status == CT_PAUSED;

	if (ok)
		return 0;
	if (frozen && t->status == CT_CREATED)
		return err_make(err, 0, "container `%s`: a VM container is paused once started",
				id);
	return err_make(err, 0, "container `%s` is %s, not %s", id, ct_status_name(t->status),
			frozen ? "running or created" : "paused");
}

int cgroup_target_freeze_cmd(const char *root, int argc, char **argv, bool frozen)
{
	_cleanup_close_ int lock = -1;
	struct cgroup_target t;
	struct err *err = NULL;
	const char *id;
	int r;

	if (cli_parse_none(argc, argv, &r))
		return r;
	if (argc - optind != 1)
		return cli_usage_error(argv[0], "expected one container id");
	id = argv[optind];
	if (cgroup_target_open(root, id, &t, &err) < 0)
		return cli_fail(&err);
	/* The status again under the freezer's lock: a kill --all may have had it frozen. */
	r = lock = ct_state_lock_freezer(t.dirfd, id, &err);
	if (r >= 0) {
		t.status = ct_state_status(t.dirfd, &t.st);
		r = check_freeze(&t, id, frozen, &err);
	}
	if (r >= 0)
		r = ct_cgroup_freeze(t.cg, frozen, &err);
	cgroup_target_close(&t);
	return r < 0 ? cli_fail(&err) : 0;
}
