/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Container cgroups: detect the host layout, resolve cgroupsPath as runc
 * does, create the directory in every hierarchy, and hand resource writes,
 * freezing and layout details to the v1 or v2 driver.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "log.h"
#include "parse.h"
#include "state.h"
#include "strv.h"

#define CG_ROOT	    "/sys/fs/cgroup"
#define CG_MAX_FILE (1 << 20)
#define CG_MAX_PIDS (1 << 20)

static const char *const layout_names[] = {
    [CG_LAYOUT_V1] = "v1", [CG_LAYOUT_V2] = "v2", [CG_LAYOUT_HYBRID] = "hybrid"};

/* The v1 controllers we place containers in (of named hierarchies, only name=systemd). */
static const char *const v1_controllers[] = {
    "blkio",  "cpu",	 "cpuacct",  "cpuset",	   "devices", "freezer", "hugetlb",
    "memory", "net_cls", "net_prio", "perf_event", "pids",    "rdma",	 "misc",
};

bool cg_has_file(const char *dir, const char *file)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	return access(p, F_OK) == 0;
}

bool cg_next_line(const char **p, const char **line, size_t *ret_len)
{
	size_t n = strcspn(*p, "\n");

	if (!**p)
		return false;
	*line = *p;
	*ret_len = n;
	*p += n + ((*p)[n] == '\n');
	return true;
}

bool cg_key_value(const char *text, const char *key, size_t klen, const char **ret_value,
		  size_t *ret_len)
{
	const char *line;
	size_t n;

	for (const char *p = text; cg_next_line(&p, &line, &n);) {
		if (n < klen || memcmp(line, key, klen) != 0 || (n > klen && line[klen] != ' '))
			continue;
		if (ret_value)
			*ret_value = line + klen + (n > klen);
		if (ret_len)
			*ret_len = n - klen - (n > klen);
		return true;
	}
	return false;
}

int cg_write(const char *dir, const char *file, const char *value, struct err **err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	int r;

	if (dfd < 0)
		return err_make(err, errno, "open `%s`", dir);
	fd = openat(dfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return err_make(err, ENOENT, "`%s/%s`: not supported by this host", dir, file);
	if (fd < 0)
		return err_make(err, errno, "open `%s/%s`", dir, file);
	r = write_all(fd, value, strlen(value));
	if (r < 0)
		return err_make(err, -r, "write `%s` to `%s/%s`", value, dir, file);
	return 0;
}

int cg_writef(const char *dir, const char *file, struct err **err, const char *fmt, ...)
{
	_cleanup_free_ char *buf = NULL;
	va_list ap;
	int n;

	/* Sized to the value (a long cpuset list must not be cut short). */
	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf = NULL;
		return err_make(err, ENOMEM, "`%s/%s`", dir, file);
	}
	return cg_write(dir, file, buf, err);
}

int cg_read(const char *dir, const char *file, char **ret, struct err **err)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/%s", dir, file) >= (int)sizeof(p))
		return err_make(err, ENAMETOOLONG, "`%s/%s`", dir, file);
	return read_file_at(AT_FDCWD, p, CG_MAX_FILE, ret, NULL, err);
}

/* memory.checkBeforeUpdate: a new limit below what is in use is refused. */
int cg_check_usage(const char *dir, const char *file, int64_t limit, struct err **err)
{
	_cleanup_free_ char *data = NULL;
	uint64_t usage = 0;

	if (limit <= 0 || cg_read(dir, file, &data, NULL) < 0)
		return 0; /* unlimited, or nothing to compare with yet */
	data[strcspn(data, "\n")] = '\0';
	if (parse_u64(data, &usage) == 0 && usage > (uint64_t)limit)
		return err_make(err, EBUSY,
				"linux.resources.memory.limit: %lld is below the current usage "
				"%llu (checkBeforeUpdate)",
				(long long)limit, (unsigned long long)usage);
	return 0;
}

/*
 * The cgroup core's own files that move or kill processes or change the tree
 * (cgroup.procs of host PID 1 made the container's delete fail): not limits.
 */
static bool unified_kernel_key(const char *key)
{
	static const char *const keys[] = {
	    "cgroup.procs",  "cgroup.threads",	       "cgroup.kill",
	    "cgroup.freeze", "cgroup.subtree_control", "cgroup.type"};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (streq(key, keys[i]))
			return true;
	return false;
}

/* linux.resources.unified (v2, and the unified tree of a hybrid host): each key a file of dir,
 * without '/' or a leading '.', each value a string written to it. */
int cg_write_unified(const char *dir, json_t *unified, struct err **err)
{
	const char *key;
	json_t *v;

	json_object_foreach (unified, key, v) {
		if (!json_is_string(v))
			return err_make(err, 0, "linux.resources.unified.%s: expected a string",
					key);
		if (strchr(key, '/') || key[0] == '.' || unified_kernel_key(key))
			return err_make(err, 0, "linux.resources.unified: bad key `%s`", key);
		if (cg_write(dir, key, json_string_value(v), err) < 0)
			return err_wrap(err, "linux.resources.unified.%s", key);
	}
	return 0;
}

static bool list_has(const char *list, const char *item);

struct cg_hier *cg_find(struct ct_cgroup *cg, const char *controller)
{
	for (size_t i = 0; i < cg->n; i++)
		if (list_has(cg->h[i].name, controller))
			return &cg->h[i];
	return NULL;
}

static bool is_v1_controller(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(v1_controllers); i++)
		if (streq(name, v1_controllers[i]))
			return true;
	return false;
}

/*
 * The named hierarchy systemd keeps its own tree in ("name=systemd", mounted at
 * <root>/systemd on v1 and hybrid hosts): a v1 hierarchy there, not cgroup2.
 * runc places containers in it too, so that a systemd inside finds a cgroup of
 * its own there rather than the host's root.
 */
static bool is_named_systemd(const char *name, const char *dir)
{
	return streq(name, "systemd") && cg_has_file(dir, "cgroup.procs") &&
	       !cg_has_file(dir, "cgroup.controllers");
}

/* A v1 mount directory: "memory", or "cpu,cpuacct" with its alias symlinks skipped. */
static bool v1_hier_name_ok(const char *name)
{
	_cleanup_free_ char *copy = strdup(name);
	char *save = NULL;

	if (!copy)
		return false;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!is_v1_controller(t))
			return false;
	return true;
}

static int add_hier(struct ct_cgroup *cg, const char *name, const char *mount, struct err **err)
{
	if (cg->n == CG_MAX_HIERARCHIES)
		return err_make(err, 0, "more than %d cgroup hierarchies", CG_MAX_HIERARCHIES);
	cg->h[cg->n].name = strdup(name);
	cg->h[cg->n].path = strdup(mount); /* the mount point until resolved */
	cg->h[cg->n].mount = strdup(mount);
	if (!cg->h[cg->n].name || !cg->h[cg->n].path || !cg->h[cg->n].mount)
		return err_make(err, ENOMEM, "cgroup");
	cg->n++;
	return 0;
}

/* Fill cg->layout and one hierarchy per mount (paths = mount points). */
static int detect(struct ct_cgroup *cg, const char *root, struct err **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char p[PATH_MAX];
	int r;

	if (cg_has_file(root, "cgroup.controllers")) {
		cg->layout = CG_LAYOUT_V2;
		cg->ops = &cg_v2_ops;
		return add_hier(cg, "unified", root, err);
	}
	cg->layout = CG_LAYOUT_V1;
	cg->ops = &cg_v1_ops;
	d = opendir(root);
	if (!d)
		return err_make(err, errno, "open `%s`", root);
	while ((de = readdir(d))) {
		struct stat st;

		snprintf(p, sizeof(p), "%s/%s", root, de->d_name);
		/* Aliases such as cpu -> cpu,cpuacct are symlinks: take the real mount only. */
		if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (is_named_systemd(de->d_name, p))
			r = add_hier(cg, "name=systemd", p, err);
		/* An empty directory where no hierarchy is mounted has no cgroup.procs. */
		else if (v1_hier_name_ok(de->d_name) && cg_has_file(p, "cgroup.procs"))
			r = add_hier(cg, de->d_name, p, err);
		else
			continue;
		if (r < 0)
			return r;
	}
	snprintf(p, sizeof(p), "%s/unified", root);
	if (cg_has_file(p, "cgroup.controllers")) {
		cg->layout = CG_LAYOUT_HYBRID;
		r = add_hier(cg, "unified", p, err);
		if (r < 0)
			return r;
	}
	if (cg->n == 0)
		return err_make(err, ENOENT, "no cgroup hierarchy found under `%s`", root);
	return 0;
}

/* Is item one of the comma-separated names in list? */
static bool list_has(const char *list, const char *item)
{
	size_t len = strlen(item);

	for (const char *s = list; s && *s;) {
		if (strncmp(s, item, len) == 0 && (s[len] == ',' || s[len] == '\0'))
			return true;
		s = strchr(s, ',');
		s = s ? s + 1 : NULL;
	}
	return false;
}

/* Our own cgroup in hierarchy h, from /proc/self/cgroup ("" for the root). */
static int own_cgroup(const struct cg_hier *h, char **ret, struct err **err)
{
	_cleanup_free_ char *data = NULL, *first = strdup(h->name);
	char *line, *save = NULL;
	int r;

	if (!first)
		return err_make(err, ENOMEM, "cgroup");
	first[strcspn(first, ",")] = '\0';
	r = read_file_at(AT_FDCWD, "/proc/self/cgroup", CG_MAX_FILE, &data, NULL, err);
	if (r < 0)
		return r;
	/* Lines are "id:controllers:path"; the cgroup2 line has no controllers. */
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctrls = strchr(line, ':'), *path;
		bool match;

		if (!ctrls || !(path = strchr(ctrls + 1, ':')))
			continue;
		*path++ = '\0';
		ctrls++;
		match = streq(h->name, "unified") ? ctrls[0] == '\0' : list_has(ctrls, first);
		if (match) {
			*ret = strdup(streq(path, "/") ? "" : path);
			return *ret ? 0 : err_make(err, ENOMEM, "cgroup");
		}
	}
	return err_make(err, ENOENT, "/proc/self/cgroup: no entry for `%s`", h->name);
}

/*
 * Names under the hierarchy's root (absolute) or the runtime's own cgroup
 * (relative), without `.` or `..`: never that root itself ("/", "//"), whose
 * processes are the host's and where a device filter would stay for good.
 */
static int check_path(const char *path, struct err **err)
{
	const char *s = path;
	bool named = false;

	if (strlen(path) > 1024)
		return err_make(err, 0, "cgroupsPath: longer than 1024 characters");
	s += strspn(s, "/");
	while (*s) {
		size_t len = strcspn(s, "/");

		if ((len == 2 && strncmp(s, "..", 2) == 0) || (len == 1 && s[0] == '.'))
			return err_make(err, 0, "cgroupsPath `%s`: `.` and `..` are not allowed",
					path);
		named = true;
		s += len;
		s += strspn(s, "/");
	}
	if (!named)
		return err_make(err, 0,
				"cgroupsPath `%s`: names the hierarchy's root, not a cgroup", path);
	return 0;
}

/* Turn every hierarchy's mount point into the container's directory. */
static int resolve(struct ct_cgroup *cg, const char *cgroups_path, struct err **err)
{
	for (size_t i = 0; i < cg->n; i++) {
		struct cg_hier *h = &cg->h[i];
		_cleanup_free_ char *base = NULL;
		char *full = NULL;
		int r;

		if (cgroups_path[0] != '/') {
			r = own_cgroup(h, &base, err);
			if (r < 0)
				return r;
		}
		if (asprintf(&full, "%s%s/%s", h->path, base ? base : "",
			     cgroups_path + strspn(cgroups_path, "/")) < 0)
			return err_make(err, ENOMEM, "cgroup");
		while (strlen(full) > 1 && full[strlen(full) - 1] == '/')
			full[strlen(full) - 1] = '\0';
		free(h->path);
		h->path = full;
	}
	return 0;
}

/* mkdir every missing level below the mount, letting the driver set each up. */
static int make_dirs_once(struct ct_cgroup *cg, struct cg_hier *h, size_t mount_len,
			  struct err **err)
{
	_cleanup_free_ char *p = strdup(h->path);
	char *s;
	int r;

	if (!p)
		return err_make(err, ENOMEM, "cgroup");
	if (strlen(p) <= mount_len)
		return 0; /* the hierarchy root itself */
	for (s = p + mount_len + 1; s && *s;) {
		char *slash = strchr(s, '/');
		bool made;

		if (slash)
			*slash = '\0';
		made = mkdir(p, 0755) == 0;
		if (!made && errno != EEXIST)
			return err_make(err, errno, "mkdir `%s`", p);
		if (!slash) /* the container's own level: ours only if we made it */
			h->created = made;
		/* Also on EEXIST: a concurrent create may have made the level and
		 * not set it up yet (an empty cpuset); init_dir is idempotent. */
		r = cg->ops->init_dir(cg, h, p, err);
		if (r < 0)
			return r;
		if (slash)
			*slash = '/';
		s = slash ? slash + 1 : NULL;
	}
	return 0;
}

/*
 * A concurrent delete may remove an empty default parent between our mkdirs:
 * retry.  The level is then gone (ENOENT), or going while we set it up: a
 * cgroup file of a directory being removed answers ENODEV (kernfs).
 */
static int make_dirs(struct ct_cgroup *cg, struct cg_hier *h, size_t mount_len, struct err **err)
{
	int r = -ENOENT;

	for (int attempt = 0; attempt < 8 && (r == -ENOENT || r == -ENODEV); attempt++) {
		if (attempt)
			err_free(err);
		r = make_dirs_once(cg, h, mount_len, err);
	}
	return r;
}

static int systemd_check(const char *cgroups_path, bool systemd, struct err **err)
{
	bool systemd_form =
	    cgroups_path && cgroups_path[0] != '/' && strchr(cgroups_path, ':') != NULL;

	if (!systemd && !systemd_form)
		return 0;
	if (!path_exists("/run/systemd/system"))
		return err_make(err, 0,
				"cgroupsPath `%s`: systemd cgroup driver not available: no systemd",
				cgroups_path ? cgroups_path : "");
	return err_make(err, 0, "systemd cgroup driver: not supported yet");
}

int cg_set_resources(struct ct_cgroup *cg, json_t *resources, struct err **err)
{
	struct cg_resources res;
	int r;

	r = cg_resources_parse(resources, &res, err);
	if (r < 0)
		return r;
	r = cg->ops->apply(cg, &res, err);
	cg_resources_clear(&res);
	return r;
}

int ct_cgroup_prepare_at(const char *root, const char *cgroups_path, const char *id, bool systemd,
			 struct ct_cgroup **ret, struct err **err)
{
	_cleanup_free_ char *dflt = NULL;
	struct ct_cgroup *cg;
	int r;

	r = systemd_check(cgroups_path, systemd, err);
	if (r < 0)
		return r;
	if (!cgroups_path || !cgroups_path[0]) {
		if (asprintf(&dflt, "/isola/%s", id) < 0)
			return err_make(err, ENOMEM, "cgroup");
		cgroups_path = dflt;
	}
	r = check_path(cgroups_path, err);
	if (r < 0)
		return r;
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return err_make(err, ENOMEM, "cgroup");
	r = detect(cg, root, err);
	if (r >= 0)
		r = resolve(cg, cgroups_path, err);
	if (r < 0) {
		ct_cgroup_free(cg);
		return err_wrap(err, "cgroup `%s`", cgroups_path);
	}
	/* What realize will make: recorded before it exists, for delete after a crash. */
	for (size_t i = 0; i < cg->n; i++)
		cg->h[i].created = !path_exists(cg->h[i].path);
	cg->default_parent = dflt != NULL;
	*ret = cg;
	return 0;
}

/*
 * A cgroup that existed already must hold no process, itself or below it, as
 * runc 1.2 checks: a second container given another's cgroupsPath (or an
 * ancestor of it) would have the first's limits changed and, when either is
 * deleted or killed with --all, every process of both killed.
 */
static int read_pids_tree(const char *top, pid_t **ret, size_t *ret_n, struct err **err);

static int check_empty(const struct cg_hier *h, struct err **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int r;

	if (h->created)
		return 0;
	r = read_pids_tree(h->path, &pids, &n, err);
	if (r == -ENOENT) { /* not a cgroup file system's directory (the unit tests') */
		err_free(err);
		return 0;
	}
	if (r < 0)
		return r;
	if (n > 0)
		return err_make(err, EBUSY,
				"`%s` exists and holds %zu processes (another container's?)",
				h->path, n);
	return 0;
}

int ct_cgroup_realize(struct ct_cgroup *cg, json_t *linux_resources, struct err **err)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < cg->n; i++)
		r = make_dirs(cg, &cg->h[i], strlen(cg->h[i].mount), err);
	for (size_t i = 0; r >= 0 && i < cg->n; i++)
		r = check_empty(&cg->h[i], err);
	if (r >= 0)
		r = cg_set_resources(cg, linux_resources, err);
	if (r < 0) {
		ct_cgroup_destroy(cg, NULL);
		return err_wrap(err, "cgroup `%s`", cg->h[0].path + strlen(cg->h[0].mount));
	}
	return 0;
}

int ct_cgroup_create_at(const char *root, const char *cgroups_path, const char *id,
			json_t *linux_resources, bool systemd, struct ct_cgroup **ret,
			struct err **err)
{
	struct ct_cgroup *cg = NULL;
	int r = ct_cgroup_prepare_at(root, cgroups_path, id, systemd, &cg, err);

	if (r >= 0)
		r = ct_cgroup_realize(cg, linux_resources, err);
	if (r < 0) {
		ct_cgroup_free(cg);
		return r;
	}
	*ret = cg;
	return 0;
}

int ct_cgroup_prepare(const char *cgroups_path, const char *id, bool systemd,
		      struct ct_cgroup **ret, struct err **err)
{
	return ct_cgroup_prepare_at(CG_ROOT, cgroups_path, id, systemd, ret, err);
}

int ct_cgroup_enter(struct ct_cgroup *cg, pid_t pid, struct err **err)
{
	for (size_t i = 0; i < cg->n; i++) {
		int r = cg_writef(cg->h[i].path, "cgroup.procs", err, "%d", (int)pid);

		if (r < 0)
			return err_wrap(err, "move pid %d into its cgroup", (int)pid);
	}
	return 0;
}

/* Where membership is listed: the unified tree on v2, a v1 controller otherwise. */
static struct cg_hier *procs_hier(struct ct_cgroup *cg)
{
	static const char *const prefer[] = {"pids", "freezer", "memory", "cpu"};

	if (cg->layout == CG_LAYOUT_V2)
		return &cg->h[0];
	for (size_t i = 0; i < ARRAY_SIZE(prefer); i++) {
		struct cg_hier *h = cg_find(cg, prefer[i]);

		if (h)
			return h;
	}
	return cg->n ? &cg->h[0] : NULL;
}

static int read_ids(const char *dir, const char *file, pid_t **ret, size_t *ret_n, struct err **err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0, cap = 0;
	char *line, *save = NULL;
	int r;

	r = cg_read(dir, file, &data, err);
	if (r < 0)
		return r;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int pid;

		if (parse_int(line, &pid) < 0 || pid <= 0)
			continue;
		if (n == cap) {
			pid_t *p;

			if (cap >= CG_MAX_PIDS)
				return err_make(err, E2BIG, "`%s/%s`: too many pids", dir, file);
			cap = cap ? cap * 2 : 16;
			p = realloc(pids, cap * sizeof(*pids));
			if (!p)
				return err_make(err, ENOMEM, "cgroup pids");
			pids = p;
		}
		pids[n++] = pid;
	}
	*ret = TAKE_PTR(pids);
	*ret_n = n;
	return 0;
}

static int read_pids(const char *dir, pid_t **ret, size_t *ret_n, struct err **err)
{
	return read_ids(dir, "cgroup.procs", ret, ret_n, err);
}

void cg_evict_kthreads(struct cg_hier *h, const char *list, const char *root_file)
{
	_cleanup_free_ pid_t *tids = NULL;
	struct err *e = NULL;
	size_t n = 0;

	if (read_ids(h->path, list, &tids, &n, &e) < 0) {
		err_free(&e);
		return;
	}
	/*
	 * Between the look and the move the thread could end and its id go to
	 * a new process, which would then be moved to the root.  KVM's worker
	 * ends only as its VM is destroyed, and a VM container's guest has no
	 * host process to take the id: nothing in the cgroup gains from it.
	 */
	for (size_t i = 0; i < n; i++) {
		if (!ct_proc_is_kthread(tids[i]))
			continue;
		if (cg_writef(h->mount, root_file, &e, "%d", tids[i]) < 0) {
			log_debug("cgroup: kernel thread %d stays in `%s`: %s", tids[i], h->path,
				  e->msg);
			err_free(&e);
		}
	}
}

#define CG_PIDS_TREE_MAX 65536 /* cgroups read for one container's pids */

/* Append the pids of @dir to *all (n of them). */
static int add_pids(const char *dir, pid_t **all, size_t *n, struct err **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t k = 0;
	pid_t *grown;
	int r = read_pids(dir, &pids, &k, err);

	if (r == -ENOENT) { /* removed since it was listed */
		err_free(err);
		return 0;
	}
	if (r < 0)
		return r;
	if (k == 0)
		return 0;
	if (*n + k > CG_MAX_PIDS)
		return err_make(err, E2BIG, "`%s`: too many pids", dir);
	grown = realloc(*all, (*n + k) * sizeof(**all));
	if (!grown)
		return err_make(err, ENOMEM, "cgroup pids");
	memcpy(grown + *n, pids, k * sizeof(*pids));
	*all = grown;
	*n += k;
	return 0;
}

/*
 * The pids of @top and of every cgroup below it, breadth first: a container
 * that may write its cgroup makes its own (systemd, docker inside), and its
 * processes there are its as much as the init is.  Best effort past the
 * limits, so that kill --all still reaches what it can: at most
 * CG_PIDS_TREE_MAX cgroups are read, and one whose path outgrows PATH_MAX is
 * skipped (with a warning); delete walks the rest by fd.  Only an error
 * reading @top itself fails.
 */
static int read_pids_tree(const char *top, pid_t **ret, size_t *ret_n, struct err **err)
{
	_cleanup_free_ pid_t *all = NULL;
	char **q = NULL;
	size_t head = 0, nq = 0, cap = 0, n = 0, seen = 1, skipped = 0;
	int r = 0;

	r = add_pids(top, &all, &n, err);
	if (r < 0)
		return r;
	if (!(q = malloc(sizeof(*q))) || !(q[0] = strdup(top))) {
		free(q);
		return err_make(err, ENOMEM, "cgroup pids");
	}
	nq = cap = 1;
	for (bool first = true; head < nq; first = false) {
		_cleanup_free_ char *dir = q[head++];
		struct dirent *de;
		DIR *d;

		if (!first && add_pids(dir, &all, &n, err) < 0) {
			log_warn("%s", (*err)->msg);
			err_free(err);
		}
		if (!(d = opendir(dir)))
			continue;
		while ((de = readdir(d))) {
			char *sub = NULL;

			if (de->d_type != DT_DIR || streq(de->d_name, ".") ||
			    streq(de->d_name, ".."))
				continue;
			if (seen >= CG_PIDS_TREE_MAX ||
			    asprintf(&sub, "%s/%s", dir, de->d_name) < 0 ||
			    strlen(sub) >= PATH_MAX) {
				free(sub);
				skipped++;
				continue;
			}
			if (nq == cap) {
				/* Visited entries are freed: move the queue down first. */
				memmove(q, q + head, (nq - head) * sizeof(*q));
				nq -= head;
				head = 0;
				if (nq == cap) {
					char **grown = realloc(q, cap * 2 * sizeof(*q));

					if (!grown) {
						free(sub);
						skipped++;
						continue;
					}
					q = grown;
					cap *= 2;
				}
			}
			q[nq++] = sub;
			seen++;
		}
		closedir(d);
	}
	free(q);
	if (skipped)
		log_warn("cgroup `%s`: %zu cgroups below it not read (more than %d, or nested past "
			 "PATH_MAX)",
			 top, skipped, CG_PIDS_TREE_MAX);
	*ret = TAKE_PTR(all);
	*ret_n = n;
	return 0;
}

int ct_cgroup_pids(struct ct_cgroup *cg, pid_t **ret, size_t *ret_n, struct err **err)
{
	struct cg_hier *h = procs_hier(cg);

	if (!h)
		return err_make(err, ENOENT, "no cgroup hierarchy");
	return read_pids_tree(h->path, ret, ret_n, err);
}

int ct_cgroup_freeze(struct ct_cgroup *cg, bool frozen, struct err **err)
{
	return cg->ops->freeze(cg, frozen, err);
}

int ct_cgroup_is_frozen(struct ct_cgroup *cg, bool *ret, struct err **err)
{
	return cg->ops->is_frozen(cg, ret, err);
}

/* Kill everything in dir: cgroup.kill where the kernel has it, else SIGKILL each pid. */
static void kill_members(const char *dir)
{
	_cleanup_free_ pid_t *pids = NULL;
	struct err *e = NULL;
	size_t n = 0;

	if (cg_has_file(dir, "cgroup.kill") && cg_write(dir, "cgroup.kill", "1", &e) == 0)
		return;
	err_free(&e);
	if (read_pids(dir, &pids, &n, &e) < 0) {
		err_free(&e);
		return;
	}
	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
}

/* The name of one subdirectory of dfd in *ret_name (NULL: none). */
static int first_subdir(int dfd, char **ret_name)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	*ret_name = NULL;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		*ret_name = strdup(de->d_name);
		break;
	}
	closedir(d);
	return de && !*ret_name ? -ENOMEM : 0;
}

/* A nested cgroup that would not go: kill what is in it before the retry. */
static void kill_members_at(int dfd, const char *name)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char p[64];

	if (fd < 0)
		return;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	kill_members(p);
}

#define CG_TREE_MAX_STEPS (1u << 22)

/*
 * rmdir dir and every cgroup the container made below it, deepest first, at
 * any depth: one directory fd at a time, down by name and back up through
 * "..", with the names on a heap stack (no fd or PATH_MAX limit per level).
 */
static int rmdir_tree(const char *dir)
{
	_cleanup_strv_ char **stack = NULL;
	size_t n = 0;
	int fd, r = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (unsigned int step = 0;; step++) {
		char *name = NULL;
		int next;

		if (step > CG_TREE_MAX_STEPS) {
			r = -ELOOP;
			break;
		}
		if ((r = first_subdir(fd, &name)) < 0)
			break;
		if (name) {
			next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (next < 0 || strv_push(&stack, name) < 0) {
				r = next < 0 ? -errno : -ENOMEM;
				free(name);
				if (next >= 0)
					close(next);
				if (r == -ENOENT)
					continue;
				break;
			}
			free(name);
			n++;
			close(fd);
			fd = next;
			continue;
		}
		if (n == 0)
			break;
		next = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (next < 0) {
			r = -errno;
			break;
		}
		close(fd);
		fd = next;
		name = stack[--n];
		stack[n] = NULL;
		if (unlinkat(fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
			r = -errno;
			if (r == -EBUSY)
				kill_members_at(fd, name);
			free(name);
			break;
		}
		free(name);
	}
	close(fd);
	if (r < 0)
		return r;
	return rmdir(dir) < 0 && errno != ENOENT ? -errno : 0;
}

static int destroy_one(struct cg_hier *h, struct err **err)
{
	int r = 0;

	/* Processes take a moment to leave after SIGKILL: retry for about 2 s. */
	for (int attempt = 0; attempt < 200; attempt++) {
		r = rmdir_tree(h->path);
		if (r != -EBUSY)
			break;
		kill_members(h->path);
		usleep(attempt < 10 ? 1000 : 10000);
	}
	if (r < 0)
		return err_make(err, -r, "remove cgroup `%s`", h->path);
	h->created = false;
	return 0;
}

/* The default parent (<mount>/isola) goes with its last container; busy is fine. */
static void remove_default_parent(const struct cg_hier *h)
{
	_cleanup_free_ char *parent = strdup(h->path);
	char *slash = parent ? strrchr(parent, '/') : NULL;
	size_t mlen = strlen(h->mount);

	if (!slash)
		return;
	*slash = '\0';
	/* Exactly <mount>/isola: never the mount itself or a user's path. */
	if (strncmp(parent, h->mount, mlen) != 0 || !streq(parent + mlen, "/isola"))
		return;
	rmdir(parent);
}

int ct_cgroup_destroy(struct ct_cgroup *cg, struct err **err)
{
	bool frozen = false;
	int ret = 0;
	size_t k;

	if (!cg)
		return 0;
	for (k = 0; k < cg->n && !cg->h[k].created; k++)
		;
	if (k == cg->n)
		return 0; /* none of it is ours (a refused create): not even a thaw */
	/* Frozen tasks cannot die: thaw first. */
	if (cg->ops->is_frozen(cg, &frozen, NULL) == 0 && frozen)
		cg->ops->freeze(cg, false, NULL);
	for (size_t i = cg->n; i-- > 0;) {
		int r;

		if (!cg->h[i].created)
			continue;
		r = destroy_one(&cg->h[i], err);
		if (r < 0 && ret == 0)
			ret = r;
		if (r >= 0 && cg->default_parent)
			remove_default_parent(&cg->h[i]);
	}
	return ret;
}

json_t *ct_cgroup_to_json(const struct ct_cgroup *cg)
{
	json_t *arr = json_array(), *o;

	if (!cg || !arr)
		return json_decref(arr), NULL;
	for (size_t i = 0; i < cg->n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:b}", "name", cg->h[i].name,
						     "path", cg->h[i].path, "mount", cg->h[i].mount,
						     "created", cg->h[i].created));
	o = json_pack("{s:s, s:b, s:o}", "layout", layout_names[cg->layout], "defaultParent",
		      cg->default_parent, "hierarchies", arr);
	return o;
}

int ct_cgroup_from_json(json_t *j, struct ct_cgroup **ret, struct err **err)
{
	const char *layout = NULL;
	json_t *arr = NULL, *h;
	struct ct_cgroup *cg;
	bool default_parent = false;
	size_t i;

	if (json_get_string(j, "state.json: cgroup", "layout", true, &layout, err) < 0 ||
	    json_get_bool(j, "state.json: cgroup", "defaultParent", &default_parent, err) < 0 ||
	    json_get_array(j, "state.json: cgroup", "hierarchies", &arr, err) < 0)
		return cg_err(err);
	if (!arr || json_array_size(arr) == 0 || json_array_size(arr) > CG_MAX_HIERARCHIES)
		return err_make(err, 0, "state.json: cgroup.hierarchies: expected 1..%d entries",
				CG_MAX_HIERARCHIES);
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return err_make(err, ENOMEM, "cgroup");
	for (i = 0; i < ARRAY_SIZE(layout_names); i++)
		if (streq(layout, layout_names[i]))
			break;
	cg->layout = (enum cg_layout)i;
	cg->default_parent = default_parent;
	cg->ops = cg->layout == CG_LAYOUT_V2 ? &cg_v2_ops : &cg_v1_ops;
	json_array_foreach (arr, i, h) {
		const char *name = NULL, *path = NULL, *mount = NULL;
		bool created = false;

		if (json_get_string(h, "state.json: cgroup.hierarchies[]", "name", true, &name,
				    err) < 0 ||
		    json_get_string(h, "state.json: cgroup.hierarchies[]", "path", true, &path,
				    err) < 0 ||
		    json_get_bool(h, "state.json: cgroup.hierarchies[]", "created", &created, err) <
			0 ||
		    json_get_string(h, "state.json: cgroup.hierarchies[]", "mount", false, &mount,
				    err) < 0 ||
		    add_hier(cg, name, path, err) < 0) {
			ct_cgroup_free(cg);
			return cg_err(err);
		}
		cg->h[cg->n - 1].created = created;
		if (mount && strncmp(path, mount, strlen(mount)) == 0) {
			free(cg->h[cg->n - 1].mount);
			cg->h[cg->n - 1].mount = strdup(mount);
			if (!cg->h[cg->n - 1].mount) {
				ct_cgroup_free(cg);
				return err_make(err, ENOMEM, "cgroup");
			}
		}
	}
	if (cg->layout > CG_LAYOUT_HYBRID) {
		ct_cgroup_free(cg);
		return err_make(err, 0, "state.json: cgroup.layout: unknown `%s`", layout);
	}
	*ret = cg;
	return 0;
}

void ct_cgroup_free(struct ct_cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->h[i].name);
		free(cg->h[i].path);
		free(cg->h[i].mount);
	}
	free(cg);
}
