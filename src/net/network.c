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

static bool overlaps(uint32_t a, unsigned pa, uint32_t b, unsigned pb)
{
	unsigned p = pa < pb ? pa : pb;
	uint32_t mask = 0xffffffffu << (32 - p);

	return (a & mask) == (b & mask);
}

static char *conflist_path(const char *store, const char *name)
{
	char *p = NULL;

	return asprintf(&p, "%s/networks/%s.conflist", store, name) < 0 ? NULL : p;
}

static json_t *make_conflist(const char *name, const char *subnet, const char *bridge)
{
	return json_pack("{s:s, s:s, s:[{s:s, s:s, s:b, s:b, s:b, s:{s:s, s:[[{s:s}]], s:[{s:s}]}},"
			 " {s:s, s:{s:b}}, {s:s}]}",
			 "cniVersion", "1.0.0", "name", name, "plugins", "type", "bridge", "bridge",
			 bridge, "isGateway", 1, "ipMasq", 1, "hairpinMode", 1, "ipam", "type",
			 "host-local", "ranges", "subnet", subnet, "routes", "dst", "0.0.0.0/0",
			 "type", "portmap", "capabilities", "portMappings", 1, "type", "firewall");
}

/* The bridge and subnet of a conflist we wrote (NULLs for anything else). */
static void conflist_facts(json_t *c, const char **ret_bridge, const char **ret_subnet)
{
	json_t *br = json_array_get(json_object_get(c, "plugins"), 0), *ranges;

	ranges = json_object_get(json_object_get(br, "ipam"), "ranges");
	*ret_bridge = json_string_value(json_object_get(br, "bridge"));
	*ret_subnet = json_string_value(
	    json_object_get(json_array_get(json_array_get(ranges, 0), 0), "subnet"));
}

/* A new network must not share a subnet or a bridge with one we have. */
static int check_clash(const char *store, const char *name, const char *subnet, const char *bridge,
		       struct err **err)
{
	_cleanup_json_ json_t *list = NULL;
	uint32_t addr;
	unsigned prefix;
	json_t *n;
	size_t i;
	int r;

	if (net_cidr_parse(subnet, &addr, &prefix) < 0)
		return err_make(err, 0, "--subnet `%s`: expected an IPv4 network A.B.C.D/8..30",
				subnet);
	r = net_network_list(store, &list, err);
	if (r < 0)
		return r;
	json_array_foreach (list, i, n) {
		const char *other = json_string_value(json_object_get(n, "name"));
		const char *sub = json_string_value(json_object_get(n, "subnet"));
		const char *br = json_string_value(json_object_get(n, "bridge"));
		uint32_t a;
		unsigned p;

		if (streq(other, name))
			return err_make(err, EEXIST, "network `%s` exists", name);
		if (br && streq(br, bridge))
			return err_make(err, 0, "bridge `%s` is used by network `%s`", bridge,
					other);
		if (sub && net_cidr_parse(sub, &a, &p) == 0 && overlaps(a, p, addr, prefix))
			return err_make(err, 0, "subnet %s overlaps network `%s` (%s)", subnet,
					other, sub);
	}
	return 0;
}

int net_network_create(const char *store, const char *name, const char *subnet, const char *bridge,
		       struct err **err)
{
	_cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL, *br = NULL;
	_cleanup_json_ json_t *c = NULL;
	_cleanup_close_ int dfd = -1;
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
	r = check_clash(store, name, subnet, bridge, err);
	if (r < 0)
		return r;
	c = make_conflist(name, subnet, bridge);
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
		r = net_network_create(store, name, NET_DEFAULT_SUBNET, NET_DEFAULT_BRIDGE, err);
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
		const char *br, *sub, *dot = strrchr(de->d_name, '.');

		if (de->d_name[0] == '.' || !dot || !streq(dot, ".conflist"))
			continue;
		if (json_load_file_capped(dirfd(d), de->d_name, CONFLIST_MAX, &c, NULL) < 0)
			continue;
		conflist_facts(c, &br, &sub);
		json_array_append_new(out, json_pack("{s:s%, s:s?, s:s?}", "name", de->d_name,
						     (size_t)(dot - de->d_name), "bridge", br,
						     "subnet", sub));
	}
	*ret = TAKE_PTR(out);
	return 0;
}

/* Delete the network's bridge (the bridge plugin makes it and never deletes it). */
static int bridge_of(const char *path, const char *name, struct err **err)
{
	_cleanup_json_ json_t *c = NULL;
	const char *br, *sub;

	if (!path_exists(path))
		return err_make(err, ENOENT, "network `%s`: no such network", name);
	if (json_load_file_capped(AT_FDCWD, path, CONFLIST_MAX, &c, NULL) < 0)
		return 0;
	conflist_facts(c, &br, &sub);
	return br && chars_ok(br, 15) ? net_bridge_delete(br, err) : 0;
}

int net_network_remove(const char *store, const char *name, struct err **err)
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
	r = bridge_of(path, name, err);
	if (r < 0)
		return r;
	if (unlink(path) < 0)
		return err_make(err, errno,
				errno == ENOENT ? "network `%s`: no such network" : "remove `%s`",
				errno == ENOENT ? name : path);
	return 0;
}
