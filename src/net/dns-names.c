/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The DNS responder's view of its network: the names and addresses of its containers,
 * read from net/state (id, hostname, aliases; A and AAAA), the subnets whose clients it
 * answers, and the lookup of a question among the names.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "dns-server-internal.h"
#include "jsonutil.h"
#include "strv.h"

char *net_dns_file(const char *store, const char *network, const char *ext)
{
	char *p = NULL;

	return asprintf(&p, "%s/net/dns/%s%s", store, network, ext) < 0 ? NULL : p;
}

static void rec_add(struct dnsd *d, const char *name, const char *ip)
{
	struct dns_rec r = {};
	struct dns_rec *n;

	if (!name || !ip || strlen(name) >= sizeof(r.name))
		return;
	if (inet_pton(AF_INET, ip, r.addr) == 1)
		r.family = AF_INET;
	else if (inet_pton(AF_INET6, ip, r.addr) == 1)
		r.family = AF_INET6;
	else
		return;
	snprintf(r.name, sizeof(r.name), "%s", name);
	n = realloc(d->recs, (d->n_recs + 1) * sizeof(*n));
	if (!n)
		return;
	d->recs = n;
	d->recs[d->n_recs++] = r;
}

static void recs_of(struct dnsd *d, json_t *st, const char *id)
{
	static const char *const ips[] = {"ip", "ip6"};
	const char *h = json_string_value(json_object_get(st, "hostname"));
	json_t *al = json_object_get(st, "aliases"), *a;
	size_t i;

	for (size_t k = 0; k < ARRAY_SIZE(ips); k++) {
		const char *ip = json_string_value(json_object_get(st, ips[k]));

		rec_add(d, id, ip);
		if (h && strcasecmp(h, id))
			rec_add(d, h, ip);
		json_array_foreach (al, i, a)
			rec_add(d, json_string_value(a), ip);
	}
}

/* Read the network's containers from net/state. */
void dnsd_recs_load(struct dnsd *d)
{
	_cleanup_strv_ char **ids = NULL;

	free(d->recs);
	d->recs = NULL;
	d->n_recs = d->members = 0;
	if (net_state_ids(d->store, &ids, NULL) < 0)
		return;
	for (size_t i = 0; ids && ids[i]; i++) {
		_cleanup_json_ json_t *st = NULL;
		const char *n;

		if (net_state_load(d->store, ids[i], &st, NULL) < 0 || !st)
			continue;
		n = json_string_value(json_object_get(st, "network"));
		if (!n || !streq(n, d->network))
			continue;
		d->members++;
		recs_of(d, st, ids[i]);
	}
}

size_t net_dns_members(const char *store, const char *network)
{
	struct dnsd d = {.store = store, .network = network};

	dnsd_recs_load(&d);
	free(d.recs);
	return d.members;
}

/* The network's subnets, from its conflist (host-local's ranges). */
int dnsd_subnets_load(struct dnsd *d, struct err **err)
{
	_cleanup_json_ json_t *c = NULL;
	json_t *br, *set;
	size_t i;
	int r = net_network_load(d->store, d->network, &c, err);

	if (r < 0)
		return r;
	br = json_array_get(json_object_get(c, "plugins"), 0);
	json_array_foreach (json_object_get(json_object_get(br, "ipam"), "ranges"), i, set) {
		const char *sub =
		    json_string_value(json_object_get(json_array_get(set, 0), "subnet"));
		struct dns_subnet *n = &d->subnets[d->n_subnets];
		uint32_t a4;

		if (!sub || d->n_subnets >= ARRAY_SIZE(d->subnets))
			continue;
		if (net_cidr_parse(sub, &a4, &n->prefix) == 0) {
			n->family = AF_INET;
			a4 = htonl(a4);
			memcpy(n->addr, &a4, 4);
			d->n_subnets++;
		} else if (net_cidr6_parse(sub, n->addr, &n->prefix) == 0) {
			n->family = AF_INET6;
			d->n_subnets++;
		}
	}
	if (!d->n_subnets)
		return err_make(err, 0, "network `%s`: no subnet to serve", d->network);
	return 0;
}

bool dnsd_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return a->ss_family == AF_INET6 &&
	       !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
}

/* A client on the network: other networks' containers do not learn its names. */
bool dnsd_client_ok(const struct dnsd *d, const struct sockaddr_storage *from)
{
	const uint8_t *a = from->ss_family == AF_INET
			       ? (const uint8_t *)&((const struct sockaddr_in *)from)->sin_addr
			       : ((const struct sockaddr_in6 *)from)->sin6_addr.s6_addr;

	for (size_t i = 0; i < d->n_subnets; i++) {
		const struct dns_subnet *s = &d->subnets[i];
		bool in = s->family == from->ss_family;

		for (unsigned bit = 0; in && bit < s->prefix; bit++)
			in = !((a[bit / 8] ^ s->addr[bit / 8]) & (0x80 >> (bit % 8)));
		if (in)
			return true;
	}
	return false;
}

/* The records of q's name and type; *known: the name is one of ours. */
size_t dnsd_lookup(struct dnsd *d, const struct dns_question *q, struct dns_rr *rrs, bool *known)
{
	size_t n = 0;

	*known = false;
	for (size_t i = 0; i < d->n_recs; i++) {
		const struct dns_rec *r = &d->recs[i];
		bool want;

		if (strcasecmp(r->name, q->name))
			continue;
		*known = true;
		want = (q->type == DNS_TYPE_A && r->family == AF_INET) ||
		       (q->type == DNS_TYPE_AAAA && r->family == AF_INET6);
		if (!want || n >= MAX_ANSWERS)
			continue;
		rrs[n] = (struct dns_rr){
		    .type = q->type, .len = r->family == AF_INET ? 4 : 16, .ttl = ANSWER_TTL};
		memcpy(rrs[n].data, r->addr, rrs[n].len);
		n++;
	}
	return n;
}
