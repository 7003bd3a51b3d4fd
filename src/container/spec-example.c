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

/* Root to the caller; then ids 1.. to its subordinate range (ct_rootless_idmap()). */
static void rootless_map(char *buf, size_t len, const char *key, bool gid)
{
	struct ct_idmap m[2];
	size_t n = ct_rootless_idmap(gid, m);
	int o = snprintf(buf, len, "\"%s\":[", key);

	for (size_t i = 0; i < n && o > 0 && (size_t)o < len; i++)
		o += snprintf(buf + o, len - o, "%s{\"containerID\":%u,\"hostID\":%u,\"size\":%u}",
			      i ? "," : "", m[i].container_id, m[i].host_id, m[i].size);
	if (o > 0 && (size_t)o < len)
		snprintf(buf + o, len - o, "],");
}

json_t *ct_spec_example(bool rootless)
{
	char buf[sizeof(example) + 1024], maps[512] = "", u[200] = "", g[200] = "";

	/* Rootless: map root in the container to the caller, as runc does. */
	if (rootless) {
		rootless_map(u, sizeof(u), "uidMappings", false);
		rootless_map(g, sizeof(g), "gidMappings", true);
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
