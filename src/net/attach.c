/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A container on a network: its own netns, CNI ADD with the published ports, the files
 * that name it (hosts, hostname) and its resolvers (resolv.conf).  The state is written
 * before ADD so that DEL can undo a half-done ADD after a crash; DEL is idempotent.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "log.h"
#include "net-internal.h"
#include "net.h"
#include "strv.h"

#define STATE_MAX (4u << 20)
#define IFNAME	  "eth0"

static bool id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64 || id[0] == '.' || id[0] == '-')
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("_.-", *c)))
			return false;
	return true;
}

static int parse_port(const char *s, size_t len, uint16_t *ret)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*ret = v;
	return 0;
}

int net_port_parse(const char *s, struct net_port *ret, struct err **err)
{
	struct net_port p = {.proto = "tcp"};
	const char *slash = strchr(s, '/'), *end = slash ? slash : s + strlen(s);
	const char *c2 = memrchr(s, ':', end - s), *c1;
	struct in_addr a;

	if (slash && !streq(slash + 1, "tcp") && !streq(slash + 1, "udp"))
		goto bad;
	if (slash)
		snprintf(p.proto, sizeof(p.proto), "%s", slash + 1);
	if (!c2)
		goto bad;
	c1 = memrchr(s, ':', c2 - s);
	if (c1) {
		if ((size_t)(c1 - s) >= sizeof(p.host_ip))
			goto bad;
		memcpy(p.host_ip, s, c1 - s);
		if (inet_pton(AF_INET, p.host_ip, &a) != 1)
			goto bad;
	}
	if (parse_port(c1 ? c1 + 1 : s, c2 - (c1 ? c1 + 1 : s), &p.host_port) < 0 ||
	    parse_port(c2 + 1, end - c2 - 1, &p.ctr_port) < 0)
		goto bad;
	*ret = p;
	return 0;
bad:
	return err_make(err, 0, "-p `%s`: expected [IPv4:]HOSTPORT:CONTAINERPORT[/tcp|udp]", s);
}

static char *store_file(const char *store, const char *sub, const char *id, const char *ext)
{
	char *p = NULL;

	return asprintf(&p, "%s/net/%s/%s%s", store, sub, id, ext) < 0 ? NULL : p;
}

char *net_netns_path(const char *store, const char *id)
{
	return store_file(store, "ns", id, "");
}

static int make_dirs(const char *store, struct err **err)
{
	static const char *const sub[] = {"", "/ns", "/state", "/ipam"};
	char p[4096];

	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		snprintf(p, sizeof(p), "%s/net%s", store, sub[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return err_make(err, errno, "mkdir `%s`", p);
	}
	return 0;
}

int net_state_load(const char *store, const char *id, json_t **ret, struct err **err)
{
	_cleanup_free_ char *p = NULL;

	*ret = NULL;
	if (!id_valid(id))
		return err_make(err, 0, "container `%s`: invalid id", id);
	p = store_file(store, "state", id, ".json");
	if (!p)
		return err_make(err, ENOMEM, "state");
	if (!path_exists(p))
		return 0;
	return json_load_file_capped(AT_FDCWD, p, STATE_MAX, ret, err);
}

static int state_save(const char *store, const char *id, json_t *st, struct err **err)
{
	_cleanup_free_ char *text = json_dumps(st, JSON_INDENT(2)), *dir = NULL, *name = NULL;
	_cleanup_close_ int dfd = -1;

	if (!text || asprintf(&dir, "%s/net/state", store) < 0 ||
	    asprintf(&name, "%s.json", id) < 0)
		return err_make(err, ENOMEM, "state");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_make(err, errno, "open `%s`", dir);
	return write_file_atomic_at(dfd, name, text, strlen(text), 0600, err);
}

int net_state_ids(const char *store, char ***ret, struct err **err)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_strv_ char **ids = NULL;
	struct dirent *de;

	if (asprintf(&dir, "%s/net/state", store) < 0)
		return err_make(err, ENOMEM, "state");
	d = opendir(dir);
	if (!d && errno != ENOENT)
		return err_make(err, errno, "open `%s`", dir);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char id[256];

		if (de->d_name[0] == '.' || n < 6 || !streq(de->d_name + n - 5, ".json"))
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)(n - 5), de->d_name);
		if (id_valid(id) && strv_push(&ids, id) < 0)
			return err_make(err, ENOMEM, "state");
	}
	*ret = TAKE_PTR(ids);
	return 0;
}

/* The network's conflist with host-local's dataDir under the store. */
static int effective_conflist(const char *store, const char *network, json_t **ret,
			      struct err **err)
{
	_cleanup_json_ json_t *c = NULL;
	_cleanup_free_ char *ipam = NULL;
	json_t *p;
	size_t i;
	int r;

	r = net_network_load(store, network, &c, err);
	if (r < 0)
		return r;
	if (asprintf(&ipam, "%s/net/ipam", store) < 0)
		return err_make(err, ENOMEM, "network");
	json_array_foreach (json_object_get(c, "plugins"), i, p) {
		json_t *ip = json_object_get(p, "ipam");
		const char *t = json_string_value(json_object_get(ip, "type"));

		if (t && streq(t, "host-local") && !json_object_get(ip, "dataDir"))
			json_object_set_new(ip, "dataDir", json_string(ipam));
	}
	*ret = TAKE_PTR(c);
	return 0;
}

static json_t *port_mappings(const struct net_attach_opts *o)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < o->n_ports; i++) {
		const struct net_port *p = &o->ports[i];

		json_array_append_new(a, json_pack("{s:i, s:i, s:s, s:s}", "hostPort", p->host_port,
						   "containerPort", p->ctr_port, "protocol",
						   p->proto, "hostIP", p->host_ip));
	}
	return a;
}

static bool same_port(json_t *m, const struct net_port *p)
{
	const char *proto = json_string_value(json_object_get(m, "protocol"));

	return json_integer_value(json_object_get(m, "hostPort")) == p->host_port && proto &&
	       streq(proto, p->proto);
}

/* Is host_ip (IPv4, "" for all) an address of no bridge of this host? */
static bool off_bridges(const char *host_ip)
{
	struct ifaddrs *ifa = NULL;
	struct in_addr want;
	bool off = true;

	if (!host_ip[0] || inet_pton(AF_INET, host_ip, &want) != 1 || !want.s_addr ||
	    getifaddrs(&ifa) < 0)
		return false;
	for (struct ifaddrs *i = ifa; i && off; i = i->ifa_next) {
		char path[IFNAMSIZ + 32];

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr != want.s_addr)
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", i->ifa_name);
		off = access(path, F_OK) < 0;
	}
	freeifaddrs(ifa);
	return off;
}

/*
 * Refuse a host port that a socket holds or that another container publishes; and port 53
 * where containers send their DNS queries: portmap's DNAT takes every local address
 * without a host IP, the gateways too, so such a container would get the queries that
 * other networks' containers send to their responders (and podman's).
 */
static int check_port(const char *store, char **ids, const struct net_port *p, struct err **err)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->host_port)};
	_cleanup_close_ int s = -1;

	for (size_t i = 0; ids && ids[i]; i++) {
		_cleanup_json_ json_t *st = NULL;
		json_t *m;
		size_t j;

		if (net_state_load(store, ids[i], &st, NULL) < 0 || !st)
			continue;
		json_array_foreach (
		    json_object_get(json_object_get(st, "runtimeConfig"), "portMappings"), j, m)
			if (same_port(m, p))
				return err_make(err, EADDRINUSE,
						"port %u/%s is already published by container `%s`",
						p->host_port, p->proto, ids[i]);
	}
	if (p->host_ip[0] && inet_pton(AF_INET, p->host_ip, &sa.sin_addr) != 1)
		return err_make(err, 0, "-p: bad address `%s`", p->host_ip);
	if (p->host_port == 53 && !off_bridges(p->host_ip))
		return err_make(err, 0,
				"-p %s%s53/%s: port 53 on %s would take the DNS queries "
				"containers send to their gateway; publish it on a host "
				"address that is not a bridge's (-p IP:53:PORT)",
				p->host_ip, p->host_ip[0] ? ":" : "", p->proto,
				p->host_ip[0] ? "a bridge's address" : "every address");
	s = socket(AF_INET, (streq(p->proto, "udp") ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (s < 0)
		return err_make(err, errno, "socket");
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_make(err, errno, "port %s%s%u/%s is not free", p->host_ip,
				p->host_ip[0] ? ":" : "", p->host_port, p->proto);
	return 0;
}

/* <store>/net/ports.lock, exclusively: held from the port check to the state's save. */
static int ports_lock(const char *store, struct err **err)
{
	_cleanup_free_ char *p = NULL;
	int fd;

	if (asprintf(&p, "%s/net/ports.lock", store) < 0)
		return err_make(err, ENOMEM, "lock");
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_make(err, errno, "open `%s`", p);
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;

		close(fd);
		return err_make(err, e, "lock `%s`", p);
	}
	return fd;
}

static int check_ports(const char *store, const struct net_attach_opts *o, struct err **err)
{
	_cleanup_strv_ char **ids = NULL;
	int r;

	for (size_t i = 0; i < o->n_ports; i++)
		for (size_t j = 0; j < i; j++)
			if (o->ports[i].host_port == o->ports[j].host_port &&
			    streq(o->ports[i].proto, o->ports[j].proto))
				return err_make(err, 0, "-p: host port %u/%s given twice",
						o->ports[i].host_port, o->ports[i].proto);
	r = net_state_ids(store, &ids, err);
	for (size_t i = 0; r >= 0 && i < o->n_ports; i++)
		r = check_port(store, ids, &o->ports[i], err);
	return r;
}

/*
 * Path p (a container's lock file, made if missing) flock()ed with op; its fd, or -errno
 * (-EWOULDBLOCK: LOCK_NB and held).  A detach unlinks the file once done, so a lock taken
 * on it just before is a lock on a file no one else will open: the path is looked at
 * again after the flock, and the lock taken again if it names another file by then.
 */
static int lock_file(const char *p, int op)
{
	for (int tries = 0; tries < 100; tries++) {
		_cleanup_close_ int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		struct stat locked, now;

		if (fd < 0 || flock(fd, op) < 0 || fstat(fd, &locked) < 0)
			return -errno;
		if (stat(p, &now) == 0 && now.st_ino == locked.st_ino &&
		    now.st_dev == locked.st_dev)
			return TAKE_FD(fd);
	}
	return -EAGAIN;
}

static int lock_op(const char *store, const char *id, int op, struct err **err)
{
	_cleanup_free_ char *p = NULL;
	int fd, r;

	if (!id_valid(id))
		return err_make(err, 0, "container `%s`: invalid id", id);
	r = make_dirs(store, err);
	if (r < 0)
		return r;
	p = store_file(store, "state", id, ".lock");
	if (!p)
		return err_make(err, ENOMEM, "lock");
	fd = lock_file(p, op);
	return fd < 0 ? err_make(err, -fd, "lock `%s`", p) : fd;
}

int net_lock(const char *store, const char *id, struct err **err)
{
	return lock_op(store, id, LOCK_SH, err);
}

int net_lock_ex(const char *store, const char *id, struct err **err)
{
	return lock_op(store, id, LOCK_EX, err);
}

int net_lock_idle(const char *store, const char *id)
{
	_cleanup_free_ char *p = id_valid(id) ? store_file(store, "state", id, ".lock") : NULL;

	return p ? lock_file(p, LOCK_EX | LOCK_NB) : -EINVAL;
}

static void unlink_lock(const char *store, const char *id)
{
	_cleanup_free_ char *p = store_file(store, "state", id, ".lock");

	if (p)
		unlink(p);
}

/*
 * Detaches take turns (an exclusive flock of net/state, held until we return): a VM
 * container's watcher (run --vm -d) and `isola stop` both detach once it stopped, and
 * the second must find the state gone, not half undone.
 */
static int detach_lock(const char *store)
{
	_cleanup_free_ char *p = NULL;
	int fd;

	if (asprintf(&p, "%s/net/state", store) < 0)
		return -1;
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	return fd; /* no state dir: nothing to detach, nothing to lock */
}

#define DETACH_LOCK_WAIT_MS 60000

/*
 * The container's lock, exclusively (net_detach); an fd to close, or -1 when there is
 * none to take (no state dir), the caller's own was converted, or the wait ran out.
 */
static int container_lock_ex(const char *store, const char *id, int held)
{
	_cleanup_free_ char *p = NULL;
	int fd = -EWOULDBLOCK;

	if (held >= 0) {
		if (flock(held, LOCK_EX) < 0)
			log_warn("container `%s`: lock its network state: %s", id, strerror(errno));
		return -1;
	}
	p = store_file(store, "state", id, ".lock");
	for (int ms = 0; p && ms < DETACH_LOCK_WAIT_MS && fd == -EWOULDBLOCK; ms += 10) {
		fd = lock_file(p, LOCK_EX | LOCK_NB);
		if (fd == -EWOULDBLOCK)
			nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	}
	if (fd == -EWOULDBLOCK)
		log_warn("container `%s`: its network is still being set up after %d s; undone "
			 "as it stands",
			 id, DETACH_LOCK_WAIT_MS / 1000);
	return fd < 0 ? -1 : fd;
}

static int detach(const char *store, const char *id, int held, char **ret_note, struct err **err)
{
	_cleanup_json_ json_t *st = NULL;
	_cleanup_free_ char *ns = NULL, *sp = NULL, *tools = NULL;
	/* This one first, then detach_lock: a run's teardown holds the first already. */
	_cleanup_close_ int clk = container_lock_ex(store, id, held);
	_cleanup_close_ int lk = detach_lock(store);
	const char *network;
	json_t *result;
	bool orphaned;
	int r;

	r = net_state_load(store, id, &st, err);
	if (r < 0)
		return r;
	if (!st) {
		unlink_lock(store, id);
		return 0;
	}
	ns = net_netns_path(store, id);
	sp = store_file(store, "state", id, ".json");
	if (!ns || !sp)
		return err_make(err, ENOMEM, "state");
	result = json_object_get(st, "result");
	/* The tools ADD had (made again if they went). */
	if (json_is_string(json_object_get(st, "tools")) &&
	    net_plan_tools(json_object_get(st, "conflist"), store, &tools, err) < 0)
		return err_wrap(err, "container `%s`", id);
	/* Before the DEL: bridge's own DEL can only undo its masquerade with the veth. */
	orphaned = net_masq_orphaned(result);
	r = net_cni_run_tools(json_object_get(st, "conflist"), "DEL", id, ns, IFNAME, tools,
			      json_object_get(st, "runtimeConfig"),
			      json_is_object(result) ? result : NULL, NULL, err);
	if (r < 0 && !ret_note)
		return err_wrap(err, "container `%s`", id);
	if (orphaned || r < 0)
		net_masq_sweep(json_object_get(st, "conflist"), id);
	if (r < 0) {
		/* Forced: the plugins ran (each of them, in reverse); the rest goes anyway. */
		if (asprintf(ret_note,
			     "container `%s`: %s; its network namespace and state are removed "
			     "anyway (what the failing plugin made may remain)",
			     id, *err && (*err)->msg ? (*err)->msg : "DEL failed") < 0)
			*ret_note = NULL;
		err_free(err);
	}
	r = net_netns_remove(ns, err);
	if (r < 0)
		return r;
	if (unlink(sp) < 0 && errno != ENOENT)
		return err_make(err, errno, "remove `%s`", sp);
	unlink_lock(store, id);
	/* The last container gone: its network's DNS responder exits; wait for it. */
	network = json_string_value(json_object_get(st, "network"));
	if (network && net_name_valid(network) && !streq(network, NET_DEFAULT_NAME))
		net_dns_settle(store, network);
	return 0;
}

int net_detach(const char *store, const char *id, int lock_fd, struct err **err)
{
	return detach(store, id, lock_fd, NULL, err);
}

int net_detach_force(const char *store, const char *id, int lock_fd, char **ret_note,
		     struct err **err)
{
	*ret_note = NULL;
	return detach(store, id, lock_fd, ret_note, err);
}

/* Files for /etc: resolv.conf, hosts, hostname (files.c). */
int net_write_files(const char *store, const char *id, const char *network, const char *ip,
		    char **dns_servers, const struct net_attach_opts *o, const char *dir,
		    struct err **err);

/*
 * A user-defined network's containers resolve each other through its DNS responder on the
 * bridge's gateway addresses (*ret_servers); the default network keeps the host's
 * resolvers (*ret_servers NULL), as podman's default network does.
 */
static int dns(const char *store, const char *network, json_t *result, char ***ret_servers,
	       struct err **err)
{
	_cleanup_strv_ char **gw = NULL;
	int r;

	*ret_servers = NULL;
	if (streq(network, NET_DEFAULT_NAME))
		return 0;
	for (int v6 = 0; v6 < 2; v6++) {
		_cleanup_free_ char *g = net_result_gateway(result, v6);

		if (g && strv_push(&gw, g) < 0)
			return err_make(err, ENOMEM, "DNS");
	}
	if (!gw)
		return 0; /* no gateway (a conflist of the user's): the host's resolvers */
	r = net_dns_ensure(store, network, gw, err);
	if (r < 0)
		return r;
	*ret_servers = TAKE_PTR(gw);
	return 0;
}

/* After the state is saved (so that DEL can undo whatever ADD did before a crash). */
static int add(const char *id, const char *ns, json_t *st, json_t **ret, struct err **err)
{
	int r;

	r = net_netns_create(ns, err);
	if (r < 0)
		return r;
	return net_cni_run_tools(json_object_get(st, "conflist"), "ADD", id, ns, IFNAME,
				 json_string_value(json_object_get(st, "tools")),
				 json_object_get(st, "runtimeConfig"), NULL, ret, err);
}

/* DNS names: [A-Za-z0-9_-] labels of at most 63, 253 in all; only where a responder is. */
static int check_aliases(const struct net_attach_opts *o, struct err **err)
{
	for (size_t i = 0; o->aliases && o->aliases[i]; i++) {
		const char *s = o->aliases[i];
		size_t label = 0, n = strlen(s);
		bool ok = n > 0 && n <= 253 && s[0] != '.' && s[0] != '-' && s[n - 1] != '.';

		for (; ok && *s; s++) {
			label = *s == '.' ? 0 : label + 1;
			ok = label <= 63 && (*s != '.' || s[1] != '.') &&
			     ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			      (*s >= '0' && *s <= '9') || strchr("_.-", *s));
		}
		if (!ok)
			return err_make(err, 0, "--network-alias `%s`: expected a DNS name",
					o->aliases[i]);
		if (streq(o->network, NET_DEFAULT_NAME))
			return err_make(
			    err, 0,
			    "--network-alias: the default network has no DNS responder; "
			    "use a network made with 'isola network create'");
	}
	return 0;
}

/* A new bridge's IPv6 gateway is tentative for a while: wait, so the container can use it. */
static void settle_ipv6(json_t *conflist)
{
	json_t *p;
	size_t i;

	json_array_foreach (json_object_get(conflist, "plugins"), i, p) {
		const char *t = json_string_value(json_object_get(p, "type"));
		const char *br = json_string_value(json_object_get(p, "bridge"));

		if (t && streq(t, "bridge") && br && strlen(br) < 16 && !strchr(br, '/'))
			net_bridge_settle_ipv6(br);
	}
}

static json_t *strv_to_json(char **v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* Everything up to and with ADD; the state holds the result (and ip, ip6). */
int net_attach_add(const char *store, const char *id, const struct net_attach_opts *o,
		   struct err **err)
{
	_cleanup_json_ json_t *conflist = NULL, *st = NULL, *result = NULL;
	_cleanup_free_ char *ns = NULL, *ip = NULL, *ip6 = NULL, *tools = NULL;
	/* The network cannot be removed from the conflist's read until our state says we use it. */
	_cleanup_close_ int nlk = -1;
	int r, lk;

	if (!id_valid(id))
		return err_make(err, 0, "container `%s`: invalid id", id);
	r = check_aliases(o, err);
	if (r >= 0)
		r = make_dirs(store, err);
	if (r >= 0)
		nlk = net_network_lock(store, o->network, LOCK_SH);
	if (r >= 0)
		r = effective_conflist(store, o->network, &conflist, err);
	if (r >= 0)
		r = net_plan_plugins(conflist, o->n_ports, err);
	if (r >= 0)
		r = net_plan_tools(conflist, store, &tools, err);
	if (r >= 0)
		r = net_guard_localnet(conflist, err);
	if (r < 0)
		return r;
	ns = net_netns_path(store, id);
	st = json_pack("{s:s, s:s, s:s?, s:s, s:O, s:{s:o}, s:n}", "id", id, "network", o->network,
		       "hostname", o->hostname, "ifname", IFNAME, "conflist", conflist,
		       "runtimeConfig", "portMappings", port_mappings(o), "result");
	if (!ns || !st)
		return err_make(err, ENOMEM, "network state");
	if (o->aliases)
		json_object_set_new(st, "aliases", strv_to_json(o->aliases));
	if (tools)
		json_object_set_new(st, "tools", json_string(tools));
	if (path_exists(ns))
		return err_make(err, EEXIST, "container `%s` has a network namespace (%s)", id, ns);
	/* Checked and recorded under one lock: two runs never publish the same port. */
	lk = o->n_ports ? ports_lock(store, err) : INT_MAX;
	if (lk < 0)
		return lk;
	r = lk != INT_MAX ? check_ports(store, o, err) : 0;
	if (r >= 0)
		r = state_save(store, id, st, err);
	if (lk != INT_MAX)
		close(lk);
	if (nlk >= 0)
		close(TAKE_FD(nlk));
	if (r >= 0)
		r = add(id, ns, st, &result, err);
	if (r >= 0) {
		json_object_set(st, "result", result);
		ip = net_result_ipv4(result);
		ip6 = net_result_ipv6(result);
		if (ip)
			json_object_set_new(st, "ip", json_string(ip));
		if (ip6)
			json_object_set_new(st, "ip6", json_string(ip6));
		r = state_save(store, id, st, err);
	}
	if (r < 0)
		net_detach(store, id, o->lock_fd, NULL);
	return r;
}

/* After net_attach_add: the DNS responder and the /etc files, from the recorded state. */
int net_attach_files(const char *store, const char *id, const struct net_attach_opts *o,
		     const char *files_dir, struct err **err)
{
	_cleanup_json_ json_t *st = NULL;
	_cleanup_strv_ char **servers = NULL;
	const char *ip, *ip6;
	json_t *result;
	int r;

	r = net_state_load(store, id, &st, err);
	if (r >= 0 && !st)
		r = err_make(err, ENOENT, "container `%s`: no network state", id);
	if (r < 0)
		return r;
	result = json_object_get(st, "result");
	ip = json_string_value(json_object_get(st, "ip"));
	ip6 = json_string_value(json_object_get(st, "ip6"));
	if (ip6)
		settle_ipv6(json_object_get(st, "conflist"));
	r = dns(store, o->network, result, &servers, err);
	if (r >= 0)
		r = net_write_files(store, id, o->network, ip ? ip : ip6, servers, o, files_dir,
				    err);
	if (r < 0)
		net_detach(store, id, o->lock_fd, NULL);
	return r;
}

int net_attach(const char *store, const char *id, const struct net_attach_opts *o,
	       const char *files_dir, struct err **err)
{
	int r = net_attach_add(store, id, o, err);

	return r < 0 ? r : net_attach_files(store, id, o, files_dir, err);
}
