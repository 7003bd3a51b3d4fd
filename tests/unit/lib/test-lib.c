/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of src/lib: errors, number parsing, JSON field errors, files. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "err.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "parse.h"
#include "strv.h"
#include "tap.h"

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
	mkdirat(dfd, "a", 0700);
	mkdirat(dfd, "a/b", 0700);
	close(openat(dfd, "a/b/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	ok(symlinkat("/etc", dfd, "a/link") == 0, "symlink");
	ok(rm_rf_at(AT_FDCWD, dir, &e) == 0, "rm_rf");
	ok(!path_exists(dir), "tree removed");
	ok(access("/etc/passwd", F_OK) == 0, "symlink target untouched");
}

static void test_strv(void)
{
	_cleanup_strv_ char **v = NULL;

	strv_push(&v, "a");
	strv_push(&v, "b");
	is_int(strv_length(v), 2, "strv push/length");
	ok(streq(v[1], "b") && v[2] == NULL, "strv terminated");
}

int main(void)
{
	test_err();
	test_parse();
	test_json();
	test_files();
	test_strv();
	return tap_done();
}
