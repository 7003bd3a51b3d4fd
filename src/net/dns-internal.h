/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Between the DNS responder (dns-server.c) and its starter (dns-spawn.c), and the message
 * helpers (dns.c) only the responder uses when it forwards a query.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "net.h"

#define FD_PID	  3 /* the locked pid file */
#define FD_SOCK	  4 /* to 7: the UDP sockets and TCP listeners */
#define MAX_SOCKS 4

/* <store>/net/dns/<network><ext> */
char *net_dns_file(const char *store, const char *network, const char *ext);
/* $ISOLA_DNS_RESOLV_CONF, or /etc/resolv.conf. */
const char *net_dns_resolv_path(void);
/*
 * The responder's pid file: "PID\nID\nPATH\n", ID the resolv.conf (at PATH) its Landlock
 * rule allows, as "DEV:INO", "-" for none, "*" where it may read a file renamed there.
 * One replaced since is not readable to it: the next start on the network replaces the
 * responder (dns-spawn.c).  The ID of st (NULL: "-").
 */
void net_dns_stat_id(const struct stat *st, char *buf, size_t size);
/* How many containers net/state has on the network. */
size_t net_dns_members(const char *store, const char *network);

/* One bit for each byte a question's name can have on the wire (255). */
#define DNS_CASE_MASK 32
/*
 * 0x20 (RFC 5452 9.1): flip the case of each letter of the question's name (parsed by
 * dns_parse into q) whose bit is set in mask.  The same mask again gives the name back.
 */
void dns_question_flip_case(uint8_t *p, const struct dns_question *q,
			    const uint8_t mask[DNS_CASE_MASK]);
/* Whether two parsed messages have the same question, byte for byte: case counts. */
bool dns_question_same(const uint8_t *a, const struct dns_question *qa, const uint8_t *b,
		       const struct dns_question *qb);
