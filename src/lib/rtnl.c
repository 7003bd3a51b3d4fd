/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rtnetlink requests (rtnl.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "rtnl.h"

#define RTNL_SEQ 1

void *rtnl_begin(struct rtnl_msg *m, unsigned short type, unsigned short flags, size_t hdrlen)
{
	memset(m->buf, 0, sizeof(m->buf));
	m->nh = (struct nlmsghdr *)m->buf;
	m->nh->nlmsg_len = NLMSG_LENGTH(hdrlen);
	m->nh->nlmsg_type = type;
	m->nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m->nh->nlmsg_seq = RTNL_SEQ;
	return NLMSG_DATA(m->nh);
}

struct rtattr *rtnl_put(struct rtnl_msg *m, unsigned short type, const void *data, size_t len)
{
	size_t at;
	struct rtattr *a;

	if (m->nh->nlmsg_len > sizeof(m->buf)) /* an earlier put overflowed */
		return NULL;
	at = NLMSG_ALIGN(m->nh->nlmsg_len);
	if (at > sizeof(m->buf) || len > sizeof(m->buf) || RTA_SPACE(len) > sizeof(m->buf) - at) {
		m->nh->nlmsg_len = UINT32_MAX; /* rtnl_talk: -EMSGSIZE */
		return NULL;
	}
	a = (struct rtattr *)(m->buf + at);
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	if (data)
		memcpy(RTA_DATA(a), data, len);
	m->nh->nlmsg_len = at + RTA_ALIGN(a->rta_len);
	return a;
}

void rtnl_end(struct rtnl_msg *m, struct rtattr *nest)
{
	if (nest && m->nh->nlmsg_len <= sizeof(m->buf))
		nest->rta_len = (char *)m->nh + m->nh->nlmsg_len - (char *)nest;
}

/* Wait for the ack of our request: 0 or its -errno. */
static int rtnl_ack(int fd)
{
	union {
		struct nlmsghdr nh;
		char buf[4096];
	} resp;

	for (;;) {
		ssize_t len = recv(fd, &resp, sizeof(resp), 0);
		const struct nlmsghdr *nh = &resp.nh;

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -errno;
		for (; NLMSG_OK(nh, (size_t)len); nh = NLMSG_NEXT(nh, len)) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			if (nh->nlmsg_seq != RTNL_SEQ || nh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EPROTO;
			return e->error; /* 0 or -errno */
		}
	}
}

int rtnl_talk(struct rtnl_msg *m)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	if (m->nh->nlmsg_len > sizeof(m->buf))
		return -EMSGSIZE;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, m->buf, m->nh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return rtnl_ack(fd);
}
