/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parallel blob downloads with curl multi.  This is the fast path only:
 * every transfer that does not finish cleanly is handed to reg_fetch_blob(),
 * which authenticates, retries and resumes from the partial file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image.h"
#include "registry-internal.h"

#define PARALLEL 3

struct xfer {
	struct sink k;
	const struct img_layer_desc *l;
	CURL *c;
	struct curl_slist *h;
	char *url;
	bool running, ok;
};

static void progress(struct reg *r, enum img_progress_kind kind, const struct img_layer_desc *l)
{
	if (r->opts->progress)
		r->opts->progress(r->opts->progress_data, kind, l->digest,
				  kind == IMG_PROGRESS_START ? 0 : l->size, l->size);
}

/* Begin one transfer (or none, when a complete partial is already there). */
static int xfer_start(struct reg *r, struct img_store *s, CURLM *m, struct xfer *x,
		      struct err **err)
{
	uint64_t off;
	int rc;

	x->k.r = r;
	x->k.deadline = reg_blob_deadline(r, x->l->size);
	rc = img_blob_writer_begin(s, x->l->digest, x->l->size, &x->k.w, &off, err);
	if (rc < 0)
		return rc;
	progress(r, IMG_PROGRESS_START, x->l);
	x->k.asked_from = off;
	if (off && off == x->l->size) {
		x->ok = true;
		return 0;
	}
	x->c = curl_easy_init();
	if (!x->c || asprintf(&x->url, "%s/v2/%s/blobs/%s", r->base, r->repo, x->l->digest) < 0)
		return err_make(err, ENOMEM, "blob transfer");
	x->h = reg_setup_easy(r, x->c, x->url, NULL, r->authz, &x->k);
	curl_easy_setopt(x->c, CURLOPT_PRIVATE, x);
	if (curl_multi_add_handle(m, x->c) != CURLM_OK)
		return err_make(err, EIO, "curl_multi_add_handle");
	x->running = true;
	return 1;
}

static void xfer_done(CURLM *m, CURLMsg *msg)
{
	struct xfer *x = NULL;
	long status = 0;

	curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
	curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
	x->ok = msg->data.result == CURLE_OK && status >= 200 && status < 300 && !x->k.err;
	x->running = false;
	curl_multi_remove_handle(m, x->c);
}

static int run_all(struct reg *r, struct img_store *s, CURLM *m, struct xfer *x, size_t n,
		   struct err **err)
{
	size_t next = 0, active = 0;
	int still, rc, q;
	CURLMsg *msg;

	while (next < n || active) {
		while (active < PARALLEL && next < n) {
			rc = xfer_start(r, s, m, &x[next++], err);
			if (rc < 0)
				return rc;
			active += rc;
		}
		if (curl_multi_perform(m, &still) != CURLM_OK)
			return err_make(err, EIO, "curl_multi_perform");
		while ((msg = curl_multi_info_read(m, &q)))
			if (msg->msg == CURLMSG_DONE) {
				xfer_done(m, msg);
				active--;
			}
		if (active)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	return 0;
}

/* Commit what arrived; fall back to the sequential, retrying path otherwise. */
static int finish(struct reg *r, struct img_store *s, struct xfer *x, struct err **err)
{
	int rc;

	if (x->ok) {
		rc = img_blob_writer_commit(x->k.w, err);
		img_blob_writer_free(x->k.w, rc >= 0);
		x->k.w = NULL;
	} else if (x->k.err &&
		   (err_code(x->k.err) == ETIMEDOUT || err_code(x->k.err) == ECANCELED)) {
		/*
		 * Too slow: a second try would give the server its grace period again.
		 * Cancelled: the caller is stopping.
		 */
		img_blob_writer_free(x->k.w, false);
		x->k.w = NULL;
		*err = TAKE_PTR(x->k.err);
		return err_wrap(err, "blob %s", x->l->digest);
	} else {
		img_blob_writer_free(x->k.w, !x->k.err);
		x->k.w = NULL;
		rc = reg_fetch_blob(r, s, x->l->digest, x->l->size, x->k.deadline, err);
	}
	if (rc >= 0)
		progress(r, IMG_PROGRESS_DONE, x->l);
	return rc;
}

static void xfer_free(CURLM *m, struct xfer *x)
{
	if (x->c) {
		if (x->running)
			curl_multi_remove_handle(m, x->c);
		curl_easy_cleanup(x->c);
	}
	curl_slist_free_all(x->h);
	free(x->url);
	err_free(&x->k.err);
	/* Still open here only when the pull failed: drop the partial. */
	img_blob_writer_free(x->k.w, false);
}

int reg_fetch_blobs(struct reg *r, struct img_store *s, const struct img_layer_desc *const *l,
		    size_t n, struct err **err)
{
	_cleanup_free_ struct xfer *x = calloc(n ? n : 1, sizeof(*x));
	CURLM *m = curl_multi_init();
	int rc;

	if (!x || !m) {
		if (m)
			curl_multi_cleanup(m);
		return err_make(err, ENOMEM, "blob transfers");
	}
	for (size_t i = 0; i < n; i++)
		x[i].l = l[i];
	rc = run_all(r, s, m, x, n, err);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		rc = finish(r, s, &x[i], err);
	for (size_t i = 0; i < n; i++)
		xfer_free(m, &x[i]);
	curl_multi_cleanup(m);
	return rc;
}
