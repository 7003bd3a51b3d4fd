/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Containers inside micro-VMs, the host half (docs/vm-containers.md): the
 * initramfs with isola-agent, the image's root disk, and one run of a
 * container's process in a VM through `isola vm run`.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

#include <jansson.h>

#include "err.h"
#include "proto.h"

/*
 * The modules the agent loads (with what they depend on): ext4's checksums
 * (crc32c is found through the crypto API, not a module dependency), disk,
 * root file system, overlay, vsock, the NIC (virtio_net needs net_failover, failover).
 */
#define VMCT_MODULES \
	"crc32c_generic virtio_pci virtio_blk ext4 overlay vmw_vsock_virtio_transport virtio_net"
/*
 * Taken when the kernel has them, else left out: virtiofs (with fuse) for
 * shared directories, which the agent loads only in a VM that has one.
 */
#define VMCT_MODULES_OPTIONAL "virtiofs"

/*
 * Write a newc cpio to @out: /init is @agent, /modules/NN-NAME.ko the
 * VMCT_MODULES found under @moddir (lib/modules/VERSION of the kernel) with
 * their dependencies first; a module in modules.builtin is skipped.  @moddir
 * NULL: no modules (a kernel with everything built in).
 */
int vmct_initramfs_write(const char *agent, const char *moddir, const char *out, struct err **err);

/*
 * The cached initramfs for (@agent, @moddir) under @cachedir
 * (initrd-<sha256 of both>.cpio), built on first use; *ret its path.
 */
int vmct_initramfs_get(const char *cachedir, const char *agent, const char *moddir, char **ret,
		       struct err **err);

/*
 * The image's root disk: @rootfs (a directory) as an ext4 image made with
 * mkfs.ext4 -d, cached as @cachedir/rootfs-@key.ext4 (key: the image's layer
 * chain) and shared read-only by every VM of that image; *ret its path.  @ret_lock
 * (NULL: none) gets an fd holding a shared flock of it: `isola system prune` and
 * `rmi` leave a locked disk alone (as one a VMM holds), so keep it until the VMM has it.
 */
int vmct_rootfs_get(const char *cachedir, const char *key, const char *rootfs, char **ret,
		    int *ret_lock, struct err **err);

/* The root disk's key: the image's layer chain (image.json's "layers"), hashed. */
#define VMCT_ROOTFS_KEY_LEN 32
int vmct_rootfs_key(json_t *layers, char ret[VMCT_ROOTFS_KEY_LEN + 1], struct err **err);
/* Create @path (a cache's temporary file) with an exclusive flock: its fd. */
int vmct_cache_tmp_lock(const char *path, struct err **err);
/* The agent's tag in its initramfs's name: its sha256, 16 hex digits. */
#define VMCT_AGENT_TAG_LEN 16
int vmct_agent_tag(const char *agent, char ret[VMCT_AGENT_TAG_LEN + 1], struct err **err);

/*
 * The VM caches (cache.c): <store>/vm and the OCI mode's <root>/.vm-cache.  What an
 * entry is, by its name; VMCT_CACHE_OTHER is not ours (left alone).
 */
enum vmct_cache_kind {
	VMCT_CACHE_DISK,   /* rootfs-KEY.ext4 */
	VMCT_CACHE_INITRD, /* initrd-AGENT-KEY.cpio */
	VMCT_CACHE_WARM,   /* warm-KEY/ */
	VMCT_CACHE_BUILD, /* .warm-KEY-XXXXXX/: a template being built, or left by a killed build */
	VMCT_CACHE_TEMP,  /* rootfs-KEY.ext4.PID.{tmp,log}, initrd-...cpio.PID.tmp */
	VMCT_CACHE_OTHER,
	VMCT_CACHE_KINDS = VMCT_CACHE_OTHER,
};
const char *vmct_cache_kind_name(enum vmct_cache_kind k);

struct vmct_prune_opts {
	/* Is the root disk of this key still an image's or a container's?  NULL: keep disks. */
	bool (*disk_used)(const char *key, void *arg);
	const char *only_disk; /* rmi: only the disk of this key, nothing else */
	const char *agent_tag; /* this binary's agent (vmct_agent_tag); NULL: keep initramfs */
	bool dry_run;	       /* remove nothing; report what would go */
	/* Each entry removed (or, dry run, to be), with the bytes it took. */
	void (*removed)(void *arg, enum vmct_cache_kind kind, const char *dir, const char *name,
			uint64_t bytes);
	void *arg;
};

struct vmct_prune_result {
	uint64_t bytes;
	unsigned removed;
	unsigned in_use;    /* unused disks kept as someone holds them (a VMM, a starting run) */
	bool build_running; /* a template build held the lock: templates and build dirs kept */
};

/*
 * Remove from @cachedir what this binary would never use again (docs/vm-containers.md):
 * disks no image or container has, initramfs images of another agent, templates whose
 * files changed or which have no warm.key, temporary files and build dirs no builder
 * holds.  A failure does not stop the sweep: the first is returned.  A missing
 * @cachedir is empty.
 */
int vmct_cache_prune(const char *cachedir, const struct vmct_prune_opts *o,
		     struct vmct_prune_result *ret, struct err **err);

struct vmct_cache_usage {
	uint64_t bytes[VMCT_CACHE_KINDS]; /* blocks on disk */
	unsigned count[VMCT_CACHE_KINDS];
};
int vmct_cache_usage(const char *cachedir, struct vmct_cache_usage *ret, struct err **err);

/* The kernel's module directory: KDIR/lib/modules/VER for KDIR/boot/vmlinuz-VER, else NULL. */
char *vmct_moddir_for(const char *kernel);
/* $ISOLA_AGENT, else isola-agent beside isola or in the build tree, else libexecdir; NULL if none.
 */
char *vmct_find_agent(void);

struct vmct_warm;

/* A host directory shared with the guest (virtio-fs), tagged VMCT_FS_PREFIX and its index. */
struct vmct_share {
	char *path; /* absolute, no comma (the VMM's option syntax) */
	bool ro;
};

struct vmct_run_opts {
	const char *vmm;    /* the isola binary that runs `vm run` */
	const char *kernel; /* bzImage */
	const char *initrd;
	const char *disk; /* the root disk, attached read-only */
	uint64_t memory;  /* bytes */
	unsigned cpus;
	const struct vmct_config *proc;
	int in_fd;		  /* the process's stdin, -1: none (EOF at once) */
	int out_fd, err_fd;	  /* where its stdout and stderr go */
	unsigned boot_timeout_s;  /* until the agent connects */
	const char *console_copy; /* on failure, the VM console is left here (NULL: not kept) */
	/*
	 * The OCI mode (oci.c): called once the agent has connected, before its
	 * process config is sent (the VMM's pid and pidfd, the socket dir); < 0
	 * stops the VM.  Then config_sent once the config went out.  NULL: none.
	 */
	int (*agent_ready)(void *arg, pid_t vmm, int vmm_pidfd, const char *dir, struct err **err);
	void (*config_sent)(void *arg);
	void *hook_arg;
	/*
	 * While the process runs, this file holds the VMM's hybrid-vsock socket
	 * path (for vmct_exec); removed at the end.  NULL: not written.
	 */
	const char *vsock_note;
	/*
	 * A NIC (docs/vm-containers.md "Networking"): the VMM runs in the network
	 * namespace @netns (a path) with `--net @net` ("tap=NAME,mac=M", the TAP
	 * being in that namespace).  NULL: none.
	 */
	const char *netns, *net;
	const char *tap; /* the TAP's name alone (a warm start's --net-remap); with net */
	/*
	 * Directories shared with the guest, share i tagged VMCT_FS_PREFIX i: a
	 * cold boot gives the VMM `--fs tag=TAG,path=DIR[,ro]` each; a warm start
	 * restores a template with as many shares, no guest driver on them yet,
	 * and remaps them onto these (`--fs-remap TAG=DIR,ro|rw`).
	 */
	const struct vmct_share *shares;
	unsigned n_shares;
	/* Restore this template (warm.c) instead of booting; NULL: a cold boot. */
	const struct vmct_warm *warm;
};

/*
 * Boot the VM, run the process, relay its stdio and SIGINT/SIGTERM/SIGHUP,
 * and return its exit status (0..255) in *ret_status.  Nothing is left behind:
 * the VMM is waited for (killed when it does not stop), its socket directory
 * removed.  A failure before the process ran returns < 0 with the reason
 * (the agent's message, or the last console lines).
 */
int vmct_run(const struct vmct_run_opts *o, int *ret_status, struct err **err);

/*
 * The signals a VM container's monitor passes into the VM as SIGNAL frames (HUP INT
 * QUIT TERM USR1 USR2 WINCH ALRM): it blocks them, any other ends it as it would
 * any process.
 */
bool vmct_signal_relayed(int sig);
void vmct_relayed_set(sigset_t *set);

/*
 * Warm starts (warm.c, docs/vm-containers.md): a snapshot of a booted
 * template VM whose agent waits, restored per container.
 */
#define VMCT_WARM_KEY_LEN 32
struct vmct_warm {
	char *dir;	   /* <cache>/warm-KEY */
	char *state, *mem; /* the snapshot */
	char *disk_from;   /* the placeholder disk's path as saved: --disk-remap FROM=disk */
	char *vsock_from;  /* the vsock socket's path as saved: --vsock-remap FROM=NEW */
	char
	    *net_from; /* the template's TAP (warm.info net=): --net-remap FROM=TAP; NULL: no NIC */
	unsigned n_fs; /* its shares, tagged VMCT_FS_PREFIX0..n_fs-1 (warm.info fs=N) */
};

/*
 * The template's key: the VMM's, kernel's and initrd's path, size, mtime, inode;
 * memory, cpus; whether it has a NIC (@nic: for a container with a network); how
 * many shares (@n_fs: for a container with that many volumes).
 */
int vmct_warm_key(const char *vmm, const char *kernel, const char *initrd, uint64_t memory,
		  unsigned cpus, bool nic, unsigned n_fs, char ret[VMCT_WARM_KEY_LEN + 1],
		  struct err **err);
/* The template in @dir (its warm.info, state and mem checked); one line naming the file. */
int vmct_warm_load(const char *dir, struct vmct_warm *ret, struct err **err);
void vmct_warm_free(struct vmct_warm *w);
/*
 * The template build lock: a flock of @cachedir (builds of any key take
 * turns; no lock file is left).  Waits, but a signal on @sigfd (-1: none)
 * ends the wait with ECANCELED.  Returns its fd.
 */
int vmct_warm_lock(const char *cachedir, int sigfd, struct err **err);
/* As @sigfd: do not wait; -EWOULDBLOCK (no message) while a build holds the lock. */
#define VMCT_WARM_LOCK_TRY (-2)
/*
 * Would this binary still restore the template @dirfd/@name (warm-@key)?  Its warm.key
 * (what the key hashes) hashes to @key, and its VMM, kernel and initrd are still the files
 * they were (path, size, mtime, device, inode); a path in @gone (NULL-ended, or NULL)
 * counts as gone.  False for a template without a readable warm.key.
 */
bool vmct_warm_current(int dirfd, const char *name, const char *key, char *const *gone);
/*
 * The template for o's kernel, initrd, memory and cpus under @cachedir, built
 * (one builder at a time: the lock) when missing or broken.  A signal on
 * @sigfd (-1: none) stops the build: ECANCELED, nothing left.
 */
int vmct_warm_get(const char *cachedir, const struct vmct_run_opts *o, int sigfd,
		  struct vmct_warm *ret, struct err **err);
/* $ISOLA_VM_COLD unset, empty or "0": take the warm path (set: tests and benchmarks of cold boots).
 */
bool vmct_warm_wanted(void);
/*
 * vmct_warm_get with SIGINT/TERM/HUP/QUIT blocked meanwhile and read from a
 * signalfd: one of them stops a build (ECANCELED, nothing left) and is
 * consumed, not left to kill the caller once unblocked.
 */
int vmct_warm_get_blocking(const char *cachedir, const struct vmct_run_opts *o,
			   struct vmct_warm *ret, struct err **err);
/*
 * Restore o->warm with o->disk and a socket in @dir, connect to the agent
 * (ECANCELED: a signal on @sigfd came first) and send the WARM frame.  *vmm,
 * *pidfd and *conn are set as they come up, for the caller to clean up.
 */
int vmct_warm_start(const struct vmct_run_opts *o, const char *dir, int sigfd, pid_t *vmm,
		    int *pidfd, int *conn, struct err **err);
/* Connect to the agent through the VMM's hybrid vsock at @uds, retrying until it listens. */
int vmct_warm_connect(const char *uds, int pidfd, int sigfd, unsigned timeout_s, int *ret_fd,
		      struct err **err);
/* The WARM frame: the host's time and fresh entropy. */
int vmct_warm_send(int fd, struct err **err);
/*
 * fork + exec @argv with its output into @console, dying with us (PR_SET_PDEATHSIG),
 * in the network namespace @netns (a path; VMCT_NETNS_NEW: a new, empty one; NULL: ours).
 */
#define VMCT_NETNS_NEW ""
int vmct_spawn_vmm(const char *const *argv, const char *console, const char *netns, pid_t *ret_pid,
		   int *ret_pidfd, struct err **err);

/* A further process in a running VM container (exec.c, protocol v2). */
struct vmct_exec_opts {
	const struct vmct_config *proc; /* tty: our in_fd goes raw, SIGWINCH becomes WINCH */
	int in_fd;			/* the process's stdin, -1: none (EOF at once) */
	int out_fd, err_fd;		/* where its stdout and stderr go */
	bool forward_signals;		/* SIGINT/SIGTERM/SIGHUP/SIGQUIT to the process */
	unsigned connect_timeout_s;	/* for CONNECT, HELLO and CONFIG together (0: 30 s) */
	/*
	 * The OCI exec's monitor (oci-exec.c): called once the CONFIG went out
	 * (the process is the agent's now), before the relay starts.  NULL: none.
	 * With forward_signals, SIGUSR1/SIGUSR2/SIGALRM are relayed too when
	 * relay_all_signals is set (as kill does for the container's process).
	 */
	void (*session_ready)(void *arg);
	void *hook_arg;
	bool relay_all_signals;
};

/*
 * Run o->proc in the VM whose VMM serves hybrid vsock at @vsock_uds (the
 * `--vsock uds=` path): "CONNECT 1025" to the agent's listener, then one
 * session; its exit status (0..255) in *ret_status.  A terminal (proc->tty)
 * on o->in_fd is put in raw mode for the session and restored on every path.
 */
int vmct_exec(const char *vsock_uds, const struct vmct_exec_opts *o, int *ret_status,
	      struct err **err);
/*
 * The same session held by an exec monitor (oci-exec.c) with /dev/null as
 * its stdio: `exec -d`.  Returns once the agent has the process, the
 * monitor's pid in *ret_pid (it outlives us and exits with the process's
 * status); no terminal (c->tty is refused).
 */
int vmct_exec_detached(const char *vsock_uds, struct vmct_config *c, pid_t *ret_pid,
		       struct err **err);

/* Frame helpers the host sides share: one frame to a socket (blocking; no SIGPIPE). */
int vmct_send_frame(int fd, uint32_t type, const void *p, uint32_t n);
struct vmct_outq;
/* A WINCH frame with @tty_fd's size, queued (nothing if it is not a terminal). */
int vmct_queue_winch(struct vmct_outq *q, int tty_fd);
/* @fd's terminal size (0, 0: not a terminal). */
void vmct_term_size(int fd, uint16_t *ret_rows, uint16_t *ret_cols);
/* Put @fd in raw mode if it is a terminal (its old mode in *ret_saved): false if not. */
bool vmct_term_raw(int fd, struct termios *ret_saved);
