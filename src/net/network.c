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
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "net-internal.h"
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

/*
 * A prefix length, as the CNI plugins will read it again: decimal digits only (no space,
 * sign or leading zero, which strtoul would let by), from min to max.
 */
static int prefix_parse(const char *s, unsigned min, unsigned max, unsigned *ret)
{
	size_t n = strspn(s, "0123456789");
	unsigned v = 0;

	if (n == 0 || n > 3 || s[n] || (s[0] == '0' && n > 1))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int net_cidr_parse(const char *s, uint32_t *ret_addr, unsigned *ret_prefix)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	unsigned p;

	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1 || prefix_parse(slash + 1, 8, 30, &p) < 0)
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
	unsigned p;

	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (inet_pton(AF_INET6, buf, a) != 1 || prefix_parse(slash + 1, 8, 120, &p) < 0)
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

/* Ranges no network may overlap (RFC 6890): unusable as a subnet behind a bridge. */
static const struct special {
	struct subnet net;
	const char *name;
} special[] = {
    {{AF_INET, {0}, 8}, "0.0.0.0/8 (\"this network\")"},
    {{AF_INET, {127}, 8}, "127.0.0.0/8 (loopback)"},
    {{AF_INET, {169, 254}, 16}, "169.254.0.0/16 (link-local)"},
    {{AF_INET, {224}, 4}, "224.0.0.0/4 (multicast)"},
    {{AF_INET, {240}, 4}, "240.0.0.0/4 (reserved, broadcast)"},
    {{AF_INET6, {0}, 128}, ":: (unspecified)"},
    {{AF_INET6, {[15] = 1}, 128}, "::1 (loopback)"},
    {{AF_INET6, {[10] = 0xff, [11] = 0xff}, 96}, "::ffff:0:0/96 (IPv4-mapped)"},
    {{AF_INET6, {0xfe, 0x80}, 10}, "fe80::/10 (link-local)"},
    {{AF_INET6, {0xff}, 8}, "ff00::/8 (multicast)"},
};

static unsigned mask_prefix(const uint8_t *m, size_t len)
{
	unsigned p = 0;

	for (size_t i = 0; i < len; i++)
		p += __builtin_popcount(m[i]);
	return p;
}

/* "10.1.0.0/16" of a subnet, into buf. */
static const char *subnet_str(const struct subnet *s, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(s->family, s->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, size, "%s/%u", a, s->prefix);
	return buf;
}

/* An address of a host interface (not skip's) in or around mine: "address A/P on IF". */
static int host_address_overlap(const struct subnet *mine, const char *skip, char **ret_what)
{
	struct ifaddrs *all = NULL;
	char buf[64];
	int r = 0;

	if (getifaddrs(&all) < 0)
		return -errno;
	for (struct ifaddrs *i = all; i && !r; i = i->ifa_next) {
		struct subnet a = {.family = mine->family};
		const void *addr, *mask;
		size_t len = mine->family == AF_INET ? 4 : 16;

		if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != mine->family ||
		    streq(i->ifa_name, skip))
			continue;
		if (mine->family == AF_INET) {
			addr = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			mask = &((struct sockaddr_in *)i->ifa_netmask)->sin_addr;
		} else {
			addr = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			mask = &((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr;
		}
		memcpy(a.addr, addr, len);
		a.prefix = mask_prefix(mask, len);
		if (overlaps(&a, mine))
			r = asprintf(ret_what, "the host's address %s on `%s`",
				     subnet_str(&a, buf, sizeof(buf)), i->ifa_name) < 0
				? -ENOMEM
				: 1;
	}
	freeifaddrs(all);
	return r;
}

/* One line of /proc/net/route or /proc/net/ipv6_route as a route (prefix 0: skip it). */
static bool route_line(int family, const char *line, struct subnet *ret, char dev[IFNAMSIZ])
{
	char hex[33];
	unsigned dst, mask, p;

	*ret = (struct subnet){.family = family};
	if (family == AF_INET) {
		/* Iface Destination Gateway Flags RefCnt Use Metric Mask ...; in network order */
		if (sscanf(line, "%15s %x %*x %*x %*d %*d %*d %x", dev, &dst, &mask) != 3)
			return false;
		memcpy(ret->addr, &dst, 4);
		ret->prefix = mask_prefix((uint8_t *)&mask, 4);
		return ret->prefix > 0;
	}
	/* dst dst_len src src_len next_hop metric refcnt use flags dev */
	if (sscanf(line, "%32s %x %*s %*x %*s %*x %*x %*x %*x %15s", hex, &p, dev) != 3 ||
	    strlen(hex) != 32 || p == 0 || p > 128)
		return false;
	for (int i = 0; i < 16; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &ret->addr[i]) != 1)
			return false;
	ret->prefix = p;
	return true;
}

/* A route of the host (not via skip) that overlaps mine: "route N/P dev IF". */
static int host_route_overlap(const struct subnet *mine, const char *skip, char **ret_what)
{
	const char *path = mine->family == AF_INET ? "/proc/net/route" : "/proc/net/ipv6_route";
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512], dev[IFNAMSIZ], buf[64];
	struct subnet r;

	if (!f)
		return errno == ENOENT ? 0 : -errno; /* no IPv6: no IPv6 route */
	while (fgets(line, sizeof(line), f)) {
		if (!route_line(mine->family, line, &r, dev) || streq(dev, skip) ||
		    !overlaps(&r, mine))
			continue;
		return asprintf(ret_what, "the host's route %s (dev %s)",
				subnet_str(&r, buf, sizeof(buf)), dev) < 0
			   ? -ENOMEM
			   : 1;
	}
	return 0;
}

/*
 * A subnet must not overlap a special-purpose range, nor what the host has: an address of
 * one of its interfaces or a route of its main table (/proc/net/route; IPv6: every route
 * of /proc/net/ipv6_route), as podman checks.  The default route and the routes and
 * addresses of bridge itself (the default network's isola0, shared by the stores) do not
 * count.
 */
static int check_host(char **subnets, const struct subnet *mine, const char *bridge,
		      struct err **err)
{
	for (size_t k = 0; subnets[k]; k++) {
		_cleanup_free_ char *what = NULL;
		int r;

		for (size_t i = 0; i < ARRAY_SIZE(special); i++)
			if (overlaps(&special[i].net, &mine[k]))
				return err_make(err, 0, "--subnet %s: overlaps %s", subnets[k],
						special[i].name);
		r = host_address_overlap(&mine[k], bridge, &what);
		if (r == 0)
			r = host_route_overlap(&mine[k], bridge, &what);
		if (r < 0)
			return err_make(err, -r, "--subnet %s: the host's addresses and routes",
					subnets[k]);
		if (r > 0)
			return err_make(err, 0, "--subnet %s: overlaps %s", subnets[k], what);
	}
	return 0;
}

static char *conflist_path(const char *store, const char *name)
{
	char *p = NULL;

	return asprintf(&p, "%s/networks/%s.conflist", store, name) < 0 ? NULL : p;
}

int net_network_lock(const char *store, const char *name, int op)
{
	_cleanup_free_ char *p = net_name_valid(name) ? conflist_path(store, name) : NULL;
	int fd;

	if (!p)
		return -EINVAL;
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (flock(fd, op) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
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
	/*
	 * The default network is made as such on first use: its bridge isola0 is every
	 * store's, so it is exempt from the checks below, and another subnet given there
	 * would put a second one on that shared bridge.
	 */
	if (streq(name, NET_DEFAULT_NAME) &&
	    !(streq(bridge, NET_DEFAULT_BRIDGE) && subnets && subnets[0] &&
	      streq(subnets[0], NET_DEFAULT_SUBNET) && !subnets[1]))
		return err_make(err, 0,
				"network name `%s` is the default network's (bridge %s, subnet "
				"%s): choose another name",
				name, NET_DEFAULT_BRIDGE, NET_DEFAULT_SUBNET);
	if (!streq(name, NET_DEFAULT_NAME) && streq(bridge, NET_DEFAULT_BRIDGE))
		return err_make(err, 0,
				"--interface-name %s: the default network's bridge, shared by "
				"every store; choose another name",
				bridge);
	if (!chars_ok(bridge, 15))
		return err_make(err, 0,
				"bridge name `%s`: at most 15 of [A-Za-z0-9_.-] "
				"(choose one with --interface-name)",
				bridge);
	r = check_subnets(subnets, &ipv6, parsed, err);
	if (r < 0)
		return r;
	if (asprintf(&dir, "%s/networks", store) < 0)
		return err_make(err, ENOMEM, "network `%s`", name);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return err_make(err, errno, "mkdir `%s`", dir);
	/*
	 * Creates take turns (an exclusive flock of networks/, held until we return): two at
	 * once would both pass the checks below and write clashing networks.
	 */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || flock(dfd, LOCK_EX) < 0)
		return err_make(err, errno, "lock `%s`", dir);
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
	r = check_host(subnets, parsed, bridge, err);
	if (r < 0)
		return r;
	c = make_conflist(name, subnets, bridge);
	text = json_dumps(c, JSON_INDENT(2));
	if (!c || !text || asprintf(&path, "%s.conflist", name) < 0)
		return err_make(err, ENOMEM, "network `%s`", name);
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
	_cleanup_close_ int lk = -1;
	int r;

	if (!net_name_valid(name))
		return err_make(err, 0, "network name `%s`: invalid", name);
	/*
	 * Exclusively, across the check and the removal: a run's ADD holds it shared from
	 * reading the conflist until its state (the check's "in use") is saved.
	 */
	lk = net_network_lock(store, name, LOCK_EX);
	if (lk == -ENOENT)
		return err_make(err, ENOENT, "network `%s`: no such network", name);
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
