/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * rtnetlink requests without a helper library (rtnl.c): a message is built in a
 * fixed buffer (a header, the family struct, attributes and nests), sent on a
 * NETLINK_ROUTE socket and answered with the kernel's ack.  Used by virtio-net's
 * bridge helper (src/vmm/virtio/netlink.c) and a VM container's TAP and tc
 * redirect (src/net/vmlink.c).
 */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>

#define RTNL_BUF 1024

struct rtnl_msg {
	char buf[RTNL_BUF];
	struct nlmsghdr *nh;
};

/*
 * Start a request of @type with @flags (NLM_F_REQUEST and NLM_F_ACK are added) whose
 * family header (struct ifinfomsg, struct tcmsg ...) is @hdrlen bytes: that header,
 * zeroed, is returned for the caller to fill.
 */
void *rtnl_begin(struct rtnl_msg *m, unsigned short type, unsigned short flags, size_t hdrlen);
/*
 * Append an attribute (@data may be NULL: a nest, closed by rtnl_end).  The message
 * holds what the callers build (a few attributes): an overflow is a bug, and returns NULL
 * with the message marked so that rtnl_talk() fails with -EMSGSIZE.
 */
struct rtattr *rtnl_put(struct rtnl_msg *m, unsigned short type, const void *data, size_t len);
void rtnl_end(struct rtnl_msg *m, struct rtattr *nest);
/* Send on a new NETLINK_ROUTE socket and wait for the kernel's ack: 0 or -errno. */
int rtnl_talk(struct rtnl_msg *m);
