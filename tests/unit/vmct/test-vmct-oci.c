/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which containers run in a VM (isola-vm, run.isola.vm*), against bad annotations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "err.h"
#include "oci.h"
#include "proto.h"
#include "seccomp.h"
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
	ok(!s.init, "no init unless asked");
	is_int(sel(true, "{\"run.isola.vm.init\": \"true\"}", &s, &msg), 0, "init=true");
	ok(s.init, "run.isola.vm.init=true: the agent's init");
	is_int(sel(true, "{\"run.isola.vm.init\": \"false\"}", &s, &msg), 0, "init=false");
	ok(!s.init, "run.isola.vm.init=false: the process is PID 1");
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
	refused(false, "{\"run.isola.vm.init\": \"1\"}", "run.isola.vm.init", "not true/false");
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

/* vmct_oci_load_process on a process object; the error text in *msg. */
static int load(const char *json, struct vmct_config *c, char **msg)
{
	json_t *p = json_loads(json, 0, NULL);
	struct err *err = NULL;
	int r;

	if (!p)
		return -1000;
	memset(c, 0, sizeof(*c));
	r = vmct_oci_load_process(p, c, &err);
	*msg = err ? strdup(err->msg) : NULL;
	if (*msg)
		printf("# refused: %s\n", *msg);
	err_free(&err);
	free(c->argv);
	free(c->env);
	json_decref(p);
	return r;
}

#define PROC(extra) "{\"args\": [\"x\"], \"cwd\": \"/\", \"env\": [], " extra "}"

/* config.json's privileges, as the agent will get them (protocol 3). */
static void test_privileges(void)
{
	struct vmct_config c;
	char *msg = NULL, *gids;
	size_t o;

	is_int(load(PROC("\"user\": {\"uid\": 1000, \"gid\": 1000, \"umask\": 63, "
			 "\"additionalGids\": [5, 4294967294]}, \"noNewPrivileges\": true, "
			 "\"oomScoreAdj\": -999, \"capabilities\": {\"bounding\": "
			 "[\"CAP_KILL\", \"CAP_CHOWN\"], \"ambient\": [\"CAP_KILL\"]}, "
			 "\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 10, "
			 "\"hard\": 20}, {\"type\": \"RLIMIT_CORE\", \"soft\": 0, "
			 "\"hard\": 9223372036854775807}], \"ioPriority\": {\"class\": "
			 "\"IOPRIO_CLASS_BE\", \"priority\": 6}"),
		    &c, &msg),
	       0, "a process with every privilege field");
	ok(c.has_caps && c.caps.bounding == ((1u << 5) | 1u) && c.caps.ambient == 1u << 5 &&
	       !c.caps.effective,
	   "capabilities by name into masks");
	ok(c.no_new_privs && c.n_groups == 2 && c.groups[1] == 4294967294u, "nnp, groups");
	ok(c.n_rlimits == 2 && c.rlimits[0].resource == 7 && c.rlimits[0].soft == 10 &&
	       c.rlimits[1].resource == 4 && c.rlimits[1].hard == INT64_MAX,
	   "rlimits: NOFILE 10/20, CORE 0/2^63-1");
	ok(c.has_umask && c.umask == 077 && c.has_oom && c.oom_score_adj == -999 &&
	       c.ioprio == (2 << 13 | 6),
	   "umask, oom, ioPriority");
	free(msg);

	is_int(load(PROC("\"user\": {\"uid\": 0, \"gid\": 0}"), &c, &msg), 0, "a bare process");
	ok(c.has_caps && !c.caps.bounding && !c.caps.effective && !c.caps.permitted &&
	       !c.caps.inheritable && !c.caps.ambient && !c.no_new_privs && !c.n_groups &&
	       !c.n_rlimits && !c.has_umask && !c.has_oom,
	   "no capabilities: empty sets, as a plain container's (crun's behaviour)");

	ok(load(PROC("\"user\": {\"uid\": 0, \"gid\": 0}, \"capabilities\": {\"bounding\": "
		     "[\"CAP_NOSUCH\"]}"),
		&c, &msg) < 0 &&
	       strstr(msg, "process.capabilities"),
	   "an unknown capability is named");
	free(msg);
	ok(load(PROC("\"user\": {\"uid\": 0, \"gid\": 0}, \"rlimits\": [{\"type\": "
		     "\"RLIMIT_NOFILE\", \"soft\": 2, \"hard\": 1}]"),
		&c, &msg) < 0 &&
	       strstr(msg, "process.rlimits[0]"),
	   "soft over hard is refused on the host");
	free(msg);
	ok(load(PROC("\"user\": {\"uid\": 0, \"gid\": 0}, \"apparmorProfile\": \"x\""), &c, &msg) <
		   0 &&
	       strstr(msg, "apparmorProfile"),
	   "what plain containers refuse, a VM container refuses");
	free(msg);

	/* 257 additional gids: more than the agent takes. */
	gids = malloc(300 * 12 + 128);
	o = (size_t)sprintf(gids, "{\"args\": [\"x\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, "
				  "\"gid\": 0, \"additionalGids\": [0");
	for (int i = 1; i < 257; i++)
		o += (size_t)sprintf(gids + o, ", %d", i);
	strcpy(gids + o, "]}}");
	ok(load(gids, &c, &msg) < 0 && strstr(msg, "more than 256"), "257 groups are refused");
	free(msg);
	free(gids);
}

/* process's own fields: one parser, one line naming the field, argv/env into the JSON. */
static void test_process(void)
{
	static const struct {
		const char *json, *field;
	} bad[] = {
	    {"{\"cwd\": \"/\"}", "process.args"},
	    {"{\"args\": [], \"cwd\": \"/\"}", "process.args"},
	    {"{\"args\": [\"x\", 7], \"cwd\": \"/\"}", "process.args[1]"},
	    {"{\"args\": [\"x\"]}", "process.cwd"},
	    {"{\"args\": [\"x\"], \"cwd\": \"rel\"}", "process.cwd"},
	    {"{\"args\": [\"x\"], \"cwd\": \"/\", \"env\": [\"A=1\", \"NOEQ\"]}", "process.env[1]"},
	    {"{\"args\": [\"x\"], \"cwd\": \"/\", \"env\": [null]}", "process.env[0]"},
	    {"{\"args\": [\"x\"], \"cwd\": \"/\", \"user\": {\"uid\": 4294967295, "
	     "\"gid\": 0}}",
	     "process.user.uid"},
	    {"{\"args\": [\"x\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": -1}}",
	     "process.user.gid"},
	    {"{\"args\": [\"x\"], \"cwd\": \"/\", \"terminal\": \"yes\"}", "process.terminal"},
	};
	struct vmct_config c;
	json_t *p = json_loads("{\"args\": [\"sh\", \"-c\", \"true\"], \"cwd\": \"/w\", "
			       "\"env\": [\"A=1\", \"B=\"], \"terminal\": true, \"user\": "
			       "{\"uid\": 4294967294, \"gid\": 7}}",
			       0, NULL);
	struct err *err = NULL;
	char *msg = NULL, *many;
	size_t o;

	memset(&c, 0, sizeof(c));
	is_int(vmct_oci_load_process(p, &c, &err), 0, "a process loads");
	ok(c.argv && c.argv[2] && !c.argv[3] && !strcmp(c.argv[1], "-c") &&
	       c.argv[0] == json_string_value(json_array_get(json_object_get(p, "args"), 0)),
	   "argv: the JSON's own strings, NULL-terminated");
	ok(c.env && !strcmp(c.env[1], "B=") && !c.env[2], "env");
	ok(c.tty && !strcmp(c.cwd, "/w") && c.uid == 4294967294u && c.gid == 7,
	   "terminal, cwd, uid 4294967294, gid");
	free(c.argv);
	free(c.env);
	json_decref(p);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ok(load(bad[i].json, &c, &msg) < 0 && msg && strstr(msg, bad[i].field),
		   "refused, naming %s", bad[i].field);
		free(msg);
	}

	/* VMCT_ARGS_MAX args: one more than the agent's frame takes (NULL last). */
	many = malloc(VMCT_ARGS_MAX * 5 + 64);
	o = (size_t)sprintf(many, "{\"cwd\": \"/\", \"args\": [\"x\"");
	for (unsigned i = 1; i < VMCT_ARGS_MAX; i++)
		o += (size_t)sprintf(many + o, ", \"x\"");
	strcpy(many + o, "]}");
	ok(load(many, &c, &msg) < 0 && msg && strstr(msg, "more than"), "%u args are refused",
	   VMCT_ARGS_MAX);
	free(msg);
	free(many);
}

/* linux.seccomp compiled on the host into the program the agent loads. */
static void test_seccomp(void)
{
	json_t *spec = json_loads(
	    "{\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
	    "\"syscalls\": [{\"names\": [\"chdir\"], \"action\": \"SCMP_ACT_ERRNO\"}]}}}",
	    0, NULL);
	struct vmct_config c = {};
	struct ct_seccomp *sc = NULL;
	struct err *err = NULL;
	int r = vmct_oci_load_seccomp(spec, &sc, &c, &err);

	if (r < 0 && err && strstr(err->msg, "libseccomp")) {
		skip("no libseccomp");
		skip("no libseccomp");
	} else {
		is_int(r, 0, "a filter compiles");
		ok(sc && c.seccomp && c.seccomp_len && c.seccomp_len % VMCT_BPF_INSN == 0 &&
		       c.seccomp_len / VMCT_BPF_INSN <= VMCT_BPF_MAX,
		   "whole BPF instructions (%u bytes)", c.seccomp_len);
	}
	err_free(&err);
	ct_seccomp_free(sc);
	json_decref(spec);
	spec = json_loads("{\"linux\": {}}", 0, NULL);
	c = (struct vmct_config){0};
	is_int(vmct_oci_load_seccomp(spec, &sc, &c, &err), 0, "no seccomp");
	ok(!sc && !c.seccomp, "no filter");
	json_decref(spec);
}

int main(void)
{
	test_process();
	test_privileges();
	test_seccomp();
	test_request();
	test_selection();
	test_bad();
	return tap_done();
}
