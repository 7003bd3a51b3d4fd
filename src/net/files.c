/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's /etc/resolv.conf, /etc/hosts and /etc/hostname, written into its
 * bundle and bind-mounted by the runtime.  Names: /etc/hosts lists the container itself
 * and every container already on the same network (by id and hostname).  On a network
 * made with `isola network create`, resolv.conf names the network's DNS responder
 * (dns-server.c), which knows containers started later too; the default network keeps the
 * host's resolvers, as podman's does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "net.h"
#include "parse.h"
#include "strv.h"

int net_write_files(const char *store, const char *id, const char *network, const char *ip,
		    char **dns_servers, const struct net_attach_opts *o, const char *dir,
		    struct err **err);

static bool ip_valid(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* A name in /etc/hosts: a DNS name may be 253 bytes. */
#define HOSTS_NAME_MAX 253

/*
 * The host's resolvers, without loopback ones (unreachable from the container), and its
 * search and options lines; with servers_too false, only those lines.
 */
static void host_resolvers(FILE *out, bool servers_too)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512], addr[256];

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nameserver %255s", addr) == 1) {
			if (servers_too && strncmp(addr, "127.", 4) && strcmp(addr, "::1") &&
			    ip_valid(addr))
				fprintf(out, "nameserver %s\n", addr);
		} else if (!strncmp(line, "search ", 7) || !strncmp(line, "options ", 8)) {
			fputs(line, out);
		}
	}
}

static int write_in(const char *dir, const char *name, const char *text, struct err **err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return err_make(err, errno, "open `%s`", dir);
	return write_file_atomic_at(dfd, name, text, strlen(text), 0644, err);
}

/* --dns; else the network's responder (servers) and the host's search; else the host's. */
static int resolv_conf(const struct net_attach_opts *o, char **servers, const char *dir,
		       struct err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f;

	for (size_t i = 0; o->dns && o->dns[i]; i++)
		if (!ip_valid(o->dns[i]))
			return err_make(err, 0, "--dns `%s`: expected an IP address", o->dns[i]);
	f = open_memstream(&text, &len);
	if (!f)
		return err_make(err, errno, "resolv.conf");
	if (o->dns)
		for (size_t i = 0; o->dns[i]; i++)
			fprintf(f, "nameserver %s\n", o->dns[i]);
	else if (servers && servers[0])
		for (size_t i = 0; servers[i]; i++)
			fprintf(f, "nameserver %s\n", servers[i]);
	host_resolvers(f, !o->dns && !(servers && servers[0]));
	if (fclose(f) != 0)
		return err_make(err, errno, "resolv.conf");
	return write_in(dir, "resolv.conf", text, err);
}

/* Containers already on the network: "IP id hostname". */
static void peers(FILE *f, const char *store, const char *id, const char *network)
{
	_cleanup_strv_ char **ids = NULL;

	if (net_state_ids(store, &ids, NULL) < 0)
		return;
	for (size_t i = 0; ids && ids[i]; i++) {
		_cleanup_json_ json_t *st = NULL;
		const char *n, *ip, *h;

		if (streq(ids[i], id) || net_state_load(store, ids[i], &st, NULL) < 0 || !st)
			continue;
		n = json_string_value(json_object_get(st, "network"));
		ip = json_string_value(json_object_get(st, "ip"));
		h = json_string_value(json_object_get(st, "hostname"));
		if (!n || !streq(n, network) || !ip || !ip_valid(ip))
			continue;
		fprintf(f, "%s\t%s", ip, ids[i]);
		if (h && hostname_valid(h, HOSTS_NAME_MAX) && !streq(h, ids[i]))
			fprintf(f, " %s", h);
		fputc('\n', f);
	}
}

static int hosts(const char *store, const char *id, const char *network, const char *ip,
		 const struct net_attach_opts *o, const char *dir, struct err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return err_make(err, errno, "hosts");
	fprintf(f, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	if (ip)
		fprintf(f, "%s\t%s%s%s\n", ip, o->hostname, streq(o->hostname, id) ? "" : " ",
			streq(o->hostname, id) ? "" : id);
	for (size_t i = 0; o->add_hosts && o->add_hosts[i]; i++) {
		const char *h = o->add_hosts[i], *colon = strchr(h, ':');
		_cleanup_free_ char *name = colon ? strndup(h, colon - h) : NULL;

		if (!name || !hostname_valid(name, HOSTS_NAME_MAX) || !ip_valid(colon + 1)) {
			fclose(f);
			return err_make(err, 0, "--add-host `%s`: expected NAME:IP", h);
		}
		fprintf(f, "%s\t%s\n", colon + 1, name);
	}
	peers(f, store, id, network);
	if (fclose(f) != 0)
		return err_make(err, errno, "hosts");
	return write_in(dir, "hosts", text, err);
}

int net_write_files(const char *store, const char *id, const char *network, const char *ip,
		    char **dns_servers, const struct net_attach_opts *o, const char *dir,
		    struct err **err)
{
	_cleanup_free_ char *hn = NULL;
	int r;

	if (!hostname_valid(o->hostname, HOSTNAME_MAX))
		return err_make(err, 0, "--hostname `%s`: expected a host name", o->hostname);
	if (asprintf(&hn, "%s\n", o->hostname) < 0)
		return err_make(err, ENOMEM, "hostname");
	r = resolv_conf(o, dns_servers, dir, err);
	if (r >= 0)
		r = hosts(store, id, network, ip, o, dir, err);
	if (r >= 0)
		r = write_in(dir, "hostname", hn, err);
	return r;
}
