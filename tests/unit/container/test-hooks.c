/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "hooks.h"
#include "jsonutil.h"
#include "tap.h"

static char dir[] = "/tmp/isola-test-hooks.XXXXXX";

static void script(const char *name, const char *body)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

/* Parse a hooks object in which every "DIR" stands for the temp dir. */
static json_t *hooks_json(const char *tmpl)
{
	char buf[2048] = "";
	const char *p = tmpl, *q;

	while ((q = strstr(p, "DIR"))) {
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%.*s%s", (int)(q - p), p,
			 dir);
		p = q + 3;
	}
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s", p);
	return json_loads(buf, 0, NULL);
}

static char *slurp(const char *name)
{
	char path[256];
	char *data = NULL;
	struct err *err = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_file_at(AT_FDCWD, path, 1 << 20, &data, NULL, &err) < 0)
		err_free(&err);
	return data;
}

static void test_state_args_env(void)
{
	_cleanup_json_ json_t *h =
	    hooks_json("{\"prestart\":[{\"path\":\"DIR/save\",\"args\":[\"save\",\"one\",\"two\"],"
		       "\"env\":[\"HOOKVAR=hello\"]}]}");
	_cleanup_free_ char *in = NULL, *args = NULL;
	struct err *err = NULL;

	is_int(ct_hooks_run(h, CT_HOOK_PRESTART, "{\"id\":\"c1\",\"pid\":42}", NULL, &err), 0,
	       "prestart hook runs (%s)", err ? err->msg : "ok");
	in = slurp("stdin");
	args = slurp("args");
	ok(in && streq(in, "{\"id\":\"c1\",\"pid\":42}"), "state JSON arrived on stdin");
	ok(args && streq(args, "one two hello\n"), "args and env passed: %s", args ? args : "");
	is_int(ct_hooks_run(h, CT_HOOK_POSTSTART, "{}", NULL, &err), 0, "other kinds are not run");
	err_free(&err);
}

static void test_failures(void)
{
	_cleanup_json_ json_t *h = hooks_json(
	    "{\"createRuntime\":[{\"path\":\"DIR/fail\"}],\"poststop\":[{\"path\":\"DIR/fail\"}],"
	    "\"startContainer\":[{\"path\":\"DIR/slow\",\"timeout\":1}],"
	    "\"poststart\":[{\"path\":\"DIR/missing\"}]}");
	_cleanup_json_ json_t *bad =
	    json_loads("{\"prestart\":[{\"path\":\"relative\"}]}", 0, NULL);
	struct err *err = NULL;
	struct timespec a, b;

	ok(ct_hooks_run(h, CT_HOOK_CREATE_RUNTIME, "{}", NULL, &err) < 0,
	   "failing createRuntime fails");
	ok(err && strstr(err->msg, "hooks.createRuntime[0]") && strstr(err->msg, "exit status 3"),
	   "message: %s", err ? err->msg : "");
	err_free(&err);
	is_int(ct_hooks_run(h, CT_HOOK_POSTSTOP, "{}", NULL, &err), 0,
	       "failing poststop only warns");
	is_int(ct_hooks_run(h, CT_HOOK_POSTSTART, "{}", NULL, &err), 0,
	       "missing poststart only warns");
	clock_gettime(CLOCK_MONOTONIC, &a);
	ok(ct_hooks_run(h, CT_HOOK_START_CONTAINER, "{}", NULL, &err) < 0, "slow hook times out");
	clock_gettime(CLOCK_MONOTONIC, &b);
	ok(err && strstr(err->msg, "timed out"), "message: %s", err ? err->msg : "");
	ok(b.tv_sec - a.tv_sec < 5, "killed at the timeout, not after the 30 s sleep");
	err_free(&err);
	ok(ct_hooks_run(bad, CT_HOOK_PRESTART, "{}", NULL, &err) < 0, "relative path rejected");
	ok(err && strstr(err->msg, "config.json: hooks.prestart[0].path"), "message: %s",
	   err ? err->msg : "");
	err_free(&err);
}

/* A timeout past 24 days (INT_MAX ms) still waits and still hands over the state. */
static void test_long_timeout(void)
{
	_cleanup_json_ json_t *h = hooks_json(
	    "{\"prestart\":[{\"path\":\"DIR/save\",\"args\":[\"save\"],\"timeout\":3000000}]}");
	_cleanup_free_ char *in = NULL;
	struct err *err = NULL;

	is_int(ct_hooks_run(h, CT_HOOK_PRESTART, "{\"id\":\"long\"}", NULL, &err), 0,
	       "a hook with a 3000000 s timeout runs (%s)", err ? err->msg : "ok");
	in = slurp("stdin");
	ok(in && streq(in, "{\"id\":\"long\"}"), "... and gets the state on stdin: %s",
	   in ? in : "(none)");
	err_free(&err);
}

/* A hook that exits without reading a state bigger than a pipe: no SIGPIPE death. */
static void test_no_read(void)
{
	_cleanup_json_ json_t *h = hooks_json("{\"prestart\":[{\"path\":\"DIR/noread\"}]}");
	size_t n = 1 << 20;
	_cleanup_free_ char *big = malloc(n + 1);
	struct err *err = NULL;

	memset(big, 'x', n);
	big[n] = '\0';
	is_int(ct_hooks_run(h, CT_HOOK_PRESTART, big, NULL, &err), 0,
	       "hook that ignores stdin succeeds, we survive EPIPE");
	err_free(&err);
}

/* Without "env" a hook inherits the runtime's environment (runc's behaviour). */
static void test_env_inherited(void)
{
	_cleanup_json_ json_t *h = hooks_json("{\"prestart\":[{\"path\":\"DIR/envcheck\"}]}");
	_cleanup_free_ char *out = NULL;
	struct err *err = NULL;

	setenv("ISOLA_TEST_HOOK_VAR", "inherited", 1);
	is_int(ct_hooks_run(h, CT_HOOK_PRESTART, "{}", NULL, &err), 0, "hook without env runs");
	out = slurp("env");
	ok(out && streq(out, "inherited\n"), "environment inherited: %s", out ? out : "");
	err_free(&err);
}

int main(void)
{
	struct err *err = NULL;

	if (!mkdtemp(dir))
		return 1;
	{
		char body[512];

		snprintf(body, sizeof(body), "cat > %s/stdin\necho \"$1 $2 $HOOKVAR\" > %s/args",
			 dir, dir);
		script("save", body);
	}
	script("fail", "exit 3");
	script("slow", "exec sleep 30");
	script("noread", "exit 0");
	{
		char body[512];

		snprintf(body, sizeof(body), "echo \"$ISOLA_TEST_HOOK_VAR\" > %s/env", dir);
		script("envcheck", body);
	}
	test_state_args_env();
	test_failures();
	test_long_timeout();
	test_no_read();
	test_env_inherited();
	rm_rf_at(AT_FDCWD, dir, &err);
	err_free(&err);
	return tap_done();
}
