/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OOM notifications for `isola events`.  cgroup v1 (and hybrid hosts, whose
 * memory controller is v1): an eventfd registered on memory.oom_control
 * through cgroup.event_control.  cgroup v2: inotify on memory.events, whose
 * oom_kill counter tells a kill from any other change.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "parse.h"

struct ct_oom_watch {
	int fd; /* eventfd (v1) or inotify fd (v2): polls readable */
	bool v2;
	char *dir;	/* the memory cgroup directory */
	uint64_t kills; /* v2: oom_kill count last seen */
};

/* The number after "key " in a "key value" file; 0 when absent. */
static uint64_t keyed_value(const char *dir, const char *file, const char *key)
{
	_cleanup_free_ char *data = NULL, *num = NULL;
	const char *v;
	uint64_t n = 0;
	size_t len;

	if (cg_read(dir, file, &data, NULL) < 0 ||
	    !cg_key_value(data, key, strlen(key), &v, &len) || !(num = strndup(v, len)) ||
	    parse_u64(num, &n) < 0)
		return 0;
	return n;
}

static int watch_v1(struct ct_oom_watch *w, struct err **err)
{
	_cleanup_close_ int ofd = -1;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/memory.oom_control", w->dir);
	ofd = open(path, O_RDONLY | O_CLOEXEC);
	if (ofd < 0)
		return err_make(err, errno, "open `%s`", path);
	w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->fd < 0)
		return err_make(err, errno, "eventfd");
	/* "<event fd> <fd of the control file>": the kernel signals the eventfd on OOM. */
	return cg_writef(w->dir, "cgroup.event_control", err, "%d %d", w->fd, ofd);
}

static int watch_v2(struct ct_oom_watch *w, struct err **err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/memory.events", w->dir);
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->fd < 0)
		return err_make(err, errno, "inotify_init1");
	if (inotify_add_watch(w->fd, path, IN_MODIFY) < 0)
		return err_make(err, errno, "watch `%s`", path);
	w->kills = keyed_value(w->dir, "memory.events", "oom_kill");
	return 0;
}

int ct_cgroup_oom_watch(struct ct_cgroup *cg, struct ct_oom_watch **ret, struct err **err)
{
	struct cg_hier *h = cg_find(cg, cg->layout == CG_LAYOUT_V2 ? "unified" : "memory");
	struct ct_oom_watch *w;
	int r;

	if (!h)
		return err_make(err, ENOENT,
				"OOM events: the memory cgroup controller is not "
				"mounted");
	w = calloc(1, sizeof(*w));
	if (!w || !(w->dir = strdup(h->path))) {
		free(w);
		return err_make(err, ENOMEM, "OOM events");
	}
	w->fd = -1;
	w->v2 = cg->layout == CG_LAYOUT_V2;
	r = w->v2 ? watch_v2(w, err) : watch_v1(w, err);
	if (r < 0) {
		ct_oom_watch_free(w);
		return err_wrap(err, "OOM events");
	}
	*ret = w;
	return 0;
}

int ct_oom_watch_fd(const struct ct_oom_watch *w)
{
	return w->fd;
}

/* After the fd polled readable: how many OOM kills happened since the last call. */
int ct_oom_watch_read(struct ct_oom_watch *w, uint64_t *ret_new, struct err **err)
{
	char buf[4096];
	uint64_t n = 0, kills;
	ssize_t len;

	*ret_new = 0;
	if (!w->v2) {
		len = read(w->fd, &n, sizeof(n));
		if (len < 0 && errno != EAGAIN)
			return err_make(err, errno, "read OOM eventfd");
		/* The eventfd also fires when the cgroup is removed: that is no OOM. */
		if (len == sizeof(n) && cg_has_file(w->dir, "memory.oom_control"))
			*ret_new = n;
		return 0;
	}
	while ((len = read(w->fd, buf, sizeof(buf))) > 0)
		;
	if (len < 0 && errno != EAGAIN)
		return err_make(err, errno, "read inotify");
	kills = keyed_value(w->dir, "memory.events", "oom_kill");
	if (kills > w->kills)
		*ret_new = kills - w->kills;
	w->kills = kills;
	return 0;
}

void ct_oom_watch_free(struct ct_oom_watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->dir);
	free(w);
}
