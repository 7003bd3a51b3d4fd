/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VMM's confinement (confine.h): capabilities cut, then a seccomp filter.
 *
 * The filter is a fixed classic-BPF program built here, not with libseccomp:
 * it is known at build time (as Firecracker compiles its filters ahead of
 * time), and the VMM maps no library it does not need (lazylib.h).  The
 * kernel caches the verdict of every system call whose verdict does not
 * depend on its arguments (Linux 5.11's action cache), so only ioctl, socket
 * and clone run the program on each call; ioctl, the VMM's hot call
 * (KVM_RUN), is tested first.  Installing it costs ~0.35 ms here, most of
 * it the kernel's (a one-instruction filter costs 0.12 ms; a search tree
 * instead of the flat list measured no faster) and the bounding set's drops.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps-sys.h"
#include "cleanup.h"
#include "confine.h"
#include "seccomp-bpf.h"

#define BIT(c) (UINT64_C(1) << (c))

/*
 * CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID: the VMM opens the
 * disk, kernel and snapshot files it is given, and virtio-fs creates, chowns
 * and chmods files in shared directories as the guest asks (fuse-server.c).
 * NET_ADMIN: TUNSETIFF creates a TAP and rtnl.c attaches it to a bridge.
 * NET_BIND_SERVICE: a migration may listen on a port below 1024.
 * IPC_LOCK, SYS_RESOURCE: locked or huge-page guest memory; virtio-fs raises
 * RLIMIT_NOFILE.  Everything else goes: SYS_ADMIN, SYS_PTRACE, SYS_MODULE,
 * SYS_RAWIO, MKNOD (virtio-fs then makes no device node: fifos and sockets
 * need no capability), SETUID, SETGID, KILL, NET_RAW, ...
 */
const uint64_t vmm_confine_caps = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) |
				  BIT(CAP_DAC_READ_SEARCH) | BIT(CAP_FOWNER) | BIT(CAP_FSETID) |
				  BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_NET_ADMIN) |
				  BIT(CAP_IPC_LOCK) | BIT(CAP_SYS_RESOURCE);

/* System calls refused with EPERM whatever their arguments. */
static const int denied[] = {
    /* Another program, or another process's memory. */
    __NR_ptrace,
    __NR_process_vm_readv,
    __NR_process_vm_writev,
    __NR_kcmp,
    __NR_pidfd_getfd,
    __NR_process_madvise,
    /* Mounts, roots and namespaces. */
    __NR_mount,
    __NR_umount2,
    __NR_pivot_root,
    __NR_chroot,
    __NR_setns,
    __NR_unshare,
    __NR_open_tree,
    __NR_move_mount,
    __NR_fsopen,
    __NR_fsconfig,
    __NR_fsmount,
    __NR_fspick,
    __NR_mount_setattr,
    /* The kernel itself. */
    __NR_init_module,
    __NR_finit_module,
    __NR_delete_module,
    __NR_kexec_load,
    __NR_kexec_file_load,
    __NR_bpf,
    __NR_perf_event_open,
    __NR_reboot,
    __NR_swapon,
    __NR_swapoff,
    __NR_iopl,
    __NR_ioperm,
    __NR_acct,
    __NR_syslog,
    __NR_quotactl,
    __NR_quotactl_fd,
    __NR_lookup_dcookie,
    __NR_uselib,
    __NR_vhangup,
    __NR_personality,
    __NR_settimeofday,
    __NR_clock_settime,
    __NR_clock_adjtime,
    __NR_adjtimex,
    /* Keyrings, and attack surface no VMM path uses. */
    __NR_keyctl,
    __NR_add_key,
    __NR_request_key,
    __NR_io_uring_setup,
    __NR_io_uring_enter,
    __NR_io_uring_register,
    __NR_userfaultfd,
    __NR_open_by_handle_at,
    __NR_name_to_handle_at,
    __NR_fanotify_init,
    __NR_migrate_pages,
    __NR_move_pages,
    /* Identity: no uid or gid change, no capability raised back. */
    __NR_setuid,
    __NR_setgid,
    __NR_setreuid,
    __NR_setregid,
    __NR_setresuid,
    __NR_setresgid,
    __NR_setfsuid,
    __NR_setfsgid,
    __NR_setgroups,
    __NR_capset,
};

/* The exec calls: refused unless --on-reboot restart needs them. */
static const int exec_calls[] = {__NR_execve, __NR_execveat};

const int *vmm_confine_denied(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(denied);
	return denied;
}

#define NS_FLAGS                                                                       \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
	 CLONE_NEWPID | CLONE_NEWNET)
#define ARG_LO(n)    SECCOMP_ARG_LO(n)
#define JEQ(k, t, f) SECCOMP_JEQ(k, t, f)
#define LOAD(offset) SECCOMP_LOAD(offset)
#define DENY(e)	     SECCOMP_DENY(e)
#define ALLOW	     SECCOMP_ALLOW

#define PROG_MAX 192

struct prog {
	struct sock_filter f[PROG_MAX];
	unsigned short n;
};

static void emit(struct prog *p, struct sock_filter ins)
{
	if (p->n < PROG_MAX)
		p->f[p->n] = ins;
	p->n++; /* past PROG_MAX: build() refuses the program */
}

/* nr == NR: refused with EPERM. */
static void deny_nr(struct prog *p, int nr)
{
	emit(p, (struct sock_filter)JEQ((unsigned)nr, 0, 1));
	emit(p, (struct sock_filter)DENY(EPERM));
}

/*
 * The program: the ABI, the three calls judged by an argument (each ends in a
 * verdict), then the flat list of the numbers refused.
 */
static int build(struct prog *p, const struct vmm_confine_opts *o)
{
	static const struct sock_filter head[] = {
	    SECCOMP_HEAD_X86_64,
	    /* ioctl: everything but typing into a terminal (the request is an unsigned int). */
	    JEQ(__NR_ioctl, 0, 5),
	    LOAD(ARG_LO(1)),
	    JEQ(TIOCSTI, 1, 0),
	    JEQ(TIOCLINUX, 0, 1),
	    DENY(EPERM),
	    ALLOW,
	    /* clone: threads, never a new namespace (the kernel reads the low 32 bits). */
	    JEQ(__NR_clone, 0, 4),
	    LOAD(ARG_LO(0)),
	    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1),
	    DENY(EPERM),
	    ALLOW,
	    /* clone3's flags are in memory the filter cannot read: glibc falls back to clone. */
	    JEQ(__NR_clone3, 0, 1),
	    DENY(ENOSYS),
	    /* socket: unix (API, vsock), inet and inet6 (migration), netlink (TAP set-up). */
	    JEQ(__NR_socket, 0, 7),
	    LOAD(ARG_LO(0)),
	    JEQ(AF_UNIX, 3, 0),
	    JEQ(AF_INET, 2, 0),
	    JEQ(AF_INET6, 1, 0),
	    JEQ(AF_NETLINK, 0, 1),
	    ALLOW,
	    DENY(EAFNOSUPPORT),
	};

	for (size_t i = 0; i < ARRAY_SIZE(head); i++)
		emit(p, head[i]);
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++)
		deny_nr(p, denied[i]);
	for (size_t i = 0; !o->allow_exec && i < ARRAY_SIZE(exec_calls); i++)
		deny_nr(p, exec_calls[i]);
	emit(p, (struct sock_filter)ALLOW);
	return p->n <= PROG_MAX ? 0 : -E2BIG;
}

/* Every capability set cut to vmm_confine_caps (and to what we hold). */
static int cut_caps(struct err **err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {};
	struct ct_caps c = {.bounding = vmm_confine_caps};
	const char *what = NULL;
	uint64_t perm, eff, inh;
	int cap = -1, r;

	if (syscall(SYS_capget, &hdr, d) < 0)
		return err_make(err, errno, "capget");
	perm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	inh = (uint64_t)d[1].inheritable << 32 | d[0].inheritable;
	/*
	 * Without CAP_SETPCAP the bounding set cannot shrink: a non-root VMM
	 * (it holds nothing) or one restarted by a confined one (cut already).
	 */
	if (eff & BIT(CAP_SETPCAP)) {
		r = ct_caps_sys_drop_bounding(&c, &cap);
		if (r < 0)
			return err_make(err, -r, "drop capability %d from the bounding set", cap);
	}
	/* Cut already (a restart: the filter it inherited refuses capset, too). */
	if (!(perm & ~vmm_confine_caps) && eff == perm && !inh)
		return 0;
	c.permitted = perm & vmm_confine_caps;
	c.effective = c.permitted;
	r = ct_caps_sys_apply(&c, &what, &cap);
	if (r < 0)
		return err_make(err, -r, "%s", what);
	return 0;
}

int vmm_confine(const struct vmm_confine_opts *o, struct err **err)
{
	static struct prog p;
	struct sock_fprog fprog;
	int r;

	p.n = 0;
	r = build(&p, o);
	if (r < 0)
		return err_make(err, -r, "the VMM's seccomp filter has more than %d instructions",
				PROG_MAX);
	r = cut_caps(err);
	if (r < 0)
		return err_wrap(err, "confine the VMM"), r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_make(err, errno, "confine the VMM: no_new_privs");
	if (o->restarted && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2)
		return 0;
	fprog = (struct sock_fprog){.len = p.n, .filter = p.f};
	/* TSYNC: a thread started before us (none today) gets it too, or we fail. */
	r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog);
	if (r != 0)
		return err_make(err, r < 0 ? errno : EBUSY,
				"confine the VMM: install the seccomp filter%s",
				r > 0 ? " (a thread could not take it)" : "");
	return 0;
}
