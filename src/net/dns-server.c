/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A network's DNS responder, as podman's aardvark-dns: one process per user-defined
 * network, listening on the bridge's gateway addresses (port 53, UDP and TCP) in the
 * host's network namespace.  It answers A and AAAA for the names of the network's containers
 * (id, hostname, aliases) from net/state, which it watches with inotify, so a name
 * appears when a container is attached and goes when it is detached.  Other names go to
 * the host's resolvers (/etc/resolv.conf, or $ISOLA_DNS_RESOLV_CONF) and their answer is
 * relayed; with no resolver, or none answering, the client gets SERVFAIL.  Only clients
 * with an address in the network's subnets are answered at all.  Queries go upstream
 * over UDP; an answer the upstream truncated (TC) for a client that asked over TCP is
 * asked again over TCP from the same upstream (RFC 7766 5), and relayed whole; a UDP
 * client gets the truncated answer and asks again over TCP itself.
 *
 * Files under <store>/net/dns: <network>.lock orders starting and stopping (the starter
 * and the responder's last look at the state hold it), <network>.pid is locked by the
 * responder for as long as it lives (and holds its pid).  Started by dns-spawn.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "dns-internal.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "net.h"
#include "strv.h"

#define TCP_MAX		 16    /* connections at a time; the oldest gives way */
#define TCP_IDLE_MS	 10000 /* RFC 7766 6.2.3: seconds, not minutes */
#define MAX_UP		 3     /* resolv.conf's limit (MAXNS) */
#define PENDING_MAX	 256
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
	uint64_t deadline;
	size_t have;
	uint8_t buf[2 + DNS_PKT_MAX];
};

struct dns_pending {
	bool used;
	uint16_t up_id, id;
	unsigned attempt;
	struct dns_client client;
	uint64_t deadline;
	size_t len;
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
	char state_dir[4096], lock_path[4096];
	int ino;
	int socks[MAX_SOCKS], listeners[MAX_SOCKS];
	size_t n_socks, n_listeners;
	struct dns_tcp tcp[TCP_MAX];
	uint32_t tcp_gen;
	int up_fd[2]; /* AF_INET, AF_INET6 */
	struct sockaddr_storage up[MAX_UP];
	socklen_t up_len[MAX_UP];
	size_t n_up;
	struct timespec resolv_mtime;
	struct dns_rec *recs;
	size_t n_recs, members;
	int exit_lock; /* the network's lock, held from the last look until exit */
	struct dns_pending pend[PENDING_MAX];
	struct dns_uptcp uptcp[UPTCP_MAX];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *net_dns_file(const char *store, const char *network, const char *ext)
{
	char *p = NULL;

	return asprintf(&p, "%s/net/dns/%s%s", store, network, ext) < 0 ? NULL : p;
}

/* ---- the network's names ---- */

static void rec_add(struct dnsd *d, const char *name, const char *ip)
{
	struct dns_rec r = {};
	struct dns_rec *n;

	if (!name || !ip || strlen(name) >= sizeof(r.name))
		return;
	if (inet_pton(AF_INET, ip, r.addr) == 1)
		r.family = AF_INET;
	else if (inet_pton(AF_INET6, ip, r.addr) == 1)
		r.family = AF_INET6;
	else
		return;
	snprintf(r.name, sizeof(r.name), "%s", name);
	n = realloc(d->recs, (d->n_recs + 1) * sizeof(*n));
	if (!n)
		return;
	d->recs = n;
	d->recs[d->n_recs++] = r;
}

static void recs_of(struct dnsd *d, json_t *st, const char *id)
{
	static const char *const ips[] = {"ip", "ip6"};
	const char *h = json_string_value(json_object_get(st, "hostname"));
	json_t *al = json_object_get(st, "aliases"), *a;
	size_t i;

	for (size_t k = 0; k < ARRAY_SIZE(ips); k++) {
		const char *ip = json_string_value(json_object_get(st, ips[k]));

		rec_add(d, id, ip);
		if (h && strcasecmp(h, id))
			rec_add(d, h, ip);
		json_array_foreach (al, i, a)
			rec_add(d, json_string_value(a), ip);
	}
}

/* Read the network's containers from net/state. */
static void recs_load(struct dnsd *d)
{
	_cleanup_strv_ char **ids = NULL;

	free(d->recs);
	d->recs = NULL;
	d->n_recs = d->members = 0;
	if (net_state_ids(d->store, &ids, NULL) < 0)
		return;
	for (size_t i = 0; ids && ids[i]; i++) {
		_cleanup_json_ json_t *st = NULL;
		const char *n;

		if (net_state_load(d->store, ids[i], &st, NULL) < 0 || !st)
			continue;
		n = json_string_value(json_object_get(st, "network"));
		if (!n || !streq(n, d->network))
			continue;
		d->members++;
		recs_of(d, st, ids[i]);
	}
}

size_t net_dns_members(const char *store, const char *network)
{
	struct dnsd d = {.store = store, .network = network};

	recs_load(&d);
	free(d.recs);
	return d.members;
}

/* The network's subnets, from its conflist (host-local's ranges). */
static int subnets_load(struct dnsd *d, struct err **err)
{
	_cleanup_json_ json_t *c = NULL;
	json_t *br, *set;
	size_t i;
	int r = net_network_load(d->store, d->network, &c, err);

	if (r < 0)
		return r;
	br = json_array_get(json_object_get(c, "plugins"), 0);
	json_array_foreach (json_object_get(json_object_get(br, "ipam"), "ranges"), i, set) {
		const char *sub =
		    json_string_value(json_object_get(json_array_get(set, 0), "subnet"));
		struct dns_subnet *n = &d->subnets[d->n_subnets];
		uint32_t a4;

		if (!sub || d->n_subnets >= ARRAY_SIZE(d->subnets))
			continue;
		if (net_cidr_parse(sub, &a4, &n->prefix) == 0) {
			n->family = AF_INET;
			a4 = htonl(a4);
			memcpy(n->addr, &a4, 4);
			d->n_subnets++;
		} else if (net_cidr6_parse(sub, n->addr, &n->prefix) == 0) {
			n->family = AF_INET6;
			d->n_subnets++;
		}
	}
	if (!d->n_subnets)
		return err_make(err, 0, "network `%s`: no subnet to serve", d->network);
	return 0;
}

/* A client on the network: other networks' containers do not learn its names. */
static bool client_ok(const struct dnsd *d, const struct sockaddr_storage *from)
{
	const uint8_t *a = from->ss_family == AF_INET
			       ? (const uint8_t *)&((const struct sockaddr_in *)from)->sin_addr
			       : ((const struct sockaddr_in6 *)from)->sin6_addr.s6_addr;

	for (size_t i = 0; i < d->n_subnets; i++) {
		const struct dns_subnet *s = &d->subnets[i];
		bool in = s->family == from->ss_family;

		for (unsigned bit = 0; in && bit < s->prefix; bit++)
			in = !((a[bit / 8] ^ s->addr[bit / 8]) & (0x80 >> (bit % 8)));
		if (in)
			return true;
	}
	return false;
}

/* ---- upstream resolvers ---- */

static bool is_ours(struct dnsd *d, const struct sockaddr_storage *sa)
{
	for (size_t i = 0; i < d->n_socks; i++) {
		struct sockaddr_storage me;
		socklen_t l = sizeof(me);

		if (getsockname(d->socks[i], (struct sockaddr *)&me, &l) == 0 &&
		    me.ss_family == sa->ss_family &&
		    (sa->ss_family == AF_INET
			 ? ((struct sockaddr_in *)&me)->sin_addr.s_addr ==
			       ((struct sockaddr_in *)sa)->sin_addr.s_addr
			 : !memcmp(&((struct sockaddr_in6 *)&me)->sin6_addr,
				   &((struct sockaddr_in6 *)sa)->sin6_addr, 16)))
			return true;
	}
	return false;
}

static void upstream_add(struct dnsd *d, const char *addr)
{
	struct sockaddr_storage sa = {};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;

	if (d->n_up >= MAX_UP)
		return;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		d->up_len[d->n_up] = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		d->up_len[d->n_up] = sizeof(*s6);
	} else {
		return;
	}
	if (!is_ours(d, &sa))
		d->up[d->n_up++] = sa;
}

/* (Re)read the resolvers when resolv.conf changed. */
static void upstreams_load(struct dnsd *d)
{
	const char *path = getenv("ISOLA_DNS_RESOLV_CONF");
	_cleanup_fclose_ FILE *f = NULL;
	char line[512], addr[256];
	struct stat st;

	path = path && *path ? path : "/etc/resolv.conf";
	if (stat(path, &st) < 0) {
		d->n_up = 0;
		d->resolv_mtime = (struct timespec){};
		return;
	}
	if (st.st_mtim.tv_sec == d->resolv_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == d->resolv_mtime.tv_nsec && d->resolv_mtime.tv_sec)
		return;
	d->resolv_mtime = st.st_mtim;
	d->n_up = 0;
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "nameserver %255s", addr) == 1)
			upstream_add(d, addr);
}

static int up_sock(struct dnsd *d, int family)
{
	int *fd = &d->up_fd[family == AF_INET6];

	if (*fd < 0)
		*fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	return *fd;
}

/* ---- queries ---- */

static void tcp_close(struct dnsd *d, int i)
{
	if (d->tcp[i].fd >= 0)
		close(d->tcp[i].fd);
	d->tcp[i].fd = -1;
}

static void reply(struct dnsd *d, const struct dns_client *c, const uint8_t *p, size_t n)
{
	uint8_t len[2] = {n >> 8, n & 0xff};
	struct iovec iov[2] = {{len, 2}, {(void *)p, n}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	struct dns_tcp *t;

	if (c->tcp < 0) {
		(void)sendto(c->lsock, p, n, MSG_DONTWAIT, (const struct sockaddr *)&c->addr,
			     c->len);
		return;
	}
	t = &d->tcp[c->tcp];
	if (t->fd < 0 || t->gen != c->gen || n > DNS_MSG_MAX)
		return; /* that connection is gone */
	/*
	 * The send buffer holds a whole answer (TCP_SNDBUF): one that does not go out at once
	 * means the client has not read earlier ones, and ends the connection.
	 */
	if (sendmsg(t->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)(n + 2))
		tcp_close(d, c->tcp);
}

static void reply_rcode(struct dnsd *d, const struct dns_client *c, const uint8_t *req,
			const struct dns_header *h, const struct dns_question *q, unsigned rcode)
{
	uint8_t out[QUERY_MAX];
	size_t n;

	if (dns_answer(req, h, q, rcode, NULL, 0, out, sizeof(out), &n) == 0)
		reply(d, c, out, n);
}

/* The records of q's name and type; *known: the name is one of ours. */
static size_t lookup(struct dnsd *d, const struct dns_question *q, struct dns_rr *rrs, bool *known)
{
	size_t n = 0;

	*known = false;
	for (size_t i = 0; i < d->n_recs; i++) {
		const struct dns_rec *r = &d->recs[i];
		bool want;

		if (strcasecmp(r->name, q->name))
			continue;
		*known = true;
		want = (q->type == DNS_TYPE_A && r->family == AF_INET) ||
		       (q->type == DNS_TYPE_AAAA && r->family == AF_INET6);
		if (!want || n >= MAX_ANSWERS)
			continue;
		rrs[n] = (struct dns_rr){
		    .type = q->type, .len = r->family == AF_INET ? 4 : 16, .ttl = ANSWER_TTL};
		memcpy(rrs[n].data, r->addr, rrs[n].len);
		n++;
	}
	return n;
}

static void pending_send(struct dnsd *d, struct dns_pending *p)
{
	const struct sockaddr_storage *to = &d->up[p->attempt];
	int fd = up_sock(d, to->ss_family);

	p->deadline = now_ms() + FORWARD_MS;
	if (fd >= 0)
		(void)sendto(fd, p->query, p->len, MSG_DONTWAIT, (const struct sockaddr *)to,
			     d->up_len[p->attempt]);
}

static struct dns_pending *pending_slot(struct dnsd *d)
{
	struct dns_pending *oldest = &d->pend[0];

	for (size_t i = 0; i < PENDING_MAX; i++) {
		if (!d->pend[i].used)
			return &d->pend[i];
		if (d->pend[i].deadline < oldest->deadline)
			oldest = &d->pend[i];
	}
	return oldest; /* full: the oldest query is given up (its client asks again) */
}

static uint16_t fresh_id(struct dnsd *d)
{
	uint16_t id = 0;

	for (int tries = 0; tries < 16; tries++) {
		bool clash = false;

		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint16_t)(now_ms() * 2654435761u >> 7);
		for (size_t i = 0; i < PENDING_MAX && !clash; i++)
			clash = d->pend[i].used && d->pend[i].up_id == id;
		if (!clash)
			break;
	}
	return id;
}

static void forward(struct dnsd *d, const struct dns_client *c, uint8_t *pkt, size_t n,
		    const struct dns_header *h, const struct dns_question *q)
{
	struct dns_pending *p;

	upstreams_load(d);
	if (d->n_up == 0 || n > QUERY_MAX)
		return reply_rcode(d, c, pkt, h, q, DNS_RCODE_SERVFAIL);
	p = pending_slot(d);
	*p = (struct dns_pending){.used = true, .id = h->id, .client = *c, .len = n};
	p->up_id = fresh_id(d);
	memcpy(p->query, pkt, n);
	p->query[0] = p->up_id >> 8;
	p->query[1] = p->up_id & 0xff;
	pending_send(d, p);
}

/* A query from a client of the network: our names answered, others forwarded. */
static void on_message(struct dnsd *d, const struct dns_client *c, uint8_t *pkt, size_t n)
{
	uint8_t out[QUERY_MAX];
	struct dns_rr rrs[MAX_ANSWERS];
	struct dns_header h;
	struct dns_question q;
	size_t len, nr;
	bool known;

	if (dns_parse(pkt, n, &h, &q) < 0 || (h.flags & 0x8000)) {
		if (c->tcp >= 0)
			tcp_close(d, c->tcp);
		return; /* malformed, or a response: never answered (no reflection) */
	}
	if (((h.flags >> 11) & 0xf) != 0)
		return reply_rcode(d, c, pkt, &h, &q, DNS_RCODE_NOTIMP);
	nr = lookup(d, &q, rrs, &known);
	if (!known || q.class != 1)
		return forward(d, c, pkt, n, &h, &q);
	if (dns_answer(pkt, &h, &q, 0, rrs, nr, out, sizeof(out), &len) == 0)
		reply(d, c, out, len);
}

static bool on_query(struct dnsd *d, int lsock)
{
	uint8_t pkt[DNS_PKT_MAX];
	struct dns_client c = {.lsock = lsock, .len = sizeof(c.addr), .tcp = -1};
	ssize_t n =
	    recvfrom(lsock, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&c.addr, &c.len);

	if (n >= 0 && client_ok(d, &c.addr))
		on_message(d, &c, pkt, n);
	return n >= 0;
}

/* A new TCP client of the network takes a free slot, or the oldest one's. */
static void on_accept(struct dnsd *d, int lfd)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	int fd = accept4(lfd, (struct sockaddr *)&from, &fl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int slot = 0;

	if (fd < 0)
		return;
	if (!client_ok(d, &from)) {
		close(fd);
		return;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){TCP_SNDBUF}, sizeof(int));
	for (int i = 0; i < TCP_MAX; i++) {
		if (d->tcp[i].fd < 0) {
			slot = i;
			break;
		}
		if (d->tcp[i].deadline < d->tcp[slot].deadline)
			slot = i;
	}
	tcp_close(d, slot);
	d->tcp[slot].fd = fd;
	d->tcp[slot].gen = ++d->tcp_gen;
	d->tcp[slot].have = 0;
	d->tcp[slot].deadline = now_ms() + TCP_IDLE_MS;
}

/* Read what a connection sent; a whole message is handled, a bad length ends it. */
static void on_tcp(struct dnsd *d, int i)
{
	struct dns_tcp *t = &d->tcp[i];
	size_t want =
	    t->have < 2 ? 2 - t->have : 2 + ((size_t)t->buf[0] << 8 | t->buf[1]) - t->have;
	ssize_t n = recv(t->fd, t->buf + t->have, want, MSG_DONTWAIT);
	struct dns_client c = {.tcp = i, .gen = t->gen};
	size_t len;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			tcp_close(d, i);
		return;
	}
	t->have += n;
	t->deadline = now_ms() + TCP_IDLE_MS;
	if (t->have < 2)
		return;
	len = (size_t)t->buf[0] << 8 | t->buf[1];
	if (len < 12 || len > DNS_PKT_MAX)
		return tcp_close(d, i);
	if (t->have < 2 + len)
		return;
	t->have = 0;
	on_message(d, &c, t->buf + 2, len);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return !memcmp(&((struct sockaddr_in *)a)->sin_addr,
			       &((struct sockaddr_in *)b)->sin_addr, 4) &&
		       ((struct sockaddr_in *)a)->sin_port == ((struct sockaddr_in *)b)->sin_port;
	return !memcmp(&((struct sockaddr_in6 *)a)->sin6_addr,
		       &((struct sockaddr_in6 *)b)->sin6_addr, 16) &&
	       ((struct sockaddr_in6 *)a)->sin6_port == ((struct sockaddr_in6 *)b)->sin6_port;
}

/* ---- truncated answers asked again over TCP ---- */

static void uptcp_free(struct dns_uptcp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	free(u->ans);
	u->fd = -1;
	u->ans = NULL;
}

/* The TCP exchange failed: the client gets the truncated answer. */
static void uptcp_fail(struct dnsd *d, struct dns_uptcp *u)
{
	reply(d, &u->client, u->tc, u->tclen);
	uptcp_free(u);
}

/* Ask p's upstream again over TCP; false: it cannot even start (relay tc at once). */
static bool uptcp_start(struct dnsd *d, const struct dns_pending *p, const uint8_t *tc, size_t n)
{
	const struct sockaddr_storage *to = &d->up[p->attempt];
	struct dns_uptcp *u = &d->uptcp[0];
	int fd;

	if (n > sizeof(u->tc) || p->len > QUERY_MAX)
		return false;
	for (int i = 0, mine = 0; i < UPTCP_MAX; i++)
		if (d->uptcp[i].fd >= 0 && d->uptcp[i].client.tcp == p->client.tcp &&
		    d->uptcp[i].client.gen == p->client.gen && ++mine >= UPTCP_PER_CLIENT)
			return false; /* one connection does not take every exchange */
	for (int i = 0; i < UPTCP_MAX; i++) {
		if (d->uptcp[i].fd < 0) {
			u = &d->uptcp[i];
			break;
		}
		if (d->uptcp[i].deadline < u->deadline)
			u = &d->uptcp[i];
	}
	if (u->fd >= 0)
		uptcp_fail(d, u); /* all busy: the oldest gives way */
	fd = socket(to->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if (connect(fd, (const struct sockaddr *)to, d->up_len[p->attempt]) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return false;
	}
	*u = (struct dns_uptcp){.fd = fd,
				.up_id = p->up_id,
				.client = p->client,
				.deadline = now_ms() + FORWARD_MS,
				.qlen = 2 + p->len,
				.tclen = n};
	u->query[0] = p->len >> 8;
	u->query[1] = p->len & 0xff;
	memcpy(u->query + 2, p->query, p->len);
	memcpy(u->tc, tc, n);
	return true;
}

/* The whole answer read: relayed if it is a response to the question asked. */
static void uptcp_answer(struct dnsd *d, struct dns_uptcp *u)
{
	uint8_t *a = u->ans;
	struct dns_header h, qh;
	struct dns_question q, qq;

	if (dns_parse(a, u->want, &h, &q) < 0 || !(h.flags & 0x8000) || h.id != u->up_id ||
	    dns_parse(u->query + 2, u->qlen - 2, &qh, &qq) < 0 || strcmp(qq.name, q.name) ||
	    qq.type != q.type || qq.class != q.class)
		return uptcp_fail(d, u);
	a[0] = u->tc[0]; /* the client's id */
	a[1] = u->tc[1];
	reply(d, &u->client, a, u->want);
	uptcp_free(u);
}

/* Connected: send the query (small: at once); then read the length, then the answer. */
static void on_uptcp(struct dnsd *d, struct dns_uptcp *u)
{
	int e = 0;
	ssize_t r;

	if (!u->sent) {
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &e, &(socklen_t){sizeof(e)}) < 0 || e)
			return uptcp_fail(d, u); /* refused, unreachable */
		r = send(u->fd, u->query, u->qlen, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && (errno == EAGAIN || errno == ENOTCONN))
			return; /* still connecting */
		if (r != (ssize_t)u->qlen)
			return uptcp_fail(d, u);
		u->sent = true;
		return;
	}
	if (u->have < 2)
		r = recv(u->fd, u->len + u->have, 2 - u->have, MSG_DONTWAIT);
	else
		r = recv(u->fd, u->ans + u->have - 2, u->want + 2 - u->have, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0)
		return uptcp_fail(d, u); /* closed before the whole answer */
	u->have += r;
	if (u->have == 2 && !u->ans) {
		u->want = (size_t)u->len[0] << 8 | u->len[1];
		u->ans = u->want >= 12 ? malloc(u->want) : NULL;
		if (!u->ans)
			return uptcp_fail(d, u);
	}
	/* Only the announced length is read: what an upstream sends after it is never looked at. */
	if (u->ans && u->have == 2 + u->want)
		uptcp_answer(d, u);
}

/* An upstream's answer: relayed if it comes from where we asked and is for the question. */
static bool on_upstream(struct dnsd *d, int fd)
{
	uint8_t pkt[DNS_PKT_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	struct dns_header h, qh;
	struct dns_question q, qq;

	if (n < 0)
		return false;
	if (dns_parse(pkt, n, &h, &q) < 0 || !(h.flags & 0x8000))
		return true;
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct dns_pending *p = &d->pend[i];

		if (!p->used || p->up_id != h.id || p->attempt >= d->n_up ||
		    !same_addr(&from, &d->up[p->attempt]))
			continue;
		if (dns_parse(p->query, p->len, &qh, &qq) < 0 || strcmp(qq.name, q.name) ||
		    qq.type != q.type || qq.class != q.class)
			return true;
		pkt[0] = p->id >> 8;
		pkt[1] = p->id & 0xff;
		p->used = false;
		if ((h.flags & DNS_FLAG_TC) && p->client.tcp >= 0 && uptcp_start(d, p, pkt, n))
			return true;
		reply(d, &p->client, pkt, n);
		return true;
	}
	return true;
}

/* Upstreams that did not answer in time: the next one, or SERVFAIL. */
static int expire(struct dnsd *d)
{
	uint64_t now = now_ms();
	int next = 1000;

	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct dns_pending *p = &d->pend[i];
		struct dns_header h;
		struct dns_question q;

		if (!p->used)
			continue;
		if (p->deadline <= now) {
			if (++p->attempt < d->n_up) {
				pending_send(d, p);
			} else {
				p->used = false;
				p->query[0] = p->id >> 8;
				p->query[1] = p->id & 0xff;
				if (dns_parse(p->query, p->len, &h, &q) == 0)
					reply_rcode(d, &p->client, p->query, &h, &q,
						    DNS_RCODE_SERVFAIL);
				continue;
			}
		}
		if ((int)(p->deadline - now) < next)
			next = p->deadline - now;
	}
	for (int i = 0; i < UPTCP_MAX; i++) {
		if (d->uptcp[i].fd < 0)
			continue;
		if (d->uptcp[i].deadline <= now) {
			uptcp_fail(d, &d->uptcp[i]); /* slow, or an endless stream */
			continue;
		}
		if ((int)(d->uptcp[i].deadline - now) < next)
			next = d->uptcp[i].deadline - now;
	}
	for (int i = 0; i < TCP_MAX; i++) {
		if (d->tcp[i].fd < 0)
			continue;
		if (d->tcp[i].deadline <= now) {
			tcp_close(d, i);
			continue;
		}
		if ((int)(d->tcp[i].deadline - now) < next)
			next = d->tcp[i].deadline - now;
	}
	return next;
}

/* ---- the loop ---- */

/*
 * No container left: exit, unless one is being attached.  The network's lock orders us
 * with net_dns_ensure: held from this last look until our sockets are closed.
 */
static bool idle(struct dnsd *d)
{
	_cleanup_close_ int lk = -1;

	if (d->members)
		return false;
	lk = open(d->lock_path, O_RDWR | O_CLOEXEC);
	if (lk >= 0 && flock(lk, LOCK_EX) < 0)
		return false;
	recs_load(d);
	if (d->members)
		return false;
	d->exit_lock = TAKE_FD(lk);
	return true;
}

static bool drain_inotify(struct dnsd *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool gone = false;
	ssize_t n;

	while ((n = read(d->ino, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const void *)p;

			gone |= e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED);
			p += sizeof(*e) + e->len;
		}
	return gone;
}

static int serve_fds(struct dnsd *d, struct err **err)
{
	for (int fd = FD_SOCK; fd < FD_SOCK + MAX_SOCKS; fd++) {
		int type = 0;
		socklen_t l = sizeof(type);

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
			continue;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (type == SOCK_DGRAM)
			d->socks[d->n_socks++] = fd;
		else if (type == SOCK_STREAM && fcntl(fd, F_SETFL, O_NONBLOCK) == 0)
			d->listeners[d->n_listeners++] = fd;
	}
	if (!d->n_socks)
		return err_make(err, EBADF, "dns-serve: no listening socket (fd %d)", FD_SOCK);
	return 0;
}

/*
 * Every fd to wait on: [inotify, UDP..., listeners..., upstreams (2), connections...,
 * TCP exchanges with upstreams...].
 */
static size_t poll_set(struct dnsd *d, struct pollfd *pf)
{
	size_t n = 0;

	pf[n++] = (struct pollfd){.fd = d->ino, .events = POLLIN};
	for (size_t i = 0; i < d->n_socks; i++)
		pf[n++] = (struct pollfd){.fd = d->socks[i], .events = POLLIN};
	for (size_t i = 0; i < d->n_listeners; i++)
		pf[n++] = (struct pollfd){.fd = d->listeners[i], .events = POLLIN};
	for (size_t i = 0; i < 2; i++)
		pf[n++] = (struct pollfd){.fd = d->up_fd[i], .events = POLLIN};
	for (int i = 0; i < TCP_MAX; i++)
		pf[n++] = (struct pollfd){.fd = d->tcp[i].fd, .events = POLLIN};
	for (int i = 0; i < UPTCP_MAX; i++)
		pf[n++] = (struct pollfd){.fd = d->uptcp[i].fd,
					  .events = d->uptcp[i].sent ? POLLIN : POLLOUT};
	return n;
}

static int loop(struct dnsd *d)
{
	for (;;) {
		struct pollfd pf[1 + 2 * MAX_SOCKS + 2 + TCP_MAX + UPTCP_MAX];
		int timeout = expire(d);
		size_t n, k = 1;

		if (idle(d))
			return 0;
		n = poll_set(d, pf);
		if (poll(pf, n, timeout) < 0 && errno != EINTR)
			return -errno;
		if (pf[0].revents) {
			if (drain_inotify(d))
				return 0; /* the store went away */
			recs_load(d);
		}
		for (size_t i = 0; i < d->n_socks; i++, k++)
			for (int b = 0; b < 64 && (pf[k].revents & POLLIN); b++)
				if (!on_query(d, d->socks[i])) /* a batch, then the others' turn */
					break;
		for (size_t i = 0; i < d->n_listeners; i++, k++)
			if (pf[k].revents & POLLIN)
				on_accept(d, d->listeners[i]);
		for (size_t i = 0; i < 2; i++, k++)
			for (int b = 0; b < 64 && pf[k].fd >= 0 && (pf[k].revents & POLLIN); b++)
				if (!on_upstream(d, d->up_fd[i]))
					break;
		/* Connections as polled (a slot accepted above waits for the next round). */
		for (int i = 0; i < TCP_MAX; i++, k++)
			if (pf[k].fd >= 0 && pf[k].fd == d->tcp[i].fd && pf[k].revents)
				on_tcp(d, i);
		/* The same for exchanges (one that gave way above is not this fd's any more). */
		for (int i = 0; i < UPTCP_MAX; i++, k++)
			if (pf[k].fd >= 0 && pf[k].fd == d->uptcp[i].fd && pf[k].revents)
				on_uptcp(d, &d->uptcp[i]);
	}
}

int net_dns_serve(const char *store, const char *network, struct err **err)
{
	struct dnsd *d = calloc(1, sizeof(*d));
	char pid[32];
	int r;

	if (!d)
		return err_make(err, ENOMEM, "dns-serve");
	*d = (struct dnsd){
	    .store = store, .network = network, .ino = -1, .up_fd = {-1, -1}, .exit_lock = -1};
	for (int i = 0; i < TCP_MAX; i++)
		d->tcp[i].fd = -1;
	for (int i = 0; i < UPTCP_MAX; i++)
		d->uptcp[i].fd = -1;
	snprintf(d->state_dir, sizeof(d->state_dir), "%s/net/state", store);
	snprintf(d->lock_path, sizeof(d->lock_path), "%s/net/dns/%s.lock", store, network);
	r = serve_fds(d, err);
	if (r >= 0)
		r = subnets_load(d, err);
	if (r < 0)
		goto out;
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	/* The pid is for people; the lock is what counts. */
	if (ftruncate(FD_PID, 0) == 0 && pwrite(FD_PID, pid, strlen(pid), 0) < 0)
		pid[0] = '\0';
	d->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ino < 0 ||
	    inotify_add_watch(d->ino, d->state_dir,
			      IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE |
				  IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0) {
		r = err_make(err, errno, "inotify `%s`", d->state_dir);
		goto out;
	}
	recs_load(d);
	upstreams_load(d);
	r = loop(d);
	if (r < 0)
		err_make(err, -r, "dns-serve `%s`", network);
out:
	if (d->ino >= 0)
		close(d->ino);
	for (size_t i = 0; i < 2; i++)
		if (d->up_fd[i] >= 0)
			close(d->up_fd[i]);
	/* Sockets and the pid file's lock first: then a new responder may start. */
	for (size_t i = 0; i < d->n_socks; i++)
		close(d->socks[i]);
	for (size_t i = 0; i < d->n_listeners; i++)
		close(d->listeners[i]);
	for (int i = 0; i < UPTCP_MAX; i++)
		uptcp_free(&d->uptcp[i]);
	for (int i = 0; i < TCP_MAX; i++)
		tcp_close(d, i);
	close(FD_PID);
	if (d->exit_lock >= 0)
		close(d->exit_lock);
	free(d->recs);
	free(d);
	return r;
}
