/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The config.json that `isola spec` writes: runc's defaults, in our words. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

json_t *ct_spec_example(bool rootless)
{
	char buf[sizeof(example) + 1024], maps[256];

	/* Rootless: map root in the container to the caller, as runc does. */
	snprintf(maps, sizeof(maps),
		 "\"uidMappings\":[{\"containerID\":0,\"hostID\":%u,\"size\":1}],"
		 "\"gidMappings\":[{\"containerID\":0,\"hostID\":%u,\"size\":1}],",
		 getuid(), getgid());
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
