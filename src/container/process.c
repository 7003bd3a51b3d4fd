/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The last steps before execve: limits, user, capabilities, fds, seccomp. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "fdutil.h"
#include "init.h"
#include "parse.h"
#include "strv.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The last NAME= wins, as in runc (os.Setenv for each entry): podman exec -e adds one. */
static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	const char *v = NULL;

	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			v = env[i] + n + 1;
	return v;
}

/* On false, errno says why: a directory or a device is EACCES, as execve has it. */
static bool is_executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	if (!S_ISREG(st.st_mode)) {
		errno = EACCES;
		return false;
	}
	return access(path, X_OK) == 0;
}

/*
 * @dir/@name, with a relative @dir (or "" for none) taken from process.cwd: the
 * lookup runs before the chdir, and runc's runs after it.
 */
static char *join_from_cwd(const struct ct_process *p, const char *dir, const char *name)
{
	const char *cwd = p->cwd && p->cwd[0] ? p->cwd : "/";
	char *full = NULL;
	int n;

	if (dir[0] == '/')
		n = asprintf(&full, "%s/%s", dir, name);
	else if (dir[0])
		n = asprintf(&full, "%s/%s/%s", cwd, dir, name);
	else
		n = asprintf(&full, "%s/%s", cwd, name);
	return n < 0 ? NULL : full;
}

/* Look args[0] up in the container's PATH, as runc does at create. */
int ct_process_find_exec(const struct ct_process *p, char **ret, struct err **err)
{
	const char *arg0 = p->args[0], *path = env_get(p->env, "PATH");
	_cleanup_free_ char *copy = NULL;
	char *dir, *save = NULL;

	if (strchr(arg0, '/')) {
		_cleanup_free_ char *full =
		    arg0[0] == '/' ? strdup(arg0) : join_from_cwd(p, "", arg0);

		if (!full)
			return err_make(err, ENOMEM, "%s", arg0);
		errno = 0;
		if (!is_executable(full))
			return err_make(err, errno ? errno : EACCES, "exec `%s`", arg0);
		*ret = TAKE_PTR(full);
		return 0;
	}
	copy = strdup(path ? path : DEFAULT_PATH);
	if (!copy)
		return err_make(err, ENOMEM, "PATH");
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *full = join_from_cwd(p, dir, arg0);

		if (!full)
			return err_make(err, ENOMEM, "PATH");
		if (is_executable(full)) {
			*ret = full;
			return 0;
		}
		free(full);
	}
	/* ENOENT without its text: podman's exec tells 127 by it (cmd-exec.c). */
	err_make(err, 0, "exec `%s`: executable file not found in $PATH", arg0);
	if (err && *err)
		(*err)->errnum = ENOENT;
	return -ENOENT;
}

int ct_process_setup_privileged(const struct ct_init *in, struct err **err)
{
	const struct ct_process *p = in->proc;
	char buf[16];
	int r;

	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {p->rlimits[i].soft, p->rlimits[i].hard};

		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return err_make(err, errno, "setrlimit %d (%llu/%llu)",
					p->rlimits[i].resource, (unsigned long long)rl.rlim_cur,
					(unsigned long long)rl.rlim_max);
	}
	if (p->has_oom_score_adj) {
		snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
		r = ct_proc_write("self/oom_score_adj", buf, err);
		if (r < 0)
			return r;
	}
	if (p->io_priority &&
	    syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, p->io_priority) < 0)
		return err_make(err, errno, "process.ioPriority");
	if (in->spec && in->spec->has_personality && personality(in->spec->personality) < 0)
		return err_make(err, errno, "personality");
	if (!in->no_new_keyring && syscall(SYS_keyctl, 1 /* JOIN_SESSION_KEYRING */, NULL) < 0 &&
	    errno != ENOSYS && errno != EPERM && errno != EACCES && errno != EDQUOT)
		return err_make(err, errno, "join a new session keyring");
	return 0;
}

static int switch_user(const struct ct_init *in, struct err **err)
{
	const struct ct_process *p = in->proc;
	int r;

	/* setres[ug]id((uid_t)-1) changes nothing: the process would stay root. */
	if (!id_valid(p->uid) || !id_valid(p->gid))
		return err_make(err, EINVAL, "user %u:%u: not a valid id", p->uid, p->gid);
	r = ct_caps_drop_bounding(&in->caps, err);
	if (r < 0)
		return r;
	if (setgroups(p->n_additional_gids, p->additional_gids) < 0 &&
	    !(in->in_userns && errno == EPERM))
		return err_make(err, errno, "setgroups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return err_make(err, errno, "setgid %u", p->gid);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err_make(err, errno, "PR_SET_KEEPCAPS");
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return err_make(err, errno, "setuid %u", p->uid);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return ct_caps_apply(&in->caps, err);
}

#define PASSWD_MAX (4u << 20)

/*
 * "HOME=<dir>" for uid from the container's /etc/passwd (we are inside its
 * root), as runc sets HOME when process.env has none: containerd's CRI
 * plugin leaves HOME to the runtime.  "HOME=/" when the file or the entry is
 * missing.  Only a regular file is read (a FIFO the image put there must not
 * hang the start), and at most PASSWD_MAX bytes of it whatever its size says:
 * /etc/passwd may be a link to /proc/self/pagemap, a "regular file" of size
 * 0 and endless zeros, put there by the image or a process of the container
 * before an `exec`.
 */
static char *passwd_home(uid_t uid)
{
	_cleanup_close_ int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	char *home = NULL, *rest, *line;
	struct stat st;
	size_t len;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    read_all_fd(fd, PASSWD_MAX, &buf, &len) < 0 || memchr(buf, '\0', len))
		return strdup("HOME=/");
	for (rest = buf; !home && (line = strsep(&rest, "\n"));) {
		char *f[6] = {0};
		uint32_t id;

		for (int i = 0; i < 6; i++)
			f[i] = line ? strsep(&line, ":") : NULL;
		if (f[5] && *f[5] && parse_id(f[2], &id) == 0 && id == uid &&
		    asprintf(&home, "HOME=%s", f[5]) < 0)
			home = NULL;
	}
	return home ? home : strdup("HOME=/");
}

static char **env_with_home(const struct ct_process *p)
{
	_cleanup_free_ char *home = NULL;
	char **env = NULL;

	for (size_t i = 0; p->env && p->env[i]; i++)
		if (strv_push(&env, p->env[i]) < 0)
			return NULL;
	if (!env_get(p->env, "HOME") &&
	    (!(home = passwd_home(p->uid)) || strv_push(&env, home) < 0))
		return NULL;
	if (!env_get(p->env, "PATH") && strv_push(&env, "PATH=" DEFAULT_PATH) < 0)
		return NULL;
	return env;
}

int ct_close_inherited_fds(const struct ct_init *in, int keep_a, int keep_b, struct err **err)
{
	int keep[] = {keep_a, keep_b, in->console_fd};
	int r = close_fds_except(3 + in->preserve_fds, keep, ARRAY_SIZE(keep));

	return r < 0 ? err_make(err, -r, "close inherited fds") : 0;
}

/* chdir to process.cwd and make sure it lies inside the container's root. */
static int enter_cwd(const char *cwd, struct err **err)
{
	_cleanup_free_ char *where = NULL;

	if (chdir(cwd) < 0)
		return err_make(err, errno, "process.cwd `%s`: chdir", cwd);
	/* getcwd() fails (or gives "(unreachable)/...") outside our root. */
	where = getcwd(NULL, 0);
	if (!where || where[0] != '/')
		return err_make(err, where ? EPERM : errno,
				"process.cwd `%s`: not inside the container's root", cwd);
	return 0;
}

int ct_process_exec(struct ct_init *in, struct err **err)
{
	const struct ct_process *p = in->proc;
	char **env;
	int r;

	umask(p->has_umask ? p->umask : 0022);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_make(err, errno, "PR_SET_NO_NEW_PRIVS");
	/* Without no_new_privs the filter needs CAP_SYS_ADMIN: load it before the drop. */
	if (!p->no_new_privileges && (r = ct_seccomp_load(in->seccomp, err)) < 0)
		return r;
	/* Before the switch: /etc/passwd may be readable by root only. */
	env = env_with_home(p);
	if (!env)
		return err_make(err, ENOMEM, "env");
	r = switch_user(in, err);
	if (r < 0)
		return r;
	/* Only now, inside the new root and as the user (CVE-2024-21626). */
	r = enter_cwd(p->cwd, err);
	if (r < 0)
		return r;
	/* exec.fifo stays open (O_CLOEXEC) until execve: `start` waits for that. */
	close_fds_except(3 + in->preserve_fds, &in->exec_fifo_fd, 1);
	if (p->no_new_privileges && (r = ct_seccomp_load(in->seccomp, err)) < 0)
		return r;
	execve(in->exec_path, p->args, env);
	return err_make(err, errno, "exec `%s`", p->args[0]);
}
