/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Container networking through CNI plugins (the CNI spec 1.0.0: ADD, DEL and CHECK,
 * the network configuration on stdin, CNI_* variables, a JSON result on stdout).
 *
 * Layout under the image store:
 *   networks/<name>.conflist   networks made by `isola network create` (the default
 *                              network "isola" is made on first use)
 *   net/ns/<id>                the container's network namespace, a bind-mounted nsfs file
 *   net/state/<id>.json        what was (or was about to be) added: network, conflist,
 *                              ports, netns, the ADD result; written before ADD so that a
 *                              crash between ADD and DEL can still be undone
 *   net/ipam/                  host-local's dataDir (leases per network)
 */
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

#define NET_DEFAULT_NAME   "isola"
#define NET_DEFAULT_BRIDGE "isola0"
#define NET_DEFAULT_SUBNET "10.90.0.0/16"
#define NET_CNI_PATH	   "/usr/lib/cni:/opt/cni/bin"
#define NET_RESULT_MAX	   (1u << 20)

/* ---- CNI invocation (cni.c) ---- */
/*
 * Run a conflist's plugins: ADD in order (each gets the previous result), DEL in reverse
 * order and CHECK in order with prev (the cached ADD result) as prevResult.  DEL runs every
 * plugin and reports the first failure.  runtime_config holds capability arguments
 * ("portMappings"); a plugin gets those it declares in "capabilities".
 */
int net_cni_run(json_t *conflist, const char *command, const char *id, const char *netns,
		const char *ifname, json_t *runtime_config, json_t *prev, json_t **ret,
		struct err **err);
/* The same with PATH=tools for the plugins (NULL: /usr/sbin:/usr/bin:/sbin:/bin). */
int net_cni_run_tools(json_t *conflist, const char *command, const char *id, const char *netns,
		      const char *ifname, const char *tools, json_t *runtime_config, json_t *prev,
		      json_t **ret, struct err **err);
/* The first IPv4 address of a result ("10.90.0.5", no prefix); NULL when there is none. */
char *net_result_ipv4(json_t *result);
/* The same for IPv6 ("fd00::5"). */
char *net_result_ipv6(json_t *result);
/* The gateway of the first address of a family; NULL when there is none. */
char *net_result_gateway(json_t *result, bool v6);

/* ---- network namespaces (netns.c) ---- */
/* A new network namespace, loopback up, bind-mounted on path (a new file). */
int net_netns_create(const char *path, struct err **err);
/* Unmount and unlink; a missing file is fine. */
int net_netns_remove(const char *path, struct err **err);
/*
 * Wait (at most 3 s) until no IPv6 address of a bridge is tentative: a new bridge's
 * gateway is unusable for the ~1 s of duplicate address detection.
 */
void net_bridge_settle_ipv6(const char *bridge);
/* Is there an interface of that name in our network namespace?  Is it a bridge? */
bool net_iface_exists(const char *name);
bool net_iface_is_bridge(const char *name);
/*
 * Delete a bridge with no ports (set down first); a missing one, or one with ports, is
 * fine.  An interface that is no bridge is refused (-ENOTTY) before anything is set on it.
 */
int net_bridge_delete(const char *name, struct err **err);

/* ---- networks (network.c) ---- */
bool net_name_valid(const char *name);
/*
 * Write networks/<name>.conflist: bridge (NAT, gateway) + host-local + portmap + firewall.
 * subnets (NULL-ended): one IPv4 and/or one IPv6 subnet; ipv6 insists on the latter.
 * Refused: a bridge name that is an interface already (but isola0 of the default network),
 * a subnet in a special-purpose range or over an address or a route of the host.
 */
int net_network_create(const char *store, const char *name, char **subnets, bool ipv6,
		       const char *bridge, struct err **err);
/* Load a network; NET_DEFAULT_NAME is created on first use. */
int net_network_load(const char *store, const char *name, json_t **ret, struct err **err);
/* [{"name","bridge","subnet" (the first),"subnets"}] */
int net_network_list(const char *store, json_t **ret, struct err **err);
/*
 * Refused while a container is attached.  The bridge is deleted (when no port is on it)
 * only if it is a bridge and isola made it (the conflist's "isola" marker, see network.c);
 * otherwise the network is removed and the interface left alone, and ret_note (may be
 * NULL) gets a warning to show (free it).
 */
int net_network_remove(const char *store, const char *name, char **ret_note, struct err **err);
/* "10.1.2.0/24" -> network address and prefix; rejects host bits and prefixes outside 8..30. */
int net_cidr_parse(const char *s, uint32_t *ret_addr, unsigned *ret_prefix);
/* "fd00:1::/64": rejects host bits and prefixes outside 8..120. */
int net_cidr6_parse(const char *s, uint8_t ret_addr[16], unsigned *ret_prefix);

/* ---- container attachments (attach.c) ---- */
struct net_port {
	char host_ip[16]; /* "" = every address */
	uint16_t host_port, ctr_port;
	char proto[4]; /* "tcp" or "udp" */
};
/* [IP:]HOST:CTR[/tcp|udp] */
int net_port_parse(const char *s, struct net_port *ret, struct err **err);

struct net_attach_opts {
	const char *network; /* a network name */
	const struct net_port *ports;
	size_t n_ports;
	const char *hostname;
	char **dns;	  /* nameserver addresses, NULL: the host's (not loopback ones) */
	char **add_hosts; /* "NAME:IP" */
	char **aliases;	  /* more names for the network's DNS responder (not the default network) */
	int lock_fd;	  /* the caller's net_lock() on the container, for undoing a failure */
};
/* The netns path of a container: <store>/net/ns/<id>. */
char *net_netns_path(const char *store, const char *id);
/*
 * Create the netns, ADD the container to the network and write resolv.conf, hosts and
 * hostname into files_dir.  On failure everything done is undone.
 */
int net_attach(const char *store, const char *id, const struct net_attach_opts *o,
	       const char *files_dir, struct err **err);
/*
 * net_attach in two steps, for a caller that makes files_dir meanwhile: everything up to
 * and with ADD (the result recorded in the state), then the DNS responder and the files.
 * Each undoes everything on failure.
 */
int net_attach_add(const char *store, const char *id, const struct net_attach_opts *o,
		   struct err **err);
int net_attach_files(const char *store, const char *id, const struct net_attach_opts *o,
		     const char *files_dir, struct err **err);
/*
 * DEL what the recorded state says, remove the netns and the state; none recorded: 0.
 * First the container's lock, exclusively: an ADD in progress (a run's child holds the
 * lock shared, and goes on after the run is killed) ends before the state is read, so
 * what it makes is undone, not left.  lock_fd: the caller's own (net_lock,
 * net_lock_idle), converted, or -1 (one is taken here; at most 60 s is waited).
 */
int net_detach(const char *store, const char *id, int lock_fd, struct err **err);
/*
 * The same for rm, which must always be able to clean up: a DEL that fails (every
 * plugin of the chain is still asked) does not keep the netns and the state; *ret_note
 * then says so, to be printed as a warning.
 */
int net_detach_force(const char *store, const char *id, int lock_fd, char **ret_note,
		     struct err **err);
/* The recorded state of a container (NULL, 0 when there is none). */
int net_state_load(const char *store, const char *id, json_t **ret, struct err **err);
/*
 * Held (shared) by the process that attaches a container for as long as it lives, so that
 * a prune does not undo an ADD in progress.  Returns the fd (close to release).
 */
int net_lock(const char *store, const char *id, struct err **err);
/*
 * The same, exclusively, waiting for it: no attach of a container of that name can be in
 * progress or begin until it is closed (pass it to net_detach*() as lock_fd).
 */
int net_lock_ex(const char *store, const char *id, struct err **err);
/*
 * The container's lock, exclusively, if no process holds it (no attach in progress): an
 * fd that keeps it so until closed (a net_detach meanwhile is safe), else -errno.
 */
int net_lock_idle(const char *store, const char *id);
/* The ids with recorded state. */
int net_state_ids(const char *store, char ***ret, struct err **err);

/* ---- a VM container's link (vmlink.c) ---- */
#define NET_VM_TAP "tap0" /* in the container's netns */

struct net_vm_iface {
	uint32_t addr, gw; /* IPv4, host byte order; gw 0: none */
	unsigned prefix, mtu;
	uint8_t mac[6]; /* eth0's: the guest takes it */
	char tap[16];
};
/*
 * For a container attached by net_attach, whose process runs in a VM: its IPv4 address,
 * prefix and gateway from the recorded CNI result, and in its netns a persistent TAP
 * (NET_VM_TAP, eth0's MTU) joined to eth0 by tc ingress redirects both ways (the VMM, run
 * in the netns, opens the TAP).  The TAP goes with the netns (net_detach).
 */
int net_vm_link(const char *store, const char *id, struct net_vm_iface *ret, struct err **err);

/*
 * The OCI mode (an engine's netns, @nsfd; @what names it in errors): the first interface
 * other than a loopback that has an IPv4 address (*ret_ifname; "" and nothing done when
 * there is none), that address and prefix and the default route's gateway (when on its
 * subnet) read from the netns, and the TAP @tap (which must not exist) joined to it as
 * net_vm_link does.  On failure nothing is left in the netns.
 */
#define NET_VM_OCI_TAP "isola-tap0"
int net_vm_link_ns(int nsfd, const char *what, const char *tap, struct net_vm_iface *ret,
		   char ret_ifname[16], struct err **err);
/* Undo net_vm_link_ns: the TAP (with its filters) and @ifname's ingress qdisc, if there. */
int net_vm_unlink_ns(int nsfd, const char *what, const char *tap, const char *ifname,
		     struct err **err);

/* ---- DNS messages (dns.c) ---- */
#define DNS_PKT_MAX	   4096	 /* what we read or send over UDP */
#define DNS_MSG_MAX	   65535 /* a message over TCP (its length is two bytes) */
#define DNS_NAME_TEXT_MAX  1100	 /* a 255-byte name with every byte as "\DDD" */
#define DNS_TYPE_A	   1
#define DNS_TYPE_AAAA	   28
#define DNS_RCODE_FORMERR  1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP   4

struct dns_header {
	uint16_t id, flags, qd, an, ns, ar;
};
struct dns_question {
	char name[DNS_NAME_TEXT_MAX]; /* lower case, dotted, no final dot; odd bytes "\DDD" */
	uint16_t type, class;
	size_t end; /* the offset after the question */
};
struct dns_rr {
	uint16_t type;
	uint8_t len;
	uint8_t data[16];
	uint32_t ttl;
};
/*
 * The name at off (compression followed) as text; ret_next: the offset after it in the
 * packet.  -EBADMSG for anything malformed.
 */
int dns_name_read(const uint8_t *p, size_t len, size_t off, char out[DNS_NAME_TEXT_MAX],
		  size_t *ret_next);
/*
 * Header and the one question; every other record is walked and bounds-checked.  len is at
 * most DNS_MSG_MAX (a TCP answer); the callers' buffers bound what a UDP one can be.
 */
int dns_parse(const uint8_t *p, size_t len, struct dns_header *h, struct dns_question *q);
/* A response to the parsed request req: its question, then rrs (TC when they do not fit). */
int dns_answer(const uint8_t *req, const struct dns_header *h, const struct dns_question *q,
	       unsigned rcode, const struct dns_rr *rrs, size_t n_rrs, uint8_t *out, size_t cap,
	       size_t *ret_len);

/* ---- a network's DNS responder (dns-server.c) ---- */
/*
 * Make sure the responder of a network runs: it answers the names of the network's
 * containers (as net/state records them) on addrs (the gateway addresses, NULL-ended) port
 * 53 and forwards other names to the host's resolvers.  It is `isola network dns-serve`
 * (this executable), and exits once the network has no container.
 */
int net_dns_ensure(const char *store, const char *network, char **addrs, struct err **err);
/* After a container left: wait (bounded) for an idle network's responder to exit. */
void net_dns_settle(const char *store, const char *network);
/* A removed network: its responder's files go (the responder has gone with its containers). */
void net_dns_forget(const char *store, const char *network);
/*
 * The responder's loop, on fds handed over by net_dns_ensure.  It returns with its inotify
 * fd open, for the process's exit to close (closing one waits ~13 ms): call it last.
 */
int net_dns_serve(const char *store, const char *network, struct err **err);
