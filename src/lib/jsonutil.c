/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "parse.h"
#include "strv.h"

/*
 * @buf with every integer token in (INT64_MAX, UINT64_MAX] written as the
 * int64 of the same bits (18446744073709551615 -> -1), in a new buffer; NULL
 * when there is none or out of memory.  Tokens in strings, with a fraction
 * or exponent, or past UINT64_MAX stay as they are.
 */
static char *big_ints_wrapped(const char *buf, size_t len, size_t *ret_len)
{
	char *out = NULL;
	size_t o = 0, i = 0;
	bool found = false, in_str = false;

	/* One token grows by at most one byte (9223372036854775808 -> -9223372036854775808). */
	out = malloc(len + len / 19 + 2);
	if (!out)
		return NULL;
	while (i < len) {
		char c = buf[i];
		size_t k = i;
		uint64_t v = 0;
		bool skip = false; /* not a token to rewrite */

		if (in_str) {
			if (c == '\\' && i + 1 < len)
				out[o++] = buf[i++];
			else if (c == '"')
				in_str = false;
			out[o++] = buf[i++];
			continue;
		}
		if (c != '-' && (c < '0' || c > '9')) {
			in_str = c == '"';
			out[o++] = buf[i++];
			continue;
		}
		/* A number token, whole: only a plain run of digits is looked at. */
		for (; k < len && strchr("0123456789+-.eE", buf[k]) && buf[k]; k++) {
			unsigned d = (unsigned)(buf[k] - '0');

			if (d > 9)
				skip = true; /* a sign, fraction or exponent: not ours */
			else {
				skip = skip || v > (UINT64_MAX - d) / 10; /* past UINT64_MAX */
				v = v * 10 + d;
			}
		}
		/* Leading zeros are not JSON: left for jansson to refuse. */
		skip = skip || buf[i] == '0';
		if (!skip && v > INT64_MAX) {
			o += (size_t)sprintf(out + o, "%" PRId64, (int64_t)v);
			found = true;
		} else {
			memcpy(out + o, buf + i, k - i);
			o += k - i;
		}
		i = k;
	}
	if (!found) {
		free(out);
		return NULL;
	}
	*ret_len = o;
	return out;
}

/*
 * json_loadb, but an integer jansson cannot hold (it has int64 only) that an
 * OCI uint64 field may carry -- podman writes an unlimited rlimit as
 * 18446744073709551615 -- is read as the int64 of the same bits, which
 * json_get_u64 turns back into the same uint64.
 */
json_t *json_loadb_u64(const char *buf, size_t len, size_t flags, json_error_t *jerr)
{
	_cleanup_free_ char *wrapped = NULL;
	json_t *j = json_loadb(buf, len, flags, jerr);
	size_t wlen;

	if (j || strncmp(jerr->text, "too big integer", 15))
		return j;
	wrapped = big_ints_wrapped(buf, len, &wlen);
	if (!wrapped)
		return NULL;
	return json_loadb(wrapped, wlen, flags, jerr);
}

int json_load_buf_capped(const char *what, const char *buf, size_t len, size_t max, json_t **ret,
			 struct err **err)
{
	json_error_t jerr;
	json_t *j;

	if (len > max)
		return err_make(err, 0, "%s: larger than %zu bytes", what, max);
	j = json_loadb_u64(buf, len, JSON_REJECT_DUPLICATES, &jerr);
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
