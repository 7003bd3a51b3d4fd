/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Between the DNS responder (dns-server.c) and its starter (dns-spawn.c). */
#include <stddef.h>

#define FD_PID	  3 /* the locked pid file */
#define FD_SOCK	  4 /* to 7: the UDP sockets and TCP listeners */
#define MAX_SOCKS 4

/* <store>/net/dns/<network><ext> */
char *net_dns_file(const char *store, const char *network, const char *ext);
/* How many containers net/state has on the network. */
size_t net_dns_members(const char *store, const char *network);
