/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The DNS responder's upstreams: the host's resolvers (/etc/resolv.conf, or
 * $ISOLA_DNS_RESOLV_CONF; re-read when it changes), asked over UDP one after another
 * (FORWARD_MS each).  Against forged answers (RFC 5452), every query goes from a socket of
 * its own, connect()ed to the resolver asked, so from a random source port, and nothing
 * from another address or port reaches it; with a random new id, and the question's name
 * in random case (0x20).  An answer is relayed only if it has that id and that question,
 * letter for letter; the client gets it with its own id and case back.  At most
 * PENDING_MAX queries (so sockets) at a time, PENDING_PER_HOST of one address: an old one
 * gives way (pending_slot).  A truncated answer for a TCP client is asked again over TCP
 * (dns-uptcp.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "dns-server-internal.h"
#include "jsonutil.h"

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
void dnsd_upstreams_load(struct dnsd *d)
{
	const char *path = net_dns_resolv_path();
	_cleanup_fclose_ FILE *f = NULL;
	char line[512], addr[256];
	struct stat st;

	if (stat(path, &st) < 0) {
		d->n_up = 0;
		d->resolv_mtime = (struct timespec){};
		return;
	}
	if (st.st_mtim.tv_sec == d->resolv_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == d->resolv_mtime.tv_nsec && d->resolv_mtime.tv_sec)
		return;
	d->resolv_mtime = st.st_mtim;
	/*
	 * One the responder may not read (replaced by a rename, where its Landlock rules allow
	 * only the file it started with: dns-server.c) leaves the resolvers it had.
	 */
	f = fopen(path, "re");
	if (!f)
		return;
	d->n_up = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nameserver %255s", addr) == 1)
			upstream_add(d, addr);
}

void dnsd_pending_close(struct dns_pending *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static bool is_loopback(const struct sockaddr_storage *sa)
{
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (sa->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}

/* sa as an IPv4 (4 bytes, an IPv4-mapped IPv6 address too) or IPv6 address: its family. */
static int plain_addr(const struct sockaddr_storage *sa, uint8_t ret[16])
{
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (sa->ss_family == AF_INET) {
		memcpy(ret, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		memcpy(ret, a6->s6_addr + 12, 4);
		return AF_INET;
	}
	memcpy(ret, a6->s6_addr, 16);
	return AF_INET6;
}

/* to is the gateway (the first address: the bridge's) of a network of this store. */
static bool is_store_gateway(struct dnsd *d, const struct sockaddr_storage *to)
{
	_cleanup_json_ json_t *list = NULL;
	uint8_t want[16], a6[16];
	int family = plain_addr(to, want);
	json_t *n, *sub;
	size_t i, j;

	if (net_network_list(d->store, &list, NULL) < 0)
		return false;
	json_array_foreach (list, i, n)
		json_array_foreach (json_object_get(n, "subnets"), j, sub) {
			const char *s = json_string_value(sub);
			uint32_t a4;
			unsigned prefix;

			if (!s)
				continue;
			if (family == AF_INET && net_cidr_parse(s, &a4, &prefix) == 0) {
				a4 = htonl(a4 + 1);
				if (!memcmp(&a4, want, 4))
					return true;
			} else if (family == AF_INET6 && net_cidr6_parse(s, a6, &prefix) == 0) {
				a6[15] |= 1;
				if (!memcmp(a6, want, 16))
					return true;
			}
		}
	return false;
}

/*
 * fd is connected to @to, an address of this host's own other than loopback (the kernel
 * then picks @to itself as the source), and that address is the gateway of one of this
 * store's networks: an isola responder.  Asked, this one (under another spelling, such as
 * ::ffff:a.b.c.d) or another network's would forward the query on, back and forth for
 * good, or answer with its network's names, which do not leak between networks.  A
 * resolver on another local address (dnsmasq on the host's LAN address) is asked.  Looked
 * at each send, since a network made after resolv.conf was read puts its gateway on the
 * host then; the store's networks are read only for such a local resolver.
 */
static bool is_own_gateway(struct dnsd *d, int fd, const struct sockaddr_storage *to)
{
	struct sockaddr_storage me;
	socklen_t l = sizeof(me);
	uint8_t a[16], b[16];
	int family;

	if (is_loopback(to) || getsockname(fd, (struct sockaddr *)&me, &l) < 0)
		return false;
	family = plain_addr(to, a);
	if (plain_addr(&me, b) != family || memcmp(a, b, family == AF_INET ? 4 : 16))
		return false;
	return is_store_gateway(d, to);
}

void dnsd_pending_send(struct dnsd *d, struct dns_pending *p)
{
	const struct sockaddr_storage *to = &d->up[p->attempt];
	_cleanup_close_ int fd = -1;

	dnsd_pending_close(p); /* the previous upstream's, if any: its answer is too late */
	p->deadline = dnsd_now_ms() + FORWARD_MS;
	fd = socket(to->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/* Out of fds, or no route: this upstream times out like a silent one. */
	if (fd < 0 || connect(fd, (const struct sockaddr *)to, d->up_len[p->attempt]) < 0)
		return;
	/* Not asked: the next upstream at once (expire), or SERVFAIL. */
	if (is_own_gateway(d, fd, to)) {
		p->deadline = dnsd_now_ms();
		return;
	}
	if (send(fd, p->query, p->len, MSG_DONTWAIT) < 0)
		return;
	p->fd = TAKE_FD(fd);
}

/* The query's question back in the client's case. */
static int pending_unmix(struct dns_pending *p, struct dns_header *h, struct dns_question *q)
{
	int r = dns_parse(p->query, p->len, h, q);

	if (r == 0)
		dns_question_flip_case(p->query, q, p->case_mask);
	return r;
}

void dnsd_pending_fail(struct dnsd *d, struct dns_pending *p)
{
	struct dns_header h;
	struct dns_question q;

	dnsd_pending_close(p);
	p->used = false;
	p->query[0] = p->id >> 8;
	p->query[1] = p->id & 0xff;
	if (pending_unmix(p, &h, &q) == 0)
		dnsd_reply_rcode(d, &p->client, p->query, &h, &q, DNS_RCODE_SERVFAIL);
}

/* By address (family, then bytes), then oldest first. */
static int by_host(const void *a, const void *b)
{
	const struct dns_pending *x = *(const struct dns_pending *const *)a;
	const struct dns_pending *y = *(const struct dns_pending *const *)b;
	const struct sockaddr_storage *xa = &x->client.addr, *ya = &y->client.addr;
	int c = (xa->ss_family > ya->ss_family) - (xa->ss_family < ya->ss_family);

	if (!c && xa->ss_family == AF_INET)
		c = memcmp(&((const struct sockaddr_in *)xa)->sin_addr,
			   &((const struct sockaddr_in *)ya)->sin_addr, sizeof(struct in_addr));
	else if (!c && xa->ss_family == AF_INET6)
		c = memcmp(&((const struct sockaddr_in6 *)xa)->sin6_addr,
			   &((const struct sockaddr_in6 *)ya)->sin6_addr, sizeof(struct in6_addr));
	return c ? c : (x->deadline > y->deadline) - (x->deadline < y->deadline);
}

/*
 * A free slot for a query of @c, or a query given up for it (its client asks
 * again): @c's own oldest once its address holds PENDING_PER_HOST, else, when
 * all are taken, the oldest of the address holding the most.  One container's
 * flood cannot flush its neighbours' queries, nor a few of them together one
 * that asked once.  Finding the address holding the most sorts the table
 * (only when it is full).
 */
static struct dns_pending *pending_slot(struct dnsd *d, const struct dns_client *c)
{
	struct dns_pending *mine = NULL, *free_slot = NULL, *v[PENDING_MAX], *victim;
	size_t n_mine = 0, most = 0;

	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct dns_pending *p = &d->pend[i];

		v[i] = p;
		if (!p->used)
			free_slot = free_slot ? free_slot : p;
		else if (dnsd_same_host(&p->client.addr, &c->addr)) {
			n_mine++;
			if (!mine || p->deadline < mine->deadline)
				mine = p;
		}
	}
	if (n_mine >= PENDING_PER_HOST)
		return mine;
	if (free_slot)
		return free_slot;
	qsort(v, PENDING_MAX, sizeof(*v), by_host);
	victim = v[0];
	for (size_t i = 0, run = 0; i < PENDING_MAX; i += run) {
		for (run = 1; i + run < PENDING_MAX &&
			      dnsd_same_host(&v[i]->client.addr, &v[i + run]->client.addr);
		     run++)
			;
		/* v[i] is the run's oldest; of two as long, the older one's goes. */
		if (run > most || (run == most && v[i]->deadline < victim->deadline)) {
			most = run;
			victim = v[i];
		}
	}
	return victim;
}

static uint16_t fresh_id(struct dnsd *d)
{
	uint16_t id = 0;

	for (int tries = 0; tries < 16; tries++) {
		bool clash = false;

		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint16_t)(dnsd_now_ms() * 2654435761u >> 7);
		for (size_t i = 0; i < PENDING_MAX && !clash; i++)
			clash = d->pend[i].used && d->pend[i].up_id == id;
		if (!clash)
			break;
	}
	return id;
}

void dnsd_forward(struct dnsd *d, const struct dns_client *c, uint8_t *pkt, size_t n,
		  const struct dns_header *h, const struct dns_question *q)
{
	struct dns_pending *p;

	dnsd_upstreams_load(d);
	if (d->n_up == 0 || n > QUERY_MAX)
		return dnsd_reply_rcode(d, c, pkt, h, q, DNS_RCODE_SERVFAIL);
	p = pending_slot(d, c);
	dnsd_pending_close(p); /* the oldest, giving way */
	*p = (struct dns_pending){.used = true, .fd = -1, .id = h->id, .client = *c, .len = n};
	p->up_id = fresh_id(d);
	memcpy(p->query, pkt, n);
	p->query[0] = p->up_id >> 8;
	p->query[1] = p->up_id & 0xff;
	if (getrandom(p->case_mask, sizeof(p->case_mask), 0) == sizeof(p->case_mask))
		dns_question_flip_case(p->query, q, p->case_mask);
	else
		memset(p->case_mask, 0, sizeof(p->case_mask));
	dnsd_pending_send(d, p);
}

/*
 * A datagram on p's socket: from p's upstream (the socket is connected), relayed if it is
 * an answer with p's id and p's question exactly as it went out (case included).
 */
bool dnsd_on_upstream(struct dnsd *d, struct dns_pending *p)
{
	uint8_t pkt[DNS_PKT_MAX];
	ssize_t n = recv(p->fd, pkt, sizeof(pkt), MSG_DONTWAIT);
	struct dns_header h, qh;
	struct dns_question q, qq;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n < 0) {
		dnsd_pending_close(p); /* refused, unreachable: it times out like a silent one */
		return false;
	}
	if (dns_parse(pkt, n, &h, &q) < 0 || !(h.flags & 0x8000) || h.id != p->up_id ||
	    dns_parse(p->query, p->len, &qh, &qq) < 0 || !dns_question_same(p->query, &qq, pkt, &q))
		return true; /* not the answer: it may still come */
	dnsd_pending_close(p);
	p->used = false;
	dns_question_flip_case(pkt, &q, p->case_mask);
	pkt[0] = p->id >> 8;
	pkt[1] = p->id & 0xff;
	/* Over TCP, the query goes as the client asked it (a connection is not forged blind). */
	if ((h.flags & DNS_FLAG_TC) && p->client.tcp >= 0 && pending_unmix(p, &qh, &qq) == 0 &&
	    dnsd_uptcp_start(d, p, pkt, n))
		return true;
	dnsd_reply(d, &p->client, pkt, n);
	return true;
}
