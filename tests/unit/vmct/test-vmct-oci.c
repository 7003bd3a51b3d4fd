/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which containers run in a VM (isola-vm, run.isola.vm*), against bad annotations. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "oci.h"
#include "tap.h"

/* The last annotations parsed: the selection's strings point into them. */
static json_t *last;

/* vmct_oci_select on @json (an annotations object); the error text in *msg. */
static int sel(bool by_name, const char *json, struct vmct_oci_sel *s, char **msg)
{
	json_t *a = json_loads(json, JSON_ALLOW_NUL, NULL);
	struct err *err = NULL;
	int r;

	if (!a)
		return -1000;
	r = vmct_oci_select(by_name, a, s, &err);
	*msg = err ? strdup(err->msg) : NULL;
	if (*msg)
		printf("# refused: %s\n", *msg);
	err_free(&err);
	json_decref(last);
	last = a;
	return r;
}

static void test_selection(void)
{
	struct vmct_oci_sel s;
	char *msg = NULL;

	is_int(sel(false, "{}", &s, &msg), 0, "no annotations");
	ok(!s.vm, "plain isola, no annotation: no VM");
	is_int(sel(true, "{}", &s, &msg), 0, "isola-vm, no annotations");
	ok(s.vm, "isola-vm: a VM");
	sel(false, "{\"run.isola.vm\": \"true\", \"other\": \"x\"}", &s, &msg);
	ok(s.vm, "run.isola.vm=true: a VM; other annotations ignored");
	sel(false, "{\"run.isola.vm\": \"false\"}", &s, &msg);
	ok(!s.vm, "run.isola.vm=false: no VM");
	is_int(sel(false,
		   "{\"run.isola.vm\": \"true\", \"run.isola.vm.memory\": \"512M\", "
		   "\"run.isola.vm.cpus\": \"2\", \"run.isola.vm.kernel\": \"/k/vmlinuz\", "
		   "\"run.isola.vm.modules\": \"/k/mod\"}",
		   &s, &msg),
	       0, "all settings");
	ok(s.memory == 512ull << 20 && s.cpus == 2 && !strcmp(s.kernel, "/k/vmlinuz") &&
	       !strcmp(s.modules, "/k/mod"),
	   "memory, cpus, kernel, modules read");
	is_int(sel(false, "{\"run.isola.vmx\": \"true\"}", &s, &msg), 0,
	       "run.isola.vmx is not ours");
	ok(!s.vm, "and asks for nothing");
}

static void refused(bool by_name, const char *json, const char *name, const char *what)
{
	struct vmct_oci_sel s;
	char *msg = NULL;
	int r = sel(by_name, json, &s, &msg);

	ok(r < 0 && msg && strstr(msg, name) && !strchr(msg, '\n'),
	   "refused in one line naming `%s`: %s", name, what);
	free(msg);
}

static void test_bad(void)
{
	refused(false, "{\"run.isola.vm\": \"yes\"}", "run.isola.vm", "not true/false");
	refused(false, "{\"run.isola.vm\": true}", "run.isola.vm", "not a string");
	refused(true, "{\"run.isola.vm\": \"false\"}", "run.isola.vm",
		"isola-vm cannot be turned off by the bundle");
	refused(false, "{\"run.isola.vm.memory\": \"lots\"}", "run.isola.vm.memory", "junk");
	refused(false, "{\"run.isola.vm.memory\": \"1M\"}", "run.isola.vm.memory", "under 64M");
	refused(false, "{\"run.isola.vm.memory\": \"999999T\"}", "run.isola.vm.memory",
		"over the cap");
	refused(false, "{\"run.isola.vm.cpus\": \"0\"}", "run.isola.vm.cpus", "0 cpus");
	refused(false, "{\"run.isola.vm.cpus\": \"65\"}", "run.isola.vm.cpus", "65 cpus");
	refused(false, "{\"run.isola.vm.cpus\": \"-1\"}", "run.isola.vm.cpus", "negative");
	refused(false, "{\"run.isola.vm.cpus\": \"2x\"}", "run.isola.vm.cpus", "junk after");
	refused(false, "{\"run.isola.vm.kernel\": \"vmlinuz\"}", "run.isola.vm.kernel",
		"relative path");
	refused(false, "{\"run.isola.vm.kernel\": \"/a\\u0000b\"}", "run.isola.vm.kernel",
		"a NUL in the path");
	refused(false, "{\"run.isola.vm.modules\": \"\"}", "run.isola.vm.modules", "empty");
	refused(false, "{\"run.isola.vm.initrd\": \"/x\"}", "run.isola.vm.initrd", "unknown key");
}

/* read_line BYTES LEN: what vmct_read_request makes of them (then EOF), in buf. */
static int read_line(const char *bytes, size_t len, char *buf, size_t cap)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (write(sv[1], bytes, len) != (ssize_t)len)
		r = -errno;
	else {
		close(sv[1]);
		sv[1] = -1;
		r = vmct_read_request(sv[0], buf, cap);
	}
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return r;
}

/* ctl.sock requests: a hostile client gets an error, never a crash. */
static void test_request(void)
{
	char buf[16];

	is_int(read_line("start\n", 6, buf, sizeof(buf)), 0, "a request line");
	ok(strcmp(buf, "start") == 0, "is read without its newline");
	/* A NUL before the newline: strchr would miss the '\n' memchr found. */
	is_int(read_line("\0start\n", 7, buf, sizeof(buf)), 0, "a line with a NUL first");
	ok(buf[0] == 0, "reads as the empty request");
	is_int(read_line("sta", 3, buf, sizeof(buf)), -EIO, "EOF before the newline");
	is_int(read_line("0123456789abcdefXYZ\n", 20, buf, sizeof(buf)), -EMSGSIZE,
	       "a line longer than the buffer");
}

int main(void)
{
	test_request();
	test_selection();
	test_bad();
	return tap_done();
}
