/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "strv.h"

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

int strv_push(char ***v, const char *s)
{
	size_t n = strv_length(*v);
	char *copy = strdup(s);
	char **nv;

	if (!copy)
		return -1;
	nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv) {
		free(copy);
		return -1;
	}
	nv[n] = copy;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

int strv_env_set(char ***env, const char *kv)
{
	size_t key = strcspn(kv, "=") + 1;

	for (char **e = *env; e && *e; e++)
		if (!strncmp(*e, kv, key)) {
			char *copy = strdup(kv);

			if (!copy)
				return -1;
			free(*e);
			*e = copy;
			return 0;
		}
	return strv_push(env, kv);
}

char **strv_env_merge(char *const *base, char *const *extra)
{
	char **out = NULL;

	for (size_t i = 0; base && base[i]; i++)
		if (strv_push(&out, base[i]) < 0)
			goto fail;
	for (size_t j = 0; extra && extra[j]; j++)
		if (strv_env_set(&out, extra[j]) < 0)
			goto fail;
	/* Nothing at all is a valid, empty environment, not a failure. */
	if (!out)
		out = calloc(1, sizeof(char *));
	return out;
fail:
	strv_free(out);
	return NULL;
}
