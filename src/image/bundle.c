/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bundles from images: containers/<id>/{config.json,rootfs,upper,work}, the
 * rootfs an overlay of the image's shared read-only layers with the
 * container's own upper directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image.h"
#include "jsonutil.h"
#include "overlay.h"

bool img_container_name_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64 || id[0] == '.' || id[0] == '-')
		return false;
	for (; *id; id++)
		if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') ||
		      (*id >= '0' && *id <= '9') || strchr("_.-", *id)))
			return false;
	return true;
}

/* @p with overlayfs's escapes: a backslash before `\`, `:` and `,`. */
static void put_escaped(FILE *f, const char *p)
{
	for (; *p; p++) {
		if (strchr("\\:,", *p))
			fputc('\\', f);
		fputc(*p, f);
	}
}

/*
 * lowerdir=<top>:...:<bottom>,upperdir=..,workdir=..[,userxattr]: mount(2)
 * data of any length; overlay_mount() takes the new mount API past one page.
 */
static int overlay_options(const char *store, const char *cdir, json_t *layers, bool userxattr,
			   char **ret, struct err **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t n = json_array_size(layers), len = 0;
	FILE *f = open_memstream(&buf, &len);
	char p[PATH_MAX];

	if (!f)
		return err_make(err, errno, "overlay options");
	fputs("lowerdir=", f);
	if (n == 0) {
		snprintf(p, sizeof(p), "%s/empty", cdir);
		put_escaped(f, p);
	}
	for (size_t i = n; i-- > 0;) {
		const char *c = json_string_value(json_array_get(layers, i));

		if (!c || !img_digest_valid(c)) {
			fclose(f);
			return err_make(err, 0, "bad layer id");
		}
		snprintf(p, sizeof(p), "%s/layers/%s", store, img_digest_hex(c));
		if (i != n - 1)
			fputc(':', f);
		put_escaped(f, p);
	}
	fputs(",upperdir=", f);
	snprintf(p, sizeof(p), "%s/upper", cdir);
	put_escaped(f, p);
	fputs(",workdir=", f);
	snprintf(p, sizeof(p), "%s/work", cdir);
	put_escaped(f, p);
	if (userxattr)
		fputs(",userxattr", f);
	if (fclose(f) != 0 || !buf)
		return err_make(err, ENOMEM, "overlay options");
	*ret = TAKE_PTR(buf);
	return 0;
}

static int make_dirs(const char *cdir, struct err **err)
{
	static const char *const sub[] = {"upper", "work", "rootfs", "empty"};
	char p[PATH_MAX];

	if (mkdir(cdir, 0700) < 0)
		return err_make(err, errno,
				errno == EEXIST ? "container `%s` exists" : "mkdir `%s`", cdir);
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		snprintf(p, sizeof(p), "%s/%s", cdir, sub[i]);
		if (mkdir(p, 0755) < 0)
			return err_make(err, errno, "mkdir `%s`", p);
	}
	return 0;
}

/* 128 random bits as 32 hex digits and a NUL. */
static int random_hex(char out[static IMG_INSTANCE_LEN + 1])
{
	uint8_t rnd[IMG_INSTANCE_LEN / 2];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -errno;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

/*
 * OCI's rlimits are uint64 and jansson's integers int64, so a limit past
 * INT64_MAX (RLIM_INFINITY) is -1 in the spec object, which isola's runtime
 * reads back (json_get_u64) but runc's Go refuses.  Written as its unsigned
 * decimal: each such value becomes a string holding a random token, and the
 * dumped text has those strings replaced (no other string can hold the token).
 */
static char *dump_config(json_t *spec)
{
	_cleanup_json_ json_t *j = json_deep_copy(spec);
	_cleanup_free_ char *text = NULL;
	json_t *rl = json_object_get(json_object_get(j, "process"), "rlimits"), *v;
	static const char *const keys[] = {"hard", "soft"};
	char tok[IMG_INSTANCE_LEN + 1], pat[sizeof(tok) + 8], *out, *o;
	const char *p, *q;
	size_t i;

	if (!j || random_hex(tok) < 0)
		return NULL;
	json_array_foreach (rl, i, v)
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			json_t *n = json_object_get(v, keys[k]);
			char s[64];

			if (!json_is_integer(n) || json_integer_value(n) >= 0)
				continue;
			snprintf(s, sizeof(s), "%s:%llu", tok,
				 (unsigned long long)(uint64_t)json_integer_value(n));
			json_object_set_new(v, keys[k], json_string(s));
		}
	text = json_dumps(j, JSON_INDENT(2));
	if (!text)
		return NULL;
	/* Each "TOK:N" loses its quotes and token: never longer than before. */
	out = o = malloc(strlen(text) + 1);
	if (!out)
		return NULL;
	snprintf(pat, sizeof(pat), "\"%s:", tok);
	for (p = text; (q = strstr(p, pat));) {
		size_t digits;

		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		q += strlen(pat);
		digits = strspn(q, "0123456789");
		memcpy(o, q, digits);
		o += digits;
		p = q + digits + 1; /* past the closing quote */
	}
	strcpy(o, p);
	return out;
}

static int write_json(const char *dir, const char *name, json_t *j, struct err **err)
{
	_cleanup_free_ char *text =
	    streq(name, "config.json") ? dump_config(j) : json_dumps(j, JSON_INDENT(2));
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!text)
		return err_make(err, ENOMEM, "%s", name);
	if (dfd < 0)
		return err_make(err, errno, "open `%s`", dir);
	return write_file_atomic_at(dfd, name, text, strlen(text), 0644, err);
}

/*
 * The overlay on rp; its options (lowerdir, upperdir, workdir) in *ret_opts.
 * Rootless, in a mount namespace of our own and only to read the image's
 * /etc/passwd; the container's runtime mounts the same options again (the
 * layers' whiteouts are user.overlay.*: userxattr).
 */
static int mount_rootfs(const char *store, const char *cdir, json_t *layers, bool rootless,
			const char *rp, char **ret_opts, struct err **err)
{
	_cleanup_free_ char *opts = NULL;
	struct img_unpack_ids ids;
	int r;

	/* Layers unpacked by anything but real root carry user.overlay.* (unpack.c). */
	img_unpack_ids_detect(&ids);
	rootless = rootless || ids.mode != IMG_IDS_ALL;

	r = overlay_options(store, cdir, layers, rootless, &opts, err);
	if (r < 0)
		return r;
	r = overlay_mount("overlay", rp, MS_NODEV, opts, err);
	if (r < 0)
		return err_wrap(err, "mount overlay on `%s`", rp);
	*ret_opts = TAKE_PTR(opts);
	return 0;
}

/*
 * Rootless: the container mounts its overlay itself, as root of its user
 * namespace (the same map the layers were unpacked with): the first mount of
 * config.json, on "/", with the options above (userxattr among them: the
 * layers' whiteouts are user.overlay.*).  Any number of layers: the runtime
 * goes past one page of options with fsconfig(lowerdir+).
 */
static int add_overlay_mount(json_t *spec, const char *opts, struct err **err)
{
	_cleanup_free_ char *copy = strdup(opts);
	json_t *mounts = json_object_get(spec, "mounts"), *o = json_array(), *m;
	char *save = NULL;

	if (!copy || !o)
		return json_decref(o), err_make(err, ENOMEM, "config.json");
	/* A `\,` in a path splits here but joins again in the runtime's data. */
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(o, json_string(t));
	m = json_pack("{s:s,s:s,s:s,s:o}", "destination", "/", "type", "overlay", "source",
		      "overlay", "options", o);
	if (!m || json_array_insert_new(mounts, 0, m) < 0)
		return err_make(err, ENOMEM, "config.json");
	return 0;
}

const struct img_join_kind img_join_kinds[IMG_JOIN_N] = {
    [IMG_JOIN_PID] = {"pid", "pid", CLONE_NEWPID},
    [IMG_JOIN_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [IMG_JOIN_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [IMG_JOIN_NET] = {"network", "net", CLONE_NEWNET},
};

/*
 * "joined": {"pid": NAME, ...}: the containers whose namespaces this one joined, if any;
 * "joinedInstance": {"pid": INSTANCE, ...}: which containers of those names they were.
 */
static int joined(json_t *meta, const struct img_run_opts *o)
{
	json_t *j = NULL, *inst = NULL;

	for (size_t i = 0; i < IMG_JOIN_N; i++) {
		const char *key = img_join_kinds[i].opt, *in = o->ns_ctr_instance[i];

		if (!o->ns_ctr[i])
			continue;
		if (!j && (!(j = json_object()) || json_object_set_new(meta, "joined", j) < 0 ||
			   !(inst = json_object()) ||
			   json_object_set_new(meta, "joinedInstance", inst) < 0))
			return -ENOMEM;
		if (json_object_set_new(j, key, json_string(o->ns_ctr[i])) < 0 ||
		    (in && *in && json_object_set_new(inst, key, json_string(in)) < 0))
			return -ENOMEM;
	}
	return 0;
}

/* What inspect and stop read of the run's options: labels, stop signal and timeout. */
static int run_meta(json_t *meta, const struct img_run_opts *o)
{
	json_t *labels = json_object();

	if (!labels || json_object_set_new(meta, "labels", labels) < 0)
		return -ENOMEM;
	for (char **l = o->labels; l && *l; l++) {
		_cleanup_free_ char *k = strndup(*l, strcspn(*l, "="));
		const char *v = strchr(*l, '=');

		if (!k || json_object_set_new(labels, k, json_string(v ? v + 1 : "")) < 0)
			return -ENOMEM;
	}
	if (o->stop_signal > 0 &&
	    json_object_set_new(meta, "stopSignal", json_integer(o->stop_signal)) < 0)
		return -ENOMEM;
	/* Not its own PID namespace: its init's death does not end the rest, stop signals all. */
	if ((o->host_pid || o->pidns_path) && json_object_set_new(meta, "stopAll", json_true()) < 0)
		return -ENOMEM;
	if (joined(meta, o) < 0)
		return -ENOMEM;
	if (o->has_stop_timeout &&
	    json_object_set_new(meta, "stopTimeout", json_integer(o->stop_timeout)) < 0)
		return -ENOMEM;
	return 0;
}

/* Mount the rootfs and write config.json; cdir exists. */
static int populate(struct img_store *s, const char *store, const char *cdir, json_t *entry,
		    const char *name, const struct img_run_opts *o, struct err **err)
{
	_cleanup_free_ char *cbuf = NULL;
	_cleanup_json_ json_t *spec = NULL, *meta = NULL;
	_cleanup_close_ int rootfs = -1;
	_cleanup_free_ char *opts = NULL;
	char rp[PATH_MAX], instance[IMG_INSTANCE_LEN + 1];
	const char *config = json_string_value(json_object_get(entry, "config"));
	size_t clen;
	int r;

	if (random_hex(instance) < 0)
		return err_make(err, errno, "getrandom");
	meta = json_pack("{s:s, s:O, s:s}", "image", name, "layers",
			 json_object_get(entry, "layers"), "instance", instance);
	if (!meta || !config)
		return err_make(err, 0, "index entry for `%s` is incomplete", name);
	if (run_meta(meta, o) < 0)
		return err_make(err, ENOMEM, "image.json");
	/* First, so that a prune running later keeps our layers. */
	r = write_json(cdir, "image.json", meta, err);
	if (r >= 0)
		r = img_blob_read(s, config, IMG_MANIFEST_MAX, &cbuf, &clen, err);
	if (r < 0)
		return r;
	snprintf(rp, sizeof(rp), "%s/rootfs", cdir);
	r = mount_rootfs(store, cdir, json_object_get(entry, "layers"), o->rootless, rp, &opts,
			 err);
	if (r < 0)
		return err_wrap(err, "index entry for `%s`", name);
	rootfs = open(rp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfs < 0)
		return err_make(err, errno, "open `%s`", rp);
	r = img_spec_generate(cbuf, clen, o, rootfs, &spec, err);
	if (r >= 0 && o->rootless)
		r = add_overlay_mount(spec, opts, err);
	if (r >= 0)
		r = write_json(cdir, "config.json", spec, err);
	return r;
}

int img_bundle_create(struct img_store *s, const char *ref, const char *id,
		      const struct img_run_opts *o, char **ret_bundle, struct err **err)
{
	_cleanup_json_ json_t *idx = NULL;
	_cleanup_free_ char *store = NULL, *cdir = NULL;
	const char *name;
	json_t *entry;
	int r;

	if (!img_container_name_valid(id))
		return err_make(err, 0, "container name `%s`: use [A-Za-z0-9_.-], at most 64", id);
	r = img_index_load(s, &idx, err);
	if (r >= 0)
		r = img_index_find(idx, ref, &name, &entry, err);
	if (r < 0)
		return r;
	store = realpath(s->path, NULL);
	if (!store || asprintf(&cdir, "%s/containers/%s", store, id) < 0)
		return err_make(err, errno ? errno : ENOMEM, "store path");
	r = make_dirs(cdir, err);
	if (r < 0)
		return r == -EEXIST ? r : (img_bundle_remove(s, id, NULL), r);
	r = populate(s, store, cdir, entry, name, o, err);
	if (r < 0) {
		img_bundle_remove(s, id, NULL);
		return err_wrap(err, "bundle for `%s`", ref);
	}
	*ret_bundle = TAKE_PTR(cdir);
	return 0;
}

int img_bundle_remove(struct img_store *s, const char *id, struct err **err)
{
	static const char *const mounted[] = {"rootfs", "shm"};
	char p[PATH_MAX];
	_cleanup_close_ int cfd = -1;

	if (!img_container_name_valid(id))
		return err_make(err, 0, "container name `%s`: invalid", id);
	/* rootfs, and shm: what --ipc container:NAME shares of NAME's (cmd-image-run-ns.c). */
	for (size_t i = 0; i < ARRAY_SIZE(mounted); i++) {
		snprintf(p, sizeof(p), "%s/containers/%s/%s", s->path, id, mounted[i]);
		/* EPERM: a rootless store's user namespace, where nothing of ours is mounted. */
		if (umount2(p, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT &&
		    errno != EPERM)
			return err_make(err, errno, "unmount `%s`", p);
	}
	cfd = openat(s->dfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0)
		return err_make(err, errno, "open `%s/containers`", s->path);
	return rm_rf_at(cfd, id, err);
}
