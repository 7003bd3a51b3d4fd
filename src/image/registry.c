/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A registry client for the OCI distribution spec over libcurl: anonymous,
 * basic and bearer-token auth, retries on transient failures and resumable
 * blob downloads (Range on tmp/<hex>.partial).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "jsonutil.h"
#include "registry-internal.h"

#define RETRIES_DEFAULT 4
#define TOKEN_MAX	(64u << 10)
#define HEADER_MAX	8192

static const char manifest_accept[] = "Accept: application/vnd.oci.image.manifest.v1+json, "
				      "application/vnd.oci.image.index.v1+json, "
				      "application/vnd.docker.distribution.manifest.v2+json, "
				      "application/vnd.docker.distribution.manifest.list.v2+json";

int reg_new(const struct img_ref *ref, const struct img_pull_opts *opts, struct reg **ret,
	    struct err **err)
{
	struct reg *r = calloc(1, sizeof(*r));
	const char *host = ref->registry;
	bool plain = img_registry_is_local(host) || opts->insecure;
	int rc;

	if (!r)
		return err_make(err, ENOMEM, "registry");
	rc = img_lazylib_load(IMG_LIB_CURL, err);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->opts = opts;
	if (streq(host, "docker.io"))
		host = "registry-1.docker.io";
	r->curl = curl_easy_init();
	r->registry = strdup(ref->registry);
	r->repo = strdup(ref->repo);
	if (!r->curl || !r->registry || !r->repo ||
	    asprintf(&r->base, "%s://%s", plain ? "http" : "https", host) < 0) {
		reg_free(r);
		return err_make(err, ENOMEM, "registry");
	}
	rc = img_auth_lookup(opts->authfile, ref->registry, &r->basic, err);
	if (rc < 0) {
		reg_free(r);
		return rc;
	}
	*ret = r;
	return 0;
}

void reg_free(struct reg *r)
{
	if (!r)
		return;
	if (r->curl)
		curl_easy_cleanup(r->curl);
	free(r->base);
	free(r->registry);
	free(r->repo);
	free(r->basic);
	free(r->authz);
	free(r->www_auth);
	free(r->content_type);
	free(r);
}

static size_t on_header(char *buf, size_t size, size_t n, void *data)
{
	struct reg *r = data;
	size_t len = size * n;
	char **slot = NULL;
	const char *v;

	if (len > HEADER_MAX)
		return len;
	if (len > 17 && !strncasecmp(buf, "WWW-Authenticate:", 17))
		slot = &r->www_auth, v = buf + 17;
	else if (len > 13 && !strncasecmp(buf, "Content-Type:", 13))
		slot = &r->content_type, v = buf + 13;
	if (slot) {
		size_t l;

		while (*v == ' ')
			v++;
		l = buf + len - v;
		while (l && (v[l - 1] == '\r' || v[l - 1] == '\n' || v[l - 1] == ' '))
			l--;
		free(*slot);
		*slot = strndup(v, l);
	}
	return len;
}

static size_t on_data(char *buf, size_t size, size_t n, void *data)
{
	struct sink *k = data;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(k->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status >= 300)
		return len; /* an error body: ignored */
	if (k->w) {
		/* The server ignored our Range and sent it all: start again. */
		if (!k->started && k->asked_from && status == 200 &&
		    img_blob_writer_restart(k->w, &k->err) < 0)
			return 0;
		k->started = true;
		return img_blob_writer_write(k->w, buf, len, &k->err) < 0 ? 0 : len;
	}
	if (k->len + len > k->max) {
		err_make(&k->err, EFBIG, "response larger than %zu bytes", k->max);
		return 0;
	}
	char *nb = realloc(k->buf, k->len + len + 1);
	if (!nb)
		return 0;
	k->buf = nb;
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
	k->buf[k->len] = '\0';
	return len;
}

/*
 * The deadline counts the size the descriptor declares, which a registry
 * chooses: a layer "of 2^62 bytes" dripped a byte every 2 s held the store's
 * lock for good.  So the rate holds all along as well: after the first
 * timeout_base seconds of an attempt, one that has averaged less than
 * min_rate bytes a second is cut off.  Per attempt: a retry after connect
 * timeouts and back-off sleeps starts afresh, as its buffer does.
 */
static bool too_slow(const struct sink *k, uint64_t *ret_got)
{
	const struct img_pull_opts *o = k->r->opts;
	uint64_t base = o->timeout_base ? o->timeout_base : IMG_PULL_TIMEOUT_BASE;
	uint64_t rate = o->min_rate ? o->min_rate : IMG_PULL_MIN_RATE;
	uint64_t off = k->w ? img_blob_writer_offset(k->w) : 0;
	/* This attempt's bytes: past its Range start, or from 0 if the server sent all again. */
	uint64_t got = !k->w ? k->len : off >= k->asked_from ? off - k->asked_from : off;
	uint64_t allowed = base * 1000 + got / rate * 1000 + got % rate * 1000 / rate;

	*ret_got = got;
	return reg_now_ms() - k->start > allowed;
}

static int on_progress(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult,
		       curl_off_t uln)
{
	struct sink *k = data;
	const struct img_pull_opts *o = k->r->opts;
	uint64_t got;

	if (o->cancel && *o->cancel) {
		if (!k->err)
			err_make(&k->err, ECANCELED, "interrupted");
		return 1; /* CURLE_ABORTED_BY_CALLBACK */
	}
	if (o->progress && k->w)
		o->progress(o->progress_data, IMG_PROGRESS_BYTES, NULL,
			    k->asked_from + (uint64_t)dlnow, k->asked_from + (uint64_t)dltotal);
	if (k->deadline && !k->err && too_slow(k, &got)) {
		err_make(&k->err, ETIMEDOUT,
			 "slower than %llu bytes/s on average after the first %u s (%llu bytes in)",
			 (unsigned long long)(o->min_rate ? o->min_rate : IMG_PULL_MIN_RATE),
			 o->timeout_base ? o->timeout_base : IMG_PULL_TIMEOUT_BASE,
			 (unsigned long long)got);
		return 1; /* CURLE_ABORTED_BY_CALLBACK */
	}
	return 0;
}

static bool transient(CURLcode c, long status)
{
	switch (c) {
	case CURLE_OK:
		return status == 429 || status == 500 || status == 502 || status == 503 ||
		       status == 504;
	case CURLE_COULDNT_CONNECT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

uint64_t reg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t reg_blob_deadline(const struct reg *r, uint64_t size)
{
	uint64_t base = r->opts->timeout_base ? r->opts->timeout_base : IMG_PULL_TIMEOUT_BASE;
	uint64_t rate = r->opts->min_rate ? r->opts->min_rate : IMG_PULL_MIN_RATE;
	uint64_t ms = base * 1000 + size / rate * 1000 + size % rate * 1000 / rate;

	return reg_now_ms() + ms;
}

struct curl_slist *reg_setup_easy(struct reg *r, CURL *c, const char *url, const char *accept,
				  const char *authz, struct sink *k)
{
	struct curl_slist *h = NULL;

	k->curl = c;
	k->start = reg_now_ms();
	if (accept)
		h = curl_slist_append(h, accept);
	if (authz)
		h = curl_slist_append(h, authz);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	/* Never send our Authorization header to a redirect target (blob CDNs). */
	curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	if (k->deadline) {
		uint64_t now = reg_now_ms();

		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
				 (long)(k->deadline > now + 1 ? k->deadline - now : 1));
	}
	curl_easy_setopt(c, CURLOPT_USERAGENT, "isola");
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, k);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (r->opts->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (k->w && k->asked_from) {
		snprintf(k->range, sizeof(k->range), "%llu-", (unsigned long long)k->asked_from);
		curl_easy_setopt(c, CURLOPT_RANGE, k->range);
	}
	/* A Content-Length beyond the descriptor's size fails before any byte is stored. */
	if (k->w && img_blob_writer_size(k->w))
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
				 (curl_off_t)img_blob_writer_size(k->w));
	else if (!k->w && k->max)
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)k->max);
	return h;
}

/* One GET; returns the curl result and fills r->status. */
static CURLcode get_once(struct reg *r, const char *url, const char *accept, const char *authz,
			 struct sink *k)
{
	struct curl_slist *h;
	CURLcode c;

	curl_easy_reset(r->curl);
	free(r->www_auth);
	free(r->content_type);
	r->www_auth = r->content_type = NULL;
	r->status = 0;
	h = reg_setup_easy(r, r->curl, url, accept, authz, k);
	curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, r->curl_err);
	r->curl_err[0] = '\0';
	c = curl_easy_perform(r->curl);
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	return c;
}

/* curl_easy_escape()'s result belongs to libcurl: curl_free(), never free(). */
static void curl_freep(char **p)
{
	if (*p)
		curl_free(*p);
}

/* The token URL: realm?service=<escaped>&scope=<escaped> (distribution's token spec). */
int reg_token_url(const struct img_challenge *ch, const char *repo, char **ret, struct err **err)
{
	__attribute__((cleanup(curl_freep))) char *service = NULL, *scope = NULL;
	_cleanup_free_ char *raw_scope = NULL;
	char *url = NULL;

	if (!ch->scope && asprintf(&raw_scope, "repository:%s:pull", repo) < 0)
		return err_make(err, ENOMEM, "token");
	service = curl_easy_escape(NULL, ch->service ? ch->service : "", 0);
	scope = curl_easy_escape(NULL, ch->scope ? ch->scope : raw_scope, 0);
	if (!service || !scope ||
	    asprintf(&url, "%s%sservice=%s&scope=%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?",
		     service, scope) < 0)
		return err_make(err, ENOMEM, "token");
	*ret = url;
	return 0;
}

static int fetch_token(struct reg *r, const struct img_challenge *ch, struct err **err)
{
	_cleanup_free_ char *url = NULL, *authz = NULL;
	_cleanup_json_ json_t *j = NULL;
	struct sink k = {.r = r, .max = TOKEN_MAX, .deadline = reg_blob_deadline(r, TOKEN_MAX)};
	const char *tok;
	CURLcode c;
	int rc;

	/* Credentials never go to a plain-HTTP token server for an HTTPS registry. */
	if (strncasecmp(ch->realm, "https://", 8) &&
	    (strncasecmp(ch->realm, "http://", 7) || !strncmp(r->base, "https://", 8)))
		return err_make(err, EACCES, "token realm `%s`: not https", ch->realm);
	rc = reg_token_url(ch, r->repo, &url, err);
	if (rc < 0)
		return rc;
	if (r->basic && asprintf(&authz, "Authorization: Basic %s", r->basic) < 0)
		return err_make(err, ENOMEM, "token");
	c = get_once(r, url, NULL, authz, &k);
	if (c != CURLE_OK || r->status != 200) {
		free(k.buf);
		err_free(&k.err);
		if (c != CURLE_OK)
			return err_make(err, EIO, "token server `%s`: %s", ch->realm, r->curl_err);
		return err_make(err, EACCES, "token server `%s`: HTTP %ld%s", ch->realm, r->status,
				r->status == 401 ? " (bad credentials?)" : "");
	}
	rc = json_load_buf_capped("token response", k.buf, k.len, TOKEN_MAX, &j, err);
	free(k.buf);
	if (rc < 0)
		return rc;
	tok = json_string_value(json_object_get(j, "token"));
	if (!tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !*tok || strpbrk(tok, "\r\n"))
		return err_make(err, 0, "token response: no usable `token`");
	free(r->authz);
	if (asprintf(&r->authz, "Authorization: Bearer %s", tok) < 0)
		r->authz = NULL;
	return r->authz ? 0 : err_make(err, ENOMEM, "token");
}

/* After a 401: answer the challenge (token or basic credentials). */
static int authenticate(struct reg *r, struct err **err)
{
	struct img_challenge ch = {};
	int rc;

	if (!r->www_auth)
		return err_make(err, EACCES, "%s: 401 Unauthorized without a challenge", r->base);
	rc = img_challenge_parse(r->www_auth, &ch, err);
	if (rc < 0)
		return rc;
	if (!strcasecmp(ch.scheme, "Bearer")) {
		rc = fetch_token(r, &ch, err);
	} else if (!strcasecmp(ch.scheme, "Basic") && r->basic) {
		free(r->authz);
		rc = asprintf(&r->authz, "Authorization: Basic %s", r->basic) < 0
			 ? err_make(err, ENOMEM, "auth")
			 : 0;
	} else {
		rc = err_make(err, EACCES, "%s: authentication required (scheme %s%s)", r->registry,
			      ch.scheme,
			      strcasecmp(ch.scheme, "Basic") ? "" : "; no credentials given");
	}
	img_challenge_free(&ch);
	return rc;
}

static int status_error(struct reg *r, const char *what, struct err **err)
{
	switch (r->status) {
	case 401:
	case 403:
		return err_make(err, EACCES, "%s: HTTP %ld: access denied", what, r->status);
	case 404:
		return err_make(err, 0, "%s: not found (HTTP 404)", what);
	default:
		return err_make(err, EIO, "%s: HTTP %ld", what, r->status);
	}
}

static int deadline_error(struct reg *r, const struct sink *k, const char *what, struct err **err)
{
	uint64_t got = k->w ? img_blob_writer_offset(k->w) : k->len;

	return err_make(
	    err, ETIMEDOUT,
	    "%s: not complete by its deadline (%llu bytes in; the limit is %u s + "
	    "size at %llu bytes/s)",
	    what, (unsigned long long)got,
	    r->opts->timeout_base ? r->opts->timeout_base : IMG_PULL_TIMEOUT_BASE,
	    (unsigned long long)(r->opts->min_rate ? r->opts->min_rate : IMG_PULL_MIN_RATE));
}

/* GET with auth and retries.  k->w's offset is re-read before every attempt. */
static int get(struct reg *r, const char *path, const char *accept, const char *what,
	       struct sink *k, struct err **err)
{
	_cleanup_free_ char *url = NULL;
	unsigned tries = r->opts->retries ? r->opts->retries : RETRIES_DEFAULT;
	bool authed = false;
	CURLcode c;

	if (asprintf(&url, "%s/v2/%s/%s", r->base, r->repo, path) < 0)
		return err_make(err, ENOMEM, "url");
	for (unsigned attempt = 0;; attempt++) {
		if (k->w) {
			k->asked_from = img_blob_writer_offset(k->w);
			k->started = false;
		}
		if (k->deadline && reg_now_ms() >= k->deadline)
			return deadline_error(r, k, what, err);
		c = get_once(r, url, accept, r->authz, k);
		if (k->err) {
			*err = k->err; /* the sink failed: digest, size or disk */
			k->err = NULL;
			return err_code(*err);
		}
		if (c == CURLE_OK && r->status == 401 && !authed) {
			int rc = authenticate(r, err);

			if (rc < 0)
				return err_wrap(err, "%s", what);
			authed = true;
			attempt--;
			continue;
		}
		if (c == CURLE_OK && r->status >= 200 && r->status < 300)
			return 0;
		if (k->deadline && reg_now_ms() >= k->deadline)
			return deadline_error(r, k, what, err);
		if (!transient(c, r->status) || attempt + 1 >= tries)
			break;
		if (!k->w) {
			free(k->buf);
			k->buf = NULL;
			k->len = 0;
		}
		sleep(attempt < 3 ? 1u << attempt : 8);
	}
	if (c != CURLE_OK)
		return err_make(err, EIO, "%s: %s", what,
				r->curl_err[0] ? r->curl_err : curl_easy_strerror(c));
	return status_error(r, what, err);
}

int reg_get_manifest(struct reg *r, const char *ref, char **ret_buf, size_t *ret_len,
		     char **ret_type, struct err **err)
{
	_cleanup_free_ char *path = NULL, *what = NULL;
	struct sink k = {
	    .r = r, .max = IMG_MANIFEST_MAX, .deadline = reg_blob_deadline(r, IMG_MANIFEST_MAX)};
	int rc;

	if (asprintf(&path, "manifests/%s", ref) < 0 ||
	    asprintf(&what, "manifest %s/%s:%s", r->registry, r->repo, ref) < 0)
		return err_make(err, ENOMEM, "manifest");
	rc = get(r, path, manifest_accept, what, &k, err);
	if (rc < 0) {
		free(k.buf);
		return rc;
	}
	if (!k.buf)
		return err_make(err, 0, "%s: empty response", what);
	*ret_buf = k.buf;
	*ret_len = k.len;
	*ret_type = r->content_type ? strdup(r->content_type) : NULL;
	return 0;
}

int reg_get_blob_mem(struct reg *r, const char *digest, size_t max, char **ret_buf, size_t *ret_len,
		     struct err **err)
{
	_cleanup_free_ char *path = NULL, *what = NULL;
	struct sink k = {.r = r, .max = max, .deadline = reg_blob_deadline(r, max)};
	char got[IMG_DIGEST_LEN + 1];
	int rc;

	if (asprintf(&path, "blobs/%s", digest) < 0 || asprintf(&what, "blob %s", digest) < 0)
		return err_make(err, ENOMEM, "blob");
	rc = get(r, path, NULL, what, &k, err);
	if (rc < 0) {
		free(k.buf);
		return rc;
	}
	rc = img_sha256_digest(k.buf ? k.buf : "", k.len, got, err);
	if (rc < 0) {
		free(k.buf);
		return rc;
	}
	if (!streq(got, digest)) {
		free(k.buf);
		return err_make(err, EIO, "%s: digest mismatch (content is %s)", what, got);
	}
	*ret_buf = k.buf ? k.buf : strdup("");
	*ret_len = k.len;
	return 0;
}

int reg_fetch_blob(struct reg *r, struct img_store *s, const char *digest, uint64_t size,
		   uint64_t deadline, struct err **err)
{
	_cleanup_free_ char *path = NULL, *what = NULL;
	struct sink k = {.r = r, .deadline = deadline ? deadline : reg_blob_deadline(r, size)};
	uint64_t off;
	int rc;

	if (asprintf(&path, "blobs/%s", digest) < 0 || asprintf(&what, "blob %s", digest) < 0)
		return err_make(err, ENOMEM, "blob");
	rc = img_blob_writer_begin(s, digest, size, &k.w, &off, err);
	if (rc < 0)
		return rc;
	if (!size)
		rc = err_make(err, 0, "%s: no size in its descriptor", what);
	else if (off != size)
		rc = get(r, path, NULL, what, &k, err);
	if (rc >= 0)
		rc = img_blob_writer_commit(k.w, err);
	/*
	 * Retries within this call resume the partial; a pull that fails for
	 * good removes it (a full disk must not stay full).
	 */
	img_blob_writer_free(k.w, rc >= 0);
	return rc;
}
