/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Networks: one conflist per network under <store>/networks.  Each is a bridge with NAT to
 * the outside and the bridge as the containers' gateway, addresses from host-local, then
 * portmap (published ports) and firewall (lets the container's traffic through FORWARD).
 * host-local's dataDir is not in the file: it is set to <store>/net/ipam when used.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "net.h"
#include "strv.h"

#define CONFLIST_MAX (1u << 20)

static bool chars_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_.-", *s)))
			return false;
	return true;
}

bool net_name_valid(const char *name)
{
	return chars_ok(name, 32);
}

int net_cidr_parse(const char *s, uint32_t *ret_addr, unsigned *ret_prefix)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	char *end;
	unsigned long p;

	if (!slash || (size_t)(slash - s) >= sizeof(buf) || !slash[1])
		return -EINVAL;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (errno || *end || p < 8 || p > 30 || slash[1] == '+' || slash[1] == '-')
		return -EINVAL;
	if (ntohl(a.s_addr) & ~(0xffffffffu << (32 - p)))
		return -EINVAL;
	*ret_addr = ntohl(a.s_addr);
	*ret_prefix = p;
	return 0;
}

/* An IPv4 or IPv6 subnet: family, address (16 bytes, IPv4 in the first 4), prefix. */
struct subnet {
	int family;
	uint8_t addr[16];
	unsigned prefix;
};

int net_cidr6_parse(const char *s, uint8_t ret_addr[16], unsigned *ret_prefix)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	uint8_t a[16];
	char *end;
	unsigned long p;

	if (!slash || (size_t)(slash - s) >= sizeof(buf) || !slash[1])
		return -EINVAL;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (inet_pton(AF_INET6, buf, a) != 1)
		return -EINVAL;
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (errno || *end || p < 8 || p > 120 || slash[1] == '+' || slash[1] == '-')
		return -EINVAL;
	for (unsigned bit = p; bit < 128; bit++)
		if (a[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL;
	memcpy(ret_addr, a, 16);
	*ret_prefix = p;
	return 0;
}

static int subnet_parse(const char *s, struct subnet *ret)
{
	uint32_t a4;

	*ret = (struct subnet){.family = AF_INET6};
	if (strchr(s, ':'))
		return net_cidr6_parse(s, ret->addr, &ret->prefix);
	ret->family = AF_INET;
	if (net_cidr_parse(s, &a4, &ret->prefix) < 0)
		return -EINVAL;
	a4 = htonl(a4);
	memcpy(ret->addr, &a4, 4);
	return 0;
}

static bool overlaps(const struct subnet *a, const struct subnet *b)
{
	unsigned p = a->prefix < b->prefix ? a->prefix : b->prefix;

	if (a->family != b->family)
		return false;
	for (unsigned bit = 0; bit < p; bit++)
		if ((a->addr[bit / 8] ^ b->addr[bit / 8]) & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static char *conflist_path(const char *store, const char *name)
{
	char *p = NULL;

	return asprintf(&p, "%s/networks/%s.conflist", store, name) < 0 ? NULL : p;
}

/* Bridge + host-local (one range set per family) + portmap + firewall. */
static json_t *make_conflist(const char *name, char **subnets, const char *bridge)
{
	json_t *ranges = json_array(), *routes = json_array(), *c;

	for (size_t i = 0; subnets[i]; i++) {
		json_array_append_new(ranges, json_pack("[{s:s}]", "subnet", subnets[i]));
		json_array_append_new(
		    routes,
		    json_pack("{s:s}", "dst", strchr(subnets[i], ':') ? "::/0" : "0.0.0.0/0"));
	}
	c = json_pack("{s:s, s:s, s:[{s:s, s:s, s:b, s:b, s:b, s:{s:s, s:o, s:o}},"
		      " {s:s, s:{s:b}}, {s:s}]}",
		      "cniVersion", "1.0.0", "name", name, "plugins", "type", "bridge", "bridge",
		      bridge, "isGateway", 1, "ipMasq", 1, "hairpinMode", 1, "ipam", "type",
		      "host-local", "ranges", ranges, "routes", routes, "type", "portmap",
		      "capabilities", "portMappings", 1, "type", "firewall");
	/* Not passed to the plugins (cni.c gives each its object, name and cniVersion). */
	if (c && json_object_set_new(c, "isola", json_pack("{s:b}", "ownsBridge", 1)) < 0)
		json_decref(TAKE_PTR(c));
	return c;
}

/*
 * May rm and prune delete this network's bridge?  Only if isola made it: create refuses
 * a name that is an interface already and then marks the conflist ("isola":
 * {"ownsBridge": true}); the bridge plugin makes the bridge on the first ADD (and again
 * after a reboot) under that name.  A conflist of an older isola (no marker) counts only
 * for isola's own names: isola0 of the default network, isl-NAME of network NAME.
 */
static bool bridge_claimed(json_t *c, const char *name, const char *br)
{
	json_t *mark = json_object_get(c, "isola");

	if (mark)
		return json_is_true(json_object_get(mark, "ownsBridge"));
	if (streq(name, NET_DEFAULT_NAME))
		return streq(br, NET_DEFAULT_BRIDGE);
	return strncmp(br, "isl-", 4) == 0 && streq(br + 4, name);
}

/* The bridge and subnets (a new array) of a conflist we wrote (NULL for anything else). */
static void conflist_facts(json_t *c, const char **ret_bridge, json_t **ret_subnets)
{
	json_t *br = json_array_get(json_object_get(c, "plugins"), 0), *ranges, *set;
	size_t i;

	ranges = json_object_get(json_object_get(br, "ipam"), "ranges");
	*ret_bridge = json_string_value(json_object_get(br, "bridge"));
	*ret_subnets = json_array();
	json_array_foreach (ranges, i, set) {
		json_t *sub = json_object_get(json_array_get(set, 0), "subnet");

		if (json_is_string(sub))
			json_array_append(*ret_subnets, sub);
	}
}

/* A new network must not share a subnet or a bridge with one we have. */
static int check_clash(const char *store, const char *name, const struct subnet *mine,
		       char **subnets, const char *bridge, struct err **err)
{
	_cleanup_json_ json_t *list = NULL;
	json_t *n, *sub;
	size_t i, j;
	int r;

	r = net_network_list(store, &list, err);
	if (r < 0)
		return r;
	json_array_foreach (list, i, n) {
		const char *other = json_string_value(json_object_get(n, "name"));
		const char *br = json_string_value(json_object_get(n, "bridge"));

		if (streq(other, name))
			return err_make(err, EEXIST, "network `%s` exists", name);
		if (br && streq(br, bridge))
			return err_make(err, 0, "bridge `%s` is used by network `%s`", bridge,
					other);
		json_array_foreach (json_object_get(n, "subnets"), j, sub) {
			struct subnet o;

			for (size_t k = 0; subnets[k]; k++)
				if (subnet_parse(json_string_value(sub), &o) == 0 &&
				    overlaps(&o, &mine[k]))
					return err_make(err, 0,
							"subnet %s overlaps network `%s` (%s)",
							subnets[k], other, json_string_value(sub));
		}
	}
	return 0;
}

/* At most one IPv4 and one IPv6 subnet; IPv6 only with ipv6 (set by an IPv6 subnet). */
static int check_subnets(char **subnets, bool *ipv6, struct subnet *ret, struct err **err)
{
	size_t n4 = 0, n6 = 0, i;

	for (i = 0; subnets && subnets[i]; i++) {
		if (i >= 2)
			return err_make(err, 0, "--subnet: at most one IPv4 and one IPv6 subnet");
		if (subnet_parse(subnets[i], &ret[i]) < 0)
			return err_make(err, 0,
					"--subnet `%s`: expected an IPv4 network A.B.C.D/8..30 or "
					"an IPv6 network X::/8..120",
					subnets[i]);
		ret[i].family == AF_INET ? n4++ : n6++;
	}
	if (i == 0)
		return err_make(err, 0, "--subnet: required");
	if (n4 > 1 || n6 > 1)
		return err_make(err, 0, "--subnet: at most one IPv4 and one IPv6 subnet");
	if (*ipv6 && !n6)
		return err_make(err, 0, "--ipv6: give an IPv6 --subnet (for example fd00:1::/64)");
	*ipv6 = n6 > 0;
	return 0;
}

int net_network_create(const char *store, const char *name, char **subnets, bool ipv6,
		       const char *bridge, struct err **err)
{
	_cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL, *br = NULL;
	_cleanup_json_ json_t *c = NULL;
	_cleanup_close_ int dfd = -1;
	struct subnet parsed[2];
	int r;

	if (!net_name_valid(name))
		return err_make(err, 0, "network name `%s`: use [A-Za-z0-9_.-], at most 32", name);
	if (!bridge && asprintf(&br, "isl-%s", name) < 0)
		return err_make(err, ENOMEM, "bridge name");
	bridge = bridge ? bridge : br;
	if (!chars_ok(bridge, 15))
		return err_make(err, 0,
				"bridge name `%s`: at most 15 of [A-Za-z0-9_.-] "
				"(choose one with --interface-name)",
				bridge);
	r = check_subnets(subnets, &ipv6, parsed, err);
	if (r >= 0)
		r = check_clash(store, name, parsed, subnets, bridge, err);
	if (r < 0)
		return r;
	/* isola0 is ours whichever store made it: every store's default network shares it. */
	if (!(streq(name, NET_DEFAULT_NAME) && streq(bridge, NET_DEFAULT_BRIDGE)) &&
	    net_iface_exists(bridge))
		return err_make(err, 0,
				"--interface-name: interface `%s` exists; give a name no interface "
				"has (isola makes the bridge)",
				bridge);
	c = make_conflist(name, subnets, bridge);
	text = json_dumps(c, JSON_INDENT(2));
	if (!c || !text || asprintf(&dir, "%s/networks", store) < 0)
		return err_make(err, ENOMEM, "network `%s`", name);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_make(err, errno, "mkdir `%s`", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || asprintf(&path, "%s.conflist", name) < 0)
		return err_make(err, errno, "open `%s`", dir);
	return write_file_atomic_at(dfd, path, text, strlen(text), 0644, err);
}

int net_network_load(const char *store, const char *name, json_t **ret, struct err **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *c = NULL;
	int r;

	if (!net_name_valid(name))
		return err_make(err, 0, "network name `%s`: invalid", name);
	path = conflist_path(store, name);
	if (!path)
		return err_make(err, ENOMEM, "network");
	if (!path_exists(path)) {
		if (!streq(name, NET_DEFAULT_NAME))
			return err_make(err, ENOENT,
					"network `%s` not found in %s/networks; create it with "
					"'isola network create %s --subnet CIDR'",
					name, store, name);
		char *def[] = {NET_DEFAULT_SUBNET, NULL};

		r = net_network_create(store, name, def, false, NET_DEFAULT_BRIDGE, err);
		if (r < 0 && r != -EEXIST)
			return err_wrap(err, "the default network");
	}
	r = json_load_file_capped(AT_FDCWD, path, CONFLIST_MAX, &c, err);
	if (r < 0)
		return r;
	if (!json_is_array(json_object_get(c, "plugins")) ||
	    !json_is_string(json_object_get(c, "name")))
		return err_make(err, 0, "%s: expected a conflist (\"name\", \"plugins\")", path);
	*ret = TAKE_PTR(c);
	return 0;
}

int net_network_list(const char *store, json_t **ret, struct err **err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_json_ json_t *out = json_array();
	struct dirent *de;

	if (!out || asprintf(&dir, "%s/networks", store) < 0)
		return err_make(err, ENOMEM, "networks");
	d = opendir(dir);
	if (!d && errno != ENOENT)
		return err_make(err, errno, "open `%s`", dir);
	while (d && (de = readdir(d))) {
		_cleanup_json_ json_t *c = NULL;
		const char *br, *dot = strrchr(de->d_name, '.');
		json_t *subs;

		if (de->d_name[0] == '.' || !dot || !streq(dot, ".conflist"))
			continue;
		if (json_load_file_capped(dirfd(d), de->d_name, CONFLIST_MAX, &c, NULL) < 0)
			continue;
		conflist_facts(c, &br, &subs);
		json_array_append_new(
		    out, json_pack("{s:s%, s:s?, s:s?, s:o}", "name", de->d_name,
				   (size_t)(dot - de->d_name), "bridge", br, "subnet",
				   json_string_value(json_array_get(subs, 0)), "subnets", subs));
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/*
 * Delete the network's bridge (the bridge plugin makes it and never deletes it) if it is a
 * bridge isola made; anything else is left alone, untouched, and ret_note says so.
 */
static int remove_bridge(const char *path, const char *name, char **ret_note, struct err **err)
{
	_cleanup_json_ json_t *c = NULL, *subs = NULL;
	const char *br, *why = NULL;

	if (!path_exists(path))
		return err_make(err, ENOENT, "network `%s`: no such network", name);
	if (json_load_file_capped(AT_FDCWD, path, CONFLIST_MAX, &c, NULL) < 0)
		return 0;
	conflist_facts(c, &br, &subs);
	if (!br || !chars_ok(br, 15) || !net_iface_exists(br))
		return 0;
	if (!net_iface_is_bridge(br))
		why = "is not a bridge";
	else if (!bridge_claimed(c, name, br))
		why = "is a bridge isola did not make";
	if (!why)
		return net_bridge_delete(br, err);
	if (ret_note &&
	    asprintf(ret_note, "network `%s`: interface `%s` %s; left alone", name, br, why) < 0)
		*ret_note = NULL;
	return 0;
}

int net_network_remove(const char *store, const char *name, char **ret_note, struct err **err)
{
	_cleanup_strv_ char **ids = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	if (!net_name_valid(name))
		return err_make(err, 0, "network name `%s`: invalid", name);
	r = net_state_ids(store, &ids, err);
	if (r < 0)
		return r;
	for (size_t i = 0; ids && ids[i]; i++) {
		_cleanup_json_ json_t *st = NULL;
		const char *n;

		if (net_state_load(store, ids[i], &st, NULL) < 0 || !st)
			continue;
		n = json_string_value(json_object_get(st, "network"));
		if (n && streq(n, name))
			return err_make(err, EBUSY, "network `%s` is used by container `%s`", name,
					ids[i]);
	}
	path = conflist_path(store, name);
	if (!path)
		return err_make(err, ENOMEM, "network");
	r = remove_bridge(path, name, ret_note, err);
	if (r < 0)
		return r;
	if (unlink(path) < 0)
		return err_make(err, errno,
				errno == ENOENT ? "network `%s`: no such network" : "remove `%s`",
				errno == ENOENT ? name : path);
	net_dns_forget(store, name);
	return 0;
}
