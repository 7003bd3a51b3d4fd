/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "tap.h"

static json_t *load(const char *s)
{
	return json_loads(s, 0, NULL);
}

static void test_parse(void)
{
	_cleanup_json_ json_t *j = load("{\"bounding\":[\"CAP_CHOWN\",\"CAP_NET_RAW\"],"
					"\"effective\":[\"CAP_KILL\"],\"permitted\":[],"
					"\"ambient\":[\"CAP_SYS_ADMIN\"]}");
	_cleanup_json_ json_t *bad =
	    load("{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_NOPE\"]}");
	_cleanup_json_ json_t *badtype = load("{\"effective\":[\"CAP_CHOWN\", 3]}");
	struct err *err = NULL;
	struct ct_caps c;

	is_int(ct_caps_parse(j, "process.capabilities", &c, &err), 0, "parse five sets");
	ok(c.bounding == ((1ULL << CAP_CHOWN) | (1ULL << CAP_NET_RAW)), "bounding mask");
	ok(c.effective == (1ULL << CAP_KILL), "effective mask");
	ok(c.permitted == 0 && c.inheritable == 0, "empty and missing sets are empty");
	ok(c.ambient == (1ULL << CAP_SYS_ADMIN), "ambient mask");

	ok(ct_caps_parse(bad, "process.capabilities", &c, &err) < 0, "unknown name fails");
	ok(err && strcmp(err->msg, "process.capabilities.bounding[2]: unknown capability "
				   "\"CAP_NOPE\"") == 0,
	   "error names the field: %s", err ? err->msg : "(none)");
	err_free(&err);
	ok(ct_caps_parse(badtype, "process.capabilities", &c, &err) < 0, "non-string fails");
	ok(err && strstr(err->msg, "process.capabilities.effective[1]"), "names the index");
	err_free(&err);
	is_int(ct_caps_parse(NULL, "process.capabilities", &c, &err), 0, "NULL object");
	ok(c.bounding == 0 && c.ambient == 0, "NULL gives empty sets");
}

/* Read "Key:\t<hex>" from /proc/self/status. */
static unsigned long long status_mask(const char *key)
{
	char line[256];
	unsigned long long v = ~0ULL;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			sscanf(line + strlen(key), " %llx", &v);
	fclose(f);
	return v;
}

static void test_apply(void)
{
	struct ct_caps c = {};
	int status = -1;
	pid_t pid;

	if (geteuid() != 0) {
		skip("not root");
		return;
	}
	c.bounding = (1ULL << CAP_CHOWN) | (1ULL << CAP_KILL) | (1ULL << CAP_SETPCAP);
	c.permitted = c.bounding;
	c.effective = 1ULL << CAP_KILL;
	c.inheritable = 1ULL << CAP_KILL;
	c.ambient = 1ULL << CAP_KILL;
	pid = fork();
	if (pid == 0) {
		struct err *err = NULL;
		int code = 0;

		if (ct_caps_drop_bounding(&c, &err) < 0 || ct_caps_apply(&c, &err) < 0)
			_exit(10);
		if (status_mask("CapBnd:") != c.bounding)
			code |= 1;
		if (status_mask("CapEff:") != c.effective)
			code |= 2;
		if (status_mask("CapPrm:") != c.permitted)
			code |= 4;
		if (status_mask("CapAmb:") != c.ambient)
			code |= 8;
		if (prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) != 0)
			code |= 16;
		_exit(code);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status), "child exited");
	is_int(WEXITSTATUS(status), 0,
	       "child sees CapBnd/CapEff/CapPrm/CapAmb as set, NET_RAW gone");
}

/* libcap's names: every capability up to CAP_LAST_CAP, any case, "CAP_" required. */
static void test_names(void)
{
	_cleanup_json_ json_t *known = ct_caps_known();
	_cleanup_json_ json_t *lower = load("{\"bounding\":[\"cap_checkpoint_restore\","
					    "\"Cap_Bpf\",\"CAP_CHOWN\"]}");
	_cleanup_json_ json_t *noprefix = load("{\"bounding\":[\"chown\"]}");
	_cleanup_json_ json_t *number = load("{\"bounding\":[\"12\"]}");
	struct err *err = NULL;
	struct ct_caps c;
	bool all = known != NULL;

	for (size_t i = 0; known && i < json_array_size(known); i++) {
		char buf[128];
		_cleanup_json_ json_t *one = NULL;

		snprintf(buf, sizeof(buf), "{\"bounding\":[\"%s\"]}",
			 json_string_value(json_array_get(known, i)));
		one = load(buf);
		all = all && ct_caps_parse(one, "p", &c, &err) == 0 && c.bounding == 1ULL << i;
		err_free(&err);
	}
	ok(all && json_array_size(known) > CAP_SYS_ADMIN,
	   "every known name (0..%zu) parses to its own number", json_array_size(known) - 1);
	ok(streq(json_string_value(json_array_get(known, CAP_SYS_ADMIN)), "CAP_SYS_ADMIN"),
	   "CAP_SYS_ADMIN is number 21");
	is_int(ct_caps_parse(lower, "p", &c, &err), 0, "names in any case");
	ok(c.bounding == ((1ULL << CAP_CHECKPOINT_RESTORE) | (1ULL << CAP_BPF) | 1ULL),
	   "lower-case names give their numbers");
	ok(ct_caps_parse(noprefix, "p", &c, &err) < 0, "a name without CAP_ fails");
	err_free(&err);
	ok(ct_caps_parse(number, "p", &c, &err) < 0, "a number is not a name");
	err_free(&err);
}

/* The one name check run --cap-add and isola-vm's exec --cap use too. */
static void test_from_name(void)
{
	is_int(ct_cap_from_name("CAP_CHOWN"), CAP_CHOWN, "CAP_CHOWN");
	is_int(ct_cap_from_name("cap_net_admin"), CAP_NET_ADMIN, "any case");
	is_int(ct_cap_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN, "CAP_SYS_ADMIN");
	is_int(ct_cap_from_name("CHOWN"), -1, "the CAP_ prefix is needed");
	is_int(ct_cap_from_name("CAP_NOPE"), -1, "an unknown name");
	is_int(ct_cap_from_name("CAP_"), -1, "the prefix alone");
	is_int(ct_cap_from_name(""), -1, "an empty name");
	/* libcap alone takes each of these for CAP_CHOWN. */
	is_int(ct_cap_from_name("CAP_CHOWN "), -1, "a trailing space");
	is_int(ct_cap_from_name("CAP_CHOWN,CAP_KILL"), -1, "a list is not a name");
	is_int(ct_cap_from_name("cap_chown+ep"), -1, "a cap_from_text clause is not a name");
}

int main(void)
{
	test_parse();
	test_from_name();
	test_names();
	test_apply();
	return tap_done();
}
