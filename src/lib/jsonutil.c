/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "parse.h"
#include "strv.h"

int json_load_buf_capped(const char *what, const char *buf, size_t len, size_t max, json_t **ret,
			 struct err **err)
{
	json_error_t jerr;
	json_t *j;

	if (len > max)
		return err_make(err, 0, "%s: larger than %zu bytes", what, max);
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return err_make(err, 0, "%s: line %d column %d: %s", what, jerr.line, jerr.column,
				jerr.text);
	*ret = j;
	return 0;
}

int json_load_file_capped(int dirfd, const char *path, size_t max, json_t **ret, struct err **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_file_at(dirfd, path, max, &buf, &len, err);
	if (r < 0)
		return r;
	return json_load_buf_capped(path, buf, len, max, ret, err);
}

static const char *sep(const char *where)
{
	return where && *where ? "." : "";
}

static int wrong_type(const char *where, const char *key, const char *want, struct err **err)
{
	return err_make(err, 0, "%s%s%s: expected %s", where ? where : "", sep(where), key, want);
}

int json_get_string(json_t *obj, const char *where, const char *key, bool required,
		    const char **ret, struct err **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			return err_make(err, 0, "%s%s%s: missing", where ? where : "", sep(where),
					key);
		return 0;
	}
	if (!json_is_string(v))
		return wrong_type(where, key, "a string", err);
	*ret = json_string_value(v);
	return 0;
}

int json_get_bool(json_t *obj, const char *where, const char *key, bool *ret, struct err **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return wrong_type(where, key, "true or false", err);
	*ret = json_is_true(v);
	return 0;
}

int json_get_i64(json_t *obj, const char *where, const char *key, int64_t *ret, struct err **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return wrong_type(where, key, "an integer", err);
	*ret = json_integer_value(v);
	return 0;
}

int json_get_u64(json_t *obj, const char *where, const char *key, uint64_t *ret, struct err **err)
{
	int64_t v = 0;
	json_t *j = json_object_get(obj, key);
	int r;

	if (!j || json_is_null(j))
		return 0;
	r = json_get_i64(obj, where, key, &v, err);
	if (r < 0)
		return r;
	/* jansson stores integers as long long; -1 is how specs say "unlimited". */
	*ret = (uint64_t)v;
	return 0;
}

int json_get_u32(json_t *obj, const char *where, const char *key, uint32_t *ret, struct err **err)
{
	int64_t v = 0;
	json_t *j = json_object_get(obj, key);
	int r;

	if (!j || json_is_null(j))
		return 0;
	r = json_get_i64(obj, where, key, &v, err);
	if (r < 0)
		return r;
	if (v < 0 || v > UINT32_MAX)
		return wrong_type(where, key, "an integer from 0 to 4294967295", err);
	*ret = (uint32_t)v;
	return 0;
}

int json_get_id(json_t *obj, const char *where, const char *key, uint32_t *ret, struct err **err)
{
	int64_t v = 0;
	json_t *j = json_object_get(obj, key);
	int r;

	if (!j || json_is_null(j))
		return 0;
	r = json_get_i64(obj, where, key, &v, err);
	if (r < 0)
		return r;
	if (!id_valid(v))
		return wrong_type(where, key, "an id from 0 to 4294967294", err);
	*ret = (uint32_t)v;
	return 0;
}

int json_get_object(json_t *obj, const char *where, const char *key, json_t **ret, struct err **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return wrong_type(where, key, "an object", err);
	*ret = v;
	return 0;
}

int json_get_array(json_t *obj, const char *where, const char *key, json_t **ret, struct err **err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return wrong_type(where, key, "an array", err);
	*ret = v;
	return 0;
}

int json_get_strv(json_t *obj, const char *where, const char *key, char ***ret, struct err **err)
{
	_cleanup_strv_ char **v = NULL;
	json_t *arr = NULL, *e;
	size_t i;
	int r;

	r = json_get_array(obj, where, key, &arr, err);
	if (r < 0 || !arr)
		return r;
	v = calloc(json_array_size(arr) + 1, sizeof(char *));
	if (!v)
		return err_make(err, ENOMEM, "%s%s%s", where ? where : "", sep(where), key);
	json_array_foreach (arr, i, e) {
		if (!json_is_string(e))
			return err_make(err, 0, "%s%s%s[%zu]: expected a string",
					where ? where : "", sep(where), key, i);
		v[i] = strdup(json_string_value(e));
		if (!v[i])
			return err_make(err, ENOMEM, "%s", key);
	}
	strv_free(*ret);
	*ret = TAKE_PTR(v);
	return 0;
}

int json_check_keys(json_t *obj, const char *where, const char *const *allowed, struct err **err)
{
	const char *key;
	json_t *v;

	json_object_foreach (obj, key, v) {
		bool ok = false;

		for (const char *const *a = allowed; *a; a++)
			if (streq(*a, key)) {
				ok = true;
				break;
			}
		if (!ok)
			return err_make(err, 0, "%s%s%s: unknown field", where ? where : "",
					sep(where), key);
	}
	return 0;
}
