/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A truncated upstream answer for a TCP client, asked again from the same upstream over
 * TCP (RFC 7766 5): at most UPTCP_MAX exchanges at a time (UPTCP_PER_CLIENT for one client
 * connection), FORWARD_MS each, only the announced length read.  Whatever fails, the
 * client gets the truncated answer it would have had.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns-server-internal.h"

void dnsd_uptcp_free(struct dns_uptcp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	free(u->ans);
	u->fd = -1;
	u->ans = NULL;
}

/* The TCP exchange failed: the client gets the truncated answer. */
void dnsd_uptcp_fail(struct dnsd *d, struct dns_uptcp *u)
{
	dnsd_reply(d, &u->client, u->tc, u->tclen);
	dnsd_uptcp_free(u);
}

/* Ask p's upstream again over TCP; false: it cannot even start (relay tc at once). */
bool dnsd_uptcp_start(struct dnsd *d, const struct dns_pending *p, const uint8_t *tc, size_t n)
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
		dnsd_uptcp_fail(d, u); /* all busy: the oldest gives way */
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
				.deadline = dnsd_now_ms() + FORWARD_MS,
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
		return dnsd_uptcp_fail(d, u);
	a[0] = u->tc[0]; /* the client's id */
	a[1] = u->tc[1];
	dnsd_reply(d, &u->client, a, u->want);
	dnsd_uptcp_free(u);
}

/* Connected: send the query (small: at once); then read the length, then the answer. */
void dnsd_on_uptcp(struct dnsd *d, struct dns_uptcp *u)
{
	int e = 0;
	ssize_t r;

	if (!u->sent) {
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &e, &(socklen_t){sizeof(e)}) < 0 || e)
			return dnsd_uptcp_fail(d, u); /* refused, unreachable */
		r = send(u->fd, u->query, u->qlen, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && (errno == EAGAIN || errno == ENOTCONN))
			return; /* still connecting */
		if (r != (ssize_t)u->qlen)
			return dnsd_uptcp_fail(d, u);
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
		return dnsd_uptcp_fail(d, u); /* closed before the whole answer */
	u->have += r;
	if (u->have == 2 && !u->ans) {
		u->want = (size_t)u->len[0] << 8 | u->len[1];
		u->ans = u->want >= 12 ? malloc(u->want) : NULL;
		if (!u->ans)
			return dnsd_uptcp_fail(d, u);
	}
	/* Only the announced length is read: what an upstream sends after it is never looked at. */
	if (u->ans && u->have == 2 + u->want)
		uptcp_answer(d, u);
}
