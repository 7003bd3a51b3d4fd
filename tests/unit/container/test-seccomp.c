/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "seccomp.h"
#include "tap.h"

#define PODMAN_PROFILE "/usr/share/containers/seccomp.json"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void expect_error(const char *json, const char *want)
{
	_cleanup_json_ json_t *j = json_loads(json, 0, NULL);
	struct ct_seccomp *s = NULL;
	struct err *err = NULL;

	ok(j && ct_seccomp_prepare(j, "", &s, &err) < 0 && s == NULL, "rejected: %s", want);
	ok(err && strstr(err->msg, want), "message: %s", err ? err->msg : "(none)");
	err_free(&err);
}

static void test_errors(void)
{
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		     "\"action\":\"SCMP_ACT_ERRNO\"},{\"names\":[\"getcwd\"],\"action\":\"X\"}]}",
		     "config.json: linux.seccomp.syscalls[1].action: unknown action \"X\"");
	expect_error(
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\","
	    "\"SCMP_ARCH_VAX\"]}",
	    "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");
	expect_error(
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
	    "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"LIKE\"}]}]}",
	    "linux.seccomp.syscalls[0].args[0].op: unknown operator \"LIKE\"");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"BOGUS\"]}",
		     "linux.seccomp.flags[0]: unknown flag \"BOGUS\"");
	expect_error("{\"syscalls\":[]}", "defaultAction");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
		     "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
		     "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported yet");
}

/* In a child: load the filter, then getcwd() must fail with the given errno. */
static int child_getcwd_errno(struct ct_seccomp *s)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		struct err *err = NULL;
		char buf[256];

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || ct_seccomp_load(s, &err) < 0)
			_exit(200);
		if (getcwd(buf, sizeof(buf)))
			_exit(0);
		_exit(errno);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_deny_getcwd(const char *cache)
{
	_cleanup_json_ json_t *j = json_loads(
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\","
	    "\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],\"syscalls\":[{\"names\":[\"getcwd\","
	    "\"no_such_syscall\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1},"
	    "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
	    0, NULL);
	struct ct_seccomp *s = NULL;
	struct err *err = NULL;

	is_int(ct_seccomp_prepare(j, cache, &s, &err), 0, "deny-getcwd profile compiles (%s)",
	       err ? err->msg : "ok");
	is_int(child_getcwd_errno(s), EPERM, "child's getcwd fails with EPERM");
	ct_seccomp_free(s);
	s = NULL;
	is_int(ct_seccomp_prepare(j, cache, &s, &err), 0, "again, from the cache");
	ok(ct_seccomp_from_cache(s), "cache hit");
	is_int(child_getcwd_errno(s), EPERM, "cached program also denies getcwd");
	ct_seccomp_free(s);
	err_free(&err);
}

/* The one entry in dir (a fresh cache), read whole into *buf. */
static bool only_entry(const char *dir, char **name, char **buf, size_t *len)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;
	struct err *err = NULL;
	int n = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && n++ == 0)
			*name = strdup(de->d_name);
	if (n != 1 || read_file_at(dirfd(d), *name, 1 << 24, buf, len, &err) < 0) {
		err_free(&err);
		return false;
	}
	return true;
}

/*
 * An entry is used only for the very text it was compiled from: another
 * profile's program under this profile's name (a key collision, crafted or
 * not) and a cut program are misses, compiled again; nothing but the time is lost.
 */
static void test_cache_collision(void)
{
	char dir_a[] = "/tmp/isola-test-seccomp-a.XXXXXX",
	     dir_b[] = "/tmp/isola-test-seccomp-b.XXXXXX";
	_cleanup_json_ json_t *deny = json_loads(
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getcwd\"],"
	    "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}",
	    0, NULL);
	_cleanup_json_ json_t *allow =
	    json_loads("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", 0, NULL);
	_cleanup_free_ char *name_a = NULL, *name_b = NULL, *buf_a = NULL, *buf_b = NULL;
	_cleanup_close_ int dfd = -1;
	size_t len_a = 0, len_b = 0;
	struct ct_seccomp *s = NULL;
	struct err *err = NULL;

	if (!mkdtemp(dir_a) || !mkdtemp(dir_b)) {
		ok(0, "mkdtemp");
		return;
	}
	ct_seccomp_prepare(deny, dir_a, &s, &err);
	ct_seccomp_free(s);
	ct_seccomp_prepare(allow, dir_b, &s, &err);
	ct_seccomp_free(s);
	if (!ok(only_entry(dir_a, &name_a, &buf_a, &len_a) &&
		    only_entry(dir_b, &name_b, &buf_b, &len_b),
		"one entry in each cache"))
		goto out;
	ok(!streq(name_a, name_b), "two profiles, two names");
	/* The allow-all program, under the deny profile's name. */
	dfd = open(dir_a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!ok(write_file_atomic_at(dfd, name_a, buf_b, len_b, 0600, &err) == 0,
		"write a foreign entry"))
		goto out;
	s = NULL;
	is_int(ct_seccomp_prepare(deny, dir_a, &s, &err), 0,
	       "the deny profile with a foreign entry");
	ok(s && !ct_seccomp_from_cache(s), "another text under its name is a miss");
	is_int(child_getcwd_errno(s), EPERM, "and the program compiled again denies getcwd");
	ct_seccomp_free(s);
	/* Its own entry again (rewritten by the miss), cut inside the program. */
	write_file_atomic_at(dfd, name_a, buf_a, len_a - 3, 0600, &err);
	s = NULL;
	is_int(ct_seccomp_prepare(deny, dir_a, &s, &err), 0, "the deny profile with a cut entry");
	ok(s && !ct_seccomp_from_cache(s), "a cut program is a miss");
	ct_seccomp_free(s);
	s = NULL;
	ct_seccomp_prepare(deny, dir_a, &s, &err);
	ok(s && ct_seccomp_from_cache(s), "the entry written again is a hit");
	is_int(child_getcwd_errno(s), EPERM, "whose program denies getcwd");
	ct_seccomp_free(s);
out:
	err_free(&err);
	rm_rf_at(AT_FDCWD, dir_a, NULL);
	rm_rf_at(AT_FDCWD, dir_b, NULL);
}

static void test_podman_profile(const char *cache)
{
	_cleanup_json_ json_t *j = NULL;
	struct ct_seccomp *s = NULL;
	struct err *err = NULL;
	double t0, t1, t2;

	if (!path_exists(PODMAN_PROFILE)) {
		skip(PODMAN_PROFILE " not installed");
		return;
	}
	j = json_load_file(PODMAN_PROFILE, 0, NULL);
	/* podman resolves "includes"/"excludes" itself; a plain profile keeps the rest. */
	t0 = now_ms();
	is_int(ct_seccomp_prepare(j, cache, &s, &err), 0, "podman's profile compiles (%s)",
	       err ? err->msg : "ok");
	t1 = now_ms();
	ok(s && !ct_seccomp_from_cache(s), "first run compiles");
	ct_seccomp_free(s);
	s = NULL;
	is_int(ct_seccomp_prepare(j, cache, &s, &err), 0, "podman's profile again");
	t2 = now_ms();
	ok(s && ct_seccomp_from_cache(s), "second run is a cache hit");
	printf("# podman profile: compile %.2f ms, cached %.2f ms\n", t1 - t0, t2 - t1);
	ct_seccomp_free(s);
	err_free(&err);
}

int main(void)
{
	char cache[] = "/tmp/isola-test-seccomp.XXXXXX";
	struct err *err = NULL;

	if (!mkdtemp(cache))
		return 1;
	test_errors();
	test_deny_getcwd(cache);
	test_cache_collision();
	test_podman_profile(cache);
	rm_rf_at(AT_FDCWD, cache, &err);
	err_free(&err);
	return tap_done();
}
