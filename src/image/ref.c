/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image references, as the distribution spec and Docker spell them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image.h"

#define REF_MAX 1024

void img_ref_free(struct img_ref *r)
{
	free(r->registry);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

static bool repo_valid(const char *s)
{
	if (!*s || *s == '/' || s[strlen(s) - 1] == '/' || strstr(s, "//"))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("._-/", *s)))
			return false;
	return true;
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
		r->registry = strndup(name, slash - name);
		name = slash + 1;
	} else {
		r->registry = strdup("docker.io");
	}
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
	if (!r->registry || !r->repo)
		return err_make(err, ENOMEM, "reference");
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

bool img_registry_is_local(const char *registry)
{
	static const char *const local[] = {"localhost", "127.", "[::1]"};

	for (size_t i = 0; i < ARRAY_SIZE(local); i++)
		if (!strncmp(registry, local[i], strlen(local[i])))
			return true;
	return false;
}
