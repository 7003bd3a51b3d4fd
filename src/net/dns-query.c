/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The DNS responder's clients: a query from a UDP socket or a TCP connection (two-byte
 * length, then the message; RFC 1035 4.2.2, RFC 7766) of a client on the network is
 * answered from the network's names or forwarded upstream; answers go back the way the
 * query came.  Malformed packets and responses are never answered (no reflection).
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dns-server-internal.h"

void dnsd_tcp_close(struct dnsd *d, int i)
{
	if (d->tcp[i].fd >= 0)
		close(d->tcp[i].fd);
	d->tcp[i].fd = -1;
}

void dnsd_reply(struct dnsd *d, const struct dns_client *c, const uint8_t *p, size_t n)
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
		dnsd_tcp_close(d, c->tcp);
}

void dnsd_reply_rcode(struct dnsd *d, const struct dns_client *c, const uint8_t *req,
		      const struct dns_header *h, const struct dns_question *q, unsigned rcode)
{
	uint8_t out[QUERY_MAX];
	size_t n;

	if (dns_answer(req, h, q, rcode, NULL, 0, out, sizeof(out), &n) == 0)
		dnsd_reply(d, c, out, n);
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
			dnsd_tcp_close(d, c->tcp);
		return; /* malformed, or a response: never answered (no reflection) */
	}
	if (((h.flags >> 11) & 0xf) != 0)
		return dnsd_reply_rcode(d, c, pkt, &h, &q, DNS_RCODE_NOTIMP);
	nr = dnsd_lookup(d, &q, rrs, &known);
	if (!known || q.class != 1)
		return dnsd_forward(d, c, pkt, n, &h, &q);
	if (dns_answer(pkt, &h, &q, 0, rrs, nr, out, sizeof(out), &len) == 0)
		dnsd_reply(d, c, out, len);
}

bool dnsd_on_query(struct dnsd *d, int lsock)
{
	uint8_t pkt[DNS_PKT_MAX];
	struct dns_client c = {.lsock = lsock, .len = sizeof(c.addr), .tcp = -1};
	ssize_t n =
	    recvfrom(lsock, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&c.addr, &c.len);

	if (n >= 0 && dnsd_client_ok(d, &c.addr))
		on_message(d, &c, pkt, n);
	return n >= 0;
}

/* With every slot taken: the oldest connection of the address holding the most. */
static int busiest_oldest(const struct dnsd *d)
{
	int slot = 0, most = 0;

	for (int i = 0; i < TCP_MAX; i++) {
		int n = 0;

		for (int j = 0; j < TCP_MAX; j++)
			n += dnsd_same_host(&d->tcp[j].peer, &d->tcp[i].peer);
		if (n > most || (n == most && d->tcp[i].deadline < d->tcp[slot].deadline)) {
			most = n;
			slot = i;
		}
	}
	return slot;
}

/*
 * A new TCP client of the network takes a free slot.  One address holds at
 * most TCP_PER_HOST (past that its own oldest gives way); with all taken, the
 * oldest of the address holding the most does.  A container opening
 * connections in a loop does not push out its neighbours'.
 */
void dnsd_on_accept(struct dnsd *d, int lfd)
{
	struct sockaddr_storage from = {0};
	socklen_t fl = sizeof(from);
	int fd = accept4(lfd, (struct sockaddr *)&from, &fl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int slot = -1, mine = -1, n_mine = 0;

	if (fd < 0)
		return;
	if (!dnsd_client_ok(d, &from)) {
		close(fd);
		return;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){TCP_SNDBUF}, sizeof(int));
	for (int i = 0; i < TCP_MAX; i++) {
		if (d->tcp[i].fd < 0)
			slot = slot < 0 ? i : slot;
		else if (dnsd_same_host(&d->tcp[i].peer, &from)) {
			n_mine++;
			if (mine < 0 || d->tcp[i].deadline < d->tcp[mine].deadline)
				mine = i;
		}
	}
	if (n_mine >= TCP_PER_HOST)
		slot = mine;
	else if (slot < 0)
		slot = busiest_oldest(d);
	dnsd_tcp_close(d, slot);
	d->tcp[slot].peer = from;
	d->tcp[slot].fd = fd;
	d->tcp[slot].gen = ++d->tcp_gen;
	d->tcp[slot].have = 0;
	d->tcp[slot].deadline = dnsd_now_ms() + TCP_IDLE_MS;
}

/* Read what a connection sent; a whole message is handled, a bad length ends it. */
void dnsd_on_tcp(struct dnsd *d, int i)
{
	struct dns_tcp *t = &d->tcp[i];
	size_t want =
	    t->have < 2 ? 2 - t->have : 2 + ((size_t)t->buf[0] << 8 | t->buf[1]) - t->have;
	ssize_t n = recv(t->fd, t->buf + t->have, want, MSG_DONTWAIT);
	struct dns_client c = {.tcp = i, .gen = t->gen, .addr = t->peer};
	size_t len;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			dnsd_tcp_close(d, i);
		return;
	}
	t->have += n;
	t->deadline = dnsd_now_ms() + TCP_IDLE_MS;
	if (t->have < 2)
		return;
	len = (size_t)t->buf[0] << 8 | t->buf[1];
	if (len < 12 || len > DNS_PKT_MAX)
		return dnsd_tcp_close(d, i);
	if (t->have < 2 + len)
		return;
	t->have = 0;
	on_message(d, &c, t->buf + 2, len);
}
