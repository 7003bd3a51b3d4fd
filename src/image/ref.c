/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image references, as the distribution spec and Docker spell them. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "image.h"

#define REF_MAX	      1024
#define REPO_NAME_MAX 255

void img_ref_free(struct img_ref *r)
{
	free(r->registry);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * The distribution spec's path components, '/'-separated: [a-z0-9]+ joined by
 * one '.', one '_', "__" or any run of '-'.  So no component is empty, "." or
 * "..", which a URL would collapse (a/../../x leaves /v2/).
 */
static bool repo_valid(const char *s)
{
	for (;;) {
		if (!is_alnum_lower(*s))
			return false;
		while (is_alnum_lower(*s))
			s++;
		if (*s == '\0')
			return true;
		if (*s == '/')
			s++;
		else if (*s == '.' || (*s == '_' && s[1] != '_'))
			s++;
		else if (*s == '_')
			s += 2;
		else if (*s == '-')
			while (*s == '-')
				s++;
		else
			return false;
	}
}

static bool tag_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || *s == '.' || *s == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._-", *s)))
			return false;
	return true;
}

/* The first path component names a registry when it looks like a host. */
static bool looks_like_host(const char *s, size_t n)
{
	return memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && !strncmp(s, "localhost", 9));
}

static int split_name(char *name, struct img_ref *r, struct err **err)
{
	char *slash = strchr(name, '/'), *colon;

	if (slash && looks_like_host(name, slash - name)) {
		char host[IMG_HOST_MAX + 1];
		unsigned port;

		r->registry = strndup(name, slash - name);
		if (r->registry && img_registry_host_parse(r->registry, host, &port) < 0)
			return err_make(err, 0, "invalid registry host `%s`", r->registry);
		name = slash + 1;
	} else {
		r->registry = strdup("docker.io");
	}
	if (!r->registry)
		return err_make(err, ENOMEM, "reference");
	colon = strrchr(name, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		if (!tag_valid(colon + 1))
			return err_make(err, 0, "invalid tag `%s`", colon + 1);
		r->tag = strdup(colon + 1);
	}
	if (!repo_valid(name))
		return err_make(err, 0, "invalid repository name `%s`", name);
	if (streq(r->registry, "docker.io") && !strchr(name, '/')) {
		if (asprintf(&r->repo, "library/%s", name) < 0)
			r->repo = NULL;
	} else {
		r->repo = strdup(name);
	}
	if (!r->repo)
		return err_make(err, ENOMEM, "reference");
	/* As Docker: registry/repository at most 255 characters (so a name parses back). */
	if (strlen(r->registry) + 1 + strlen(r->repo) > REPO_NAME_MAX)
		return err_make(err, 0, "repository name `%.64s…` longer than %d characters", name,
				REPO_NAME_MAX);
	return 0;
}

int img_ref_parse(const char *s, struct img_ref *ret, struct err **err)
{
	struct img_ref r = {};
	_cleanup_free_ char *copy = NULL;
	char *at;
	int rc;

	if (!s || !*s || strlen(s) > REF_MAX)
		return err_make(err, 0, "invalid image reference `%s`", s ? s : "");
	copy = strdup(s);
	if (!copy)
		return err_make(err, ENOMEM, "reference");
	at = strchr(copy, '@');
	if (at) {
		*at = '\0';
		if (!img_digest_valid(at + 1))
			return err_make(err, 0, "`%s`: invalid digest (want sha256:<64 hex>)", s);
		r.digest = strdup(at + 1);
	}
	rc = split_name(copy, &r, err);
	if (rc < 0) {
		img_ref_free(&r);
		return err_wrap(err, "image reference `%s`", s);
	}
	if (!r.tag && !r.digest)
		r.tag = strdup("latest");
	*ret = r;
	return 0;
}

char *img_ref_name(const struct img_ref *r)
{
	char *s = NULL;
	int n;

	if (r->tag)
		n = asprintf(&s, "%s/%s:%s", r->registry, r->repo, r->tag);
	else
		n = asprintf(&s, "%s/%s@%s", r->registry, r->repo, r->digest);
	return n < 0 ? NULL : s;
}

/*
 * Split "host[:port]" or "[v6addr][:port]" into its host (without brackets)
 * and port (0 when absent).  Hosts are DNS names (letters, digits, '-', '.';
 * labels neither empty nor starting/ending with '-') or IP addresses.
 */
int img_registry_host_parse(const char *registry, char ret_host[static IMG_HOST_MAX + 1],
			    unsigned *ret_port)
{
	const char *end, *port = NULL;
	size_t n;
	unsigned long p = 0;

	if (!registry || !*registry)
		return -EINVAL;
	if (*registry == '[') {
		struct in6_addr a6;

		end = strchr(registry, ']');
		if (!end)
			return -EINVAL;
		n = end - registry - 1;
		if (n == 0 || n > IMG_HOST_MAX)
			return -EINVAL;
		memcpy(ret_host, registry + 1, n);
		ret_host[n] = '\0';
		if (inet_pton(AF_INET6, ret_host, &a6) != 1)
			return -EINVAL;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return -EINVAL;
	} else {
		end = strchr(registry, ':');
		n = end ? (size_t)(end - registry) : strlen(registry);
		if (n == 0 || n > IMG_HOST_MAX)
			return -EINVAL;
		memcpy(ret_host, registry, n);
		ret_host[n] = '\0';
		if (end)
			port = end + 1;
		for (const char *l = ret_host; *l;) {
			size_t ln = strcspn(l, ".");

			if (ln == 0 || ln > 63 || l[0] == '-' || l[ln - 1] == '-')
				return -EINVAL;
			for (size_t i = 0; i < ln; i++)
				if (!isalnum((unsigned char)l[i]) && l[i] != '-')
					return -EINVAL;
			l += ln;
			if (*l == '.' && !*++l)
				return -EINVAL; /* trailing dot */
		}
	}
	if (port) {
		if (!*port || strlen(port) > 5)
			return -EINVAL;
		for (const char *c = port; *c; c++)
			if (*c < '0' || *c > '9')
				return -EINVAL;
		p = strtoul(port, NULL, 10);
		if (p == 0 || p > 65535)
			return -EINVAL;
	}
	*ret_port = p;
	return 0;
}

bool img_registry_is_local(const char *registry)
{
	char host[IMG_HOST_MAX + 1];
	struct in_addr a4;
	struct in6_addr a6;
	unsigned port;

	if (img_registry_host_parse(registry, host, &port) < 0)
		return false;
	if (!strcasecmp(host, "localhost"))
		return true;
	/* inet_pton() takes only the strict dotted quad: "127.1" and "127.0.0.1.x" are names. */
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (registry[0] == '[' && inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}
