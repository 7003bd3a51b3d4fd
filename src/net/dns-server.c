/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A network's DNS responder, as podman's aardvark-dns: one process per user-defined
 * network, listening on the bridge's gateway addresses (UDP port 53) in the host's
 * network namespace.  It answers A and AAAA for the names of the network's containers
 * (id, hostname, aliases) from net/state, which it watches with inotify, so a name
 * appears when a container is attached and goes when it is detached.  Other names go to
 * the host's resolvers (/etc/resolv.conf, or $ISOLA_DNS_RESOLV_CONF) and their answer is
 * relayed; with no resolver, or none answering, the client gets SERVFAIL.  Only clients
 * with an address in the network's subnets are answered at all.
 *
 * Files under <store>/net/dns: <network>.lock orders starting and stopping (the starter
 * and the responder's last look at the state hold it), <network>.pid is locked by the
 * responder for as long as it lives (and holds its pid).
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "net.h"
#include "strv.h"

#define FD_PID	    3 /* the locked pid file */
#define FD_SOCK	    4 /* and 5: the listening sockets */
#define MAX_SOCKS   2
#define MAX_UP	    3 /* resolv.conf's limit (MAXNS) */
#define PENDING_MAX 256
#define FORWARD_MS  2000 /* per upstream, then the next one, then SERVFAIL */
#define QUERY_MAX   512
#define ANSWER_TTL  5 /* names come and go with containers */
#define MAX_ANSWERS 16
#define SETTLE_MS   5000

struct dns_rec {
	char name[254];
	int family;
	uint8_t addr[16];
};

struct dns_pending {
	bool used;
	uint16_t up_id, id;
	unsigned attempt;
	int lsock;
	struct sockaddr_storage client;
	socklen_t client_len;
	uint64_t deadline;
	size_t len;
	uint8_t query[QUERY_MAX];
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
	int socks[MAX_SOCKS];
	size_t n_socks;
	int up_fd[2]; /* AF_INET, AF_INET6 */
	struct sockaddr_storage up[MAX_UP];
	socklen_t up_len[MAX_UP];
	size_t n_up;
	struct timespec resolv_mtime;
	struct dns_rec *recs;
	size_t n_recs, members;
	int exit_lock; /* the network's lock, held from the last look until exit */
	struct dns_pending pend[PENDING_MAX];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dns_file(const char *store, const char *network, const char *ext)
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

static size_t members(const char *store, const char *network)
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

static void reply(int sock, const struct sockaddr_storage *to, socklen_t tl, const uint8_t *p,
		  size_t n)
{
	(void)sendto(sock, p, n, MSG_DONTWAIT, (const struct sockaddr *)to, tl);
}

static void reply_rcode(int sock, const struct sockaddr_storage *to, socklen_t tl,
			const uint8_t *req, const struct dns_header *h,
			const struct dns_question *q, unsigned rcode)
{
	uint8_t out[QUERY_MAX];
	size_t n;

	if (dns_answer(req, h, q, rcode, NULL, 0, out, sizeof(out), &n) == 0)
		reply(sock, to, tl, out, n);
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

static void forward(struct dnsd *d, int lsock, const struct sockaddr_storage *from, socklen_t fl,
		    uint8_t *pkt, size_t n, const struct dns_header *h,
		    const struct dns_question *q)
{
	struct dns_pending *p;

	upstreams_load(d);
	if (d->n_up == 0 || n > QUERY_MAX)
		return reply_rcode(lsock, from, fl, pkt, h, q, DNS_RCODE_SERVFAIL);
	p = pending_slot(d);
	*p = (struct dns_pending){
	    .used = true, .id = h->id, .lsock = lsock, .client_len = fl, .len = n};
	p->up_id = fresh_id(d);
	memcpy(&p->client, from, fl);
	memcpy(p->query, pkt, n);
	p->query[0] = p->up_id >> 8;
	p->query[1] = p->up_id & 0xff;
	pending_send(d, p);
}

static void on_query(struct dnsd *d, int lsock)
{
	uint8_t pkt[DNS_PKT_MAX], out[QUERY_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	struct dns_rr rrs[MAX_ANSWERS];
	struct dns_header h;
	struct dns_question q;
	ssize_t n = recvfrom(lsock, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	size_t len, nr;
	bool known;

	if (n < 0 || !client_ok(d, &from))
		return;
	if (dns_parse(pkt, n, &h, &q) < 0 || (h.flags & 0x8000))
		return; /* malformed, or a response: never answered (no reflection) */
	if (((h.flags >> 11) & 0xf) != 0)
		return reply_rcode(lsock, &from, fl, pkt, &h, &q, DNS_RCODE_NOTIMP);
	nr = lookup(d, &q, rrs, &known);
	if (!known || q.class != 1)
		return forward(d, lsock, &from, fl, pkt, n, &h, &q);
	if (dns_answer(pkt, &h, &q, 0, rrs, nr, out, sizeof(out), &len) == 0)
		reply(lsock, &from, fl, out, len);
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

/* An upstream's answer: relayed if it comes from where we asked and is for the question. */
static void on_upstream(struct dnsd *d, int fd)
{
	uint8_t pkt[DNS_PKT_MAX];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	struct dns_header h, qh;
	struct dns_question q, qq;

	if (n < 0 || dns_parse(pkt, n, &h, &q) < 0 || !(h.flags & 0x8000))
		return;
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct dns_pending *p = &d->pend[i];

		if (!p->used || p->up_id != h.id || p->attempt >= d->n_up ||
		    !same_addr(&from, &d->up[p->attempt]))
			continue;
		if (dns_parse(p->query, p->len, &qh, &qq) < 0 || strcmp(qq.name, q.name) ||
		    qq.type != q.type || qq.class != q.class)
			return;
		pkt[0] = p->id >> 8;
		pkt[1] = p->id & 0xff;
		reply(p->lsock, &p->client, p->client_len, pkt, n);
		p->used = false;
		return;
	}
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
					reply_rcode(p->lsock, &p->client, p->client_len, p->query,
						    &h, &q, DNS_RCODE_SERVFAIL);
				continue;
			}
		}
		if ((int)(p->deadline - now) < next)
			next = p->deadline - now;
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

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) == 0 && type == SOCK_DGRAM) {
			fcntl(fd, F_SETFD, FD_CLOEXEC);
			d->socks[d->n_socks++] = fd;
		}
	}
	if (!d->n_socks)
		return err_make(err, EBADF, "dns-serve: no listening socket (fd %d)", FD_SOCK);
	return 0;
}

static int loop(struct dnsd *d)
{
	for (;;) {
		struct pollfd pf[MAX_SOCKS + 3];
		size_t n = 0;
		int timeout = expire(d);

		if (idle(d))
			return 0;
		pf[n++] = (struct pollfd){.fd = d->ino, .events = POLLIN};
		for (size_t i = 0; i < d->n_socks; i++)
			pf[n++] = (struct pollfd){.fd = d->socks[i], .events = POLLIN};
		for (size_t i = 0; i < 2; i++)
			pf[n++] = (struct pollfd){.fd = d->up_fd[i], .events = POLLIN};
		if (poll(pf, n, timeout) < 0 && errno != EINTR)
			return -errno;
		if (pf[0].revents) {
			if (drain_inotify(d))
				return 0; /* the store went away */
			recs_load(d);
		}
		for (size_t i = 0; i < d->n_socks; i++)
			if (pf[1 + i].revents & POLLIN)
				for (int k = 0; k < 64; k++) /* a batch, then the others' turn */
					on_query(d, d->socks[i]);
		for (size_t i = 0; i < 2; i++)
			if (d->up_fd[i] >= 0 && (pf[1 + d->n_socks + i].revents & POLLIN))
				for (int k = 0; k < 64; k++)
					on_upstream(d, d->up_fd[i]);
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
	close(FD_PID);
	if (d->exit_lock >= 0)
		close(d->exit_lock);
	free(d->recs);
	free(d);
	return r;
}

/* ---- starting and waiting ---- */

static int bind_53(const char *addr, struct err **err)
{
	struct sockaddr_storage sa = {};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
	socklen_t len;
	int one = 1, fd;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		len = sizeof(*s6);
	} else {
		return err_make(err, 0, "DNS: bad gateway address `%s`", addr);
	}
	fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_make(err, errno, "DNS: socket");
	/* The bridge's IPv6 address may still be tentative (DAD). */
	if (sa.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		int e = errno;

		close(fd);
		return err_make(err, e, "DNS responder: bind %s port 53", addr);
	}
	return fd;
}

/* In the grandchild: fds in place, a clean signal state, then isola network dns-serve. */
static void __attribute__((noreturn))
exec_server(const char *store, const char *network, int pid_fd, const int *socks, size_t n)
{
	char *argv[] = {"isola",       "network",	"dns-serve", "--store",
			(char *)store, (char *)network, NULL};
	int hi[1 + MAX_SOCKS], nul;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (chdir("/") < 0)
		_exit(127);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	hi[0] = fcntl(pid_fd, F_DUPFD, 64);
	for (size_t i = 0; i < n; i++)
		hi[1 + i] = fcntl(socks[i], F_DUPFD, 64);
	nul = open("/dev/null", O_RDWR);
	if (nul < 0 || hi[0] < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0 ||
	    dup2(hi[0], FD_PID) < 0)
		_exit(127);
	for (size_t i = 0; i < n; i++)
		if (hi[1 + i] < 0 || dup2(hi[1 + i], FD_SOCK + i) < 0)
			_exit(127);
	close_fds_from(FD_SOCK + n);
	execv("/proc/self/exe", argv);
	_exit(127);
}

/* Double fork: the responder is nobody's child and in a session of its own. */
static int spawn(const char *store, const char *network, int pid_fd, const int *socks, size_t n,
		 struct err **err)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return err_make(err, errno, "DNS responder: fork");
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		exec_server(store, network, pid_fd, socks, n);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return err_make(err, ECHILD, "DNS responder: fork");
	return 0;
}

int net_dns_ensure(const char *store, const char *network, char **addrs, struct err **err)
{
	_cleanup_free_ char *dir = NULL, *lp = dns_file(store, network, ".lock"),
			    *pp = dns_file(store, network, ".pid");
	_cleanup_close_ int lk = -1, pf = -1;
	int socks[MAX_SOCKS];
	size_t n = 0;
	int r = 0;

	if (!lp || !pp || asprintf(&dir, "%s/net/dns", store) < 0)
		return err_make(err, ENOMEM, "DNS");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_make(err, errno, "mkdir `%s`", dir);
	lk = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lk < 0 || flock(lk, LOCK_EX) < 0)
		return err_make(err, errno, "lock `%s`", lp);
	pf = open(pp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (pf < 0)
		return err_make(err, errno, "open `%s`", pp);
	if (flock(pf, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 0 : err_make(err, errno, "lock `%s`", pp);
	for (size_t i = 0; addrs && addrs[i] && n < MAX_SOCKS; i++) {
		r = bind_53(addrs[i], err);
		if (r < 0)
			break;
		socks[n++] = r;
	}
	if (r >= 0 && n == 0)
		r = err_make(err, 0, "network `%s`: no gateway address for its DNS responder",
			     network);
	if (r >= 0)
		r = spawn(store, network, pf, socks, n, err);
	for (size_t i = 0; i < n; i++)
		close(socks[i]);
	if (r < 0)
		return err_wrap(err, "network `%s`", network);
	return 0;
}

/* The responder is gone: its pid file is not locked (looked at under the network's lock). */
static bool gone(int lk, int pf)
{
	bool r;

	if (flock(lk, LOCK_EX) < 0)
		return false;
	r = flock(pf, LOCK_EX | LOCK_NB) == 0;
	if (r)
		flock(pf, LOCK_UN);
	flock(lk, LOCK_UN);
	return r;
}

void net_dns_settle(const char *store, const char *network)
{
	_cleanup_free_ char *pp = dns_file(store, network, ".pid"),
			    *lp = dns_file(store, network, ".lock");
	_cleanup_close_ int pf = pp ? open(pp, O_RDWR | O_CLOEXEC) : -1;
	_cleanup_close_ int lk = lp ? open(lp, O_RDWR | O_CLOEXEC) : -1;
	struct timespec ts = {0, 10 * 1000 * 1000};

	if (pf < 0 || lk < 0 || members(store, network) > 0)
		return;
	for (int i = 0; i < SETTLE_MS / 10 && !gone(lk, pf); i++)
		nanosleep(&ts, NULL);
}

void net_dns_forget(const char *store, const char *network)
{
	_cleanup_free_ char *pp = dns_file(store, network, ".pid"),
			    *lp = dns_file(store, network, ".lock");
	_cleanup_close_ int lk = lp ? open(lp, O_RDWR | O_CLOEXEC) : -1;
	_cleanup_close_ int pf = pp ? open(pp, O_RDWR | O_CLOEXEC) : -1;

	/* Under the network's lock, and only if no responder holds the pid file. */
	if (lk < 0 || flock(lk, LOCK_EX) < 0)
		return;
	if (pf >= 0 && flock(pf, LOCK_EX | LOCK_NB) < 0)
		return;
	unlink(pp);
	unlink(lp);
}
