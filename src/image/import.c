/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Import: OCI image layouts (directory or oci-archive tar) and docker-archive
 * tars (`docker save` / `podman save` / skopeo's docker-archive:).  Archives
 * are unpacked with the same hostile-tar-safe code as layers, into tmp/.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image.h"
#include "jsonutil.h"
#include "unpack-internal.h"

#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

/* Copy a file of the source into the store as blob digest (verified). */
static int copy_blob(struct img_store *s, int src, const char *rel, const char *digest,
		     struct err **err)
{
	struct img_blob_writer *w = NULL;
	_cleanup_close_ int fd = -1;
	char buf[65536];
	uint64_t off;
	ssize_t n;
	int r;

	if (img_blob_exists(s, digest))
		return 0;
	fd = img_open_regular_in_root(src, rel, err);
	if (fd < 0)
		return fd;
	r = img_blob_writer_begin(s, digest, 0, &w, &off, err);
	if (r >= 0 && off)
		r = img_blob_writer_restart(w, err);
	while (r >= 0 && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0)
			r = err_make(err, errno, "read `%s`", rel);
		else
			r = img_blob_writer_write(w, buf, n, err);
	}
	if (r >= 0)
		r = img_blob_writer_commit(w, err);
	img_blob_writer_free(w, false);
	return r < 0 ? err_wrap(err, "`%s`", rel) : 0;
}

static int copy_oci_blob(struct img_store *s, int src, const char *digest, struct err **err)
{
	char rel[PATH_MAX];

	if (!img_digest_valid(digest))
		return err_make(err, 0, "invalid digest `%s`", digest);
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", img_digest_hex(digest));
	return copy_blob(s, src, rel, digest, err);
}

static int read_in(int src, const char *rel, size_t max, char **ret, size_t *len, struct err **err)
{
	return img_read_regular_in_root(src, rel, max, ret, len, err);
}

/*
 * index.json or manifest.json of the source: like every file of it, a regular file
 * reached inside it (an archive unpacked as root keeps its symlinks, FIFOs and
 * device nodes).
 */
static int load_json_in(int src, const char *rel, json_t **ret, struct err **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_in(src, rel, IMG_MANIFEST_MAX, &buf, &len, err);

	return r < 0 ? r : json_load_buf_capped(rel, buf, len, IMG_MANIFEST_MAX, ret, err);
}

/* Name the image: the caller's, else the annotation, made canonical. */
static char *image_name(const char *given, const char *annotation)
{
	const char *n = given ? given : annotation;
	struct img_ref r;
	char *out;

	/* skopeo's oci-archive:FILE:TAG annotates the bare tag: not a name. */
	if (!n || (!given && !strchr(n, '/') && !strchr(n, ':')))
		return NULL;
	if (img_ref_parse(n, &r, NULL) < 0)
		return NULL;
	out = img_ref_name(&r);
	img_ref_free(&r);
	return out;
}

static int import_oci_manifest(struct img_store *s, int src, const char *mdigest, const char *name,
			       unsigned depth, struct err **err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ struct img_manifest *m = calloc(1, sizeof(*m));
	char rel[PATH_MAX], pick[IMG_DIGEST_LEN + 1];
	size_t len;
	int r;

	if (!m)
		return err_make(err, ENOMEM, "import");
	r = copy_oci_blob(s, src, mdigest, err);
	if (r >= 0) {
		snprintf(rel, sizeof(rel), "blobs/sha256/%s", img_digest_hex(mdigest));
		r = read_in(src, rel, IMG_MANIFEST_MAX, &buf, &len, err);
	}
	if (r < 0)
		return r;
	/* An index names an image manifest: one level, as a pull follows. */
	if (strstr(buf, "\"manifests\"") && img_index_pick(buf, len, pick, NULL) == 0) {
		if (depth > 0)
			return err_make(err, 0, "`%s`: an index inside an index", rel);
		return import_oci_manifest(s, src, pick, name, depth + 1, err);
	}
	r = img_manifest_parse(buf, len, m, err);
	if (r >= 0)
		r = copy_oci_blob(s, src, m->config, err);
	for (size_t i = 0; r >= 0 && i < m->n_layers; i++)
		r = copy_oci_blob(s, src, m->layers[i].digest, err);
	if (r < 0)
		return r;
	return img_register(s, name, mdigest, err);
}

/*
 * Without a NAME, every manifest of index.json is stored under its own name, and
 * a name already in the store is moved to the archive's image: all of them are
 * reported, one a line, so that one archive cannot retag images unseen.
 */
static int import_oci(struct img_store *s, int src, const char *given, char **ret_name,
		      struct err **err)
{
	_cleanup_json_ json_t *idx = NULL;
	_cleanup_free_ char *name = NULL, *names = NULL;
	json_t *list = NULL, *d;
	size_t i;
	int r;

	r = load_json_in(src, "index.json", &idx, err);
	if (r >= 0)
		r = json_get_array(idx, "index.json", "manifests", &list, err);
	if (r < 0)
		return r;
	if (json_array_size(list) == 0)
		return err_make(err, 0, "index.json: no manifests");
	json_array_foreach (list, i, d) {
		const char *ann = json_string_value(
		    json_object_get(json_object_get(d, "annotations"), REF_NAME_ANNOTATION));
		const char *dg = json_string_value(json_object_get(d, "digest"));
		char *joined;

		free(name);
		name = image_name(given, ann);
		if (!name)
			return err_make(err, 0,
					"index.json: manifests[%zu]: no usable name "
					"(give one: isola image import SRC NAME)",
					i);
		if (!dg)
			return err_make(err, 0, "index.json: manifests[%zu].digest missing", i);
		r = import_oci_manifest(s, src, dg, name, 0, err);
		if (r < 0 && names) {
			for (char *c = names; *c; c++)
				if (*c == '\n')
					*c = ' ';
			return err_wrap(err, "stored before this one: %s", names);
		}
		if (r < 0)
			return r;
		if (given)
			break;
		if (asprintf(&joined, "%s%s%s", names ? names : "", names ? "\n" : "", name) < 0)
			return err_make(err, ENOMEM, "import");
		free(names);
		names = joined;
	}
	*ret_name = given ? TAKE_PTR(name) : TAKE_PTR(names);
	return 0;
}

/* A docker-archive layer: the file's digest is its diff_id (plain tar) or not. */
static int docker_layer(struct img_store *s, int src, const char *rel, json_t *layers,
			struct err **err)
{
	_cleanup_close_ int fd = img_open_regular_in_root(src, rel, err);
	struct img_hasher *h = NULL;
	char digest[IMG_DIGEST_LEN + 1], buf[65536], magic[4] = {};
	uint64_t size = 0;
	ssize_t n;
	int r;

	if (fd < 0)
		return fd;
	h = img_hasher_new(err);
	if (!h)
		return err_wrap(err, "`%s`", rel);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (!size)
			memcpy(magic, buf, n < 4 ? n : 4);
		img_hasher_update(h, buf, n);
		size += n;
	}
	img_hasher_final(h, digest);
	img_hasher_free(h);
	if (n < 0)
		return err_make(err, errno, "read `%s`", rel);
	r = copy_blob(s, src, rel, digest, err);
	if (r < 0)
		return r;
	json_array_append_new(layers,
			      json_pack("{s:s, s:s, s:I}", "mediaType",
					(magic[0] == 0x1f && (unsigned char)magic[1] == 0x8b)
					    ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
					    : "application/vnd.docker.image.rootfs.diff.tar",
					"digest", digest, "size", (json_int_t)size));
	return 0;
}

/* Synthesise a schema 2 manifest for the archive's config and layers. */
static int docker_manifest(struct img_store *s, int src, json_t *item, const char *name,
			   struct err **err)
{
	_cleanup_free_ char *cbuf = NULL, *mtext = NULL;
	_cleanup_json_ json_t *layers = json_array(), *man = NULL;
	const char *cfg = NULL;
	char cdigest[IMG_DIGEST_LEN + 1], mdigest[IMG_DIGEST_LEN + 1];
	size_t clen, i;
	json_t *l, *list = NULL;
	int r;

	r = json_get_string(item, "manifest.json[0]", "Config", true, &cfg, err);
	if (r >= 0)
		r = json_get_array(item, "manifest.json[0]", "Layers", &list, err);
	if (r >= 0)
		r = read_in(src, cfg, IMG_MANIFEST_MAX, &cbuf, &clen, err);
	if (r < 0)
		return r;
	if (json_array_size(list) > IMG_LAYERS_MAX)
		return err_make(err, E2BIG, "manifest.json: more than %d layers", IMG_LAYERS_MAX);
	r = img_sha256_digest(cbuf, clen, cdigest, err);
	if (r >= 0)
		r = img_blob_put(s, cdigest, cbuf, clen, err);
	json_array_foreach (list, i, l) {
		if (r < 0)
			break;
		if (!json_is_string(l))
			return err_make(err, 0, "manifest.json[0].Layers[%zu]: not a string", i);
		r = docker_layer(s, src, json_string_value(l), layers, err);
	}
	if (r < 0)
		return r;
	man = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
			"application/vnd.docker.distribution.manifest.v2+json", "config",
			"mediaType", "application/vnd.docker.container.image.v1+json", "digest",
			cdigest, "size", (json_int_t)clen, "layers", layers);
	mtext = man ? json_dumps(man, JSON_COMPACT) : NULL;
	if (!mtext)
		return err_make(err, ENOMEM, "manifest");
	r = img_sha256_digest(mtext, strlen(mtext), mdigest, err);
	if (r >= 0)
		r = img_blob_put(s, mdigest, mtext, strlen(mtext), err);
	if (r < 0)
		return r;
	return img_register(s, name, mdigest, err);
}

static int import_docker(struct img_store *s, int src, const char *given, char **ret_name,
			 struct err **err)
{
	_cleanup_json_ json_t *m = NULL;
	_cleanup_free_ char *name = NULL;
	json_t *item, *tags;
	int r;

	r = load_json_in(src, "manifest.json", &m, err);
	if (r < 0)
		return r;
	item = json_array_get(m, 0);
	if (!json_is_object(item))
		return err_make(err, 0, "manifest.json: expected an array of images");
	tags = json_object_get(item, "RepoTags");
	name = image_name(given, json_string_value(json_array_get(tags, 0)));
	if (!name)
		return err_make(err, 0,
				"manifest.json: no RepoTags; give a name: "
				"isola image import SRC NAME");
	r = docker_manifest(s, src, item, name, err);
	if (r < 0)
		return err_wrap(err, "docker archive");
	*ret_name = TAKE_PTR(name);
	return 0;
}

static int import_dir(struct img_store *s, int src, const char *given, char **ret_name,
		      struct err **err)
{
	struct stat st;

	if (fstatat(src, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return import_oci(s, src, given, ret_name, err);
	if (fstatat(src, "manifest.json", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return import_docker(s, src, given, ret_name, err);
	return err_make(err, 0,
			"neither an OCI layout (oci-layout) nor a docker archive "
			"(manifest.json)");
}

int img_import(struct img_store *s, const char *path, const char *name, char **ret_name,
	       struct err **err)
{
	_cleanup_close_ int fd = -1, tmp = -1;
	char rel[64];
	struct stat st;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_make(err, errno, "import `%s`", path);
	if (S_ISDIR(st.st_mode)) {
		r = import_dir(s, fd, name, ret_name, err);
		return r < 0 ? err_wrap(err, "import `%s`", path) : 0;
	}
	snprintf(rel, sizeof(rel), "tmp/import-%d", getpid());
	rm_rf_at(s->dfd, rel, NULL);
	if (mkdirat(s->dfd, rel, 0700) < 0)
		return err_make(err, errno, "mkdir `%s/%s`", s->path, rel);
	tmp = openat(s->dfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = tmp < 0 ? err_make(err, errno, "open `%s/%s`", s->path, rel)
		    : img_unpack_into(fd, tmp, err);
	if (r >= 0)
		r = import_dir(s, tmp, name, ret_name, err);
	rm_rf_at(s->dfd, rel, NULL);
	return r < 0 ? err_wrap(err, "import `%s`", path) : 0;
}
