/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The config.json that `isola spec` writes: runc's defaults, in our words. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "spec.h"

static const char example[] =
    "{\"ociVersion\":\"1.1.0\","
    "\"process\":{\"terminal\":true,\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],"
    "\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/"
    "bin\",\"TERM=xterm\"],"
    "\"cwd\":\"/\",\"capabilities\":{"
    "\"bounding\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"effective\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
    "\"permitted\":[\"CAP_AUDIT_WRITE\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"]},"
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
    "\"noNewPrivileges\":true},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"hostname\":\"isola\","
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    "\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
    "\"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\"%s]},"
    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
    "%s"
    "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]}],"
    "\"linux\":{%s"
    "\"maskedPaths\":[\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\","
    "\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\","
    "\"/sys/firmware\",\"/proc/scsi\"],"
    "\"readonlyPaths\":[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
    "\"/proc/sysrq-trigger\"],"
    "\"namespaces\":[{\"type\":\"pid\"},%s{\"type\":\"ipc\"},{\"type\":\"uts\"},"
    "{\"type\":\"mount\"},{\"type\":\"cgroup\"}%s]}}";

/* name found in $PATH (or /usr/bin:/bin) as an executable? */
static bool have_cmd(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/bin:/bin");
	char *save = NULL, p[4096];

	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
		if (snprintf(p, sizeof(p), "%s/%s", d, name) < (int)sizeof(p) &&
		    access(p, X_OK) == 0)
			return true;
	return false;
}

/* Root to the caller; then ids 1.. to its subordinate range when it has one and the helper. */
static void rootless_map(char *buf, size_t len, const char *key, const char *file,
			 const char *helper, const char *name, uint32_t own)
{
	uint32_t start, count;
	int n =
	    snprintf(buf, len, "\"%s\":[{\"containerID\":0,\"hostID\":%u,\"size\":1}", key, own);

	if (n > 0 && (size_t)n < len && have_cmd(helper) &&
	    ct_subid_range(file, name, own, &start, &count, NULL) > 0)
		n += snprintf(buf + n, len - n, ",{\"containerID\":1,\"hostID\":%u,\"size\":%u}",
			      start, count);
	if (n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, "],");
}

json_t *ct_spec_example(bool rootless)
{
	char buf[sizeof(example) + 1024], maps[512] = "", u[200] = "", g[200] = "";
	struct passwd *pw = rootless ? getpwuid(getuid()) : NULL;
	const char *name = pw ? pw->pw_name : NULL;

	/* Rootless: map root in the container to the caller, as runc does. */
	if (rootless) {
		rootless_map(u, sizeof(u), "uidMappings", "/etc/subuid", "newuidmap", name,
			     getuid());
		rootless_map(g, sizeof(g), "gidMappings", "/etc/subgid", "newgidmap", name,
			     getgid());
		snprintf(maps, sizeof(maps), "%s%s", u, g);
	}
	if (rootless)
		snprintf(buf, sizeof(buf), example, "",
			 "{\"destination\":\"/sys\",\"type\":\"none\",\"source\":\"/sys\","
			 "\"options\":[\"rbind\",\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},",
			 maps, "", ",{\"type\":\"user\"}");
	else
		snprintf(buf, sizeof(buf), example, ",\"gid=5\"",
			 "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
			 "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},",
			 "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},",
			 "{\"type\":\"network\"},", "");
	return json_loads(buf, 0, NULL);
}
