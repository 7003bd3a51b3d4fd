/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which of a network's plugins a run needs.  Each plugin execution costs milliseconds (a
 * Go binary starting, then one iptables execution per rule it checks, adds or deletes;
 * with the nf_tables backend a deletion waits ~10 ms for the kernel), and DEL costs more
 * than ADD (docs/performance.md).  Still, every plugin that runs is a Debian CNI plugin
 * run per the spec; here only the list shrinks, in the container's own copy of the
 * conflist, which is recorded before ADD so that DEL runs the same list:
 *
 * - portmap without published ports: its ADD would do nothing, its DEL looks for
 *   rules (iptables and ip6tables) that were never made.
 * - firewall as isola writes it ({"type": "firewall"}, iptables backend): it only adds
 *   ACCEPT rules for the container's addresses to FORWARD (through CNI-FORWARD).  When
 *   FORWARD's policy is ACCEPT and it holds no rule but CNI's own jump, those rules
 *   change nothing, and it is left out.  A host that drops forwarded packets (docker's
 *   FORWARD policy DROP, ufw, any rule of the admin's) keeps it; so does a conflist of
 *   the user's.  The check is made at each ADD: a policy set later applies to containers
 *   started later (as it does for podman's containers on a network without firewall).
 *
 * And the tools the plugins see: a chain of only bridge and portmap on a network without
 * an IPv6 subnet runs with PATH=<store>/net/tools4, which holds iptables but not ip6tables.
 * portmap's DEL otherwise looks for IPv6 rules it never made (8 ip6tables executions);
 * without ip6tables it knows there are none.  bridge touches ip6tables only for IPv6
 * addresses; firewall insists on both tools, so a chain with it keeps the full PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "jsonutil.h"
#include "net-internal.h"
#include "net.h"

#define SYS_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

bool net_find_tool(const char *name, char *buf, size_t size)
{
	char path[] = SYS_PATH, *save = NULL;

	for (char *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, size, "%s/%s", d, name);
		if (access(buf, X_OK) == 0)
			return true;
	}
	return false;
}

/* A rule of `iptables -S FORWARD` that firewall's rules would not change. */
static bool harmless_line(const char *l)
{
	const char *jump = strstr(l, " -j CNI-FORWARD");

	if (streq(l, "-P FORWARD ACCEPT"))
		return true;
	return !strncmp(l, "-A FORWARD ", 11) && jump && jump[15] == '\0';
}

/* Does every packet pass FORWARD (tool: iptables or ip6tables)?  Any doubt: no. */
static bool forward_accepts_all(const char *tool)
{
	char path[PATH_MAX];
	_cleanup_free_ char *out = NULL;
	char *env[] = {"PATH=" SYS_PATH, NULL}, *save = NULL;
	int status = -1;
	bool policy = false;

	if (!net_find_tool(tool, path, sizeof(path)) ||
	    net_spawn(path, (char *[]){(char *)tool, "-w", "-S", "FORWARD", NULL}, env, NULL, &out,
		      &status, NULL) < 0 ||
	    status != 0)
		return false;
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!harmless_line(l))
			return false;
		policy |= streq(l, "-P FORWARD ACCEPT");
	}
	return policy;
}

/* The conflist has an IPv6 range (then ip6tables' FORWARD counts too). */
static bool has_ipv6(json_t *conflist)
{
	json_t *p, *set, *r;
	size_t i, j, k;

	json_array_foreach (json_object_get(conflist, "plugins"), i, p)
		json_array_foreach (json_object_get(json_object_get(p, "ipam"), "ranges"), j, set)
			json_array_foreach (set, k, r) {
				const char *s = json_string_value(json_object_get(r, "subnet"));

				if (s && strchr(s, ':'))
					return true;
			}
	return false;
}

/* isola's firewall entry: nothing but the type (so the iptables backend, no options). */
static bool our_firewall(json_t *p)
{
	const char *t = json_string_value(json_object_get(p, "type"));

	return t && streq(t, "firewall") && json_object_size(p) == 1;
}

int net_plan_plugins(json_t *conflist, size_t n_ports, struct err **err)
{
	json_t *plugins = json_object_get(conflist, "plugins");
	int fw_needed = -1; /* not asked yet */

	if (!json_is_array(plugins))
		return err_make(err, 0, "network configuration: expected \"plugins\"");
	for (size_t i = json_array_size(plugins); i-- > 0;) {
		json_t *p = json_array_get(plugins, i);
		const char *t = json_string_value(json_object_get(p, "type"));
		bool drop = false;

		if (t && streq(t, "portmap"))
			drop = n_ports == 0;
		else if (our_firewall(p)) {
			if (fw_needed < 0)
				fw_needed =
				    !forward_accepts_all("iptables") ||
				    (has_ipv6(conflist) && !forward_accepts_all("ip6tables"));
			drop = !fw_needed;
		}
		/* The first plugin makes the interface: it always stays. */
		if (drop && i > 0 && json_array_remove(plugins, i) < 0)
			return err_make(err, ENOMEM, "network configuration");
	}
	return 0;
}

/* link -> target, replacing a link to anything else (the host's tools may have moved). */
static int link_to(const char *target, const char *link)
{
	char now[PATH_MAX], tmp[PATH_MAX + 16];
	ssize_t n = readlink(link, now, sizeof(now) - 1);

	if (n >= 0 && (size_t)n == strlen(target) && !memcmp(now, target, n))
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.%d", link, (int)getpid());
	unlink(tmp);
	if (symlink(target, tmp) < 0)
		return -errno;
	if (rename(tmp, link) < 0) {
		int e = errno;

		unlink(tmp);
		return -e;
	}
	return 0;
}

/* <store>/net/tools4: iptables (and its save/restore) without ip6tables. */
static int tools4(const char *store, char **ret, struct err **err)
{
	static const char *const names[] = {"iptables", "iptables-save", "iptables-restore"};
	_cleanup_free_ char *dir = NULL;
	char target[PATH_MAX], link[PATH_MAX];
	int r;

	if (asprintf(&dir, "%s/net/tools4", store) < 0)
		return err_make(err, ENOMEM, "tools");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_make(err, errno, "mkdir `%s`", dir);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!net_find_tool(names[i], target, sizeof(target)))
			continue; /* the plugin says what it misses */
		snprintf(link, sizeof(link), "%s/%s", dir, names[i]);
		r = link_to(target, link);
		if (r < 0)
			return err_make(err, -r, "symlink `%s`", link);
	}
	*ret = TAKE_PTR(dir);
	return 0;
}

int net_plan_tools(json_t *conflist, const char *store, char **ret, struct err **err)
{
	json_t *p;
	size_t i;

	*ret = NULL;
	if (has_ipv6(conflist))
		return 0;
	json_array_foreach (json_object_get(conflist, "plugins"), i, p) {
		const char *t = json_string_value(json_object_get(p, "type"));

		if (!t || (!streq(t, "bridge") && !streq(t, "portmap")))
			return 0;
	}
	return tools4(store, ret, err);
}

/*
 * portmap's SNAT for published ports (its default, "snat": true) sets route_localnet on the
 * interface that routes to the container, so that the host's own 127.0.0.1:PORT can be
 * DNATed out to it.  It adds no rule against the other direction: a container (CAP_NET_RAW
 * is in the default set) then reaches the host's loopback-only services by sending to
 * 127.0.0.1 through the bridge (CVE-2020-8558; CNI plugins issues 481 and 729).  The guard
 * is the rule kube-proxy installs: in INPUT, drop what comes to 127/8 from elsewhere unless
 * it belongs to a connection the host made or a DNAT.  One rule for every interface (so
 * for user conflists too), made before the first ADD that needs it and kept, as portmap
 * keeps its CNI-HOSTPORT-* chains.
 */
#define GUARD_RULE                                                                              \
	"!", "-s", "127.0.0.0/8", "-d", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate",     \
	    "RELATED,ESTABLISHED,DNAT", "-m", "comment", "--comment", NET_LOCALNET_GUARD, "-j", \
	    "DROP", NULL

static bool portmap_snats(json_t *conflist)
{
	json_t *p;
	size_t i;

	json_array_foreach (json_object_get(conflist, "plugins"), i, p) {
		const char *t = json_string_value(json_object_get(p, "type"));

		if (t && streq(t, "portmap") && !json_is_false(json_object_get(p, "snat")))
			return true;
	}
	return false;
}

int net_guard_localnet(json_t *conflist, struct err **err)
{
	char path[PATH_MAX];
	char *env[] = {"PATH=" SYS_PATH, NULL};
	_cleanup_free_ char *out = NULL, *out2 = NULL;
	int status = -1, r;

	if (!portmap_snats(conflist))
		return 0;
	if (!net_find_tool("iptables", path, sizeof(path)))
		return err_make(err, ENOENT,
				"-p needs iptables (to guard 127.0.0.1 against containers)");
	r = net_spawn(path, (char *[]){"iptables", "-w", "-C", "INPUT", GUARD_RULE}, env, NULL,
		      &out, &status, err);
	if (r < 0 || status == 0)
		return r;
	r = net_spawn(path, (char *[]){"iptables", "-w", "-I", "INPUT", "1", GUARD_RULE}, env, NULL,
		      &out2, &status, err);
	if (r < 0)
		return r;
	if (status != 0)
		return err_make(err, 0,
				"iptables: cannot add the rule that keeps containers off the "
				"host's 127.0.0.1 (exit %d)",
				status);
	return 0;
}
