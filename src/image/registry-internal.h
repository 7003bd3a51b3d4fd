/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* The registry client (distribution spec), used by pull.c. */
#include <curl/curl.h>

#include "image.h"

struct reg {
	CURL *curl;
	char *base;	/* "https://host" or "http://host" */
	char *registry; /* as in the reference */
	char *repo;
	char *basic; /* base64(user:pass) or NULL */
	char *authz; /* "Authorization: ..." header or NULL */
	const struct img_pull_opts *opts;
	/* per response */
	long status;
	char *www_auth;
	char *content_type;
	char curl_err[CURL_ERROR_SIZE];
};

/* Where the bytes of a 2xx response go: memory, or a blob writer. */
struct sink {
	struct reg *r;
	CURL *curl;
	char *buf;
	size_t len, max;
	struct img_blob_writer *w;
	uint64_t asked_from; /* the Range start asked for */
	bool started;
	uint64_t deadline; /* CLOCK_MONOTONIC ms for a blob, 0 = none */
	uint64_t start;	   /* CLOCK_MONOTONIC ms of this attempt, for the rate */
	char range[32];
	struct err *err;
};

/* Configure handle c for a GET of url into k; returns the header list to free. */
struct curl_slist *reg_setup_easy(struct reg *r, CURL *c, const char *url, const char *accept,
				  const char *authz, struct sink *k);

/* The token server's URL for a Bearer challenge: service and scope escaped. */
int reg_token_url(const struct img_challenge *ch, const char *repo, char **ret, struct err **err);

int reg_new(const struct img_ref *ref, const struct img_pull_opts *opts, struct reg **ret,
	    struct err **err);
void reg_free(struct reg *r);
/*
 * GET a manifest (by tag or digest); *ret_buf/len capped at IMG_MANIFEST_MAX,
 * *ret_type its Content-Type.
 */
int reg_get_manifest(struct reg *r, const char *ref, char **ret_buf, size_t *ret_len,
		     char **ret_type, struct err **err);
int reg_get_blob_mem(struct reg *r, const char *digest, size_t max, char **ret_buf, size_t *ret_len,
		     struct err **err);
/*
 * Download a blob into the store, resuming a partial, verifying the digest,
 * by deadline (0: reg_blob_deadline() from now).
 */
int reg_fetch_blob(struct reg *r, struct img_store *s, const char *digest, uint64_t size,
		   uint64_t deadline, struct err **err);
/* The CLOCK_MONOTONIC time in ms, and when a blob of size started now must be done. */
uint64_t reg_now_ms(void);
uint64_t reg_blob_deadline(const struct reg *r, uint64_t size);
/*
 * Download several blobs at once (curl multi, a few at a time); a transfer
 * that fails is retried on its own with reg_fetch_blob(), resuming its partial.
 */
int reg_fetch_blobs(struct reg *r, struct img_store *s, const struct img_layer_desc *const *l,
		    size_t n, struct err **err);
