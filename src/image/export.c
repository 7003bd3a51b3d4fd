/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Export: an image of the store as an OCI layout, oci-archive or docker-archive. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image.h"
#include "jsonutil.h"

/* Where the files of an export go: a directory or a tar being written. */
struct sink {
	int dir;	   /* OCI layout: the target directory */
	struct archive *a; /* archives */
};

static int sink_buf(struct sink *k, const char *name, const char *buf, size_t len, struct err **err)
{
	struct archive_entry *e;
	int r = 0;

	if (!k->a)
		return write_file_atomic_at(k->dir, name, buf, len, 0644, err);
	e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, len);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(k->a, e) != ARCHIVE_OK ||
	    (len && archive_write_data(k->a, buf, len) != (la_ssize_t)len))
		r = err_make(err, EIO, "write `%s`: %s", name, archive_error_string(k->a));
	archive_entry_free(e);
	return r;
}

static int sink_blob(struct sink *k, struct img_store *s, const char *digest, struct err **err)
{
	_cleanup_close_ int fd = img_blob_open(s, digest, err);
	char name[128], buf[65536];
	struct archive_entry *e;
	struct stat st;
	ssize_t n;
	int r = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return fd < 0 ? fd : err_make(err, errno, "stat blob");
	snprintf(name, sizeof(name), "blobs/sha256/%s", img_digest_hex(digest));
	if (!k->a) {
		_cleanup_close_ int out = openat(
		    k->dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

		if (out < 0)
			return err_make(err, errno, "create `%s`", name);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (write_all(out, buf, n) < 0)
				return err_make(err, errno, "write `%s`", name);
		return n < 0 ? err_make(err, errno, "read blob %s", digest) : 0;
	}
	e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, st.st_size);
	archive_entry_set_mtime(e, st.st_mtime, 0);
	if (archive_write_header(k->a, e) != ARCHIVE_OK)
		r = err_make(err, EIO, "write `%s`: %s", name, archive_error_string(k->a));
	while (r >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(k->a, buf, n) != n)
			r = err_make(err, EIO, "write `%s`: %s", name, archive_error_string(k->a));
	archive_entry_free(e);
	return r;
}

static int sink_json(struct sink *k, const char *name, json_t *j, struct err **err)
{
	_cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (!text)
		return err_make(err, ENOMEM, "%s", name);
	return sink_buf(k, name, text, strlen(text), err);
}

/* index.json + oci-layout, or manifest.json for docker archives. */
static int write_meta(struct sink *k, enum img_archive_format f, const char *name,
		      const char *mdigest, size_t mlen, const struct img_manifest *m,
		      struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	int r;

	if (f == IMG_DOCKER_ARCHIVE) {
		json_t *layers = json_array();
		char p[128];

		for (size_t i = 0; i < m->n_layers; i++) {
			snprintf(p, sizeof(p), "blobs/sha256/%s",
				 img_digest_hex(m->layers[i].digest));
			json_array_append_new(layers, json_string(p));
		}
		snprintf(p, sizeof(p), "blobs/sha256/%s", img_digest_hex(m->config));
		j = json_pack("[{s:s, s:[s], s:o}]", "Config", p, "RepoTags", name, "Layers",
			      layers);
		return sink_json(k, "manifest.json", j, err);
	}
	j = json_pack("{s:i, s:[{s:s, s:s, s:I, s:{s:s}}]}", "schemaVersion", 2, "manifests",
		      "mediaType", "application/vnd.oci.image.manifest.v1+json", "digest", mdigest,
		      "size", (json_int_t)mlen, "annotations", "org.opencontainers.image.ref.name",
		      name);
	r = sink_buf(k, "oci-layout", layout, strlen(layout), err);
	return r < 0 ? r : sink_json(k, "index.json", j, err);
}

static int export_to(struct sink *k, struct img_store *s, enum img_archive_format f,
		     const char *name, json_t *entry, struct err **err)
{
	_cleanup_free_ char *mbuf = NULL;
	_cleanup_free_ struct img_manifest *m = calloc(1, sizeof(*m));
	const char *mdigest = json_string_value(json_object_get(entry, "manifest"));
	size_t mlen;
	int r;

	if (!m || !mdigest)
		return err_make(err, ENOMEM, "export");
	r = img_blob_read(s, mdigest, IMG_MANIFEST_MAX, &mbuf, &mlen, err);
	if (r >= 0)
		r = img_manifest_parse(mbuf, mlen, m, err);
	if (r >= 0)
		r = write_meta(k, f, name, mdigest, mlen, m, err);
	if (r >= 0 && f != IMG_DOCKER_ARCHIVE)
		r = sink_blob(k, s, mdigest, err);
	if (r >= 0)
		r = sink_blob(k, s, m->config, err);
	for (size_t i = 0; r >= 0 && i < m->n_layers; i++)
		r = sink_blob(k, s, m->layers[i].digest, err);
	return r;
}

static int open_sink(struct sink *k, enum img_archive_format f, const char *path, struct err **err)
{
	int r;

	if (f == IMG_OCI_LAYOUT) {
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return err_make(err, errno, "mkdir `%s`", path);
		k->dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (k->dir < 0)
			return err_make(err, errno, "open `%s`", path);
		if ((mkdirat(k->dir, "blobs", 0755) < 0 && errno != EEXIST) ||
		    (mkdirat(k->dir, "blobs/sha256", 0755) < 0 && errno != EEXIST))
			return err_make(err, errno, "mkdir `%s/blobs/sha256`", path);
		return 0;
	}
	r = img_lazylib_load(IMG_LIB_ARCHIVE, err);
	if (r < 0)
		return r;
	k->a = archive_write_new();
	if (!k->a)
		return err_make(err, ENOMEM, "export");
	archive_write_set_format_pax_restricted(k->a);
	if (archive_write_open_filename(k->a, streq(path, "-") ? NULL : path) != ARCHIVE_OK)
		return err_make(err, EIO, "open `%s`: %s", path, archive_error_string(k->a));
	return 0;
}

int img_export(struct img_store *s, const char *ref, enum img_archive_format f, const char *path,
	       struct err **err)
{
	_cleanup_json_ json_t *idx = NULL;
	struct sink k = {.dir = -1};
	const char *name;
	json_t *entry;
	int r;

	r = img_index_load(s, &idx, err);
	if (r >= 0)
		r = img_index_find(idx, ref, &name, &entry, err);
	if (r >= 0)
		r = open_sink(&k, f, path, err);
	if (r >= 0)
		r = export_to(&k, s, f, name, entry, err);
	if (k.a) {
		if (archive_write_close(k.a) != ARCHIVE_OK && r >= 0)
			r = err_make(err, EIO, "write `%s`: %s", path, archive_error_string(k.a));
		archive_write_free(k.a);
	}
	if (k.dir >= 0)
		close(k.dir);
	if (r < 0 && f != IMG_OCI_LAYOUT && !streq(path, "-"))
		unlink(path);
	return r < 0 ? err_wrap(err, "export `%s`", ref) : 0;
}
