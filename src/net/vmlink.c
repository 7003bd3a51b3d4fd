/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VM container's last hop (docs/vm-containers.md "Networking"): in the netns CNI
 * attached, a persistent TAP beside eth0, the two joined by tc -- an ingress qdisc on
 * each and a u32 filter matching every frame whose mirred action redirects every frame to the
 * other's egress, as Kata Containers' "tcfilter" model does.  eth0 keeps what CNI gave it (address,
 * routes, MAC), so DEL and CHECK see a plain container; its frames never reach the netns's stack
 * (the redirect steals them at ingress).  The TAP and the filters go with the netns.
 * The OCI mode (net_vm_link_ns) does the same in an engine's netns, whose interface and
 * address are read there; what it added is removed by net_vm_unlink_ns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/if_ether.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "jsonutil.h"
#include "net.h"
#include "rtnl.h"
#include "spawn.h"

#define CTR_IF "eth0"
/* A tc request on @ifindex that creates (and fails on an existing one). */
static struct tcmsg *tc_begin(struct rtnl_msg *m, unsigned short type, unsigned ifindex)
{
	struct tcmsg *t = rtnl_begin(m, type, NLM_F_CREATE | NLM_F_EXCL, sizeof(*t));

	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = (int)ifindex;
	return t;
}

/* tc qdisc add dev IF ingress */
static int add_ingress(unsigned ifindex)
{
	struct rtnl_msg m;
	struct tcmsg *t = tc_begin(&m, RTM_NEWQDISC, ifindex);

	t->tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
	t->tcm_parent = TC_H_INGRESS;
	rtnl_put(&m, TCA_KIND, "ingress", sizeof("ingress"));
	return rtnl_talk(&m);
}

/*
 * tc filter add dev FROM ingress protocol all u32 match u32 0 0 action mirred egress
 * redirect dev TO.  u32 with one key that matches everything, not matchall: some kernels
 * (this project's CI host) have no cls_matchall.
 */
static int add_redirect(unsigned from, unsigned to)
{
	struct tc_mirred p = {.action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR, .ifindex = to};
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key key;
	} sel = {.sel = {.flags = TC_U32_TERMINAL, .nkeys = 1}};
	struct rtnl_msg m;
	struct tcmsg *t = tc_begin(&m, RTM_NEWTFILTER, from);
	struct rtattr *opts, *acts, *act, *aopts;

	t->tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0);
	t->tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL)); /* prio 1, every protocol */
	rtnl_put(&m, TCA_KIND, "u32", sizeof("u32"));
	opts = rtnl_put(&m, TCA_OPTIONS, NULL, 0);
	rtnl_put(&m, TCA_U32_SEL, &sel, sizeof(sel));
	acts = rtnl_put(&m, TCA_U32_ACT, NULL, 0);
	act = rtnl_put(&m, 1, NULL, 0); /* the first action */
	rtnl_put(&m, TCA_ACT_KIND, "mirred", sizeof("mirred"));
	aopts = rtnl_put(&m, TCA_ACT_OPTIONS, NULL, 0);
	rtnl_put(&m, TCA_MIRRED_PARMS, &p, sizeof(p));
	rtnl_end(&m, aopts);
	rtnl_end(&m, act);
	rtnl_end(&m, acts);
	rtnl_end(&m, opts);
	return rtnl_talk(&m);
}

/* A persistent TAP (what the VMM opens by name), up, with @mtu. */
static int make_tap(const char *name, unsigned mtu)
{
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};

	if (fd < 0 || s < 0)
		return -errno;
	/* TUNSETIFF would attach to an existing TAP of that name: it must be ours. */
	if (if_nametoindex(name))
		return -EEXIST;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
		return -errno;
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* tc qdisc del dev IF ingress (its filters go with it). */
static int del_ingress(unsigned ifindex)
{
	struct rtnl_msg m;
	struct tcmsg *t = rtnl_begin(&m, RTM_DELQDISC, 0, sizeof(*t));

	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = (int)ifindex;
	t->tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
	t->tcm_parent = TC_H_INGRESS;
	return rtnl_talk(&m);
}

/* ip link del IF */
static int del_link(unsigned ifindex)
{
	struct rtnl_msg m;
	struct ifinfomsg *i = rtnl_begin(&m, RTM_DELLINK, 0, sizeof(*i));

	i->ifi_family = AF_UNSPEC;
	i->ifi_index = (int)ifindex;
	return rtnl_talk(&m);
}

struct link_answer {
	int error; /* errno, 0: done */
	char what[128];
	uint8_t mac[6];
	unsigned mtu;
	char ifname[IF_NAMESIZE]; /* the interface joined; "": none to join (no NIC) */
	uint32_t addr, gw;	  /* its IPv4 address, the default route's gateway (0: none) */
	unsigned prefix;
};

/* Undo what link_in_netns made: the TAP (its ingress goes with it), the iface's ingress. */
static void unlink_in_netns(const char *tap, const char *ifname)
{
	unsigned tapi = if_nametoindex(tap), ifi = ifname ? if_nametoindex(ifname) : 0;

	if (tapi)
		del_link(tapi);
	if (ifi)
		del_ingress(ifi);
}

/* In the netns: read @ifname's MAC and MTU, make the TAP, join the two. */
static void link_in_netns(const char *tap, const char *ifname, struct link_answer *a)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {};
	unsigned eth, tapi;
	bool ingress = false;
	int r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0 || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		goto fail_eth;
	memcpy(a->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0)
		goto fail_eth;
	a->mtu = ifr.ifr_mtu;
	r = make_tap(tap, a->mtu);
	if (r < 0) {
		a->error = -r;
		snprintf(a->what, sizeof(a->what), "tap `%s`", tap);
		return;
	}
	eth = if_nametoindex(ifname);
	tapi = if_nametoindex(tap);
	r = eth && tapi ? add_ingress(eth) : -ENODEV;
	ingress = r >= 0;
	if (r >= 0)
		r = add_ingress(tapi);
	if (r >= 0)
		r = add_redirect(eth, tapi);
	if (r >= 0)
		r = add_redirect(tapi, eth);
	if (r < 0) {
		a->error = -r;
		snprintf(a->what, sizeof(a->what),
			 "tc redirect %s <-> %s (sch_ingress, cls_u32, act_mirred)", ifname, tap);
		/* An ingress qdisc already there is not ours to remove. */
		unlink_in_netns(tap, ingress ? ifname : NULL);
	}
	return;
fail_eth:
	a->error = errno ? errno : ENODEV;
	snprintf(a->what, sizeof(a->what), "the netns's %s (an Ethernet interface)", ifname);
}

/* The default route's gateway via @ifname, from /proc/self/net/route (this netns's). */
static uint32_t default_gw(const char *ifname)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/net/route", "re");
	char line[256], name[IF_NAMESIZE + 1];
	unsigned dst, gw, mask, flags;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%16s %x %x %x %*d %*d %*d %x", name, &dst, &gw, &flags, &mask) ==
			5 &&
		    streq(name, ifname) && dst == 0 && mask == 0 && (flags & RTF_GATEWAY))
			return ntohl(gw); /* the file prints the address's bytes as a host u32 */
	return 0;
}

/*
 * An engine's netns: the first interface (in the kernel's order) other than a loopback
 * with an IPv4 address, that address and prefix, and the default route's gateway when
 * it is on that subnet.  None: a->ifname stays "" (the guest gets no NIC).
 */
static void pick_iface(struct link_answer *a)
{
	struct ifaddrs *ifs = NULL, *i;

	if (getifaddrs(&ifs) < 0) {
		a->error = errno;
		snprintf(a->what, sizeof(a->what), "the netns's addresses");
		return;
	}
	for (i = ifs; i; i = i->ifa_next) {
		uint32_t mask;

		if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || strlen(i->ifa_name) >= IF_NAMESIZE)
			continue;
		snprintf(a->ifname, sizeof(a->ifname), "%s", i->ifa_name);
		a->addr = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		mask = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
		a->prefix = __builtin_popcount(mask);
		a->gw = default_gw(a->ifname);
		if (a->prefix < 1 || (a->gw & mask) != (a->addr & mask) || a->gw == a->addr)
			a->gw = 0;
		break;
	}
	freeifaddrs(ifs);
}

/* The first IPv4 address of the recorded result, with its prefix and gateway. */
static int result_ipv4(json_t *result, struct net_vm_iface *ret, struct err **err)
{
	json_t *ip;
	size_t i;

	json_array_foreach (json_object_get(result, "ips"), i, ip) {
		const char *addr = json_string_value(json_object_get(ip, "address"));
		const char *gw = json_string_value(json_object_get(ip, "gateway"));
		char a[32], *slash;
		struct in_addr in, g;
		unsigned long prefix;

		if (!addr || strlen(addr) >= sizeof(a))
			continue;
		snprintf(a, sizeof(a), "%s", addr);
		slash = strchr(a, '/');
		if (!slash)
			continue;
		*slash++ = '\0';
		if (inet_pton(AF_INET, a, &in) != 1)
			continue;
		prefix = strtoul(slash, &slash, 10);
		if (*slash || prefix < 1 || prefix > 32)
			return err_make(err, 0, "CNI result: address `%s`: bad prefix", addr);
		ret->addr = ntohl(in.s_addr);
		ret->prefix = prefix;
		ret->gw = gw && inet_pton(AF_INET, gw, &g) == 1 ? ntohl(g.s_addr) : 0;
		return 0;
	}
	return err_make(err, 0, "the network gave no IPv4 address: a VM container needs one");
}

struct link_args {
	int nsfd;
	const char *tap;
	const char *ifname; /* NULL: pick_iface; with unlink: the interface to undo */
	bool unlink;
};

/* The helper in the container's netns: its answer, whole, on @fd. */
static void link_child(void *arg, int fd)
{
	struct link_args *l = arg;
	struct link_answer a = {};

	if (setns(l->nsfd, CLONE_NEWNET) < 0) {
		a.error = errno;
		snprintf(a.what, sizeof(a.what), "enter the netns");
	} else if (l->unlink) {
		unlink_in_netns(l->tap, l->ifname);
	} else {
		if (l->ifname)
			snprintf(a.ifname, sizeof(a.ifname), "%s", l->ifname);
		else
			pick_iface(&a);
		if (!a.error && a.ifname[0])
			link_in_netns(l->tap, a.ifname, &a);
	}
	_exit(write(fd, &a, sizeof(a)) == sizeof(a) ? 0 : 1);
}

/* Run link_child for @l; its answer in *a.  @what names the netns in errors. */
static int in_netns(struct link_args *l, const char *what, struct link_answer *a, struct err **err)
{
	_cleanup_close_ int rd = -1;
	pid_t pid;
	int r;

	r = spawn_reporting(SPAWN_PIPE, link_child, l, &pid, &rd, err);
	if (r < 0)
		return r;
	r = spawn_read_report(rd, a, sizeof(*a)) == sizeof(*a) ? 0 : -EIO;
	spawn_reap(pid, NULL);
	if (r < 0)
		return err_make(err, EIO, "%s: the netns helper died", what);
	if (a->error) {
		a->what[sizeof(a->what) - 1] = '\0';
		return err_make(err, a->error, "%s: %s", what, a->what);
	}
	a->ifname[sizeof(a->ifname) - 1] = '\0';
	return 0;
}

int net_vm_link_ns(int nsfd, const char *what, const char *tap, struct net_vm_iface *ret,
		   char ret_ifname[IF_NAMESIZE], struct err **err)
{
	struct link_args l = {.nsfd = nsfd, .tap = tap};
	struct link_answer a = {};
	struct net_vm_iface v = {.prefix = 0};
	int r;

	if (strlen(tap) >= sizeof(v.tap))
		return err_make(err, EINVAL, "tap `%s`: too long", tap);
	r = in_netns(&l, what, &a, err);
	if (r < 0)
		return r;
	snprintf(ret_ifname, IF_NAMESIZE, "%s", a.ifname);
	if (!a.ifname[0])
		return 0;
	snprintf(v.tap, sizeof(v.tap), "%s", tap);
	memcpy(v.mac, a.mac, 6);
	v.mtu = a.mtu;
	v.addr = a.addr;
	v.prefix = a.prefix;
	v.gw = a.gw;
	*ret = v;
	return 0;
}

int net_vm_unlink_ns(int nsfd, const char *what, const char *tap, const char *ifname,
		     struct err **err)
{
	struct link_args l = {.nsfd = nsfd, .tap = tap, .ifname = ifname, .unlink = true};
	struct link_answer a = {};

	return in_netns(&l, what, &a, err);
}

int net_vm_link(const char *store, const char *id, struct net_vm_iface *ret, struct err **err)
{
	_cleanup_json_ json_t *st = NULL;
	_cleanup_free_ char *ns = net_netns_path(store, id);
	_cleanup_close_ int nsfd = -1;
	struct net_vm_iface v = {};
	struct link_args l = {.tap = NET_VM_TAP, .ifname = CTR_IF};
	struct link_answer a = {};
	int r;

	r = net_state_load(store, id, &st, err);
	if (r >= 0 && !st)
		r = err_make(err, ENOENT, "container `%s`: no network state", id);
	if (r >= 0)
		r = result_ipv4(json_object_get(st, "result"), &v, err);
	if (r < 0)
		return r;
	snprintf(v.tap, sizeof(v.tap), NET_VM_TAP);
	nsfd = ns ? open(ns, O_RDONLY | O_CLOEXEC) : -1;
	if (nsfd < 0)
		return err_make(err, errno, "open `%s`", ns ? ns : "netns");
	l.nsfd = nsfd;
	r = in_netns(&l, ns, &a, err);
	if (r < 0)
		return r;
	memcpy(v.mac, a.mac, 6);
	v.mtu = a.mtu;
	*ret = v;
	return 0;
}
