/* SPDX-License-Identifier: GPL-2.0-or-later */
/* WWW-Authenticate challenges and containers' auth.json credentials. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image.h"
#include "jsonutil.h"

#define CHALLENGE_MAX 4096
#define AUTHFILE_MAX  (1u << 20)

void img_challenge_free(struct img_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

/* One `key="value"` or `key=token` pair; returns the position after it. */
static const char *parse_param(const char *p, char **key, char **val)
{
	const char *k = p, *v;
	size_t kl;

	while (*p && *p != '=' && *p != ',' && *p != ' ')
		p++;
	kl = p - k;
	if (*p != '=' || !kl)
		return NULL;
	p++;
	if (*p == '"') {
		v = ++p;
		while (*p && *p != '"')
			p += (*p == '\\' && p[1]) ? 2 : 1;
		if (*p != '"')
			return NULL;
		*val = strndup(v, p - v);
		p++;
	} else {
		v = p;
		while (*p && *p != ',' && *p != ' ')
			p++;
		*val = strndup(v, p - v);
	}
	*key = strndup(k, kl);
	return p;
}

static void set_param(struct img_challenge *c, char *key, char *val)
{
	char **slot = NULL;

	if (!strcasecmp(key, "realm"))
		slot = &c->realm;
	else if (!strcasecmp(key, "service"))
		slot = &c->service;
	else if (!strcasecmp(key, "scope"))
		slot = &c->scope;
	if (slot) {
		free(*slot);
		*slot = val;
	} else {
		free(val);
	}
	free(key);
}

int img_challenge_parse(const char *h, struct img_challenge *ret, struct err **err)
{
	struct img_challenge c = {};
	const char *p = h;

	if (!h || strlen(h) > CHALLENGE_MAX)
		return err_make(err, 0, "WWW-Authenticate: missing or too long");
	while (*p == ' ')
		p++;
	h = p;
	while (*p && *p != ' ')
		p++;
	if (p == h)
		return err_make(err, 0, "WWW-Authenticate: no scheme");
	c.scheme = strndup(h, p - h);
	while (*p) {
		char *key = NULL, *val = NULL;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		p = parse_param(p, &key, &val);
		if (!p || !key || !val) {
			free(key);
			free(val);
			img_challenge_free(&c);
			return err_make(err, 0, "WWW-Authenticate: malformed parameters");
		}
		set_param(&c, key, val);
	}
	if (!strcasecmp(c.scheme, "Bearer") && !c.realm) {
		img_challenge_free(&c);
		return err_make(err, 0, "WWW-Authenticate: Bearer without realm");
	}
	*ret = c;
	return 0;
}

int img_auth_lookup(const char *authfile, const char *registry, char **ret, struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	const char *prefixes[] = {"", "https://", "http://"};
	json_t *auths;
	int r;

	*ret = NULL;
	if (!authfile)
		return 0;
	r = json_load_file_capped(AT_FDCWD, authfile, AUTHFILE_MAX, &j, err);
	if (r < 0)
		return err_wrap(err, "credentials");
	auths = json_object_get(j, "auths");
	for (size_t i = 0; auths && i < ARRAY_SIZE(prefixes); i++) {
		char key[512];
		const char *a;

		snprintf(key, sizeof(key), "%s%s", prefixes[i], registry);
		a = json_string_value(json_object_get(json_object_get(auths, key), "auth"));
		if (a && *a) {
			*ret = strdup(a);
			return *ret ? 0 : err_make(err, ENOMEM, "credentials");
		}
	}
	return 0;
}
