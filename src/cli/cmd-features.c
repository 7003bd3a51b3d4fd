/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola features: what this runtime really supports (runtime-spec features.md). */
#include <stddef.h>
#include <string.h>
#include <stdio.h>

#include "caps.h"
#include "commands.h"
#include "cli.h"
#include "jsonutil.h"
#include "opt.h"

static const char features[] =
    "{\n"
    "  \"ociVersionMin\": \"1.0.0\",\n"
    "  \"ociVersionMax\": \"1.1.0\",\n"
    "  \"hooks\": [\"prestart\", \"createRuntime\", \"createContainer\", \"startContainer\",\n"
    "            \"poststart\", \"poststop\"],\n"
    "  \"mountOptions\": [\"async\", \"atime\", \"bind\", \"dev\", \"diratime\", \"dirsync\",\n"
    "    \"exec\", \"iversion\", \"lazytime\", \"loud\", \"mand\", \"noatime\", \"nodev\",\n"
    "    \"nodiratime\", \"noexec\", \"noiversion\", \"nolazytime\", \"nomand\", \"norelatime\",\n"
    "    \"nostrictatime\", \"nosuid\", \"nosymfollow\", \"private\", \"ratime\", \"rbind\",\n"
    "    \"rdev\", \"rdiratime\", \"relatime\", \"remount\", \"rexec\", \"rnodev\",\n"
    "    \"rnodiratime\", \"rnoexec\", \"rnosuid\", \"rnosymfollow\", \"ro\", \"rprivate\",\n"
    "    \"rro\", \"rrw\", \"rshared\", \"rslave\", \"rsuid\", \"rsymfollow\", \"runbindable\",\n"
    "    \"rw\", \"shared\", \"silent\", \"slave\", \"strictatime\", \"suid\", \"symfollow\",\n"
    "    \"sync\", \"tmpcopyup\", \"unbindable\"],\n"
    "  \"linux\": {\n"
    "    \"namespaces\": [\"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", \"time\", "
    "\"user\",\n"
    "                   \"uts\"],\n"
    "    \"capabilities\": [],\n"
    "    \"cgroup\": { \"v1\": true, \"v2\": true, \"systemd\": false, \"systemdUser\": false },\n"
    "    \"seccomp\": { \"enabled\": true },\n"
    "    \"apparmor\": { \"enabled\": false },\n"
    "    \"selinux\": { \"enabled\": false },\n"
    "    \"intelRdt\": { \"enabled\": false },\n"
    "    \"mountExtensions\": { \"idmap\": { \"enabled\": false } }\n"
    "  },\n"
    "  \"annotations\": { \"org.opencontainers.runc.checkpoint.enabled\": \"false\" }\n"
    "}\n";

int cmd_features(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_json_ json_t *j = NULL;
	json_t *lx;
	int code;

	if (cli_parse_none(argc, argv, &code))
		return code;
	if (optind != argc)
		return cli_usage_error(argv[0], "takes no arguments");
	/* The capability list is the running kernel's (cap_last_cap), by name. */
	j = json_loads(features, 0, NULL);
	lx = j ? json_object_get(j, "linux") : NULL;
	if (!lx || json_object_set_new(lx, "capabilities", ct_caps_known()) < 0 ||
	    json_dumpf(j, stdout, JSON_INDENT(2)) < 0)
		return cli_usage_error(argv[0], "out of memory");
	putchar('\n');
	return 0;
}
