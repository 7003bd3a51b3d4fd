/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rtnetlink requests for virtio-net's bridge helper (see netlink.h). */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "netlink.h"

struct setlink_req {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
	struct rtattr master_attr;
	uint32_t master;
};

/* Wait for the kernel's answer to request `seq`: 0 or its -errno. */
static int nl_ack(int fd, uint32_t seq)
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

			if (nh->nlmsg_seq != seq || nh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EPROTO;
			return e->error; /* 0 or -errno */
		}
	}
}

/* RTM_SETLINK on ifindex: IFLA_MASTER = master, and IFF_UP when `up`. */
static int setlink(unsigned ifindex, unsigned master, bool up)
{
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct setlink_req req = {
	    .nh = {.nlmsg_len = sizeof(req),
		   .nlmsg_type = RTM_SETLINK,
		   .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
		   .nlmsg_seq = 1},
	    .ifi = {.ifi_family = AF_UNSPEC,
		    .ifi_index = (int)ifindex,
		    .ifi_flags = up ? IFF_UP : 0,
		    .ifi_change = up ? IFF_UP : 0},
	    .master_attr = {.rta_len = RTA_LENGTH(sizeof(uint32_t)), .rta_type = IFLA_MASTER},
	    .master = master,
	};

	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return nl_ack(fd, req.nh.nlmsg_seq);
}

int virtio_nl_attach(const char *ifname, const char *bridge, struct err **err)
{
	unsigned ifindex = if_nametoindex(ifname), br = if_nametoindex(bridge);
	int r;

	if (!ifindex)
		return err_make(err, errno, "net: interface `%s`", ifname);
	if (!br)
		return err_make(err, errno, "net: bridge `%s`", bridge);
	r = setlink(ifindex, br, true);
	if (r < 0)
		return err_make(err, -r, "net: attach `%s` to bridge `%s`", ifname, bridge);
	return 0;
}

int virtio_nl_detach(const char *ifname, struct err **err)
{
	unsigned ifindex = if_nametoindex(ifname);
	int r;

	if (!ifindex)
		return err_make(err, errno, "net: interface `%s`", ifname);
	r = setlink(ifindex, 0, false);
	if (r < 0)
		return err_make(err, -r, "net: detach `%s` from its bridge", ifname);
	return 0;
}
