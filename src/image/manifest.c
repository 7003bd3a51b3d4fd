/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Manifests, indexes and image configs (OCI image spec, Docker schema 2). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "jsonutil.h"
#include "strv.h"

static const char *const layer_types[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
};

bool img_media_type_is_index(const char *mt)
{
	return mt && (streq(mt, "application/vnd.oci.image.index.v1+json") ||
		      streq(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

static int parse_desc(json_t *d, const char *where, char digest[IMG_DIGEST_LEN + 1], uint64_t *size,
		      const char **mt, struct err **err)
{
	const char *dg = NULL;
	int r;

	if (!json_is_object(d))
		return err_make(err, 0, "%s: expected an object", where);
	r = json_get_string(d, where, "digest", true, &dg, err);
	if (r >= 0 && !json_is_integer(json_object_get(d, "size")))
		r = err_make(err, 0, "%s.size: missing (the image spec requires it)", where);
	if (r >= 0)
		r = json_get_u64(d, where, "size", size, err);
	if (r >= 0 && mt)
		r = json_get_string(d, where, "mediaType", false, mt, err);
	if (r < 0)
		return r;
	/* Every download is capped at its size: no size, no limit, so none is refused. */
	if (*size == 0 || *size > INT64_MAX)
		return err_make(err, 0, "%s.size: %lld is not a blob size", where,
				(long long)*size);
	if (!img_digest_valid(dg))
		return err_make(err, 0, "%s.digest: unsupported digest `%s`", where, dg);
	memcpy(digest, dg, IMG_DIGEST_LEN + 1);
	return 0;
}

static int parse_layers(json_t *layers, struct img_manifest *m, struct err **err)
{
	json_t *l;
	size_t i;

	if (json_array_size(layers) > IMG_LAYERS_MAX)
		return err_make(err, E2BIG, "manifest: more than %d layers", IMG_LAYERS_MAX);
	json_array_foreach (layers, i, l) {
		char where[64];
		const char *mt = NULL;
		bool known = false;
		int r;

		snprintf(where, sizeof(where), "manifest: layers[%zu]", i);
		r = parse_desc(l, where, m->layers[i].digest, &m->layers[i].size, &mt, err);
		if (r < 0)
			return r;
		for (size_t k = 0; mt && k < ARRAY_SIZE(layer_types); k++)
			known |= streq(mt, layer_types[k]);
		if (!known)
			return err_make(err, ENOTSUP, "%s.mediaType: unsupported media type `%s`",
					where, mt ? mt : "(none)");
	}
	m->n_layers = json_array_size(layers);
	return 0;
}

int img_manifest_parse(const char *buf, size_t len, struct img_manifest *ret, struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	json_t *cfg = NULL, *layers = NULL;
	const char *mt = NULL;
	uint64_t schema = 0;
	int r;

	r = json_load_buf_capped("manifest", buf, len, IMG_MANIFEST_MAX, &j, err);
	if (r < 0)
		return r;
	r = json_get_u64(j, "manifest", "schemaVersion", &schema, err);
	if (r >= 0)
		r = json_get_string(j, "manifest", "mediaType", false, &mt, err);
	if (r < 0)
		return r;
	if (schema != 2)
		return err_make(err, ENOTSUP, "manifest: unsupported schemaVersion %llu",
				(unsigned long long)schema);
	if (img_media_type_is_index(mt))
		return err_make(err, 0, "manifest: is an index, not an image manifest");
	if (mt && !streq(mt, "application/vnd.oci.image.manifest.v1+json") &&
	    !streq(mt, "application/vnd.docker.distribution.manifest.v2+json"))
		return err_make(err, ENOTSUP, "manifest: unsupported media type `%s`", mt);
	r = json_get_object(j, "manifest", "config", &cfg, err);
	if (r >= 0)
		r = json_get_array(j, "manifest", "layers", &layers, err);
	if (r < 0)
		return r;
	if (!cfg || !layers)
		return err_make(err, 0, "manifest: missing `config` or `layers`");
	r = parse_desc(cfg, "manifest: config", ret->config, &ret->config_size, NULL, err);
	if (r < 0)
		return r;
	return parse_layers(layers, ret, err);
}

int img_index_pick(const char *buf, size_t len, char ret[IMG_DIGEST_LEN + 1], struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	json_t *list = NULL, *d;
	size_t i;
	int r;

	r = json_load_buf_capped("index", buf, len, IMG_MANIFEST_MAX, &j, err);
	if (r >= 0)
		r = json_get_array(j, "index", "manifests", &list, err);
	if (r < 0)
		return r;
	json_array_foreach (list, i, d) {
		json_t *p = json_object_get(d, "platform");
		const char *os = json_string_value(json_object_get(p, "os"));
		const char *arch = json_string_value(json_object_get(p, "architecture"));
		uint64_t size;
		char where[48];

		if (!os || !arch || !streq(os, "linux") || !streq(arch, "amd64"))
			continue;
		snprintf(where, sizeof(where), "index: manifests[%zu]", i);
		return parse_desc(d, where, ret, &size, NULL, err);
	}
	return err_make(err, ENOENT, "index: no manifest for platform linux/amd64");
}

int img_config_diff_ids(const char *buf, size_t len, char ***ret, struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_strv_ char **ids = NULL;
	json_t *rootfs = NULL;
	size_t i;
	int r;

	r = json_load_buf_capped("image config", buf, len, IMG_MANIFEST_MAX, &j, err);
	if (r >= 0)
		r = json_get_object(j, "image config", "rootfs", &rootfs, err);
	if (r >= 0 && !rootfs)
		r = err_make(err, 0, "image config: missing `rootfs`");
	if (r >= 0)
		r = json_get_strv(rootfs, "image config: rootfs", "diff_ids", &ids, err);
	if (r < 0)
		return r;
	for (i = 0; ids && ids[i]; i++)
		if (!img_digest_valid(ids[i]))
			return err_make(err, 0, "image config: rootfs.diff_ids[%zu]: bad digest",
					i);
	/* No diff_ids: an empty list (strv_push(NULL) would strdup(NULL): found by
	 * fuzz-image-manifest). */
	if (!ids && !(ids = calloc(1, sizeof(*ids))))
		return err_make(err, ENOMEM, "config");
	*ret = TAKE_PTR(ids);
	return 0;
}

static int unpack_layers(struct img_store *s, const struct img_manifest *m, char **diff_ids,
			 json_t *chains, struct err **err)
{
	char chain[IMG_DIGEST_LEN + 1] = "";

	if (strv_length(diff_ids) != m->n_layers)
		return err_make(err, 0, "image config has %zu diff_ids for %zu layers",
				strv_length(diff_ids), m->n_layers);
	for (size_t i = 0; i < m->n_layers; i++) {
		_cleanup_close_ int fd = -1;
		int r;

		r = img_chain_id(i ? chain : NULL, diff_ids[i], chain, err);
		if (r < 0)
			return r;
		json_array_append_new(chains, json_string(chain));
		if (img_layer_exists(s, chain))
			continue;
		fd = img_blob_open(s, m->layers[i].digest, err);
		if (fd < 0)
			return fd;
		r = img_layer_unpack(s, fd, diff_ids[i], chain, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static json_t *make_entry(const char *manifest_digest, const struct img_manifest *m, json_t *chains)
{
	json_t *blobs = json_array();
	uint64_t size = m->config_size;

	json_array_append_new(blobs, json_string(manifest_digest));
	json_array_append_new(blobs, json_string(m->config));
	for (size_t i = 0; i < m->n_layers; i++) {
		json_array_append_new(blobs, json_string(m->layers[i].digest));
		size += m->layers[i].size;
	}
	return json_pack("{s:s, s:s, s:o, s:O, s:I, s:I}", "manifest", manifest_digest, "config",
			 m->config, "blobs", blobs, "layers", chains, "size", (json_int_t)size,
			 "created", (json_int_t)time(NULL));
}

int img_register(struct img_store *s, const char *name, const char *manifest_digest,
		 struct err **err)
{
	_cleanup_free_ char *mbuf = NULL, *cbuf = NULL;
	_cleanup_free_ struct img_manifest *m = calloc(1, sizeof(*m));
	_cleanup_strv_ char **diff_ids = NULL;
	_cleanup_json_ json_t *idx = NULL, *chains = json_array();
	size_t mlen, clen;
	json_t *entry;
	int r;

	if (!m || !chains)
		return err_make(err, ENOMEM, "register");
	r = img_blob_read(s, manifest_digest, IMG_MANIFEST_MAX, &mbuf, &mlen, err);
	if (r >= 0)
		r = img_manifest_parse(mbuf, mlen, m, err);
	if (r >= 0)
		r = img_blob_read(s, m->config, IMG_MANIFEST_MAX, &cbuf, &clen, err);
	if (r >= 0)
		r = img_config_diff_ids(cbuf, clen, &diff_ids, err);
	if (r >= 0)
		r = unpack_layers(s, m, diff_ids, chains, err);
	if (r >= 0)
		r = img_index_load(s, &idx, err);
	if (r < 0)
		return err_wrap(err, "%s", name);
	entry = make_entry(manifest_digest, m, chains);
	if (!entry)
		return err_make(err, ENOMEM, "register");
	json_object_set_new(json_object_get(idx, "images"), name, entry);
	return img_index_save(s, idx, err);
}
