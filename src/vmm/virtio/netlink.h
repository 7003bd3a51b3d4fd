/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The few rtnetlink requests virtio-net needs (NETLINK_ROUTE, no helper
 * library): put an interface into a bridge and bring it up, take it out.
 */
#include <stdint.h>

#include "err.h"

/*
 * Attach interface `ifname` to bridge `bridge` (IFLA_MASTER) and set it up;
 * with `mac`, give it that address first (IFLA_ADDRESS, 6 bytes).
 */
int virtio_nl_attach(const char *ifname, const char *bridge, const uint8_t *mac, struct err **err);
/* Take `ifname` out of whatever bridge it is in (IFLA_MASTER 0). */
int virtio_nl_detach(const char *ifname, struct err **err);
