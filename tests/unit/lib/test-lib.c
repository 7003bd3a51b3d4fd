/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of src/lib: errors, number parsing, JSON field errors, files. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "crypto.h"
#include "envfile.h"
#include "err.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "landlock.h"
#include "lazylib.h"
#include "overlay.h"
#include "parse.h"
#include "procfs.h"
#include "rtnl.h"
#include "sha256sw.h"
#include "spawn.h"
#include "strv.h"
#include "tap.h"
#include "text.h"

static void test_err(void)
{
	struct err *e = NULL;
	int r;

	r = err_make(&e, ENOENT, "open `%s`", "x");
	is_int(r, -ENOENT, "err_make returns -errno");
	ok(e && streq(e->msg, "open `x`: No such file or directory"), "message has strerror");
	err_make(&e, EPERM, "second");
	ok(strstr(e->msg, "second") == NULL, "first error is kept");
	err_wrap(&e, "create %s", "c1");
	ok(strncmp(e->msg, "create c1: open", 15) == 0, "wrap prefixes context");
	err_free(&e);
	ok(e == NULL, "free clears");
	is_int(err_make(NULL, 0, "x"), -EINVAL, "errnum 0 gives -EINVAL");
}

static void test_parse(void)
{
	uint64_t u = 0;
	uint32_t id = 0;
	int i = 0, sig = 0;

	ok(parse_u64("18446744073709551615", &u) == 0 && u == UINT64_MAX, "u64 max");
	ok(parse_u64("18446744073709551616", &u) < 0, "u64 overflow");
	ok(parse_u64("-1", &u) < 0, "u64 rejects sign");
	ok(parse_u64("12a", &u) < 0, "u64 rejects trailing junk");
	ok(parse_int("2147483648", &i) < 0, "int overflow");
	ok(parse_id("4294967294", &id) == 0 && id == 4294967294u, "id max");
	ok(parse_id("4294967295", &id) < 0, "id (uid_t)-1 refused");
	ok(parse_id("-1", &id) < 0 && parse_id("", &id) < 0 && parse_id("1x", &id) < 0,
	   "id rejects sign, empty, junk");
	ok(id_valid(0) && !id_valid(-1) && !id_valid(4294967295) && !id_valid(1LL << 32),
	   "id_valid");
	ok(parse_size("64M", &u) == 0 && u == 64ULL << 20, "size 64M");
	ok(parse_size("2GiB", &u) == 0 && u == 2ULL << 30, "size 2GiB");
	ok(parse_size("1X", &u) < 0, "size bad unit");
	ok(parse_size("99999999999999T", &u) < 0, "size overflow");
	ok(parse_signal("KILL", &sig) == 0 && sig == SIGKILL, "signal KILL");
	ok(parse_signal("sigterm", &sig) == 0 && sig == SIGTERM, "signal sigterm");
	ok(parse_signal("9", &sig) == 0 && sig == 9, "signal 9");
	ok(parse_signal("RTMIN+2", &sig) == 0 && sig == SIGRTMIN + 2, "signal RTMIN+2");
	ok(parse_signal("NOPE", &sig) < 0, "unknown signal");
	ok(parse_signal("0", &sig) < 0, "signal 0 rejected");
}

static void test_json(void)
{
	const char *doc = "{\"process\":{\"args\":[\"sh\",3],\"cwd\":5,\"terminal\":true}}";
	_cleanup_json_ json_t *j = NULL;
	_cleanup_strv_ char **args = NULL;
	struct err *e = NULL;
	const char *s = NULL;
	json_t *proc = NULL;
	bool t = false;

	ok(json_load_buf_capped("config.json", doc, strlen(doc), 1 << 20, &j, &e) == 0, "load");
	ok(json_get_object(j, "", "process", &proc, &e) == 0 && proc, "object");
	ok(json_get_strv(proc, "process", "args", &args, &e) < 0 &&
	       streq(e->msg, "process.args[1]: expected a string"),
	   "strv error names the element");
	err_free(&e);
	ok(json_get_string(proc, "process", "cwd", false, &s, &e) < 0 &&
	       streq(e->msg, "process.cwd: expected a string"),
	   "wrong type names the field");
	err_free(&e);
	ok(json_get_bool(proc, "process", "terminal", &t, &e) == 0 && t, "bool");
	ok(json_load_buf_capped("config.json", doc, strlen(doc), 10, &proc, &e) < 0 &&
	       strstr(e->msg, "larger than"),
	   "size cap");
	err_free(&e);
	ok(json_load_buf_capped("config.json", "{\"a\":", 5, 100, &proc, &e) < 0 &&
	       strncmp(e->msg, "config.json: line 1", 19) == 0,
	   "syntax error names file and line");
	err_free(&e);
	static const char *const allowed[] = {"args", "cwd", NULL};
	ok(json_check_keys(proc, "process", allowed, &e) < 0 &&
	       streq(e->msg, "process.terminal: unknown field"),
	   "unknown key");
	err_free(&e);
}

/*
 * OCI's uint64 fields past INT64_MAX (podman's unlimited rlimit is
 * 18446744073709551615): jansson has int64 only and refused the file.
 */
static void test_json_u64(void)
{
	const char *doc = "{\"rlimits\":[{\"soft\":18446744073709551615,"
			  "\"hard\":9223372036854775808}, {\"soft\":9223372036854775807,"
			  "\"hard\":-18446744073709551615e-1}],"
			  "\"s\":\"18446744073709551615 \\\" 18446744073709551614\","
			  "\"r\":1.5e3}";
	_cleanup_json_ json_t *j = NULL;
	struct err *e = NULL;
	json_t *rl, *x = NULL;
	uint64_t v = 0;

	ok(json_load_buf_capped("config.json", doc, strlen(doc), 1 << 20, &j, &e) == 0,
	   "load: integers up to UINT64_MAX");
	err_free(&e);
	rl = json_array_get(json_object_get(j, "rlimits"), 0);
	ok(json_get_u64(rl, "r", "soft", &v, &e) == 0 && v == UINT64_MAX, "UINT64_MAX read back");
	ok(json_get_u64(rl, "r", "hard", &v, &e) == 0 && v == 9223372036854775808ull,
	   "INT64_MAX + 1 read back");
	rl = json_array_get(json_object_get(j, "rlimits"), 1);
	ok(json_get_u64(rl, "r", "soft", &v, &e) == 0 && v == INT64_MAX, "INT64_MAX unchanged");
	ok(json_is_real(json_object_get(rl, "hard")), "a negative real is left alone");
	ok(j && streq(json_string_value(json_object_get(j, "s")),
		      "18446744073709551615 \" 18446744073709551614"),
	   "digits in a string (after an escaped quote too) are left alone");
	ok(json_is_real(json_object_get(j, "r")), "a real is left alone");
	ok(json_load_buf_capped("config.json", "{\"a\":18446744073709551616}", 26, 100, &x, &e) <
		   0 &&
	       strstr(e->msg, "too big integer"),
	   "past UINT64_MAX: still refused");
	err_free(&e);
	json_decref(x);
	x = NULL;
	/* A big token makes the second pass; a leading-zero one must not come out valid. */
	doc = "{\"a\":18446744073709551615,\"b\":000000000009223372036854777856}";
	ok(json_load_buf_capped("config.json", doc, strlen(doc), 100, &x, &e) < 0,
	   "leading zeros past INT64_MAX: still refused (%s)", e ? e->msg : "accepted");
	err_free(&e);
	json_decref(x);
}

/* Entries of dir whose name starts with prefix. */
static int count_tmp(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	return n;
}

static void test_files(void)
{
	char dir[] = "/tmp/isola-test-lib.XXXXXX";
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int dfd = -1;
	struct err *e = NULL;
	size_t len = 0;

	ok(mkdtemp(dir) != NULL, "mkdtemp");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(write_file_atomic_at(dfd, "state.json", "{}", 2, 0600, &e) == 0, "atomic write");
	ok(read_file_at(dfd, "state.json", 100, &buf, &len, &e) == 0 && len == 2 &&
	       streq(buf, "{}"),
	   "read back");
	ok(read_file_at(dfd, "state.json", 1, &buf, &len, &e) < 0 && strstr(e->msg, "larger"),
	   "read cap");
	err_free(&e);
	/* replace_file_at: with nothing to exchange with, then over the file; no temporary left. */
	ok(replace_file_at(dfd, "r.json", "one", 3, 0600, &e) == 0, "replace: new file");
	ok(replace_file_at(dfd, "r.json", "second", 6, 0600, &e) == 0, "replace: exchange");
	free(buf);
	buf = NULL;
	ok(read_file_at(dfd, "r.json", 100, &buf, &len, &e) == 0 && streq(buf, "second"),
	   "replace: the new text");
	ok(count_tmp(dir, ".r.json.tmp.") == 0, "replace: no temporary left");
	{
		/*
		 * Names planted where the temporary used to go (".NAME.tmp.PID"): a symlink
		 * to a victim and a world-writable file.  Neither is written through, and
		 * the result has the mode asked for.
		 */
		char tmp[64];
		struct stat st;
		mode_t um = umask(0);

		ok(write_file_atomic_at(dfd, "victim", "intact", 6, 0600, &e) == 0, "victim");
		snprintf(tmp, sizeof(tmp), ".s.json.tmp.%d", getpid());
		ok(symlinkat("victim", dfd, tmp) == 0, "plant a symlink");
		ok(write_file_atomic_at(dfd, "s.json", "new", 3, 0600, &e) == 0,
		   "atomic write beside a planted symlink");
		free(buf);
		buf = NULL;
		ok(read_file_at(dfd, "victim", 100, &buf, &len, &e) == 0 && streq(buf, "intact"),
		   "the symlink's target is untouched");
		unlinkat(dfd, tmp, 0);
		snprintf(tmp, sizeof(tmp), ".p.json.tmp.%d", getpid());
		close(openat(dfd, tmp, O_CREAT | O_WRONLY | O_CLOEXEC, 0666));
		ok(write_file_atomic_at(dfd, "p.json", "secret", 6, 0600, &e) == 0 &&
		       fstatat(dfd, "p.json", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		       (st.st_mode & 07777) == 0600,
		   "not the planted 0666 file: mode 0600");
		ok(fstatat(dfd, tmp, &st, 0) == 0 && st.st_size == 0, "the planted file is empty");
		unlinkat(dfd, tmp, 0);
		umask(077);
		ok(write_file_atomic_at(dfd, "m.json", "x", 1, 0644, &e) == 0 &&
		       fstatat(dfd, "m.json", &st, 0) == 0 && (st.st_mode & 07777) == 0644,
		   "the mode asked for, whatever the umask");
		umask(um);
	}
	mkdirat(dfd, "a", 0700);
	mkdirat(dfd, "a/b", 0700);
	close(openat(dfd, "a/b/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	/* The link leads to a directory of the test's own, never the host's /etc. */
	{
		char victim[] = "/tmp/isola-test-victim.XXXXXX", keep[64];

		ok(mkdtemp(victim) != NULL, "mkdtemp victim");
		snprintf(keep, sizeof(keep), "%s/keep", victim);
		close(open(keep, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
		ok(symlinkat(victim, dfd, "a/link") == 0, "symlink");
		ok(rm_rf_at(AT_FDCWD, dir, &e) == 0, "rm_rf");
		ok(!path_exists(dir), "tree removed");
		ok(access(keep, F_OK) == 0, "symlink target untouched");
		unlink(keep);
		rmdir(victim);
	}
}

/* Make depth nested directories "d" under dfd (one fd open at a time). */
static int make_deep(int dfd, unsigned depth)
{
	int fd = dup(dfd);

	for (unsigned i = 0; i < depth && fd >= 0; i++) {
		int nfd;

		if (mkdirat(fd, "d", 0700) < 0 && errno != EEXIST)
			break;
		if (i % 100 == 0) {
			int f = openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

			if (f >= 0)
				close(f);
		}
		nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = nfd;
	}
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Issue 11, defect 2: removal keeps a bounded number of fds at any depth. */
static void test_rm_deep(void)
{
	/* tmpfs when there is one: 20,000 mkdirs on a busy disk take many seconds. */
	char shm[] = "/dev/shm/isola-test-rmdeep-XXXXXX", tmp[] = "/tmp/isola-test-rmdeep-XXXXXX";
	struct rlimit old, low = {.rlim_cur = 64};
	_cleanup_err_ struct err *e = NULL;
	_cleanup_close_ int dfd = -1;
	char *dir = mkdtemp(shm);
	int r;

	if (!dir)
		dir = mkdtemp(tmp);
	ok(dir != NULL, "mkdtemp");
	if (!dir)
		return;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(dfd >= 0 && mkdirat(dfd, "t", 0700) == 0, "tree top");
	{
		_cleanup_close_ int t = openat(dfd, "t", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		ok(t >= 0 && make_deep(t, 20000) == 0, "a 20,000-level tree");
		ok(mkdirat(t, "wide", 0700) == 0 && make_deep(t, 50) == 0, "and a second branch");
	}
	getrlimit(RLIMIT_NOFILE, &old);
	low.rlim_max = old.rlim_max;
	setrlimit(RLIMIT_NOFILE, &low);
	r = rm_rf_at(dfd, "t", &e);
	setrlimit(RLIMIT_NOFILE, &old);
	ok(r == 0, "removed with RLIMIT_NOFILE 64 (%s)", e ? e->msg : "ok");
	ok(faccessat(dfd, "t", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT, "tree gone");
	if (r < 0) /* do not leave 20,000 levels behind */
		rm_rf_at(dfd, "t", NULL);
	rmdir(dir);
}

/* In a child with a private mount namespace: a mount inside the tree is not crossed. */
static int rm_mount_child(const char *dir, int bind)
{
	_cleanup_err_ struct err *e = NULL;
	char top[300], mnt[300], keep[320];
	int r, fd;

	snprintf(top, sizeof(top), "%s/t", dir);
	snprintf(mnt, sizeof(mnt), "%s/t/a/b/m", dir);
	snprintf(keep, sizeof(keep), "%s/keep", mnt);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	if (mkdir(top, 0700) < 0 || mkdir(strcat(strcpy(keep, top), "/a"), 0700) < 0)
		return 2;
	snprintf(keep, sizeof(keep), "%s/t/a/b", dir);
	if (mkdir(keep, 0700) < 0 || mkdir(mnt, 0700) < 0)
		return 2;
	if (bind) {
		snprintf(keep, sizeof(keep), "%s/src", dir);
		if (mkdir(keep, 0700) < 0 || mount(keep, mnt, NULL, MS_BIND, NULL) < 0)
			return 77;
	} else if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0) {
		return 77;
	}
	snprintf(keep, sizeof(keep), "%s/keep", mnt);
	fd = open(keep, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return 2;
	close(fd);
	r = rm_rf_at(AT_FDCWD, top, &e);
	if (r != -EBUSY || access(keep, F_OK) < 0)
		return 3;
	umount2(mnt, MNT_DETACH);
	return rm_rf_at(AT_FDCWD, dir, NULL) == 0 ? 0 : 4;
}

static void test_rm_mount(void)
{
	for (int bind = 0; bind < 2; bind++) {
		char dir[] = "/tmp/isola-test-rmmnt-XXXXXX";
		int status = 0;
		pid_t pid;

		if (!mkdtemp(dir)) {
			ok(0, "mkdtemp");
			continue;
		}
		pid = fork();
		if (pid == 0)
			_exit(rm_mount_child(dir, bind));
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
			skip("SKIP: needs root for a private mount namespace");
		else
			ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			   "a %s mount inside the tree is not crossed (child status %d)",
			   bind ? "bind" : "tmpfs", status);
		rm_rf_at(AT_FDCWD, dir, NULL);
	}
}

static void test_paths(void)
{
	static const char *const same[] = {"/proc", "//proc", "/proc/", "//proc//", "///proc///"};
	static const char *const other[] = {"/proc/x", "/procs", "/pro", "proc", "/", "/proc/."};

	for (size_t i = 0; i < ARRAY_SIZE(same); i++)
		ok(path_same_abs(same[i], "/proc"), "`%s` is /proc", same[i]);
	for (size_t i = 0; i < ARRAY_SIZE(other); i++)
		ok(!path_same_abs(other[i], "/proc"), "`%s` is not /proc", other[i]);
	ok(path_same_abs("//", "/") && path_same_abs("/", "/") && !path_same_abs("", "/"),
	   "the root under its names");
	ok(path_has_dot_component("/a/./b") && path_has_dot_component("/..") &&
	       path_has_dot_component("/.") && !path_has_dot_component("/a.b/.c/..d"),
	   "dot components, and dots in names");
}

static void test_strv(void)
{
	_cleanup_strv_ char **v = NULL;

	strv_push(&v, "a");
	strv_push(&v, "b");
	is_int(strv_length(v), 2, "strv push/length");
	ok(streq(v[1], "b") && v[2] == NULL, "strv terminated");
	ok(strv_contains(v, "b") && !strv_contains(v, "c") && !strv_contains(NULL, "a"),
	   "strv_contains");
}

static void test_text_escape(void)
{
	static const char in[] = "a\tb\n\x1b]0;t\x07\x1b[2J\r\x7f\0z \xc2\x9b"
				 "1m \xc3\xa9 \\";
	/* Lone C1 bytes, truncated, overlong, surrogate and > U+10FFFF forms. */
	static const char bad[] = "\x9b"
				  "1m\x1b\x9b\xe2\x82 \xc0\x9b\xe0\x82\x9b"
				  "\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82\xac\xf0\x9f\x98\x80\xc2";
	_cleanup_free_ char *s = text_escape_ctl(in, sizeof(in) - 1);

	ok(s && streq(s, "a\tb\n\\x1b]0;t\\x07\\x1b[2J\\x0d\\x7f\\x00z \\xc2\\x9b1m \xc3\xa9 \\"),
	   "escape: ESC, BEL, CR, DEL, NUL and C1 CSI as \\xNN; tab, newline, UTF-8 kept");
	free(s);
	s = text_escape_ctl(bad, sizeof(bad) - 1);
	ok(s && streq(s, "\\x9b1m\\x1b\\x9b\\xe2\\x82 \\xc0\\x9b\\xe0\\x82\\x9b"
			 "\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80\xe2\x82\xac\xf0\x9f\x98\x80\\xc2"),
	   "escape: every byte outside well-formed UTF-8 as \\xNN; the euro sign and an emoji "
	   "kept");
	free(s);
	s = text_escape_ctl("", 0);
	ok(s && !*s, "escape: empty");
}

static void test_strv_env(void)
{
	char *base[] = {"PATH=/bin", "A=1", "AB=2", NULL};
	char *extra[] = {"A=x", "C=3", "A=y", "AB=", NULL};
	_cleanup_strv_ char **m = strv_env_merge(base, extra);
	_cleanup_strv_ char **none = strv_env_merge(NULL, NULL);

	/* A keeps its place and takes the last value; AB is not A's prefix match. */
	ok(m && strv_length(m) == 4 && streq(m[0], "PATH=/bin") && streq(m[1], "A=y") &&
	       streq(m[2], "AB=") && streq(m[3], "C=3"),
	   "env merge: in place, later wins, exact keys");
	ok(none && !none[0], "env merge of nothing: an empty vector");
	ok(base[1][2] == '1', "env merge leaves the base alone");
}

/* envfile_read @text from a file; *env and the return value. */
static int envfile_of(const char *text, size_t len, char ***env, struct err **err)
{
	char path[] = "/tmp/isola-envfile-XXXXXX";
	int fd = mkstemp(path), r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, text, len);
	close(fd);
	if (r >= 0)
		r = envfile_read(path, env, err);
	unlink(path);
	return r;
}

static void test_envfile(void)
{
	static const char good[] = "\xef\xbb\xbf"
				   "A=1\n# a comment\n\n   B=two words # kept\r\n"
				   "C=\nD==x\nISOLA_ENVFILE_SET\nISOLA_ENVFILE_UNSET\n\tE=last";
	_cleanup_strv_ char **env = NULL;
	struct err *e = NULL;
	char *big;
	int r;

	setenv("ISOLA_ENVFILE_SET", "from-us", 1);
	unsetenv("ISOLA_ENVFILE_UNSET");
	r = envfile_of(good, sizeof(good) - 1, &env, &e);
	is_int(r, 0, "envfile: a good file");
	is_int(strv_length(env), 6, "envfile: six variables (comment, blank, unset one skipped)");
	ok(env && streq(env[0], "A=1") && streq(env[1], "B=two words # kept") &&
	       streq(env[2], "C=") && streq(env[3], "D==x") &&
	       streq(env[4], "ISOLA_ENVFILE_SET=from-us") && streq(env[5], "E=last"),
	   "envfile: BOM, CRLF, leading blanks, '#' in a value, KEY alone from our env");
	strv_free(env);
	env = NULL;

	r = envfile_of("A=1\n=x\n", 7, &env, &e);
	ok(r < 0 && e && strstr(e->msg, "line 2: no variable name"), "envfile: =x names line 2");
	err_free(&e);
	r = envfile_of("BAD KEY=1\n", 10, &env, &e);
	ok(r < 0 && e && strstr(e->msg, "line 1: variable `BAD KEY` contains a blank"),
	   "envfile: a blank in the name is refused");
	err_free(&e);
	r = envfile_of("A=1\0B=2\n", 8, &env, &e);
	ok(r < 0 && e && strstr(e->msg, "NUL byte"), "envfile: a NUL byte is refused");
	err_free(&e);
	big = malloc(ENVFILE_MAX + 2);
	if (big) {
		memset(big, 'x', ENVFILE_MAX + 1);
		big[0] = 'A';
		big[1] = '=';
		r = envfile_of(big, ENVFILE_MAX + 1, &env, &e);
		ok(r < 0 && e && strstr(e->msg, "--env-file"), "envfile: over 1 MiB is refused");
		err_free(&e);
		free(big);
	}
	r = envfile_read("/nonexistent/env", &env, &e);
	ok(r < 0 && e && strstr(e->msg, "/nonexistent/env"), "envfile: a missing file is named");
	err_free(&e);
	r = envfile_read("/proc/self/fd", &env, &e);
	ok(r < 0, "envfile: a directory is refused");
	err_free(&e);
	strv_free(env);
	env = NULL;

	ok(envfile_push_arg("-e", "A=b c", &env, &e) == 0 &&
	       envfile_push_arg("-e", "ISOLA_ENVFILE_SET", &env, &e) == 0 &&
	       envfile_push_arg("-e", "ISOLA_ENVFILE_UNSET", &env, &e) == 0 &&
	       strv_length(env) == 2 && streq(env[0], "A=b c") &&
	       streq(env[1], "ISOLA_ENVFILE_SET=from-us"),
	   "-e KEY=VALUE as given, KEY from our env, an unset KEY is nothing");
	r = envfile_push_arg("-e", "=x", &env, &e);
	ok(r < 0 && e && streq(e->msg, "-e `=x`: expected KEY=VALUE or KEY"), "-e =x is refused");
	err_free(&e);
	r = envfile_push_arg("--env", "", &env, &e);
	ok(r < 0 && e && strstr(e->msg, "--env ``"), "an empty -e is refused");
	err_free(&e);
}

/*
 * close_async(): the fd is gone from this process at once and its file is
 * released (the pipe's reader sees EOF) soon after, for 50 files in a row:
 * nothing stays in flight on the sockets it uses.
 */
static void test_close_async(void)
{
	int n_closed = 0, n_released = 0;

	for (int i = 0; i < 50; i++) {
		struct pollfd p = {.events = POLLIN};
		int fds[2];

		if (pipe2(fds, O_CLOEXEC) < 0)
			break;
		close_async(fds[1]);
		n_closed += fcntl(fds[1], F_GETFD) < 0 && errno == EBADF;
		p.fd = fds[0];
		/* Bounded: the kernel's collector runs within milliseconds. */
		n_released += poll(&p, 1, 10000) == 1 && (p.revents & POLLHUP);
		close(fds[0]);
	}
	is_int(n_closed, 50, "close_async closes the fd in this process");
	is_int(n_released, 50, "close_async releases the file (the reader sees EOF)");
	close_async(-1); /* no-op */
}

static bool maps_libcrypto(void)
{
	_cleanup_free_ char *maps = NULL;
	size_t len = 0;
	struct err *err = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/maps", 1 << 24, &maps, &len, &err) < 0) {
		err_free(&err);
		return false;
	}
	return strstr(maps, "libcrypto.so") != NULL;
}

/* sha256 through libcrypto, dlopen'd by the first digest (FIPS 180-4 examples). */
static void test_sha256(void)
{
	static const struct {
		const char *in, *want;
	} v[] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	const void *bufs[2] = {"ab", "c"};
	size_t lens[2] = {2, 1};
	struct err *err = NULL;
	char got[65];

	ok(!maps_libcrypto(), "libcrypto is not mapped before the first digest");
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		size_t n = strlen(v[i].in);

		is_int(crypto_sha256_hex((const void *const[]){v[i].in}, &n, 1, got, &err), 0,
		       "sha256(\"%s\")", v[i].in);
		ok(streq(got, v[i].want), "sha256(\"%s\") value", v[i].in);
	}
	is_int(crypto_sha256_hex(bufs, lens, 2, got, &err), 0, "sha256 of two pieces");
	ok(streq(got, v[1].want), "pieces hash as their concatenation");
	ok(maps_libcrypto(), "libcrypto is mapped after it");
}

/* A library that cannot be loaded is an error naming it, every time (no fallback). */
static void test_lazylib_missing(void)
{
	static void *slot;
	static const struct lazylib_symbol syms[] = {{"nothing", &slot}};
	static struct lazylib lib = LAZYLIB_INIT("libisola-no-such-library.so.0", syms);
	struct err *err = NULL;

	for (int i = 0; i < 2; i++) {
		ok(lazylib_load(&lib, &err) == -ENOENT && err &&
		       strstr(err->msg, "cannot load libisola-no-such-library.so.0"),
		   "a missing library is an error naming it (call %d): %s", i + 1,
		   err ? err->msg : "");
		err_free(&err);
	}
}

/* FIPS 180-4's examples, a million 'a's fed in odd pieces, and the empty string. */
static void test_sha256sw(void)
{
	static const char abc2[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	struct sha256sw s;
	char hex[65], a[1000];

	sha256sw_init(&s);
	sha256sw_update(&s, "abc", 3);
	sha256sw_final_hex(&s, hex);
	ok(streq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	   "sha256sw abc");
	sha256sw_init(&s);
	sha256sw_update(&s, abc2, strlen(abc2));
	sha256sw_final_hex(&s, hex);
	ok(streq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
	   "sha256sw two blocks");
	memset(a, 'a', sizeof(a));
	sha256sw_init(&s);
	for (int i = 0, n = 0; n < 1000000; i++) {
		int len = (i % 7) * 97 + 1 < 1000000 - n ? (i % 7) * 97 + 1 : 1000000 - n;

		sha256sw_update(&s, a, len);
		n += len;
	}
	sha256sw_final_hex(&s, hex);
	ok(streq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
	   "sha256sw a million a's in pieces");
	sha256sw_init(&s);
	sha256sw_final_hex(&s, hex);
	ok(streq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	   "sha256sw empty");
}

/* rtnetlink requests: attribute layout, nests, an overflow refused, an ack's error. */
static void test_rtnl(void)
{
	struct rtnl_msg m;
	struct ifinfomsg *ifi = rtnl_begin(&m, RTM_SETLINK, NLM_F_CREATE, sizeof(*ifi));
	struct rtattr *nest, *a;
	uint32_t v = 7;
	char big[RTNL_BUF];

	ok(m.nh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE) &&
	       m.nh->nlmsg_len == NLMSG_LENGTH(sizeof(*ifi)) && (void *)ifi == NLMSG_DATA(m.nh),
	   "rtnl_begin: header, flags, family struct");
	nest = rtnl_put(&m, 1, NULL, 0);
	a = rtnl_put(&m, IFLA_MASTER, &v, sizeof(v));
	rtnl_put(&m, IFLA_IFNAME, "x", 2);
	rtnl_end(&m, nest);
	ok(a && a->rta_len == RTA_LENGTH(4) && *(uint32_t *)RTA_DATA(a) == 7 &&
	       nest->rta_len == m.nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)),
	   "rtnl_put/rtnl_end: attributes inside their nest");
	memset(big, 'x', sizeof(big));
	ok(!rtnl_put(&m, IFLA_IFNAME, big, sizeof(big)) && !rtnl_put(&m, IFLA_MASTER, &v, 4) &&
	       rtnl_talk(&m) == -EMSGSIZE,
	   "an attribute past the buffer is refused, and so is the request");
	if (geteuid() != 0) {
		skip("SKIP: needs root for a netns");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(2);
		ifi = rtnl_begin(&m, RTM_SETLINK, 0, sizeof(*ifi));
		ifi->ifi_index = 1 << 30; /* no such link */
		_exit(rtnl_talk(&m) == -ENODEV ? 0 : 1);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "the kernel's error comes back as -errno");
}

static void report_child(void *arg, int fd)
{
	_exit(write(fd, arg, strlen(arg)) < 0 ? 2 : 3);
}

static void echo_child(void *arg, int fd)
{
	char c = 0;

	(void)arg;
	_exit(read(fd, &c, 1) == 1 && write(fd, &c, 1) == 1 ? 0 : 1);
}

static int count_fds(void)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	return n;
}

/* fd_send/fd_recv: one fd and its data; any other number of fds refused and closed. */
static void test_fd_pass(void)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u = {0};
	char data[8] = "", one = 'x';
	struct iovec iov = {.iov_base = &one, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	struct stat a, b;
	int sv[2], fd = -1, two[2], before;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	two[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	two[1] = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	ok(fd_send(sv[0], two[0], "hello", 5) == 0, "fd_send");
	n = fd_recv(sv[1], data, sizeof(data), &fd);
	is_int(n, 5, "fd_recv: the data's length");
	ok(fd >= 0 && fstat(fd, &a) == 0 && fstat(two[0], &b) == 0 && a.st_rdev == b.st_rdev &&
	       fcntl(fd, F_GETFD) == FD_CLOEXEC && memcmp(data, "hello", 5) == 0,
	   "fd_recv: the same file, close-on-exec, and the data");
	if (fd >= 0)
		close(fd);
	ok(fd_send(sv[0], two[0], NULL, 0) == 0 && fd_recv(sv[1], data, 1, &fd) == 1 &&
	       data[0] == 0,
	   "no data: one zero byte");
	close(fd);
	/* Two fds: refused, both closed. */
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(two));
	memcpy(CMSG_DATA(cm), two, sizeof(two));
	before = count_fds();
	fd = -1;
	ok(sendmsg(sv[0], &msg, 0) == 1, "two fds sent");
	is_int(fd_recv(sv[1], data, sizeof(data), &fd), -EPROTO, "two fds: -EPROTO");
	is_int(count_fds(), before, "neither of them kept");
	ok(fd == -1, "ret_fd untouched");
	ok(send(sv[0], "y", 1, 0) == 1, "no fd sent");
	is_int(fd_recv(sv[1], data, sizeof(data), &fd), -EPROTO, "no fd: -EPROTO");
	close(two[0]);
	close(two[1]);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Landlock, enforced in a child: files beneath the allowed directory read, nothing else
 * (root too), no writes; TCP connects only to the allowed port.
 */
static void test_landlock(void)
{
	char dir[] = "/tmp/isola-ll.XXXXXX", in[64], link[64];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	struct ll_ruleset rs;
	int lfd, st = 0, r;
	pid_t pid;

	r = ll_ruleset_new(&rs);
	if (r == -EOPNOTSUPP) {
		skip("the kernel has no Landlock");
		return;
	}
	ok(r == 0, "a ruleset");
	if (!mkdtemp(dir))
		return;
	snprintf(in, sizeof(in), "%s/in", dir);
	close(open(in, O_WRONLY | O_CREAT, 0644));
	snprintf(link, sizeof(link), "%s/to-etc", dir);
	ok(symlink("/etc", link) == 0, "a link to a directory");
	is_int(ll_allow_file(&rs, link, LL_FS_READ_FILE, NULL), -EISDIR,
	       "ll_allow_file: a link to a directory is no rule for its tree");
	is_int(ll_allow_file(&rs, dir, LL_FS_READ_FILE, NULL), -EISDIR, "nor is a directory");
	is_int(ll_allow_file(&rs, in, LL_FS_READ_FILE, NULL), 0, "a regular file is");
	ll_ruleset_free(&rs);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		int bad = 0, c, fd;

		if (ll_ruleset_new(&rs) < 0 ||
		    ll_allow_path(&rs, dir, LL_FS_READ_FILE | LL_FS_READ_DIR) < 0 ||
		    ll_allow_port(&rs, 53, LL_NET_CONNECT_TCP) < 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(100);
		if (ll_restrict(&rs) < 0)
			_exit(101);
		fd = open(in, O_RDONLY | O_CLOEXEC);
		bad |= fd < 0; /* 1: read beneath the rule */
		bad |= (open("/etc/passwd", O_RDONLY) >= 0 || errno != EACCES) << 1;
		bad |= (open(in, O_WRONLY) >= 0 || errno != EACCES) << 2;
		c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (rs.abi >= 4)
			bad |=
			    (connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != EACCES)
			    << 3;
		_exit(bad);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st), "the child ran");
	is_int(WEXITSTATUS(st) & 1, 0, "a file beneath the allowed directory reads");
	is_int(WEXITSTATUS(st) & 2, 0, "a file elsewhere does not, even for root (EACCES)");
	is_int(WEXITSTATUS(st) & 4, 0, "nor is the allowed one writable");
	is_int(WEXITSTATUS(st) & ~7, 0,
	       "a TCP connect to a port not allowed is refused; set-up ok");
	close(lfd);
	unlink(in);
	unlink(link);
	rmdir(dir);
}

/* A child that reports back: its words, its status; a socketpair goes both ways. */
static void test_spawn(void)
{
	_cleanup_close_ int fd = -1, sp = -1;
	char buf[16] = "";
	pid_t pid = -1;
	int status = -1;

	ok(spawn_reporting(SPAWN_PIPE, report_child, "E it failed", &pid, &fd, NULL) == 0 &&
	       pid > 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	   "spawn_reporting: a child, our end CLOEXEC");
	is_int(spawn_read_report(fd, buf, sizeof(buf) - 1), 11, "its report, whole, up to EOF");
	ok(streq(buf, "E it failed"), "as written: %s", buf);
	ok(spawn_reap(pid, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 3,
	   "spawn_reap: its status");
	ok(spawn_reap(pid, NULL) == -ECHILD, "reaped once only");
	ok(spawn_reporting(SPAWN_SOCKETPAIR, echo_child, NULL, &pid, &sp, NULL) == 0 &&
	       write(sp, "G", 1) == 1 && spawn_read_report(sp, buf, 1) == 1 && buf[0] == 'G',
	   "a socketpair: told, and answers");
	ok(spawn_reap(pid, &status) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "and exits");
}

/* lowerdir= as overlayfs reads it: escapes, "::" before data-only layers, absolute paths. */
static void test_overlay(void)
{
	static const struct {
		const char *data;
		int count; /* -1: refused */
		const char *msg;
	} cases[] = {
	    {"lowerdir=/a:/b,upperdir=/u,workdir=/w,userxattr", 2, NULL},
	    {"lowerdir=/a\\:b:/c", 2, NULL},
	    {"lowerdir=/a\\,b:/c,workdir=/w", 2, NULL},
	    {"lowerdir=/a::/d1:/d2", 3, NULL},
	    {"upperdir=/u", 0, NULL},
	    {"lowerdir=/a:", -1, "lowerdir: entry 2 is empty"},
	    {"lowerdir=:/a", -1, "lowerdir: entry 1 is empty"},
	    {"lowerdir=/a:::/b", -1, "lowerdir: entry 2 is empty"},
	    {"lowerdir=/a::/b::/c", -1, "lowerdir: entry 3 is empty"},
	    {"lowerdir=/a:b", -1, "lowerdir: entry 2 `b` is not an absolute path"},
	};
	_cleanup_free_ char *big = malloc(8192);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct err *e = NULL;
		size_t n = 99;
		int r = overlay_lowerdir_check(cases[i].data, &n, &e);

		if (cases[i].count >= 0)
			ok(r == 0 && n == (size_t)cases[i].count, "overlay `%s`: %d lower",
			   cases[i].data, cases[i].count);
		else
			ok(r < 0 && e && streq(e->msg, cases[i].msg) && n == 99,
			   "overlay `%s` refused: %s", cases[i].data, e ? e->msg : "(none)");
		err_free(&e);
	}
	memset(big, 'x', 8191);
	big[8191] = '\0';
	ok(!overlay_data_fits(big), "8 KiB of options do not fit one page");
	big[sysconf(_SC_PAGESIZE) - 1] = '\0';
	ok(overlay_data_fits(big), "a page less its NUL fits");
}

/* /proc/<pid>/stat: fields past a command name with spaces and parentheses, zombies, gone pids. */
static void test_procfs(void)
{
	uint64_t start = 0, ppid = 0;
	pid_t pid;
	int pfd[2];
	char c;

	ok(proc_stat_field(getpid(), 22, &start) == 0 && start > 0, "our start time (field 22)");
	ok(!proc_exited(getpid()), "we have not exited");
	if (pipe(pfd) < 0)
		return (void)ok(0, "pipe");
	pid = fork();
	if (pid == 0) {
		/* A command name that ends in ") Z 1 (": the state is after the last ')'. */
		prctl(PR_SET_NAME, "a) Z 1 (b");
		close(pfd[0]);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		ok(0, "child ready");
	close(pfd[0]);
	ok(!proc_exited(pid), "a running child whose name mimics a zombie's fields");
	ok(proc_stat_field(pid, 4, &ppid) == 0 && ppid == (uint64_t)getpid(), "its ppid (field 4)");
	kill(pid, SIGKILL);
	for (int i = 0; i < 500 && !proc_exited(pid); i++)
		usleep(10000);
	ok(proc_exited(pid), "killed and not reaped: a zombie counts as exited");
	ok(proc_stat_field(pid, 22, &start) < 0, "no fields from a zombie");
	waitpid(pid, NULL, 0);
	ok(proc_exited(pid), "reaped: gone");
	ok(proc_exited((pid_t)-1) && proc_exited((pid_t)2147483647), "pids that cannot exist");
}

int main(void)
{
	test_err();
	test_parse();
	test_sha256sw();
	test_json();
	test_json_u64();
	test_files();
	test_rm_deep();
	test_rm_mount();
	test_paths();
	test_strv();
	test_text_escape();
	test_strv_env();
	test_envfile();
	test_close_async();
	test_sha256();
	test_lazylib_missing();
	test_rtnl();
	test_spawn();
	test_overlay();
	test_procfs();
	test_landlock();
	test_fd_pass();
	return tap_done();
}
