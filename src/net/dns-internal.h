/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Between the DNS responder (dns-server.c) and its starter (dns-spawn.c), and the message
 * helpers (dns.c) only the responder uses when it forwards a query.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

#define FD_PID	  3 /* the locked pid file */
#define FD_SOCK	  4 /* to 7: the UDP sockets and TCP listeners */
#define MAX_SOCKS 4

/* <store>/net/dns/<network><ext> */
char *net_dns_file(const char *store, const char *network, const char *ext);
/* $ISOLA_DNS_RESOLV_CONF, or /etc/resolv.conf. */
const char *net_dns_resolv_path(void);
/*
 * Which resolv.conf that is now, "DEV:INO" ("-": none).  The responder writes it in its
 * pid file, after its pid: one replaced by a rename since is one its Landlock rules do not
 * let it read, and the next start on the network replaces the responder (dns-spawn.c).
 */
void net_dns_resolv_id(char *buf, size_t size);
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
