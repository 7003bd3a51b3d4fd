/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Between the files of a network's DNS responder (`isola network dns-serve`):
 *   dns-server.c    the process: its sockets, the poll loop, timers, exit when idle
 *   dns-names.c     the network's names (from net/state), its subnets, the lookup
 *   dns-query.c     clients: UDP queries, TCP connections, answers sent back
 *   dns-upstream.c  the host's resolvers: forwarding over UDP (a socket per query) and
 *                   relaying their answers
 *   dns-uptcp.c     a truncated upstream answer asked again over TCP (RFC 7766 5)
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "dns-internal.h"
#include "err.h"
#include "net.h"

#define TCP_MAX		 16    /* connections at a time; the oldest gives way */
#define TCP_PER_HOST	 4     /* of them from one address: its own oldest gives way */
#define TCP_IDLE_MS	 10000 /* RFC 7766 6.2.3: seconds, not minutes */
#define MAX_UP		 3     /* resolv.conf's limit (MAXNS) */
#define PENDING_MAX	 256
#define PENDING_PER_HOST 32   /* forwarded queries of one address: its own oldest gives way */
#define FORWARD_MS	 2000 /* per upstream, then the next one, then SERVFAIL */
#define QUERY_MAX	 512
#define ANSWER_TTL	 5 /* names come and go with containers */
#define MAX_ANSWERS	 16
#define UPTCP_MAX	 8 /* TCP exchanges with upstreams at a time; the oldest gives way */
#define UPTCP_PER_CLIENT 2 /* of them for one client connection */
#define TCP_SNDBUF	 (2 * 65540) /* a whole TCP answer fits in a client's send buffer */
#define DNS_FLAG_TC	 0x0200

struct dns_rec {
	char name[254];
	int family;
	uint8_t addr[16];
};

/* Where an answer goes: a UDP socket and an address, or a TCP connection (slot, gen). */
struct dns_client {
	int lsock;
	struct sockaddr_storage addr;
	socklen_t len;
	int tcp; /* -1: UDP */
	uint32_t gen;
};

/* A TCP connection: two-byte length, then the message (RFC 1035 4.2.2). */
struct dns_tcp {
	int fd; /* -1: free */
	uint32_t gen;
	struct sockaddr_storage peer;
	uint64_t deadline;
	size_t have;
	uint8_t buf[2 + DNS_PKT_MAX];
};

/*
 * A query forwarded upstream (RFC 5452): its own UDP socket, connect()ed to the upstream
 * asked (the kernel picks a random source port and drops what comes from elsewhere), a
 * random id, and the question's name in random case (case_mask), which the answer must
 * repeat exactly.  query is what went upstream: up_id, the mixed case.
 */
struct dns_pending {
	bool used;
	int fd; /* -1: none (not sent, or the upstream refused) */
	uint16_t up_id, id;
	unsigned attempt;
	struct dns_client client;
	uint64_t deadline;
	size_t len;
	uint8_t case_mask[DNS_CASE_MASK];
	uint8_t query[QUERY_MAX];
};

/*
 * A truncated answer asked again from the same upstream over TCP, for a TCP client: the
 * query goes out once connected, the answer (two-byte length, then at most DNS_MSG_MAX
 * bytes) is read into ans.  Failing that (refused, closed, malformed, another question,
 * or FORWARD_MS gone by), the client gets the truncated answer kept in tc.
 */
struct dns_uptcp {
	int fd; /* -1: free */
	bool sent;
	uint16_t up_id;
	struct dns_client client;
	uint64_t deadline;
	size_t qlen, tclen, have, want;
	uint8_t query[2 + QUERY_MAX];
	uint8_t len[2];
	uint8_t tc[DNS_PKT_MAX]; /* with the client's id */
	uint8_t *ans;		 /* want bytes, made once the length is read */
};

struct dns_subnet {
	int family;
	uint8_t addr[16];
	unsigned prefix;
};

struct dnsd {
	const char *store, *network;
	struct dns_subnet subnets[2]; /* only clients from these are answered */
	size_t n_subnets;
	char state_dir[4096];
	int ino;
	int socks[MAX_SOCKS], listeners[MAX_SOCKS];
	size_t n_socks, n_listeners;
	struct dns_tcp tcp[TCP_MAX];
	uint32_t tcp_gen;
	struct sockaddr_storage up[MAX_UP];
	socklen_t up_len[MAX_UP];
	size_t n_up;
	struct timespec resolv_mtime;
	struct dns_rec *recs;
	size_t n_recs, members;
	/* The network's lock file, opened before the responder gave up its rights; held from
	 * the last look until exit. */
	int lock;
	struct dns_pending pend[PENDING_MAX];
	struct dns_uptcp uptcp[UPTCP_MAX];
};

/* dns-seccomp.c: the allow-list, installed last (no_new_privs set). */
int dnsd_seccomp(struct err **err);

/* dns-server.c */
uint64_t dnsd_now_ms(void);

/* dns-names.c */
/* Read the network's containers (names, addresses, how many) from net/state. */
void dnsd_recs_load(struct dnsd *d);
int dnsd_subnets_load(struct dnsd *d, struct err **err);
bool dnsd_client_ok(const struct dnsd *d, const struct sockaddr_storage *from);
/* Whether a and b are one host's (family and address; the port aside). */
bool dnsd_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
size_t dnsd_lookup(struct dnsd *d, const struct dns_question *q, struct dns_rr *rrs, bool *known);

/* dns-query.c */
void dnsd_tcp_close(struct dnsd *d, int i);
void dnsd_reply(struct dnsd *d, const struct dns_client *c, const uint8_t *p, size_t n);
void dnsd_reply_rcode(struct dnsd *d, const struct dns_client *c, const uint8_t *req,
		      const struct dns_header *h, const struct dns_question *q, unsigned rcode);
/* One datagram from a UDP socket; false: none was waiting. */
bool dnsd_on_query(struct dnsd *d, int lsock);
void dnsd_on_accept(struct dnsd *d, int lfd);
void dnsd_on_tcp(struct dnsd *d, int i);

/* dns-upstream.c */
void dnsd_upstreams_load(struct dnsd *d);
/* p asked of its upstream (d->up[p->attempt]) from a new socket, FORWARD_MS from now. */
void dnsd_pending_send(struct dnsd *d, struct dns_pending *p);
/* No upstream answered p: its socket closed, its slot free, its client gets SERVFAIL. */
void dnsd_pending_fail(struct dnsd *d, struct dns_pending *p);
void dnsd_pending_close(struct dns_pending *p);
void dnsd_forward(struct dnsd *d, const struct dns_client *c, uint8_t *pkt, size_t n,
		  const struct dns_header *h, const struct dns_question *q);
/* One datagram on p's socket; false: none was waiting (or the socket is gone). */
bool dnsd_on_upstream(struct dnsd *d, struct dns_pending *p);

/* dns-uptcp.c */
void dnsd_uptcp_free(struct dns_uptcp *u);
void dnsd_uptcp_fail(struct dnsd *d, struct dns_uptcp *u);
bool dnsd_uptcp_start(struct dnsd *d, const struct dns_pending *p, const uint8_t *tc, size_t n);
void dnsd_on_uptcp(struct dnsd *d, struct dns_uptcp *u);
