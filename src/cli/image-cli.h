/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Shared bits of the image commands. */
#include <limits.h>
#include <signal.h>
#include <sys/types.h>

#include "cli.h"
#include "opt.h"
#include "commands.h"
#include "image.h"

/*
 * Run $ISOLA_RUNTIME (default /proc/self/exe) --root <store>/run ARGS, with
 * the given fds (-1: inherit) as its stdio; returns its exit code, -1 on error.
 */
int image_cli_runtime(const char *store, const char *const *args, int in_fd, int out_fd,
		      int err_fd);

/*
 * image_cli_runtime() in a process group of its own, no terminal's: a ^C while it starts
 * a detached container does not kill it halfway (`run -d` finishes the start).
 */
int image_cli_runtime_detached(const char *store, const char *const *args, int in_fd, int out_fd,
			       int err_fd);
/* The same in two steps: start it (its pid, -1 on error), then its exit code. */
pid_t image_cli_runtime_spawn(const char *store, const char *const *args, int in_fd, int out_fd,
			      int err_fd);
int image_cli_runtime_wait(pid_t pid);
/*
 * A foreground run passes on what is sent to it (podman's --sig-proxy): INT, TERM,
 * HUP, QUIT, USR1 and USR2 go to the runtime, which hands them to the container, and
 * we wait on, to clean up after it (a terminal's ^C reaches the runtime itself, in our
 * process group: not passed on twice).  Hold them before the spawn, then proxy to its
 * pid; pid <= 0 puts back the default and lets a held one in.
 */
void image_cli_proxy_hold(void);
void image_cli_proxy_to(pid_t pid);
/*
 * Wait for the runtime proxied to: its exit code (128 + N for a signal), -1 on error;
 * *ret_killed (may be NULL): it died of a signal.  The signals stay held from then on,
 * so a late one does not cut the caller's clean-up short.
 */
int image_cli_proxy_wait(pid_t pid, bool *ret_killed);
/*
 * image_cli_runtime() for a foreground run (stdout and stderr inherited): signals are
 * proxied; *ret_killed says the runtime itself died of one (its state may be left).
 */
int image_cli_runtime_fg(const char *store, const char *const *args, int in_fd, bool *ret_killed);
/*
 * Fork a watcher: in the parent, its pid (-1: none).  In the child, 0 once it is on its
 * own (a session of its own, stdio on /dev/null, no other fd of the caller's) and the
 * process the pidfd @pfd names has ended (at once if pfd < 0).
 */
pid_t image_cli_watcher(int pfd);
/*
 * Run the runtime with a terminal: args must hold "--console-socket", sock; the pty
 * master it sends is proxied to our stdin/stdout (raw mode when stdin is a terminal).
 * Returns the runtime's exit code, -1 on error; signals are proxied as for
 * image_cli_runtime_fg(), and *ret_killed (may be NULL) set the same way.
 */
int image_cli_runtime_tty(const char *store, const char *const *args, const char *sock,
			  bool *ret_killed);

/* Parse a command's only option, --store DIR (cmd_image_store_opts): 0 to go on, -1 after
 * --help (exit 0), else the exit code of a usage error. */
int image_cli_store_opt(int argc, char **argv, const char **ret_store);

/* created, running or paused, as the runtime says. */
bool image_cli_container_running(const char *store, const char *id);
/*
 * `RUNTIME state ID`'s status ("running", "stopped", ...; "exited" when it has no state,
 * "unknown" when it says nothing), its init's pid in *ret_pid if not NULL (0: none).
 */
char *image_cli_container_status(const char *store, const char *id, pid_t *ret_pid);
/*
 * run IMAGE --pid/--ipc/--uts/--network container:NAME (cmd-image-run-ns.c): open the
 * namespace @j of the running container @target of @store (not @self, not a VM's) from
 * its init, checked to be the init's after the open; the fd (O_CLOEXEC) in *ret_fd,
 * /proc/<our pid>/fd/<fd> in ret_path, for config.json, and the target's instance
 * (image_cli_container_instance) in ret_instance.  With ret_mntns, the init's mount
 * namespace too (for image_cli_ctr_shm_mount).  0, or EXIT_ISOLA with the message
 * printed.
 */
int image_cli_ctr_ns_open(const char *store, const char *self, enum img_join j, const char *target,
			  int *ret_fd, char ret_path[static 64],
			  char ret_instance[static IMG_INSTANCE_LEN + 1], int *ret_mntns);
/*
 * --ipc container:NAME: NAME's /dev/shm (a tmpfs, reached without symbolic links from its
 * root in @mntns), cloned detached: private, nosuid, nodev, noexec, and read-only if
 * NAME's is (*ret_ro); then attached at @dest (made if missing) once the bundle exists.
 * 0, or EXIT_ISOLA, said.
 */
int image_cli_ctr_shm_open(const char *target, int mntns, int *ret_tree, bool *ret_ro);
int image_cli_ctr_shm_attach(int tree, const char *dest);

/*
 * Fork the log writer for containers/<id>/ctr.log (its pid); *ret_write_end is its input.
 * A log that would grow past max_size bytes (0: no limit) starts again empty, as
 * podman's k8s-file log with --log-opt max-size: a container cannot fill the disk.
 */
#define IMAGE_LOG_MAX_DEFAULT (256ULL << 20)
#define IMAGE_LOG_MAX_MIN     (64ULL << 10)
pid_t image_cli_logger(const char *path, uint64_t max_size, int *ret_write_end);
/* After a failed start: wait for the logger (its input closed) and copy the log to stderr. */
void image_cli_log_replay(const char *path, pid_t logger);

/*
 * @id can name a run IMAGE container: not empty, no '/', no leading '.', so that
 * <store>/containers/<id> stays one entry of that directory (cmd-ctr-info.c).
 */
bool image_cli_container_name_plain(const char *id);
/* For a run -d --rm's `rm -f`: remove the container only if it is still this instance. */
#define IMAGE_RM_INSTANCE_ENV "ISOLA_RM_IF_INSTANCE"
/*
 * Which form an id of kill, exec ... names: a runc container is <root>/ID; a run IMAGE
 * container has <store>/containers/ID/image.json (store NULL: the default; *ret_store, if
 * asked for, gets the store's real path, or NULL when it cannot be resolved).
 */
bool image_cli_root_has(const char *root, const char *id);
bool image_cli_store_has(const char *store, const char *id, char **ret_store);
/* ps / inspect facts of a run IMAGE container (NULL: no such container). */
json_t *image_cli_container_info(const char *store, const char *id);
/* A run IMAGE container's image.json (its image, labels, stop signal and timeout), or NULL. */
json_t *image_cli_container_meta(const char *store, const char *id);
/* Its image.json's "instance", or "" (none: made before instances were recorded). */
void image_cli_container_instance(const char *store, const char *id,
				  char ret[static IMG_INSTANCE_LEN + 1]);
/* --stop-timeout, stop -t: seconds, counted in tenths in an int. */
#define IMAGE_STOP_TIMEOUT_MAX (INT_MAX / 10 - 1)

/*
 * Pull ref into the open store with `isola pull`'s progress lines on stderr; a non-zero
 * *cancel (may be NULL) ends it (img_pull_opts.cancel).
 */
int image_cli_pull(struct img_store *s, const char *ref, bool quiet,
		   const volatile sig_atomic_t *cancel, char **ret_name, struct err **err);
/* The image form's options (cmd-image-run.c), for `isola run --help`. */
extern const struct cli_opt cmd_image_run_opts[];
/* Exit codes of run IMAGE, as podman's: isola failed, command not executable / not found. */
#define EXIT_ISOLA     125
#define EXIT_NOT_EXEC  126
#define EXIT_NOT_FOUND 127
/* Set for the runtime's exec run by `exec NAME`: its own failures exit with the codes above. */
#define EXEC_PODMAN_CODES_ENV "ISOLA_EXEC_PODMAN_CODES"

/*
 * Run fn(arg) (an exit code) where it may write the store's layers and containers:
 * as root directly; as another user in a child that is root of a user namespace
 * with the rootless map (store-userns.c).  Call it before threads exist.
 */
int image_cli_store_call(int (*fn)(void *), void *arg);
/* The child of image_cli_store_call() while the parent waits for it, else 0: a signal
 * handler passes it the signals that should stop its work. */
extern volatile sig_atomic_t image_cli_store_child;
/* Remove containers/<id> of the store (--store value or NULL); an exit code. */
int image_cli_bundle_remove(const char *store_opt, const char *id);
/* Print a note for the device nodes a rootless unpack left out (then forget them). */
void image_cli_note_skipped(struct img_store *s);
/* Pull and import, for image_cli_store_call(image_cli_add, &call): open the store (--store
 * value or NULL), add(store, arg) an image, the note above, the store closed, then the image's
 * name or the error printed.  An exit code. */
struct image_cli_add_call {
	const char *store;
	int (*add)(struct img_store *s, const void *arg, char **ret_name, struct err **err);
	const void *arg;
};
int image_cli_add(void *call);

/*
 * rmi: remove the VM root disk of @key (rootfs-KEY.ext4 in <store>/vm) when no image or
 * container of @s has that layer chain and no VM holds it (cmd-system.c); an exit code.
 */
int image_cli_prune_disk(struct img_store *s, const char *key);

/* Open the store named by --store / $ISOLA_STORE / the default, locked. */
int image_cli_open_store(const char *opt, struct img_store **ret);
/* For readers (images, inspect, save, export, run): the store lock shared. */
int image_cli_open_store_shared(const char *opt, struct img_store **ret);

/* run --vm: the container in a micro-VM (cmd-image-run-vm.c, docs/vm-containers.md). */
struct image_vm_opts {
	const char *kernel;  /* NULL: $ISOLA_VM_KERNEL, else ISOLA_VM_KERNEL_DEFAULT */
	const char *modules; /* the kernel's lib/modules/VER (NULL: beside the kernel) */
	uint64_t memory;     /* bytes, 0: 256M */
	unsigned cpus;	     /* 0: 1 */
	bool interactive;    /* relay our stdin */
	bool init;	     /* --init: the agent's init is PID 1 (vmct_config.init) */
	/* Attached to a network (net_attach, id): the VM gets a NIC on it. */
	bool network;
	const char *id;
	uint64_t log_max; /* -d: the log's --log-opt max-size (0: none) */
};
/* Run the bundle's process in a VM; its exit status, or EXIT_ISOLA (message printed). */
int image_run_vm(const char *store, const char *bundle, const struct image_vm_opts *vo);

/*
 * run --vm -d: the VM owned by a detached monitor (the OCI mode's, src/vmct/oci.c) in
 * <store>/run/<id>, its output in <bundle>/ctr.log; prints the id once the process
 * runs.  --rm: removed when it ends.  0, or EXIT_ISOLA (message printed).
 */
int image_run_vm_detached(const char *store, const char *bundle, const char *id,
			  const struct image_vm_opts *vo, bool rm);

/*
 * run --vm writes the VMM's hybrid-vsock socket path into this file of the
 * container's bundle while its process runs: `isola exec NAME` finds the VM there.
 */
#define IMAGE_VM_VSOCK_NOTE "vm-vsock"
/*
 * A foreground run --vm has no runtime state: the process of `isola run` is the
 * container's monitor, and notes "PID STARTTIME" in this file of the bundle while
 * it runs, for ps, stop and rm.
 */
#define IMAGE_VM_FG_NOTE "vm-fg"
/* A pidfd of the foreground run --vm of @id while it runs (its pid in *ret_pid), else -1. */
int image_cli_vm_fg(const char *store, const char *id, pid_t *ret_pid);
struct vmct_config;
/* The bundle's process (config.json) for the VM agent; strings point into *spec. */
int image_vm_load_process(const char *bundle, json_t **spec, struct vmct_config *c,
			  struct err **err);
/* isola exec [-i] [-t] [-e K=V] [-w DIR] [-u UID[:GID]] ID CMD... into a run --vm container. */
int image_exec_vm(const char *store, int argc, char **argv, int id);
