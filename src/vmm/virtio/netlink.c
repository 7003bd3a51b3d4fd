/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rtnetlink requests for virtio-net's bridge helper (see netlink.h). */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "netlink.h"
#include "rtnl.h"

/* RTM_SETLINK on ifindex: IFLA_MASTER = master, IFF_UP when `up`, IFLA_ADDRESS = mac if given. */
static int setlink(unsigned ifindex, uint32_t master, bool up, const uint8_t *mac)
{
	struct rtnl_msg m;
	struct ifinfomsg *ifi = rtnl_begin(&m, RTM_SETLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = up ? IFF_UP : 0;
	rtnl_put(&m, IFLA_MASTER, &master, sizeof(master));
	if (mac)
		rtnl_put(&m, IFLA_ADDRESS, mac, 6);
	return rtnl_talk(&m);
}

int virtio_nl_attach(const char *ifname, const char *bridge, const uint8_t *mac, struct err **err)
{
	unsigned ifindex = if_nametoindex(ifname), br = if_nametoindex(bridge);
	int r;

	if (!ifindex)
		return err_make(err, errno, "net: interface `%s`", ifname);
	if (!br)
		return err_make(err, errno, "net: bridge `%s`", bridge);
	r = setlink(ifindex, br, true, mac);
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
	r = setlink(ifindex, 0, false, NULL);
	if (r < 0)
		return err_make(err, -r, "net: detach `%s` from its bridge", ifname);
	return 0;
}
