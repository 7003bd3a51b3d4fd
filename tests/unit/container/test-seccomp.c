/* SPDX-License-Identifier: GPL-2.0-or-later */
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
	test_podman_profile(cache);
	rm_rf_at(AT_FDCWD, cache, &err);
	err_free(&err);
	return tap_done();
}
