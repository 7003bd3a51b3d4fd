/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * config.json as typed data.  ct_spec_load() validates every field it knows
 * and names the failing one ("config.json: process.args: missing").  Strings
 * point into the JSON tree, which the spec owns.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "err.h"

#define CT_CONFIG_MAX  (4u << 20)
#define CT_ID_MAX      1024
#define CT_OCI_VERSION "1.1.0"

enum ct_ns_type {
	CT_NS_USER,
	CT_NS_PID,
	CT_NS_NET,
	CT_NS_IPC,
	CT_NS_UTS,
	CT_NS_CGROUP,
	CT_NS_TIME,
	CT_NS_MNT,
	CT_NS_COUNT,
};

struct ct_namespace {
	bool enabled;
	const char *path; /* NULL: create a new one */
};

struct ct_idmap {
	uint32_t container_id, host_id, size;
};

struct ct_mount {
	const char *destination, *type, *source;
	unsigned long flags;	     /* MS_* for mount(2) */
	unsigned long propagation;   /* MS_SHARED etc., with MS_REC when recursive */
	uint64_t attr_set, attr_clr; /* recursive MOUNT_ATTR_* for mount_setattr(2) */
	char *data;		     /* unknown options, comma separated */
	bool copyup;		     /* tmpcopyup: a tmpfs starts with what it covers */
};

struct ct_rlimit {
	int resource;
	uint64_t soft, hard;
};

struct ct_device {
	const char *path;
	char type; /* 'c', 'b', 'p' */
	int64_t major, minor;
	uint32_t mode, uid, gid;
	bool has_mode;
};

struct ct_process {
	bool terminal;
	uint32_t console_height, console_width;
	uint32_t uid, gid, umask;
	bool has_umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char **args, **env;
	const char *cwd;
	json_t *capabilities; /* borrowed, may be NULL */
	struct ct_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges, has_oom_score_adj;
	int oom_score_adj;
	int io_priority; /* ioprio_set(2) value, 0: unset */
};

struct ct_spec {
	json_t *json;
	const char *root_path;
	bool root_readonly;
	bool has_process;
	struct ct_process process;
	const char *hostname, *domainname;
	struct ct_mount *mounts;
	size_t n_mounts;
	struct ct_namespace ns[CT_NS_COUNT];
	struct ct_idmap *uid_maps, *gid_maps;
	size_t n_uid_maps, n_gid_maps;
	struct ct_device *devices;
	size_t n_devices;
	char **masked_paths, **readonly_paths;
	unsigned long rootfs_propagation;
	char **sysctl; /* key, value, key, value, ... */
	const char *cgroups_path;
	json_t *resources, *seccomp, *hooks, *annotations; /* borrowed, may be NULL */
	bool has_personality;
	unsigned long personality;
	bool has_time_offsets;
	int64_t time_offsets[2][2]; /* [monotonic, boottime][secs, nanosecs] */
};

/* Load <bundle>/config.json (capped at CT_CONFIG_MAX). */
int ct_spec_load(const char *bundle, struct ct_spec **ret, struct err **err);
/* Parse an already loaded tree; takes a reference on json. `what` names the file. */
int ct_spec_parse(json_t *json, const char *what, struct ct_spec **ret, struct err **err);
void ct_spec_free(struct ct_spec *s);

/*
 * An environment entry is NAME=VALUE with a non-empty NAME (runc refuses
 * others); a bare NAME reached execve's envp as it was.
 */
bool ct_env_valid(const char *kv);
/* A process object (config's "process" or exec --process FILE). */
int ct_process_parse(json_t *obj, const char *where, struct ct_process *ret, struct err **err);
void ct_process_clear(struct ct_process *p);

const char *ct_ns_name(enum ct_ns_type t);
/* The namespace that makes sysctl KEY private to a container, or -1 (not namespaced). */
int ct_sysctl_namespace(const char *key);
int ct_ns_from_name(const char *name);
int ct_ns_clone_flag(enum ct_ns_type t);

/* Container ids: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most CT_ID_MAX bytes. */
int ct_id_validate(const char *id, struct err **err);

/* The default config.json `isola spec` writes.  Rootless, it maps root to the
 * caller and, when /etc/subuid and /etc/subgid grant the caller a range and
 * newuidmap/newgidmap are installed, ids 1.. to that range (as podman). */
json_t *ct_spec_example(bool rootless);

/* Rootless id maps (userns.c).  The caller's range in /etc/subuid-style @file
 * (a line naming @name or @id): 1 and the range, 0 if none. */
int ct_subid_range(const char *file, const char *name, uint32_t id, uint32_t *ret_start,
		   uint32_t *ret_count, struct err **err);
/* Does an unprivileged process need newuidmap/newgidmap to write this map? */
/*
 * The rootless map of this user: 0 to its own id, then 1.. to its subordinate
 * range when /etc/subuid (/etc/subgid) grants one and newuidmap (newgidmap) is
 * installed; what `spec --rootless` writes and rootless image stores use.
 * Returns the number of entries (1 or 2).
 */
size_t ct_rootless_idmap(bool gid, struct ct_idmap ret[2]);
bool ct_idmap_needs_helper(const struct ct_idmap *m, size_t n, uint32_t own);
/* Write /proc/PID/{u,g}id_map through newuidmap or newgidmap. */
int ct_idmap_write_helper(pid_t pid, bool gid, const struct ct_idmap *m, size_t n,
			  struct err **err);
