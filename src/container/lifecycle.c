/* SPDX-License-Identifier: GPL-2.0-or-later */
/* start, kill, delete, and waiting for a process while forwarding signals. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "container.h"
#include "fdutil.h"
#include "hooks.h"
#include "log.h"
#include "parse.h"
#include "state.h"

static int pidfd_of(const struct ct_state *s)
{
	int fd = syscall(SYS_pidfd_open, s->pid, 0);

	/* The pid could have been reused between reading state and pidfd_open. */
	if (fd >= 0 && !ct_state_alive(s)) {
		close(fd);
		return -ESRCH;
	}
	return fd < 0 ? -errno : fd;
}

/* reader: a shared lock, none while a command holds it (ct_state_open_dir_read()). */
static int open_state(const char *root, const char *id, bool reader, int *dirfd,
		      struct ct_state *st, enum ct_status *status, struct err **err)
{
	bool busy = false;
	int r = reader ? ct_state_open_dir_read(root, id, dirfd, &busy, err)
		       : ct_state_open_dir(root, id, dirfd, err);

	if (r < 0)
		return r;
	r = ct_state_read_busy(*dirfd, id, st, &busy, err);
	if (r < 0) {
		close(*dirfd);
		*dirfd = -1;
		/* The directory without state.json: a create that was killed early. */
		return r == -ENOENT ? -ENODATA : r;
	}
	*status = ct_state_status_read(*dirfd, st, busy);
	return 0;
}

/*
 * Read the byte the init writes once it has the fifo open, then wait for the
 * end of file: the init holds its end open (O_CLOEXEC) until execve, so the
 * container's process is running when this returns.  Text after the byte is
 * the reason the init could not get there (a startContainer hook, exec).
 */
static int release_init(int dirfd, const struct ct_state *st, struct err **err)
{
	_cleanup_close_ int fd = openat(dirfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct pollfd p = {.events = POLLIN};
	char buf[1024];
	size_t len = 0;
	bool opened = false;

	if (fd < 0)
		return err_make(err, errno, "open exec.fifo");
	p.fd = fd;
	for (;;) {
		int n = poll(&p, 1, 100);
		ssize_t got = -1;

		if (n < 0 && errno != EINTR)
			return err_make(err, errno, "poll exec.fifo");
		if (n > 0 && (p.revents & (POLLIN | POLLHUP)))
			got = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (got > 0) {
			len += got;
			opened = true;
			if (len == sizeof(buf) - 1)
				break;
			continue;
		}
		if (opened && got == 0)
			break; /* execve closed the init's end */
		if (!opened && ((n > 0 && (p.revents & POLLHUP)) || !ct_state_alive(st)))
			return err_make(err, ESRCH, "container `%s`: init exited before start",
					st->id);
	}
	unlinkat(dirfd, "exec.fifo", 0);
	buf[len] = 0;
	if (len > 1)
		return err_make(err, 0, "container `%s`: %s", st->id, buf + 1);
	return 0;
}

int ct_start(const char *root, const char *id, struct err **err)
{
	_cleanup_close_ int dirfd = -1;
	_cleanup_free_ char *json = NULL;
	struct ct_state st = {};
	enum ct_status status;
	int r;

	r = open_state(root, id, false, &dirfd, &st, &status, err);
	if (r < 0)
		return r;
	if (status != CT_CREATED) {
		r = err_make(err, 0, "cannot start a container that is %s", ct_status_name(status));
		goto out;
	}
	r = release_init(dirfd, &st, err);
	if (r < 0)
		goto out;
	json = ct_state_oci_string(&st, CT_RUNNING);
	if (json)
		r = ct_hooks_run(st.hooks, CT_HOOK_POSTSTART, json, st.bundle, err);
out:
	ct_state_clear(&st);
	return r;
}

/*
 * Signal every process of the container's cgroup tree.  The list is read
 * and signalled with the cgroup frozen, as runc does: a process that forks
 * all the time (or a chain that forks and exits) otherwise has children the
 * list never saw, and a pid read could be reused before its kill.  A
 * container that is paused stays paused (its signals wait for the thaw,
 * SIGKILL's too: ct_kill thaws after it).  No freezer: best effort unfrozen.
 * Our signals wait until the thaw (SIGKILL cannot: runc has that window too).
 */
static int kill_all(const struct ct_state *st, int sig, struct err **err)
{
	struct ct_cgroup *cg = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	bool paused = true, froze = false;
	sigset_t block, old;
	size_t n = 0;
	int r;

	if (!st->cgroup)
		return err_make(err, ENOENT, "container `%s`: no cgroup recorded", st->id);
	r = ct_cgroup_from_json(st->cgroup, &cg, err);
	if (r < 0)
		return r;
	/* Not killed between freeze and thaw (a frozen container would read as paused). */
	sigfillset(&block);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (sig != 0 && ct_cgroup_is_frozen(cg, &paused, NULL) == 0 && !paused) {
		struct err *e = NULL;

		froze = ct_cgroup_freeze(cg, true, &e) == 0;
		if (!froze)
			log_debug("kill --all `%s` unfrozen: %s", st->id, e->msg);
		err_free(&e);
	}
	r = ct_cgroup_pids(cg, &pids, &n, err);
	for (size_t i = 0; r >= 0 && i < n; i++)
		kill(pids[i], sig);
	if (froze && ct_cgroup_freeze(cg, false, r >= 0 ? err : NULL) < 0 && r >= 0)
		r = err_wrap(err, "container `%s`: thaw after kill --all", st->id);
	sigprocmask(SIG_SETMASK, &old, NULL);
	ct_cgroup_free(cg);
	return r;
}

/*
 * A frozen process does not die of SIGKILL until it is thawed: after a SIGKILL to a
 * paused container, thaw it so the kill takes effect, as runc does.  Frozen is read
 * after the kill (a kill without the lock may cross a pause); a cgroup that a delete
 * removed meanwhile has nothing left to thaw.
 */
static int thaw_killed(const struct ct_state *st, struct err **err)
{
	struct ct_cgroup *cg = NULL;
	bool frozen = false;
	int r;

	if (!st->cgroup)
		return 0;
	r = ct_cgroup_from_json(st->cgroup, &cg, err);
	if (r < 0)
		return r;
	if (ct_cgroup_is_frozen(cg, &frozen, NULL) == 0 && frozen)
		r = ct_cgroup_freeze(cg, false, err);
	ct_cgroup_free(cg);
	if (r == -ENOENT) {
		err_free(err);
		return 0;
	}
	return r < 0 ? err_wrap(err, "container `%s`: thaw after SIGKILL", st->id) : 0;
}

int ct_kill(const char *root, const char *id, int sig, bool all, struct err **err)
{
	_cleanup_close_ int dirfd = -1, pfd = -1, freezer = -1;
	struct ct_state st = {};
	enum ct_status status;
	int r;

	/*
	 * One process's signal goes through a pidfd checked against the recorded start
	 * time: it needs no lock, and a hook of the command that holds it may send one.
	 * --all reads the cgroup from the state likewise, and freezes it under the freezer's
	 * own lock: not beside a pause or resume, but beside a start whose hook runs it.
	 */
	r = open_state(root, id, true, &dirfd, &st, &status, err);
	if (r < 0)
		return r;
	if (all && status == CT_CREATING) {
		r = err_make(err, ESRCH, "container `%s` is not running", id);
	} else if (all) {
		/* Held through thaw_killed() too: no pause slips in before its thaw. */
		r = freezer = ct_state_lock_freezer(dirfd, id, err);
		if (r >= 0)
			r = kill_all(&st, sig, err);
	} else if (status == CT_STOPPED || (pfd = pidfd_of(&st)) < 0) {
		r = err_make(err, ESRCH, "container `%s` is not running", id);
	} else if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0) {
		r = err_make(err, errno, "kill container `%s`", id);
	}
	if (r >= 0 && sig == SIGKILL && status != CT_STOPPED)
		r = thaw_killed(&st, err);
	ct_state_clear(&st);
	return r;
}

/* SIGKILL the init and wait (up to 10 s) until it is gone. */
static int kill_and_wait(const struct ct_state *st, struct err **err)
{
	_cleanup_close_ int pfd = pidfd_of(st);
	struct pollfd p = {.events = POLLIN};

	if (pfd < 0)
		return 0;
	syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
	p.fd = pfd;
	if (poll(&p, 1, 10000) <= 0)
		return err_make(err, ETIMEDOUT, "container `%s`: init did not die", st->id);
	/* Reaped or a zombie: both count as stopped for state. */
	return 0;
}

static bool dirfd_exists(const char *root, const char *id)
{
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	return rfd >= 0 && ct_id_validate(id, NULL) == 0 &&
	       fstatat(rfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/*
 * delete --force without a readable state.json (missing, corrupt, oversized):
 * kill and remove the cgroup recorded in cgroup.json, then the directory.
 */
static int delete_without_state(const char *root, const char *id, struct err **err)
{
	_cleanup_close_ int dirfd = -1;
	struct ct_cgroup *cg = NULL;
	json_t *j;
	int r;

	r = ct_state_open_dir(root, id, &dirfd, err);
	if (r < 0)
		return r;
	j = ct_state_read_cgroup(dirfd);
	if (j && ct_cgroup_from_json(j, &cg, NULL) == 0) {
		ct_cgroup_freeze(cg, false, NULL);
		r = ct_cgroup_destroy(cg, err);
		ct_cgroup_free(cg);
	}
	json_decref(j);
	if (r < 0)
		return r;
	return ct_state_remove_dir(root, id, err);
}

int ct_delete(const char *root, const char *id, bool force, struct err **err)
{
	_cleanup_close_ int dirfd = -1;
	struct ct_cgroup *cg = NULL;
	_cleanup_free_ char *json = NULL;
	struct ct_state st = {};
	enum ct_status status;
	int r;

	r = open_state(root, id, false, &dirfd, &st, &status, err);
	if (r < 0 && force && (r == -ENODATA || dirfd_exists(root, id))) {
		/* A create killed before it wrote state.json, or a state.json that
		 * cannot be read: clean up by id. */
		err_free(err);
		return delete_without_state(root, id, err);
	}
	if (r < 0)
		return r;
	if (status != CT_STOPPED && status != CT_CREATED && !force) {
		r = err_make(err, 0, "cannot delete container `%s` that is not stopped: %s", id,
			     ct_status_name(status));
		goto out;
	}
	if (st.cgroup && ct_cgroup_from_json(st.cgroup, &cg, NULL) == 0 && status == CT_PAUSED)
		ct_cgroup_freeze(cg, false, NULL);
	if (status != CT_STOPPED && (r = kill_and_wait(&st, err)) < 0)
		goto out;
	if (cg && (r = ct_cgroup_destroy(cg, err)) < 0)
		goto out;
	json = ct_state_oci_string(&st, CT_STOPPED);
	if (json)
		ct_hooks_run(st.hooks, CT_HOOK_POSTSTOP, json, st.bundle, NULL);
	r = ct_state_remove_dir(root, id, err);
out:
	ct_cgroup_free(cg);
	ct_state_clear(&st);
	return r;
}

static const int forwarded[] = {SIGHUP,	 SIGINT,   SIGQUIT, SIGTERM, SIGUSR1,
				SIGUSR2, SIGWINCH, SIGCONT, SIGALRM, SIGPIPE};

int ct_wait_forward(pid_t pid)
{
	sigset_t set;
	int status = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		int sig;

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return 255;
		sig = sigwaitinfo(&set, NULL);
		if (sig > 0 && sig != SIGCHLD)
			kill(pid, sig);
	}
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Set across our own re-exec only, so that a copy that is still writable is an error, not a loop.
 */
#define REEXEC_ENV "_ISOLA_REEXEC"

/* Linux caps the whole argument+environment area well below this. */
#define CMDLINE_MAX (256u << 20)

/* Our own argv, re-read whole (*ret_buf holds the strings *ret points into). */
static int read_cmdline(char ***ret, char **ret_buf, struct err **err)
{
	_cleanup_close_ int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	char **argv;
	size_t total = 0, argc = 0;
	int r;

	if (fd < 0)
		return err_make(err, errno, "open /proc/self/cmdline");
	r = read_all_fd(fd, CMDLINE_MAX, &buf, &total);
	if (r < 0)
		return err_make(err, -r, "read /proc/self/cmdline");
	for (size_t i = 0; i < total; i++)
		argc += buf[i] == 0;
	if (total && buf[total - 1] != 0)
		return err_make(err, EINVAL, "/proc/self/cmdline: not NUL-terminated");
	argv = calloc(argc + 1, sizeof(char *));
	if (!argv)
		return err_make(err, ENOMEM, "cmdline");
	for (size_t i = 0, k = 0; i < total && k < argc; k++) {
		argv[k] = buf + i;
		i += strlen(buf + i) + 1;
	}
	*ret = argv;
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

/*
 * A copy of the binary in a memfd sealed against any write: what an
 * unprivileged runtime re-executes from (a container that opens
 * /proc/<pid>/exe for writing gets EPERM), as runc does without privileges.
 */
static int sealed_copy(int *ret_fd, struct err **err)
{
	_cleanup_close_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), mfd = -1;
	struct stat st;
	off_t off = 0;

	if (src < 0 || fstat(src, &st) < 0)
		return err_make(err, errno, "open /proc/self/exe");
	mfd = memfd_create("isola", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return err_make(err, errno, "memfd_create");
	while (off < st.st_size)
		if (sendfile(mfd, src, &off, st.st_size - off) <= 0)
			return err_make(err, errno ? errno : EIO, "copy our binary to a memfd");
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		return err_make(err, errno, "seal the copy of our binary");
	*ret_fd = TAKE_FD(mfd);
	return 0;
}

/*
 * A read-only bind mount of the very file we run (/proc/self/exe, so a binary
 * replaced meanwhile is not picked up), detached: open_tree() makes it in no
 * mount namespace, so nothing is copied now or torn down at exit.  Closing
 * the tree fd at the execveat dissolves it, after which no one can remount it
 * writable.  -errno without a message: the caller falls back to a memfd copy.
 */
static int ro_clone(int *ret_fd)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV};
	_cleanup_close_ int fd =
	    syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Nothing can write what we run: a read-only mount, or a write-sealed memfd. */
static bool exe_protected(void)
{
	_cleanup_close_ int fd = -1;
	struct statvfs sv;
	int seals;

	if (statvfs("/proc/self/exe", &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return true;
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;
	return seals >= 0 && (seals & F_SEAL_WRITE);
}

int ct_protect_exe(struct err **err)
{
	extern char **environ;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *args_buf = NULL;
	_cleanup_free_ char **argv = NULL;
	bool again = getenv(REEXEC_ENV) != NULL;
	int r;

	unsetenv(REEXEC_ENV);
	if (exe_protected())
		return 0;
	if (again)
		return err_make(err, EROFS, "our re-executed binary is still writable");
	/* Rootless: no mount to make (open_tree needs CAP_SYS_ADMIN); a sealed copy. */
	if (geteuid() != 0 || ro_clone(&fd) < 0) {
		r = sealed_copy(&fd, err);
		if (r < 0)
			return r;
	}
	r = read_cmdline(&argv, &args_buf, err);
	if (r < 0)
		return r;
	setenv(REEXEC_ENV, "1", 1);
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	r = err_make(err, errno, "re-exec our binary");
	unsetenv(REEXEC_ENV);
	return r;
}
