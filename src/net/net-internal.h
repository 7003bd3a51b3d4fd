/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Between the files of src/net. */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * Run path with argv and env, input on its stdin (NULL: empty), stderr to /dev/null; its
 * stdout (at most NET_RESULT_MAX) in *ret_out, its exit status in *ret_status.
 */
int net_spawn(const char *path, char *const *argv, char **env, const char *input, char **ret_out,
	      int *ret_status, struct err **err);

/*
 * Drop from a container's copy of a network's conflist the plugins this run does not need:
 * portmap without published ports, and isola's own `firewall` entry where the host's
 * FORWARD chains accept every packet anyway (plan.c).
 */
int net_plan_plugins(json_t *conflist, size_t n_ports, struct err **err);
/*
 * The PATH the plugins of a planned conflist need (*ret NULL: the system's): for bridge and
 * portmap on an IPv4-only network, a directory with iptables but not ip6tables.
 */
int net_plan_tools(json_t *conflist, const char *store, char **ret, struct err **err);
/* name found in /usr/sbin:/usr/bin:/sbin:/bin, its path in buf (plan.c). */
bool net_find_tool(const char *name, char *buf, size_t size);

/*
 * bridge's DEL undoes its masquerade chain only for the addresses it finds on the
 * container's interface (masq.c).  net_masq_orphaned(): is a host-side interface that the
 * ADD's result records gone (or is there no result), so that a DEL cannot find them?
 * net_masq_sweep(): then remove the chain of container id on conflist's network and the
 * POSTROUTING rules that jump to it, with a warning for what cannot be removed.
 */
bool net_masq_orphaned(json_t *result);
void net_masq_sweep(json_t *conflist, const char *id);

/*
 * With a portmap that SNATs (route_localnet on the bridge), make sure iptables' INPUT has
 * the rule that drops packets to 127/8 from anywhere but the host (plan.c).
 */
#define NET_LOCALNET_GUARD "isola: no 127/8 from outside (route_localnet, CVE-2020-8558)"
int net_guard_localnet(json_t *conflist, struct err **err);
/*
 * A network's conflist flock()ed with op (network.c): held shared by an ADD from reading
 * the conflist until its state is saved, exclusively by a remove across its in-use check
 * and the removal.  The fd, or -errno (-ENOENT: no such network).
 */
int net_network_lock(const char *store, const char *name, int op);
