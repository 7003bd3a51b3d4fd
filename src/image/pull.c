/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `pull`: manifest (through an index if need be), config, layers, unpack, index. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "image.h"
#include "jsonutil.h"
#include "registry-internal.h"

static void progress(const struct img_pull_opts *o, enum img_progress_kind kind, const char *digest,
		     uint64_t done, uint64_t total)
{
	if (o->progress)
		o->progress(o->progress_data, kind, digest, done, total);
}

static bool body_is_index(const char *type, const char *buf, size_t len)
{
	_cleanup_json_ json_t *j = NULL;

	if (img_media_type_is_index(type))
		return true;
	/* OCI indexes may come without a Content-Type we know: look inside. */
	if (json_load_buf_capped("manifest", buf, len, IMG_MANIFEST_MAX, &j, NULL) < 0)
		return false;
	return img_media_type_is_index(json_string_value(json_object_get(j, "mediaType"))) ||
	       (json_object_get(j, "manifests") && !json_object_get(j, "layers"));
}

/* Fetch the image manifest for ref, resolving an index to linux/amd64. */
static int fetch_manifest(struct reg *r, const struct img_ref *ref, char **ret_buf, size_t *ret_len,
			  char ret_digest[IMG_DIGEST_LEN + 1], struct err **err)
{
	_cleanup_free_ char *buf = NULL, *type = NULL;
	const char *want = ref->digest;
	char pick[IMG_DIGEST_LEN + 1];
	size_t len;
	int rc;

	for (int depth = 0; depth < 2; depth++) {
		rc = reg_get_manifest(r, depth ? pick : (want ? want : ref->tag), &buf, &len, &type,
				      err);
		if (rc < 0)
			return rc;
		rc = img_sha256_digest(buf, len, ret_digest, err);
		if (rc < 0)
			return rc;
		if (depth ? !streq(ret_digest, pick) : (want && !streq(ret_digest, want)))
			return err_make(err, EIO, "manifest: digest mismatch: expected %s, got %s",
					depth ? pick : want, ret_digest);
		if (!body_is_index(type, buf, len)) {
			*ret_buf = TAKE_PTR(buf);
			*ret_len = len;
			return 0;
		}
		if (depth)
			break;
		rc = img_index_pick(buf, len, pick, err);
		if (rc < 0)
			return rc;
		free(TAKE_PTR(buf));
		free(TAKE_PTR(type));
	}
	return err_make(err, 0, "manifest: an index that points at another index");
}

static int fetch_blobs(struct reg *r, struct img_store *s, const struct img_manifest *m,
		       const struct img_pull_opts *o, struct err **err)
{
	const struct img_layer_desc *missing[IMG_LAYERS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < m->n_layers; i++) {
		const struct img_layer_desc *l = &m->layers[i];
		bool dup = false;

		for (size_t k = 0; k < n; k++)
			dup |= streq(missing[k]->digest, l->digest);
		if (img_blob_exists(s, l->digest))
			progress(o, IMG_PROGRESS_EXISTS, l->digest, l->size, l->size);
		else if (!dup)
			missing[n++] = l;
	}
	return n ? reg_fetch_blobs(r, s, missing, n, err) : 0;
}

static int pull_ref(struct img_store *s, struct reg *r, const struct img_ref *ref, const char *name,
		    const struct img_pull_opts *o, struct err **err)
{
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
	_cleanup_free_ struct img_manifest *m = calloc(1, sizeof(*m));
	char mdigest[IMG_DIGEST_LEN + 1];
	size_t mlen = 0, clen = 0;
	int rc;

	if (!m)
		return err_make(err, ENOMEM, "pull");
	rc = fetch_manifest(r, ref, &mbuf, &mlen, mdigest, err);
	if (rc >= 0)
		rc = img_manifest_parse(mbuf, mlen, m, err);
	if (rc < 0)
		return rc;
	if (!img_blob_exists(s, m->config)) {
		if (m->config_size > IMG_MANIFEST_MAX)
			return err_make(err, EFBIG, "image config: larger than %u bytes",
					IMG_MANIFEST_MAX);
		rc = reg_get_blob_mem(r, m->config, m->config_size, &cbuf, &clen, err);
		if (rc >= 0 && clen != m->config_size)
			rc = err_make(err, EIO, "image config: %zu bytes, its descriptor says %llu",
				      clen, (unsigned long long)m->config_size);
		if (rc >= 0)
			rc = img_blob_put(s, m->config, cbuf, clen, err);
		if (rc < 0)
			return rc;
	}
	rc = fetch_blobs(r, s, m, o, err);
	if (rc >= 0)
		rc = img_blob_put(s, mdigest, mbuf, mlen, err);
	if (rc < 0)
		return rc;
	progress(o, IMG_PROGRESS_UNPACK, mdigest, 0, 0);
	return img_register(s, name, mdigest, err);
}

int img_pull(struct img_store *s, const char *refstr, const struct img_pull_opts *o,
	     char **ret_name, struct err **err)
{
	struct img_ref ref = {};
	struct reg *r = NULL;
	_cleanup_free_ char *name = NULL;
	int rc;

	rc = img_ref_parse(refstr, &ref, err);
	if (rc < 0)
		return rc;
	name = img_ref_name(&ref);
	rc = name ? reg_new(&ref, o, &r, err) : err_make(err, ENOMEM, "pull");
	if (rc >= 0)
		rc = pull_ref(s, r, &ref, name, o, err);
	reg_free(r);
	img_ref_free(&ref);
	if (rc < 0)
		return err_wrap(err, "pull %s", refstr);
	if (ret_name)
		*ret_name = TAKE_PTR(name);
	return 0;
}
