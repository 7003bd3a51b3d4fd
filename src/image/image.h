/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * OCI images: references, the content store (blobs, unpacked layers, the
 * name index), the registry client and bundles made from images.
 *
 * Store layout (all under one directory, default ISOLA_DEFAULT_STORE):
 *   lock                     flock(2) held for the length of every mutation
 *   index.json               {"images": {"NAME": {...}}}, replaced atomically
 *   blobs/sha256/<hex>       verified content, written via tmp/ + rename(2)
 *   layers/<chainid-hex>/    one unpacked layer, shared read-only, overlayfs form
 *   tmp/                     partial downloads (<hex>.partial) and unpacks
 *   containers/<id>/         bundles made from images (config.json, upper, work, rootfs)
 */
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

#define IMG_DIGEST_LEN	 71	     /* "sha256:" + 64 hex */
#define IMG_MANIFEST_MAX (4u << 20)  /* manifests, indexes and configs */
#define IMG_INDEX_MAX	 (64u << 20) /* the store's index.json */
#define IMG_LAYERS_MAX	 128	     /* layers in one image */

/* ---- libcurl and libarchive, loaded on first use (lazylib.c) ---- */
enum img_lib { IMG_LIB_CURL, IMG_LIB_ARCHIVE };
/* Load a library now; an error names it when it is missing. */
int img_lazylib_load(enum img_lib lib, struct err **err);

/* ---- references (ref.c) ---- */
struct img_ref {
	char *registry; /* "docker.io", "localhost:5000" */
	char *repo;	/* "library/busybox" */
	char *tag;	/* "latest"; NULL when only a digest was given */
	char *digest;	/* "sha256:<hex>" or NULL */
};

int img_ref_parse(const char *s, struct img_ref *ret, struct err **err);
void img_ref_free(struct img_ref *r);
/* "registry/repo:tag" or "registry/repo@digest": the key in the store's index. */
char *img_ref_name(const struct img_ref *r);
#define IMG_HOST_MAX 253
/*
 * Parse a registry "host[:port]" or "[ipv6][:port]": the host without brackets
 * and the port (0 when none).  -EINVAL for anything else.
 */
int img_registry_host_parse(const char *registry, char ret_host[static IMG_HOST_MAX + 1],
			    unsigned *ret_port);
/* True when the host is exactly localhost, in 127.0.0.0/8 or ::1: plain HTTP is allowed there. */
bool img_registry_is_local(const char *registry);

/* ---- digests (digest.c) ---- */
bool img_digest_valid(const char *digest);
/* The 64 hex characters after "sha256:" (digest must be valid). */
static inline const char *img_digest_hex(const char *digest)
{
	return digest + 7;
}
/* "sha256:<hex>" of buf; an error names libcrypto when it cannot be loaded. */
int img_sha256_digest(const void *buf, size_t len, char ret[IMG_DIGEST_LEN + 1], struct err **err);
/* chainid(n) = sha256(chainid(n-1) + " " + diffid(n)); chainid(0) = diffid(0). */
int img_chain_id(const char *parent, const char *diff_id, char ret[IMG_DIGEST_LEN + 1],
		 struct err **err);

struct img_hasher;
/* NULL with an error when libcrypto cannot be loaded or memory is short. */
struct img_hasher *img_hasher_new(struct err **err);
void img_hasher_update(struct img_hasher *h, const void *buf, size_t len);
/* Finish into "sha256:<hex>"; the hasher can then be freed only. */
void img_hasher_final(struct img_hasher *h, char ret[IMG_DIGEST_LEN + 1]);
void img_hasher_free(struct img_hasher *h);

/* ---- the store (store.c) ---- */
struct img_store {
	char *path;
	int dfd;		  /* the store directory */
	int lock_fd;		  /* >= 0 while locked */
	unsigned skipped_devices; /* device nodes a rootless unpack left out */
};

/* The store directory: --store, else $ISOLA_STORE, else ISOLA_DEFAULT_STORE. */
const char *img_store_default_path(const char *opt);
/* Create the layout if needed and take the store lock (exclusive). */
int img_store_open(const char *path, struct img_store **ret, struct err **err);
/*
 * The same with the lock shared: for commands that only read the index, blobs
 * and layers, or add a container of their own (run).  Prune excludes them.
 */
int img_store_open_shared(const char *path, struct img_store **ret, struct err **err);
void img_store_close(struct img_store *s);

bool img_blob_exists(struct img_store *s, const char *digest);
/* Read a whole blob (at most max bytes) and check its digest. */
int img_blob_read(struct img_store *s, const char *digest, size_t max, char **ret, size_t *ret_len,
		  struct err **err);
int img_blob_open(struct img_store *s, const char *digest, struct err **err);
/* Store an in-memory blob after checking it against digest. */
int img_blob_put(struct img_store *s, const char *digest, const void *buf, size_t len,
		 struct err **err);

/*
 * Streaming writes.  img_blob_writer_begin() reopens tmp/<hex>.partial when a
 * previous attempt left one (ret offset > 0: ask for a Range).  commit checks
 * size and digest and renames into blobs/; a mismatch deletes the partial.
 */
struct img_blob_writer;
int img_blob_writer_begin(struct img_store *s, const char *digest, uint64_t size,
			  struct img_blob_writer **ret, uint64_t *ret_offset, struct err **err);
int img_blob_writer_write(struct img_blob_writer *w, const void *buf, size_t len, struct err **err);
/* Drop what was written so far (server ignored the Range). */
int img_blob_writer_restart(struct img_blob_writer *w, struct err **err);
uint64_t img_blob_writer_offset(const struct img_blob_writer *w);
/* The size announced to begin (0: unknown, only for local imports). */
uint64_t img_blob_writer_size(const struct img_blob_writer *w);
int img_blob_writer_commit(struct img_blob_writer *w, struct err **err);
/* Free; keep_partial leaves tmp/<hex>.partial for a later resume. */
void img_blob_writer_free(struct img_blob_writer *w, bool keep_partial);

/* The index: name -> {"manifest","config","layers":[chainids],"blobs":[...],"size"}. */
int img_index_load(struct img_store *s, json_t **ret, struct err **err);
int img_index_save(struct img_store *s, json_t *index, struct err **err);
/* Look a user-given reference (or a manifest digest / its prefix) up. */
int img_index_find(json_t *index, const char *ref, const char **ret_name, json_t **ret_entry,
		   struct err **err);
/* Remove unreferenced blobs and layers; counts what went. */
int img_store_prune(struct img_store *s, unsigned *ret_blobs, unsigned *ret_layers,
		    struct err **err);
/*
 * Remove name from the store directory dfd whole: renamed into tmp/ as
 * PREFIX-NAME first, then removed there (a failure leaves it for prune).
 * *ret_moved: it left dfd.
 */
int img_store_remove_whole(struct img_store *s, int dfd, const char *name, const char *prefix,
			   bool *ret_moved, struct err **err);
/*
 * Untag ref, then prune.  ref given as an image id that several names share is refused
 * unless force, which untags them all (podman's rule); *ret_names: the names untagged.
 */
int img_rmi(struct img_store *s, const char *ref, bool force, char ***ret_names, struct err **err);
/*
 * fn(use) for what holds layers: each index entry, then each container's image.json
 * (both have "layers", the layer chain; an entry "blobs" too).
 */
int img_store_foreach_use(struct img_store *s, void (*fn)(json_t *use, void *arg), void *arg,
			  struct err **err);

/* ---- layers (unpack.c) ---- */
/* Whose ids a layer's files get on disk: see unpack.c. */
enum img_ids_mode {
	IMG_IDS_ALL,	/* real root: every id; trusted.overlay.* */
	IMG_IDS_RANGE,	/* root of a user namespace mapping ids 0..n-1; user.overlay.* */
	IMG_IDS_SINGLE, /* one id: ids recorded in user.containers.override_stat */
};
struct img_unpack_ids {
	enum img_ids_mode mode;
	uint32_t n_uids, n_gids; /* IMG_IDS_RANGE: the ids 0..n-1 that exist here */
};
/* From this process's ids and /proc/self/{uid,gid}_map. */
void img_unpack_ids_detect(struct img_unpack_ids *ret);

/*
 * Unpack a (gzip/zstd/plain) tar layer from fd into layers/<chainid-hex>,
 * via a temp dir: on failure nothing is left.  Whiteouts become overlayfs
 * whiteouts.  The decompressed stream must hash to diff_id.
 */
int img_layer_unpack(struct img_store *s, int fd, const char *diff_id, const char *chain_id,
		     struct err **err);
/* Unpack into an open directory (no diff_id check): the core, for tests. */
int img_unpack_into(int fd, int root_fd, struct err **err);
bool img_layer_exists(struct img_store *s, const char *chain_id);
/* open(2) path read-only with openat2(RESOLVE_IN_ROOT) below root. */
int img_open_in_root(int root, const char *path);
/* The same for a file that must be regular (never a FIFO or a device); O_NONBLOCK. */
int img_open_regular_in_root(int root, const char *path, struct err **err);
/* Read a regular file below root, at most max bytes. */
int img_read_regular_in_root(int root, const char *path, size_t max, char **ret, size_t *ret_len,
			     struct err **err);

/* ---- images as a whole (manifest.c) ---- */
/* Parse a manifest; its config digest and layer descriptors. */
struct img_layer_desc {
	char digest[IMG_DIGEST_LEN + 1];
	uint64_t size;
};
struct img_manifest {
	char config[IMG_DIGEST_LEN + 1];
	uint64_t config_size;
	size_t n_layers;
	struct img_layer_desc layers[IMG_LAYERS_MAX];
};
int img_manifest_parse(const char *buf, size_t len, struct img_manifest *ret, struct err **err);
bool img_media_type_is_index(const char *mt);
/* From an OCI index / Docker manifest list, the linux/amd64 manifest digest. */
int img_index_pick(const char *buf, size_t len, char ret[IMG_DIGEST_LEN + 1], struct err **err);
/* The diff_ids of an image config. */
int img_config_diff_ids(const char *buf, size_t len, char ***ret, struct err **err);
/*
 * With the manifest and its blobs stored: verify, unpack missing layers and
 * record NAME -> manifest in the index.
 */
int img_register(struct img_store *s, const char *name, const char *manifest_digest,
		 struct err **err);

/* ---- import and export (import.c, export.c) ---- */
/*
 * Import an OCI layout directory, an oci-archive or a docker-archive tar.
 * name overrides the name recorded in the source.  Returns the stored name.
 */
int img_import(struct img_store *s, const char *path, const char *name, char **ret_name,
	       struct err **err);
enum img_archive_format { IMG_OCI_LAYOUT, IMG_OCI_ARCHIVE, IMG_DOCKER_ARCHIVE };
/* Write ref as an OCI layout directory or an archive (path "-" = stdout for archives). */
int img_export(struct img_store *s, const char *ref, enum img_archive_format f, const char *path,
	       struct err **err);

/* ---- the registry client (registry.c, auth.c) ---- */
struct img_challenge {
	char *scheme; /* "Bearer" or "Basic" */
	char *realm, *service, *scope;
};
int img_challenge_parse(const char *header, struct img_challenge *ret, struct err **err);
void img_challenge_free(struct img_challenge *c);
/* base64(user:pass) for registry from an auth.json; *ret NULL when absent. */
int img_auth_lookup(const char *authfile, const char *registry, char **ret, struct err **err);

enum img_progress_kind {
	IMG_PROGRESS_START,
	IMG_PROGRESS_BYTES,
	IMG_PROGRESS_DONE,
	IMG_PROGRESS_EXISTS,
	IMG_PROGRESS_UNPACK
};
typedef void (*img_progress_fn)(void *data, enum img_progress_kind kind, const char *digest,
				uint64_t done, uint64_t total);

struct img_pull_opts {
	bool insecure;	      /* allow plain HTTP / unverified TLS */
	const char *authfile; /* auth.json, optional */
	img_progress_fn progress;
	void *progress_data;
	unsigned retries; /* transient failures per request; 0 = default */
	/*
	 * Each blob must arrive within timeout_base + size / min_rate seconds,
	 * retries included (a server dripping a byte now and then is cut off).
	 */
	unsigned timeout_base; /* seconds; 0 = IMG_PULL_TIMEOUT_BASE */
	uint64_t min_rate;     /* bytes per second; 0 = IMG_PULL_MIN_RATE */
	/* Non-zero there (a signal asked the caller to stop): transfers end, ECANCELED. */
	const volatile sig_atomic_t *cancel;
};
#define IMG_PULL_TIMEOUT_BASE 60
#define IMG_PULL_MIN_RATE     (64u << 10)
int img_pull(struct img_store *s, const char *ref, const struct img_pull_opts *opts,
	     char **ret_name, struct err **err);

/* ---- bundles (bundle.c, spec.c) ---- */
/* The namespaces run IMAGE can join from another container (img_run_opts.ns_ctr). */
enum img_join { IMG_JOIN_PID, IMG_JOIN_IPC, IMG_JOIN_UTS, IMG_JOIN_NET, IMG_JOIN_N };
struct img_join_kind {
	const char *opt; /* its option without "--", and its key in image.json's "joined" */
	const char *ns;	 /* its file in /proc/PID/ns */
	int type;	 /* its CLONE_NEW* flag, as NS_GET_NSTYPE answers */
};
extern const struct img_join_kind img_join_kinds[IMG_JOIN_N];
/* A container's "instance" in its image.json: 32 hex digits, new for each bundle. */
#define IMG_INSTANCE_LEN 32
/* runc's default capability set, run IMAGE's (NULL-terminated). */
extern const char *const img_default_caps[];
struct img_run_opts {
	const char *name;
	char **env;	/* K=V */
	char **volumes; /* SRC:DST[:ro] */
	const char *workdir;
	const char *user;
	char **args;	     /* command override */
	uint64_t memory;     /* bytes, 0 = none */
	uint64_t cpus_milli; /* 0 = none */
	int64_t pids_limit;  /* 0 = none */
	bool read_only;
	bool host_network;
	bool terminal;
	const char *netns_path; /* join this network namespace (NULL: a new one) */
	bool netns_private;	/* netns_path is one made for this container (a bridge's) */
	const char *hostname;	/* NULL: the name, else "isola" */
	/*
	 * --pid/--ipc/--uts: host (no namespace of that type in config.json, so the
	 * runtime's, and no hostname without a UTS one) or one joined by its path;
	 * else a new one.  --ipc host binds the host's /dev/shm, as podman does.
	 */
	bool host_pid, host_ipc, host_uts;
	const char *pidns_path, *ipcns_path, *utsns_path;
	/*
	 * container:NAME (--pid, --ipc, --uts, --network): the container whose namespace is
	 * joined (by the path above, or netns_path), recorded in image.json as "joined":
	 * {"pid": NAME, ...} for inspect and rm, and its "instance" (NULL or "": one made
	 * before instances were recorded) as "joinedInstance": {"pid": INSTANCE, ...}, so
	 * that rm tells that container from a later one given its name.
	 */
	const char *ns_ctr[IMG_JOIN_N];
	const char *ns_ctr_instance[IMG_JOIN_N];
	const char *entrypoint; /* NULL: the image's; "": none */
	bool init;	   /* run the command under /dev/init -- (bind-mounted by the caller) */
	char **sysctls;	   /* KEY=VALUE (--sysctl, checked by the caller); over ours */
	char **tmpfs;	   /* DEST[:OPTIONS] (--tmpfs, img_tmpfs_check) */
	char **ulimits;	   /* NAME=SOFT[:HARD] (--ulimit, img_ulimit_parse); over ours */
	char **devices;	   /* HOST[:CTR][:PERMS] (--device, img_device_parse) */
	uint64_t shm_size; /* /dev/shm's size in bytes (--shm-size); 0: 64 MiB */
	/*
	 * Bound at /dev/shm instead of a tmpfs of its own (--ipc container:NAME: NAME's),
	 * read-only if shm_ro.
	 */
	const char *shm_source;
	bool shm_ro;
	/*
	 * Kept in the bundle's image.json, for inspect and stop: --label KEY=VALUE (checked
	 * by the caller, keys unique) as "labels", --stop-signal as "stopSignal" (0: none,
	 * stop sends SIGTERM), --stop-timeout as "stopTimeout" (if has_stop_timeout; else
	 * stop waits 10 s).
	 */
	char **labels;
	char **group_add; /* --group-add NAME|GID: more process.user.additionalGids */
	int stop_signal;
	int stop_timeout;
	bool has_stop_timeout;
	/*
	 * --privileged: no masked or read-only paths, sysfs and the cgroup mount
	 * read-write, every device allowed and (not rootless) the host's /dev nodes
	 * in linux.devices.  The caller sets the capabilities and the filter.
	 */
	bool privileged;
	/* --security-opt no-new-privileges=false: setuid programs may gain privileges. */
	bool new_privileges;
	/* The capability set (bounding, effective, permitted); NULL: img_default_caps. */
	char **caps;
	/* linux.seccomp: @seccomp (a profile's JSON), else none if unconfined, else ours. */
	json_t *seccomp;
	bool seccomp_unconfined;
	/*
	 * Rootless: the bundle is made as root of the store's user namespace (in a mount
	 * namespace of its own); the container gets a user namespace with these maps
	 * (the store's) and mounts its overlay on "/" itself, with userxattr.
	 */
	bool rootless;
	struct img_idmap {
		uint32_t container_id, host_id, size;
	} uid_maps[2], gid_maps[2];
	size_t n_uid_maps, n_gid_maps;
};
/*
 * --ulimit NAME=SOFT[:HARD], as podman takes it: NAME one of core, cpu, data,
 * fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime,
 * sigpending, stack, as; a value a number, or -1 / "unlimited"; HARD
 * defaults to SOFT.  *ret_type is "RLIMIT_" NAME in upper case (static).
 */
int img_ulimit_parse(const char *arg, const char **ret_type, uint64_t *ret_soft, uint64_t *ret_hard,
		     struct err **err);
/*
 * --device HOST[:CTR][:PERMS], as podman takes it: HOST a character or block
 * device (a link to one is followed), CTR where the container gets it
 * (default HOST), PERMS what its devices cgroup allows, of "rwm" (default).
 * HOST may be a directory: type 'd', its nodes given by img_device_dir_each.
 * HOST under /proc is refused (/proc/self/fd/N is isola's own file).
 */
struct img_device {
	char path[PATH_MAX]; /* CTR */
	char host[PATH_MAX]; /* HOST */
	char type;	     /* 'c', 'b' or 'd' (a directory) */
	uint32_t major, minor, mode, uid, gid;
	char access[4];
};
int img_device_parse(const char *arg, struct img_device *ret, struct err **err);
/*
 * The nodes under a directory of --device (@arg, parsed into @dir), each as
 * HOST/REL at CTR/REL with @dir's PERMS, to fn: walked by directory fds,
 * links not followed, on @dir's file system only (not into a mount such as
 * /dev/pts), at most 16 deep, IMG_DEVICE_DIR_ENTRIES_MAX entries
 * and @max nodes.  Returns how many, or refuses (none is an error too).
 */
#define IMG_DEVICE_DIR_ENTRIES_MAX 16384
/*
 * The nodes of all --device options: one device rule each after the spec's
 * default deny, within the runtime's 512 rules (CG_MAX_DEVICE_RULES).
 */
#define IMG_DEVICES_MAX 511
int img_device_dir_each(const char *arg, const struct img_device *dir, size_t max,
			int (*fn)(const struct img_device *d, void *data), void *data,
			struct err **err);
/* --tmpfs DEST[:OPTIONS]: an absolute DEST, options a tmpfs and isola take. */
int img_tmpfs_check(const char *arg, struct err **err);
/*
 * --mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,bind-propagation=..]
 * [,tmpfs-size=..][,tmpfs-mode=..] (src, dst, destination, ro aliases), as podman takes
 * it: *ret_entry is what -v (IMG_MOUNT_VOLUME: "SRC:DST:ro|rw[,PROPAGATION]", SRC a path
 * or a volume's name) or --tmpfs (IMG_MOUNT_TMPFS: "DST:OPTIONS") would hold.
 */
enum img_mount_kind { IMG_MOUNT_VOLUME, IMG_MOUNT_TMPFS };
int img_mount_parse(const char *arg, enum img_mount_kind *ret_kind, char **ret_entry,
		    struct err **err);
/*
 * A bind source for -v or --mount (@opt, @arg for the message): not the runtime's own
 * /proc/self, its fds or its root, however spelled: "//proc/self", "/dev/stdin",
 * "/dev/../proc/self/fd/N", a symlink to /proc/self.  A source that does not open is
 * an error only when @must_exist (the runtime reports it otherwise).
 */
int img_bind_source_check(const char *opt, const char *arg, const char *src, bool must_exist,
			  struct err **err);
/* A tmpfs size (--shm-size, tmpfs-size=): bytes, K, M, G, T; from 1 byte to 1 EiB. */
int img_tmpfs_size_parse(const char *s, uint64_t *ret);
/* A tmpfs's mode=: 0 to 7777, octal digits only. */
int img_tmpfs_mode_parse(const char *v, unsigned *ret);
/* Generate config.json (runc-spec-like) from an image config. */
/* rootfs_fd: the image's root, to resolve user names in /etc/passwd and /etc/group. */
int img_spec_generate(const char *config_buf, size_t config_len, const struct img_run_opts *o,
		      int rootfs_fd, json_t **ret, struct err **err);
/* A container's name: [A-Za-z0-9_.-], 1..64, not starting with '.' or '-'. */
bool img_container_name_valid(const char *id);
/* containers/<id>: config.json + overlay rootfs.  Returns the bundle path. */
int img_bundle_create(struct img_store *s, const char *ref, const char *id,
		      const struct img_run_opts *o, char **ret_bundle, struct err **err);
int img_bundle_remove(struct img_store *s, const char *id, struct err **err);
