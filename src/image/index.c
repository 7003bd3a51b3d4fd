/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The store's name index, rmi and garbage collection. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image.h"
#include "strv.h"
#include "jsonutil.h"

int img_index_load(struct img_store *s, json_t **ret, struct err **err)
{
	_cleanup_json_ json_t *idx = NULL;
	json_t *images;
	int r;

	if (faccessat(s->dfd, "index.json", F_OK, 0) < 0) {
		idx = json_pack("{s:{}}", "images");
		if (!idx)
			return err_make(err, ENOMEM, "index");
		*ret = TAKE_PTR(idx);
		return 0;
	}
	r = json_load_file_capped(s->dfd, "index.json", IMG_INDEX_MAX, &idx, err);
	if (r < 0)
		return err_wrap(err, "store `%s`", s->path);
	r = json_get_object(idx, "index.json", "images", &images, err);
	if (r < 0)
		return r;
	if (!images)
		return err_make(err, 0, "%s/index.json: missing `images`", s->path);
	*ret = TAKE_PTR(idx);
	return 0;
}

int img_index_save(struct img_store *s, json_t *index, struct err **err)
{
	_cleanup_free_ char *text = json_dumps(index, JSON_INDENT(1) | JSON_SORT_KEYS);

	if (!text)
		return err_make(err, ENOMEM, "index");
	return write_file_atomic_at(s->dfd, "index.json", text, strlen(text), 0644, err);
}

static bool entry_matches_id(json_t *entry, const char *id)
{
	const char *m = json_string_value(json_object_get(entry, "manifest"));
	size_t n = strlen(id);

	if (!m)
		return false;
	if (streq(m, id))
		return true;
	/* An unambiguous hex prefix, as `podman images` shows them (12+ chars). */
	return n >= 12 && n <= 64 && !strncmp(m + 7, id, n);
}

int img_index_find(json_t *index, const char *ref, const char **ret_name, json_t **ret_entry,
		   struct err **err)
{
	json_t *images = json_object_get(index, "images"), *e, *found = NULL;
	const char *name, *found_name = NULL;
	_cleanup_free_ char *canon = NULL;
	struct img_ref r;

	e = json_object_get(images, ref);
	if (e) {
		found = e;
		found_name = json_object_iter_key(json_object_iter_at(images, ref));
	} else if (img_ref_parse(ref, &r, NULL) >= 0) {
		canon = img_ref_name(&r);
		img_ref_free(&r);
		if (canon && (e = json_object_get(images, canon))) {
			found = e;
			found_name = json_object_iter_key(json_object_iter_at(images, canon));
		}
	}
	if (!found) {
		json_object_foreach (images, name, e) {
			if (!entry_matches_id(e, ref))
				continue;
			if (found && !json_equal(json_object_get(found, "manifest"),
						 json_object_get(e, "manifest")))
				return err_make(err, 0, "`%s`: ambiguous image id", ref);
			found = e;
			found_name = name;
		}
	}
	if (!found)
		return err_make(err, 0, "image `%s` not found in the store", ref);
	if (ret_name)
		*ret_name = found_name;
	if (ret_entry)
		*ret_entry = found;
	return 0;
}

/* Is ref an image's name (as given or made canonical), not an id? */
static bool names_image(json_t *images, const char *ref)
{
	_cleanup_free_ char *canon = NULL;
	struct img_ref r;

	if (json_object_get(images, ref))
		return true;
	if (img_ref_parse(ref, &r, NULL) < 0)
		return false;
	canon = img_ref_name(&r);
	img_ref_free(&r);
	return canon && json_object_get(images, canon);
}

int img_rmi(struct img_store *s, const char *ref, bool force, char ***ret_names, struct err **err)
{
	_cleanup_json_ json_t *idx = NULL;
	_cleanup_strv_ char **names = NULL;
	json_t *images, *e, *found;
	const char *n;
	int r;

	*ret_names = NULL;
	r = img_index_load(s, &idx, err);
	if (r < 0)
		return r;
	images = json_object_get(idx, "images");
	r = img_index_find(idx, ref, &n, &found, err);
	if (r < 0)
		return r;
	if (names_image(images, ref)) {
		if (strv_push(&names, n) < 0)
			return err_make(err, ENOMEM, "rmi");
	} else {
		/* By id: every name of that manifest (img_index_find refused two manifests). */
		json_object_foreach (images, n, e) {
			if (!json_equal(json_object_get(e, "manifest"),
					json_object_get(found, "manifest")))
				continue;
			if (strv_push(&names, n) < 0)
				return err_make(err, ENOMEM, "rmi");
		}
		if (strv_length(names) > 1 && !force)
			return err_make(err, 0,
					"image `%s` has %zu names (%s, %s%s): remove them by "
					"name, or all of them with -f",
					ref, strv_length(names), names[0], names[1],
					strv_length(names) > 2 ? ", ..." : "");
	}
	for (size_t i = 0; names[i]; i++)
		json_object_del(images, names[i]);
	r = img_index_save(s, idx, err);
	if (r < 0)
		return r;
	*ret_names = TAKE_PTR(names);
	return img_store_prune(s, NULL, NULL, err);
}

int img_store_foreach_use(struct img_store *s, void (*fn)(json_t *use, void *arg), void *arg,
			  struct err **err)
{
	_cleanup_json_ json_t *idx = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	json_t *e;
	const char *name;
	struct dirent *de;
	int r, cfd;

	r = img_index_load(s, &idx, err);
	if (r < 0)
		return r;
	json_object_foreach (json_object_get(idx, "images"), name, e)
		fn(e, arg);
	cfd = openat(s->dfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0 || !(d = fdopendir(cfd))) {
		if (cfd >= 0)
			close(cfd);
		return err_make(err, errno, "open `%s/containers`", s->path);
	}
	while ((de = readdir(d))) {
		_cleanup_json_ json_t *img = NULL;
		char p[512];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/image.json", de->d_name);
		r = json_load_file_capped(dirfd(d), p, IMG_MANIFEST_MAX, &img, err);
		/* None (or no directory): a run killed before it wrote one holds nothing yet; a
		 * stray file holds nothing either.  Any other error
		 * stops the caller: a prune that skipped it could take its layers. */
		if (r == -ENOENT || r == -ENOTDIR) {
			err_free(err);
			continue;
		}
		if (r < 0)
			return err_wrap(err, "container `%s` (remove it with `isola rm -f %s`)",
					de->d_name, de->d_name);
		fn(img, arg);
	}
	return 0;
}

/* An image's or container's blobs and layers into the set @keep. */
static void keep_refs(json_t *use, void *keep)
{
	static const char *const lists[] = {"blobs", "layers"};
	json_t *v;
	size_t i;

	for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
		json_array_foreach (json_object_get(use, lists[l]), i, v)
			json_object_set_new(keep, json_string_value(v), json_true());
}

/* Everything the index and the containers still use, as a set (JSON object). */
static int collect_refs(struct img_store *s, json_t *keep, struct err **err)
{
	return img_store_foreach_use(s, keep_refs, keep, err);
}

/*
 * Take dir/name out of dir at once: renamed into tmp/ as PREFIX-NAME, then
 * removed there.  A layer (or volume) is thus whole in its directory or gone,
 * never half removed for an import or pull to find and reuse should this
 * process be killed or the removal fail; the next prune's sweep of tmp/
 * finishes the job.  *ret_moved: the entry left dir, even if its removal
 * then failed.
 */
int img_store_remove_whole(struct img_store *s, int dfd, const char *name, const char *prefix,
			   bool *ret_moved, struct err **err)
{
	_cleanup_close_ int tfd = openat(s->dfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char gc[PATH_MAX];

	*ret_moved = false;
	if (tfd < 0)
		return err_make(err, errno, "open `%s/tmp`", s->path);
	if ((size_t)snprintf(gc, sizeof(gc), "%s-%s", prefix, name) >= sizeof(gc))
		return err_make(err, ENAMETOOLONG, "`%s`", name);
	if (rm_rf_at(tfd, gc, err) < 0)
		return -1;
	if (renameat(dfd, name, tfd, gc) < 0)
		return err_make(err, errno, "move `%s` to `%s/tmp`", name, s->path);
	*ret_moved = true;
	return rm_rf_at(tfd, gc, err) < 0 ? err_wrap(err, "`%s/tmp`", s->path) : 0;
}

/*
 * Remove what keep does not hold from dir.  A failure does not stop the sweep:
 * the first error is kept, *ret_failed counts the entries that stayed.
 */
static int sweep(struct img_store *s, const char *dir, json_t *keep, unsigned *ret,
		 unsigned *ret_failed, struct err **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char digest[300];
	int fd;

	fd = openat(s->dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		(*ret_failed)++;
		return err_make(err, errno, "open `%s/%s`", s->path, dir);
	}
	while ((de = readdir(d))) {
		struct err *e = NULL;
		bool moved = false;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		snprintf(digest, sizeof(digest), "sha256:%s", de->d_name);
		if (json_object_get(keep, digest))
			continue;
		if ((streq(dir, "layers")
			 ? img_store_remove_whole(s, dirfd(d), de->d_name, "gc", &moved, &e)
			 : rm_rf_at(dirfd(d), de->d_name, &e)) < 0) {
			if (!moved)
				err_wrap(&e, "`%s/%s`", s->path, dir);
			/* Only the first error is kept. */
			if (err && !*err)
				*err = TAKE_PTR(e);
			err_free(&e);
			/* Moved into tmp/: the sweep of tmp/ counts it, once. */
			if (!moved)
				(*ret_failed)++;
			continue;
		}
		(*ret)++;
	}
	return 0;
}

/* The temporary files of index.json writes that were killed (write_file_atomic_at). */
static void sweep_index_tmp(struct img_store *s)
{
	_cleanup_closedir_ DIR *d = NULL;
	int fd = openat(s->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, ".index.json.tmp.", 16) && de->d_type == DT_REG)
			unlinkat(dirfd(d), de->d_name, 0);
}

int img_store_prune(struct img_store *s, unsigned *ret_blobs, unsigned *ret_layers,
		    struct err **err)
{
	_cleanup_json_ json_t *keep = json_object();
	unsigned blobs = 0, layers = 0, tmp = 0, failed = 0;
	int r;

	if (!keep)
		return err_make(err, ENOMEM, "prune");
	r = collect_refs(s, keep, err);
	if (r < 0)
		return err_wrap(err, "prune");
	sweep(s, "blobs/sha256", keep, &blobs, &failed, err);
	sweep(s, "layers", keep, &layers, &failed, err);
	/* We hold the lock: nothing in tmp/ is in use (partials are dropped too). */
	sweep(s, "tmp", keep, &tmp, &failed, err);
	sweep_index_tmp(s);
	if (ret_blobs)
		*ret_blobs = blobs;
	if (ret_layers)
		*ret_layers = layers;
	if (!failed) {
		/* A moved layer's error when the sweep of tmp/ then removed it after all. */
		if (err)
			err_free(err);
		return 0;
	}
	if (!err || !*err)
		return -EIO;
	return err_wrap(err, "prune: %u entr%s could not be removed, the first", failed,
			failed == 1 ? "y" : "ies");
}
