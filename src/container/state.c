/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Container state directories and state.json. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "parse.h"
#include "procfs.h"
#include "spec.h"
#include "state.h"

static int lock_dir(int dfd, const char *id, struct err **err)
{
	if (flock(dfd, LOCK_EX) < 0)
		return err_make(err, errno, "lock container `%s`", id);
	return 0;
}

int ct_state_create_dir(const char *root, const char *id, int *ret_dirfd, struct err **err)
{
	_cleanup_close_ int rfd = -1, dfd = -1;
	int r;

	r = mkdir_p(root, 0700, err);
	if (r < 0)
		return r;
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return err_make(err, errno, "open `%s`", root);
	if (mkdirat(rfd, id, 0700) < 0) {
		if (errno == EEXIST)
			return err_make(err, EEXIST, "container `%s` already exists", id);
		return err_make(err, errno, "mkdir `%s/%s`", root, id);
	}
	dfd = openat(rfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return err_make(err, errno, "open `%s/%s`", root, id);
	r = lock_dir(dfd, id, err);
	if (r < 0)
		return r;
	/* Made here, by the container's owner, never later (ct_state_lock_freezer()). */
	r = openat(dfd, CT_STATE_FREEZER_LOCK, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (r < 0)
		return err_make(err, errno, "container `%s`: create %s", id, CT_STATE_FREEZER_LOCK);
	close(r);
	*ret_dirfd = TAKE_FD(dfd);
	return 0;
}

static int open_dir(const char *root, const char *id, int op, int *ret_dirfd, bool *ret_busy,
		    struct err **err)
{
	_cleanup_close_ int rfd = -1, dfd = -1;
	int r;

	r = ct_id_validate(id, err);
	if (r < 0)
		return r;
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd >= 0)
		dfd = openat(rfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		if (errno == ENOENT)
			return err_make(err, ENOENT, "container `%s` does not exist", id);
		return err_make(err, errno, "open `%s/%s`", root, id);
	}
	*ret_busy = false;
	if (flock(dfd, op) < 0) {
		if (!(op & LOCK_NB) || errno != EWOULDBLOCK)
			return err_make(err, errno, "lock container `%s`", id);
		*ret_busy = true;
	}
	*ret_dirfd = TAKE_FD(dfd);
	return 0;
}

int ct_state_open_dir(const char *root, const char *id, int *ret_dirfd, struct err **err)
{
	bool busy;

	return open_dir(root, id, LOCK_EX, ret_dirfd, &busy, err);
}

int ct_state_open_dir_read(const char *root, const char *id, int *ret_dirfd, bool *ret_busy,
			   struct err **err)
{
	return open_dir(root, id, LOCK_SH | LOCK_NB, ret_dirfd, ret_busy, err);
}

int ct_state_lock_freezer(int dirfd, const char *id, struct err **err)
{
	_cleanup_close_ int fd =
	    openat(dirfd, CT_STATE_FREEZER_LOCK, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int lock = fd;

	/*
	 * Not there: a container an older isola made, or one a delete is removing (which a
	 * new file would keep from going).  The container's own lock instead, as before:
	 * exclusive on dirfd (a shared one held on it is converted), released with it.
	 */
	if (fd < 0 && errno == ENOENT) {
		fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
		lock = dirfd;
	}
	if (fd < 0)
		return err_make(err, errno, "container `%s`: open %s", id, CT_STATE_FREEZER_LOCK);
	while (flock(lock, LOCK_EX) < 0)
		if (errno != EINTR)
			return err_make(err, errno, "container `%s`: lock %s", id,
					CT_STATE_FREEZER_LOCK);
	return TAKE_FD(fd);
}

int ct_state_remove_dir(const char *root, const char *id, struct err **err)
{
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (rfd < 0)
		return err_make(err, errno, "open `%s`", root);
	return rm_rf_at(rfd, id, err);
}

static int write_cgroup(int dirfd, const struct ct_state *s, struct err **err)
{
	_cleanup_free_ char *cg = json_dumps(s->cgroup, JSON_COMPACT);

	if (!cg)
		return err_make(err, ENOMEM, CT_STATE_CGROUP_FILE);
	if (strlen(cg) > CT_STATE_CGROUP_MAX)
		return err_make(err, EFBIG, "%s: over %u bytes", CT_STATE_CGROUP_FILE,
				CT_STATE_CGROUP_MAX);
	return write_file_atomic_at(dirfd, CT_STATE_CGROUP_FILE, cg, strlen(cg), 0600, err);
}

int ct_state_write(int dirfd, const struct ct_state *s, struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *buf = NULL;

	j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "id", s->id, "pid", (json_int_t)s->pid,
		      "startTime", (json_int_t)s->start_time, "bundle", s->bundle, "rootfs",
		      s->rootfs, "created", s->created, "owner", s->owner ? s->owner : "");
	if (!j)
		return err_make(err, ENOMEM, "state.json");
	if (s->annotations)
		json_object_set(j, "annotations", s->annotations);
	if (s->cgroup)
		json_object_set(j, "cgroup", s->cgroup);
	if (s->hooks)
		json_object_set(j, "hooks", s->hooks);
	buf = json_dumps(j, JSON_COMPACT);
	if (!buf)
		return err_make(err, ENOMEM, "state.json");
	if (strlen(buf) > CT_STATE_MAX)
		return err_make(
		    err, EFBIG,
		    "state.json: %zu bytes, over the %u limit (annotations and hooks too "
		    "large)",
		    strlen(buf), CT_STATE_MAX);
	if (s->cgroup && !s->cgroup_saved) {
		int r = write_cgroup(dirfd, s, err);

		if (r < 0)
			return r;
	}
	return replace_file_at(dirfd, "state.json", buf, strlen(buf), 0600, err);
}

json_t *ct_state_read_cgroup(int dirfd)
{
	json_t *j = NULL;

	if (json_load_file_capped(dirfd, CT_STATE_CGROUP_FILE, CT_STATE_CGROUP_MAX, &j, NULL) < 0)
		return NULL;
	return j;
}

static char *dup_field(json_t *j, const char *k)
{
	const char *v = json_string_value(json_object_get(j, k));

	return strdup(v ? v : "");
}

int ct_state_read(int dirfd, const char *id, struct ct_state *ret, struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	struct ct_state s = {};
	int r;

	r = json_load_file_capped(dirfd, "state.json", CT_STATE_MAX, &j, err);
	if (r < 0)
		return err_wrap(err, "container `%s`", id);
	s.id = dup_field(j, "id");
	s.bundle = dup_field(j, "bundle");
	s.rootfs = dup_field(j, "rootfs");
	s.created = dup_field(j, "created");
	s.owner = dup_field(j, "owner");
	s.pid = json_integer_value(json_object_get(j, "pid"));
	s.start_time = json_integer_value(json_object_get(j, "startTime"));
	s.annotations = json_incref(json_object_get(j, "annotations"));
	s.cgroup = json_incref(json_object_get(j, "cgroup"));
	s.hooks = json_incref(json_object_get(j, "hooks"));
	if (!s.id || !s.bundle || !s.rootfs || !s.created || !s.owner) {
		ct_state_clear(&s);
		return err_make(err, ENOMEM, "state.json");
	}
	*ret = s;
	return 0;
}

int ct_state_read_busy(int dirfd, const char *id, struct ct_state *ret, bool *busy,
		       struct err **err)
{
	int r = ct_state_read(dirfd, id, ret, err);

	if (r == -ENOENT && *busy) {
		err_free(err);
		if (flock(dirfd, LOCK_SH) < 0)
			return err_make(err, errno, "lock container `%s`", id);
		*busy = false;
		r = ct_state_read(dirfd, id, ret, err);
	}
	return r;
}

void ct_state_clear(struct ct_state *s)
{
	free(s->id);
	free(s->bundle);
	free(s->rootfs);
	free(s->created);
	free(s->owner);
	json_decref(s->annotations);
	json_decref(s->cgroup);
	json_decref(s->hooks);
	memset(s, 0, sizeof(*s));
}

uint64_t ct_proc_start_time(pid_t pid)
{
	uint64_t v = 0;

	return proc_stat_field(pid, 22, &v) < 0 ? 0 : v;
}

bool ct_proc_is_kthread(pid_t pid)
{
	uint64_t flags = 0;

	/* Field 9 is the task's flags; PF_KTHREAD is 0x00200000 (include/linux/sched.h). */
	return proc_stat_field(pid, 9, &flags) == 0 && (flags & 0x00200000);
}

bool ct_state_alive(const struct ct_state *s)
{
	return s->pid > 0 && ct_proc_start_time(s->pid) == s->start_time;
}

bool ct_state_is_vm(int dirfd)
{
	return faccessat(dirfd, "vm.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool cgroup_frozen(const struct ct_state *s)
{
	struct ct_cgroup *cg = NULL;
	bool frozen = false;

	if (s->cgroup && ct_cgroup_from_json(s->cgroup, &cg, NULL) == 0) {
		if (ct_cgroup_is_frozen(cg, &frozen, NULL) < 0)
			frozen = false;
		ct_cgroup_free(cg);
	}
	return frozen;
}

/* Does pid still have the name the init takes until its execve (create.c)? */
static bool init_named(pid_t pid)
{
	char path[64], comm[32];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, comm, sizeof(comm) - 1);
	if (n <= 0)
		return false;
	comm[n] = 0;
	comm[strcspn(comm, "\n")] = 0;
	return streq(comm, CT_INIT_COMM);
}

/*
 * Is the init still before its execve?  It holds the exec fifo open from its clone to
 * its execve (O_CLOEXEC), and `start` removes the fifo once it has seen that end close.
 * A `start` killed between the two leaves the fifo behind a container that runs: the
 * fifo is only taken for "created" while the init is still the init.  Its name says so
 * at once; an init of an older isola has no such name, so /proc/<pid>/fd is looked
 * through for the fifo: only links whose text names an exec.fifo are stat'ed (readlink
 * asks no file system), from the cache.  When /proc cannot tell, the fifo decides.
 */
static bool init_waits(int dfd, pid_t pid)
{
	_cleanup_closedir_ DIR *d = NULL;
	char path[64], link[PATH_MAX];
	struct stat fifo;
	struct statx f;
	struct dirent *e;
	bool unsure = false;
	ssize_t n;

	if (fstatat(dfd, "exec.fifo", &fifo, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	if (init_named(pid))
		return true;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return true;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n < 0) {
			unsure |= errno != ENOENT; /* not ours to look at: the fifo decides */
			continue;
		}
		link[n] = 0;
		if (n < 10 || strcmp(link + n - 10, "/exec.fifo") ||
		    statx(dirfd(d), e->d_name, AT_STATX_DONT_SYNC, STATX_INO, &f) < 0)
			continue;
		if (makedev(f.stx_dev_major, f.stx_dev_minor) == fifo.st_dev &&
		    f.stx_ino == fifo.st_ino)
			return true;
	}
	return unsure;
}

/*
 * A frozen cgroup is paused whether its init had been started or not, as
 * runc's refreshState: pause takes a created container too, and resume gives
 * it back created.
 */
enum ct_status ct_state_status(int dirfd, const struct ct_state *s)
{
	enum ct_status st = CT_RUNNING;

	if (!ct_state_alive(s))
		return CT_STOPPED;
	if (ct_state_is_vm(dirfd)) {
		/* A VM container (src/vmct/oci.c): s->pid is its monitor, which marks these.
		 * Its monitor is not frozen before start (pause refuses it), so it is created. */
		if (faccessat(dirfd, "vm.exit", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return CT_STOPPED;
		if (faccessat(dirfd, "vm.started", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			return CT_CREATED;
	} else if (init_waits(dirfd, s->pid)) {
		st = CT_CREATED;
	}
	/* A VM container's cgroup holds its monitor and VMM: frozen is paused too. */
	return cgroup_frozen(s) ? CT_PAUSED : st;
}

enum ct_status ct_state_status_read(int dirfd, const struct ct_state *s, bool busy)
{
	/* Recorded with pid 0 before its init exists (create.c); a leftover reads stopped. */
	if (busy && s->pid <= 0)
		return CT_CREATING;
	return ct_state_status(dirfd, s);
}

const char *ct_status_name(enum ct_status st)
{
	static const char *const names[] = {"creating", "created", "running", "paused", "stopped"};

	return names[st];
}

json_t *ct_state_to_oci_json(const struct ct_state *s, enum ct_status st)
{
	json_t *j;

	j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "ociVersion", CT_OCI_VERSION,
		      "id", s->id, "status", ct_status_name(st), "pid",
		      (json_int_t)(st == CT_STOPPED ? 0 : s->pid), "bundle", s->bundle, "rootfs",
		      s->rootfs, "created", s->created, "owner", s->owner ? s->owner : "");
	if (j && s->annotations)
		json_object_set(j, "annotations", s->annotations);
	return j;
}

char *ct_state_oci_string(const struct ct_state *s, enum ct_status st)
{
	_cleanup_json_ json_t *j = ct_state_to_oci_json(s, st);

	return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

char *ct_now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[64], *out = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	if (asprintf(&out, "%s.%09ldZ", buf, ts.tv_nsec) < 0)
		return NULL;
	return out;
}

int ct_seccomp_cache_dir(const char *root, char **ret)
{
	/* A leading dot: never a valid container id, and skipped by `list`. */
	return asprintf(ret, "%s/.seccomp-cache", root) < 0 ? -ENOMEM : 0;
}
