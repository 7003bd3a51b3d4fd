/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The OCI runtime mode of VM containers (docs/vm-containers.md): runc's
 * create / start / state / kill / delete, with the container's process in a
 * micro-VM.  A monitor process (monitor.c) owns the VMM and the vsock
 * connection; the state dir holds vm.json, the root disk and its sockets.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "err.h"
#include "proto.h"

/* The annotation that asks for a VM, and the prefix of its settings. */
#define VMCT_OCI_ANNOTATION "run.isola.vm"
/* What the binary is called when it always runs containers in VMs. */
#define VMCT_OCI_NAME "isola-vm"
/* Files in <root>/<id>/ of a VM container (state.c reads the first three). */
#define VMCT_OCI_FILE	 "vm.json"
#define VMCT_OCI_STARTED "vm.started"
#define VMCT_OCI_EXIT	 "vm.exit"
#define VMCT_OCI_CTL	 "ctl.sock"
#define VMCT_OCI_DISK	 "rootfs-ct.ext4"
/* host.c's socket dirs: /tmp/isola-vmct-XXXXXX. */
#define VMCT_SOCKDIR_PREFIX "/tmp/isola-vmct-"

struct vmct_oci_sel {
	bool vm;
	const char *kernel, *modules; /* absolute paths, or NULL: the defaults */
	uint64_t memory;	      /* bytes, 0: the default */
	unsigned cpus;		      /* 0: the default */
	bool init;		      /* run.isola.vm.init=true: the agent's init is PID 1 */
};

/*
 * Whether (and how) a container runs in a VM: @by_name (invoked as isola-vm)
 * or run.isola.vm=true in @annotations (a JSON object or NULL).  Under
 * isola-vm, run.isola.vm=false is refused.  Bad or unknown run.isola.vm.*
 * annotations fail with a message naming them.  Strings point into
 * @annotations.
 */
int vmct_oci_select(bool by_name, json_t *annotations, struct vmct_oci_sel *ret, struct err **err);

/*
 * Does @bundle's config.json ask for a VM?  1 yes, 0 no, < 0 error (a bad
 * annotation).  Cheap for plain containers: the JSON is parsed only when
 * the text holds "run.isola.vm"; an unreadable config is left to create.
 */
int vmct_oci_wanted(bool by_name, const char *bundle, struct err **err);

struct vmct_config;
/*
 * An OCI process object (config.json's process, or exec's --process file)
 * into @c: args, env, cwd, user (uid, gid, additionalGids), terminal,
 * capabilities, noNewPrivileges.  Strings point into
 * @proc; free c->argv and c->env (the arrays only).  Errors name the field.
 */
int vmct_oci_load_process(json_t *proc, struct vmct_config *c, struct err **err);
struct ct_seccomp;
/*
 * linux.seccomp of config.json @spec compiled (*ret, NULL: none) and given to
 * @c, which points into it: keep *ret (ct_seccomp_free) while @c is used.
 */
int vmct_oci_load_seccomp(json_t *spec, struct ct_seccomp **ret, struct vmct_config *c,
			  struct err **err);
/*
 * linux.maskedPaths and readonlyPaths of @spec as @c->paths ("M PATH", "R
 * PATH"; strv_free it); at most VMCT_PATHS_MAX in all, each a path the
 * agent takes (vmct_path_ok), else an error naming the entry.
 */
int vmct_oci_load_paths(json_t *spec, struct vmct_config *c, struct err **err);
/*
 * linux.sysctl of @spec as @c->sysctls ("KEY VALUE"; strv_free it): keys
 * that are namespaced for a plain container (ct_sysctl_namespace), at most
 * VMCT_SYSCTLS_MAX, each an entry the agent takes (vmct_sysctl_ok), else an
 * error naming the key.  The agent writes them in the guest, whose kernel
 * is the container's alone.
 */
int vmct_oci_load_sysctls(json_t *spec, struct vmct_config *c, struct err **err);

struct vmct_share;

/* config.json's mounts, planned for a VM (oci-mounts.c): what the guest makes, what is copied. */
struct vmct_oci_file {
	char *src, *dest; /* a host file, its path in the container */
};
struct vmct_oci_mounts {
	char **guest; /* the CONFIG's mount entries, NULL-terminated (NULL: none) */
	size_t n_guest;
	struct vmct_oci_file *files; /* binds of regular files: copied into the root disk */
	size_t n_files;
	struct vmct_share *shares; /* shared directories, share i tagged VMCT_FS_PREFIX i */
	size_t n_shares;
};
/*
 * Each mount of @mounts carried or refused with a message naming it:
 * /proc, /sys, /dev, /dev/pts are the agent's own; tmpfs, mqueue and
 * cgroup (at /sys/fs/cgroup) are made in the guest; a bind of a regular
 * file (up to 1 MiB) is copied; a directory bound at /dev/shm becomes a
 * guest tmpfs; another directory is shared (virtio-fs, up to VMCT_FS_MAX);
 * anything else (devices, other types, options we cannot honour) is
 * refused.  Relative sources are @bundle's.  A tmpfs's tmpcopyup goes to the
 * guest with it: the agent copies what the root has at its destination.
 */
int vmct_oci_mounts_plan(json_t *mounts, const char *bundle, struct vmct_oci_mounts *ret,
			 struct err **err);
/* Copy the file binds into the ext4 image @disk now (debugfs; scratch files in @dirfd). */
int vmct_oci_mounts_copy(const struct vmct_oci_mounts *p, int dirfd, const char *disk,
			 struct err **err);
/*
 * run --vm, whose root disk is the image's shared one: the first file bind
 * (its destination) that cannot be carried, i.e. other than /etc/hosts,
 * /etc/resolv.conf and /etc/hostname where @hosts, @resolv, @hostname say
 * the CONFIG brings that file (a network's); NULL if there is none.
 */
const char *vmct_oci_mounts_file_left(const struct vmct_oci_mounts *p, bool hosts, bool resolv,
				      bool hostname);
void vmct_oci_mounts_free(struct vmct_oci_mounts *p);

/*
 * `isola run --vm -d` (the image CLI) has done part of create's work: the VM's
 * settings come from its options (the annotations are not read), the root disk
 * is the image's cached read-only one (no per-container mkfs), and the
 * monitor's stdio goes to the container's log.
 */
/*
 * The guest's NIC (docs/vm-containers.md "Networking"): the VMM runs in the network
 * namespace @netns (a path) with `--net @vmm_net`, the TAP @tap being there; the
 * agent gives the guest's eth0 @cfg.
 */
struct vmct_oci_nic {
	const char *netns, *vmm_net, *tap;
	struct vmct_net cfg;
};

/*
 * A NIC for the interface @v (net_vm_link's answer) and its TAP @tap in @netns:
 * @vmm_net gets the VMM's --net; *ret points at it and at @netns and @tap.
 */
#define VMCT_OCI_NIC_ARG 64
struct net_vm_iface;
void vmct_oci_nic_make(const struct net_vm_iface *v, const char *netns, const char *tap,
		       char vmm_net[VMCT_OCI_NIC_ARG], struct vmct_oci_nic *ret);

struct vmct_oci_image {
	struct vmct_oci_sel sel; /* kernel (required), modules, memory, cpus */
	/* A network (run --vm -d --network bridge|NAME): its NIC, NULL: none. */
	const struct vmct_oci_nic *nic;
	/* The UTS name and /etc files the agent writes (NULL: none; vmct_config's). */
	const char *hostname, *etc_hosts, *etc_resolv, *etc_hostname;
	const char *initrd, *disk; /* run --vm's cached initramfs and root disk */
	const char *vsock_note;	   /* the bundle's note for `isola exec` (vmct_run_opts) */
	const char *cache;	   /* <store>/vm: run --vm's warm templates too */
	int stdio[3];		   /* the monitor's stdin, stdout, stderr */
};

struct vmct_oci_create_opts {
	const char *root, *id, *bundle, *pid_file, *console_socket;
	bool by_name;			    /* invoked as isola-vm */
	unsigned boot_timeout_s;	    /* 0: 600 */
	const struct vmct_oci_image *image; /* NULL: the runtime's create */
	/* A warm start fell back to a cold boot: its one-line note (NULL: dropped). */
	void (*warn)(const char *note);
};

/*
 * create: the state dir, root disk and initramfs, the monitor and its VM;
 * returns once the guest agent waits for `start`.  *ret_pid is the
 * monitor's pid (our child).  On failure nothing is left behind.
 */
int vmct_oci_create(const struct vmct_oci_create_opts *o, pid_t *ret_pid, struct err **err);
/* Is <root>/<id> a VM container? */
bool vmct_oci_is_vm(const char *root, const char *id);
int vmct_oci_start(const char *root, const char *id, struct err **err);
int vmct_oci_kill(const char *root, const char *id, int sig, struct err **err);
int vmct_oci_delete(const char *root, const char *id, bool force, struct err **err);
/*
 * The VMM's hybrid-vsock socket (<dir>/v.sock of vm.json) of a running VM
 * container, and its bundle (*ret_bundle, optional): for exec.
 */
int vmct_oci_vsock(const char *root, const char *id, char **ret_uds, char **ret_bundle,
		   struct err **err);

struct vmct_oci_exec_opts {
	const char *root, *id;
	const char *process_file;   /* an OCI process JSON, else args + the container's process */
	char **args, **env;	    /* env: K=V replacing or adding to the container's */
	const char *cwd, *user;	    /* user: UID[:GID], numbers */
	const char *pid_file;	    /* the exec's host pid: ours, or the exec monitor's (detach) */
	const char *console_socket; /* with a terminal: the pty master goes here */
	char **caps;		    /* --cap: added to the process's sets, as runc does */
	bool tty, detach, no_new_privs;
};

/*
 * exec in a running VM container (oci-exec.c): the process runs in the guest
 * through the agent's exec port.  Foreground: we hold the session and return
 * its status in *ret_status.  detach: a per-exec monitor (setsid, our child,
 * its pid in pid_file) holds it and exits with the process's status; we
 * return once the agent has the process (*ret_status 0).
 */
int vmct_oci_exec(const struct vmct_oci_exec_opts *o, int *ret_status, struct err **err);

/* runc's rules for a terminal (process.terminal) and --console-socket (oci-exec.c). */
int vmct_oci_check_tty(bool tty, bool detach, const char *console_socket, struct err **err);
/*
 * A pty for process.terminal: its master goes to @console_socket (SCM_RIGHTS,
 * as runc sends it), its slave (sized @rows x @cols unless 0) becomes the
 * controlling terminal of the caller, a session leader; *ret_slave.  The
 * engine's resize of the master then reaches the caller as SIGWINCH.
 */
int vmct_oci_console(const char *console_socket, uint16_t rows, uint16_t cols, int *ret_slave,
		     struct err **err);

/*
 * The exit status of a stopped VM container: vm.exit's, else 137 when its
 * monitor is gone without one (SIGKILLed: the VM died with it).  -ENOENT: not a
 * VM container; -EBUSY: still running.
 */
int vmct_oci_exit_status(const char *root, const char *id, int *ret_status);
/* The monitor's pid and start time from vm.json (0s when unreadable). */
void vmct_oci_monitor(const char *root, const char *id, pid_t *ret_pid, uint64_t *ret_start);
/* Remove a socket dir a killed monitor left (only a VMCT_SOCKDIR_PREFIX one). */
void vmct_oci_rm_sockdir(const char *dir, pid_t vmm);

/* monitor.c: the monitor's side, run in the child create forked. */
struct vmct_run_opts;
struct vmct_monitor {
	/*
	 * create's end: "W <note>\n" lines (a warm start that fell back), then
	 * "R <vmm pid> <dir>\n" or "E <msg>"; create answers "G".
	 */
	int sync_fd;
	int ctl_fd;		  /* the listening ctl.sock */
	int client;		  /* the start request being answered */
	unsigned ready_wait;	  /* seconds create may take to say "G" */
	struct vmct_config *proc; /* a terminal's size is read again at start */
	const char *warm_cache;	  /* the warm templates' dir (warm.c); NULL: boot cold */
};
/*
 * One request line from a ctl.sock client into buf (cap bytes), NUL-terminated
 * without its '\n': -ETIMEDOUT for a client silent too long, -EIO at EOF,
 * -EMSGSIZE for a line that does not fit.
 */
int vmct_read_request(int fd, char *buf, size_t cap);

/* Run the VM in the monitor (cwd: the state dir); returns the exit status to exit with. */
int vmct_monitor_run(struct vmct_monitor *m, struct vmct_run_opts *o);
