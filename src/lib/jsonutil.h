/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * jansson helpers that turn type and shape mistakes into one error line naming
 * the file and the field ("config.json: process.args[2]: expected a string").
 */
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

static inline void cleanup_json_decrefp(json_t **j)
{
	json_decref(*j);
}
#define _cleanup_json_ __attribute__((cleanup(cleanup_json_decrefp)))

/*
 * json_loadb that also takes integers in (INT64_MAX, UINT64_MAX], as OCI's
 * uint64 fields carry them, as the int64 of the same bits (json_get_u64 reads
 * them back).
 */
json_t *json_loadb_u64(const char *buf, size_t len, size_t flags, json_error_t *jerr);
/* Parse a file of at most max bytes; the error names the file, line and column. */
int json_load_file_capped(int dirfd, const char *path, size_t max, json_t **ret, struct err **err);
int json_load_buf_capped(const char *what, const char *buf, size_t len, size_t max, json_t **ret,
			 struct err **err);

/*
 * Typed getters.  `where` names the object for messages ("process.user").
 * A missing optional key leaves *ret untouched and returns 0; a missing
 * required key or a wrong type is an error.
 */
int json_get_string(json_t *obj, const char *where, const char *key, bool required,
		    const char **ret, struct err **err);
int json_get_bool(json_t *obj, const char *where, const char *key, bool *ret, struct err **err);
int json_get_i64(json_t *obj, const char *where, const char *key, int64_t *ret, struct err **err);
int json_get_u64(json_t *obj, const char *where, const char *key, uint64_t *ret, struct err **err);
int json_get_u32(json_t *obj, const char *where, const char *key, uint32_t *ret, struct err **err);
/* A uid/gid (id_valid(): 4294967295 is refused). */
int json_get_id(json_t *obj, const char *where, const char *key, uint32_t *ret, struct err **err);
int json_get_object(json_t *obj, const char *where, const char *key, json_t **ret,
		    struct err **err);
int json_get_array(json_t *obj, const char *where, const char *key, json_t **ret, struct err **err);
/* An array of strings as a NULL-terminated vector (strv). */
int json_get_strv(json_t *obj, const char *where, const char *key, char ***ret, struct err **err);
/* Reject keys other than those listed (NULL-terminated). */
int json_check_keys(json_t *obj, const char *where, const char *const *allowed, struct err **err);
