/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.json parsing: good input becomes typed data, bad input names the field. */
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "cleanup.h"
#include "err.h"
#include "jsonutil.h"
#include "spec.h"
#include "tap.h"

static struct ct_spec *parse(const char *text, struct err **err)
{
	json_t *j = json_loads(text, 0, NULL);
	struct ct_spec *s = NULL;

	if (!j)
		return NULL;
	if (ct_spec_parse(j, "config.json", &s, err) < 0)
		s = NULL;
	json_decref(j);
	return s;
}

#define BASE "\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"rootfs\"}"
#define PROC "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}"

/* The error for a config with `extra` spliced in must contain `want`. */
static void bad(const char *extra, const char *want)
{
	char buf[2048];
	struct err *err = NULL;
	struct ct_spec *s;

	snprintf(buf, sizeof(buf), "{" BASE ",%s}", extra);
	s = parse(buf, &err);
	ok(!s && err && strstr(err->msg, want), "rejects %s: %s", extra,
	   err ? err->msg : "(accepted)");
	ct_spec_free(s);
	err_free(&err);
}

static void test_example(void)
{
	json_t *j = ct_spec_example(false);
	struct ct_spec *s = NULL;
	struct err *err = NULL;

	ok(j != NULL, "the default spec is valid JSON");
	is_int(ct_spec_parse(j, "config.json", &s, &err), 0, "the default spec parses");
	ok(s && s->ns[CT_NS_PID].enabled && s->ns[CT_NS_NET].enabled && !s->ns[CT_NS_USER].enabled,
	   "default namespaces");
	ok(s && s->root_readonly && streq(s->root_path, "rootfs"), "root");
	ok(s && s->process.n_rlimits == 1 && s->process.rlimits[0].resource == RLIMIT_NOFILE,
	   "rlimits");
	ok(s && s->masked_paths && streq(s->masked_paths[0], "/proc/acpi"), "maskedPaths");
	ct_spec_free(s);
	json_decref(j);
	j = ct_spec_example(true);
	s = NULL;
	is_int(ct_spec_parse(j, "config.json", &s, &err), 0, "the rootless spec parses");
	ok(s && s->ns[CT_NS_USER].enabled && s->n_uid_maps == 1, "rootless has a user namespace");
	ct_spec_free(s);
	json_decref(j);
	err_free(&err);
}

static void test_mounts(void)
{
	struct err *err = NULL;
	struct ct_spec *s = parse("{" BASE ",\"mounts\":[{\"destination\":\"/d\",\"type\":\"bind\","
				  "\"source\":\"/s\",\"options\":[\"rbind\",\"ro\",\"nosuid\","
				  "\"rslave\",\"rro\",\"size=1m\",\"mode=755\"]}]}",
				  &err);

	ok(s != NULL, "mounts parse");
	if (!s)
		return;
	ok(s->mounts[0].flags == (MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID), "mount flags");
	ok(s->mounts[0].propagation == (MS_SLAVE | MS_REC), "propagation");
	ok(s->mounts[0].attr_set != 0, "recursive attributes");
	ok(s->mounts[0].data && streq(s->mounts[0].data, "size=1m,mode=755"), "data options");
	ok(s->rootfs_propagation == (MS_SLAVE | MS_REC), "default rootfsPropagation is rslave");
	ct_spec_free(s);
}

static void test_ids(void)
{
	char longid[CT_ID_MAX + 2];
	struct err *err = NULL;

	is_int(ct_id_validate("abc-1.2_x+y", &err), 0, "a good id");
	ok(ct_id_validate("../x", &err) < 0, "../x");
	err_free(&err);
	ok(ct_id_validate("", &err) < 0, "empty");
	err_free(&err);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	ok(ct_id_validate(longid, &err) < 0, "too long");
	err_free(&err);
	ok(ct_id_validate("a/b", &err) < 0, "slash");
	err_free(&err);
}

int main(void)
{
	test_example();
	test_mounts();
	test_ids();
	bad("\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}",
	    "linux.namespaces[0].type: unknown");
	bad("\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}", "duplicate");
	bad("\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}", "uidMappings: required");
	bad(PROC ",\"mounts\":[{\"destination\":\"rel\"}]", "mounts[0].destination");
	bad("\"process\":{\"cwd\":\"/\"}", "process.args: missing");
	bad("\"process\":{\"args\":[\"sh\"],\"cwd\":\"rel\"}", "process.cwd");
	bad("\"process\":{\"args\":[\"sh\"],\"cwd\":\"/"
	    "\",\"rlimits\":[{\"type\":\"RLIMIT_X\",\"soft\":1,"
	    "\"hard\":1}]}",
	    "process.rlimits[0].type: unknown rlimit");
	bad("\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"oomScoreAdj\":5000}", "oomScoreAdj");
	bad("\"linux\":{\"rootfsPropagation\":\"sideways\"}", "linux.rootfsPropagation");
	bad("\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\"}]}",
	    "linux.devices[0].type");
	bad("\"linux\":{\"sysctl\":{\"../x\":\"1\"}}", "linux.sysctl");
	bad("\"linux\":{\"namespaces\":[{\"type\":\"ipc\"}],"
	    "\"sysctl\":{\"kernel.printk_ratelimit\":\"1\"}}",
	    "sysctl.kernel.printk_ratelimit: not a namespaced sysctl");
	bad("\"linux\":{\"namespaces\":[{\"type\":\"ipc\"}],"
	    "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}",
	    "sysctl.net.ipv4.ip_forward: needs a network namespace");
	bad("\"linux\":{\"sysctl\":{\"kernel.shmmax\":\"1\"}}", "needs a ipc namespace");
	ok(ct_sysctl_namespace("fs.mqueue.msg_max") == CT_NS_IPC &&
	       ct_sysctl_namespace("kernel.domainname") == CT_NS_UTS &&
	       ct_sysctl_namespace("net.core.somaxconn") == CT_NS_NET &&
	       ct_sysctl_namespace("kernel.msg_next_idx") < 0 &&
	       ct_sysctl_namespace("vm.overcommit_memory") < 0,
	   "sysctl namespaces as runc's list");
	bad("\"mounts\":[{\"destination\":\"/x\",\"options\":[\"idmap\"]}]", "not supported yet");
	bad("\"hostname\":5", "hostname: expected");
	{
		struct err *err = NULL;
		struct ct_spec *s =
		    parse("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", &err);

		ok(!s && err && strstr(err->msg, "ociVersion"), "rejects ociVersion 2");
		err_free(&err);
	}
	return tap_done();
}
