/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Per-container state under --root: <root>/<id>/state.json (written
 * atomically), exec.fifo while the container is "created", and a flock on the
 * directory so concurrent commands on one container serialise.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "err.h"
#include "spec.h"

/*
 * state.json holds config.json's annotations and hooks plus a few fields, so
 * whatever create accepts (CT_CONFIG_MAX) fits: state, kill and delete can
 * always read what create wrote.  create refuses a state over the cap.
 */
#define CT_STATE_MAX (CT_CONFIG_MAX + (1u << 20))
/* The container's cgroup record alone, so delete --force works without state.json. */
#define CT_STATE_CGROUP_FILE  "cgroup.json"
#define CT_STATE_FREEZER_LOCK "freezer.lock"
/* The init's name from its clone to its execve (as runc's "runc:[2:INIT]"). */
#define CT_INIT_COMM	    "isola:[INIT]"
#define CT_STATE_CGROUP_MAX (256u << 10)

enum ct_status { CT_CREATING, CT_CREATED, CT_RUNNING, CT_PAUSED, CT_STOPPED };

struct ct_state {
	char *id, *bundle, *rootfs, *created, *owner;
	pid_t pid;
	uint64_t start_time;
	json_t *annotations, *cgroup, *hooks; /* owned references, may be NULL */
	bool cgroup_saved; /* CT_STATE_CGROUP_FILE already holds cgroup: not rewritten */
};

/* Make <root>/<id> (fails if it exists) and lock it. */
int ct_state_create_dir(const char *root, const char *id, int *ret_dirfd, struct err **err);
/* Open and lock an existing container's directory. */
int ct_state_open_dir(const char *root, const char *id, int *ret_dirfd, struct err **err);
/*
 * The same for a reader (state, list): a shared lock, or none while a command holds the
 * container (*ret_busy): a hook of create, start or delete asking for the state must not
 * wait on the command that runs it (runc's state takes no lock either).  state.json is
 * replaced whole, so a read without the lock still sees one version of it.
 */
int ct_state_open_dir_read(const char *root, const char *id, int *ret_dirfd, bool *ret_busy,
			   struct err **err);
/*
 * The container's cgroup freezer, held exclusively (blocking) until the fd returned is
 * closed: pause, resume and kill --all freeze and thaw, and none may thaw what another
 * froze.  A lock of its own (freezer.lock, made with the directory), so kill --all needs
 * only a reader's lock on the container and a hook of the command that holds that can run
 * it.  Lock order: the container's, then this one.  Without the file (a container of an
 * older isola, or one being deleted) dirfd's own lock is taken exclusively instead, and
 * is released only with dirfd.
 */
int ct_state_lock_freezer(int dirfd, const char *id, struct err **err);
/*
 * ct_state_read() after ct_state_open_dir_read(): a busy container without its first
 * state.json yet (a VM container's create writes it last) is waited for, as before.
 */
int ct_state_read_busy(int dirfd, const char *id, struct ct_state *ret, bool *busy,
		       struct err **err);
int ct_state_remove_dir(const char *root, const char *id, struct err **err);

int ct_state_write(int dirfd, const struct ct_state *s, struct err **err);
int ct_state_read(int dirfd, const char *id, struct ct_state *ret, struct err **err);
/* The cgroup record of CT_STATE_CGROUP_FILE (for delete --force); NULL if none. */
json_t *ct_state_read_cgroup(int dirfd);
void ct_state_clear(struct ct_state *s);

/* The process start time (field 22 of /proc/<pid>/stat); 0 if gone. */
uint64_t ct_proc_start_time(pid_t pid);
/* Whether pid is a kernel thread (PF_KTHREAD in /proc/<pid>/stat). */
bool ct_proc_is_kthread(pid_t pid);
/* Is the recorded init process still the same, live process? */
bool ct_state_alive(const struct ct_state *s);
enum ct_status ct_state_status(int dirfd, const struct ct_state *s);
/* ct_state_status() for a reader that found the container busy: "creating" before its init. */
enum ct_status ct_state_status_read(int dirfd, const struct ct_state *s, bool busy);
/* A container whose process runs in a micro-VM (src/vmct/oci.h: vm.json in its dir). */
bool ct_state_is_vm(int dirfd);
const char *ct_status_name(enum ct_status st);
/* runc's `state` JSON (also what hooks get on stdin). */
json_t *ct_state_to_oci_json(const struct ct_state *s, enum ct_status st);
char *ct_state_oci_string(const struct ct_state *s, enum ct_status st);
/* Where compiled seccomp programs are cached: <root>/.seccomp-cache. */
int ct_seccomp_cache_dir(const char *root, char **ret);
/* RFC 3339 with nanoseconds, UTC. */
char *ct_now_rfc3339(void);
