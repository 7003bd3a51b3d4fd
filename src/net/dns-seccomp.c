/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The DNS responder's seccomp filter: an allow-list of the calls its loop makes (poll,
 * receive and send, accept, inet sockets to upstreams, reading the records and
 * resolv.conf, memory, time, random ids, exit).  Anything else fails with ENOSYS, as
 * an unknown call does in crun's and Docker's profiles, so glibc takes its fallback
 * where it has one (faccessat2 was one the tests found missing; run with
 * SECCOMP_RET_KILL_PROCESS instead, the DNS and network suites pass and the audit log
 * shows no kill); a socket of another family fails with EAFNOSUPPORT.  So code run
 * through a parser flaw cannot exec, ptrace, mount, open netlink or unix sockets, or
 * change its credentials.  Installed last, after Landlock (dns-server.c confine()).
 */
#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "dns-server-internal.h"
#include "seccomp-bpf.h"

static const int allowed[] = {
    /* the loop and its sockets */
    __NR_poll,
    __NR_ppoll,
    __NR_recvfrom,
    __NR_recvmsg,
    __NR_sendto,
    __NR_sendmsg,
    __NR_accept4,
    __NR_accept,
    __NR_connect,
    __NR_shutdown,
    __NR_getsockname,
    __NR_getpeername,
    __NR_getsockopt,
    __NR_setsockopt,
    /* files: the records, networks, resolv.conf (inotify is set up before) */
    __NR_read,
    __NR_write,
    __NR_close,
    __NR_openat,
    __NR_fstat,
    __NR_newfstatat,
    __NR_statx,
    __NR_lseek,
    __NR_getdents64,
    __NR_faccessat,
    __NR_faccessat2,
    __NR_access,
    __NR_fcntl,
    __NR_flock,
    /* memory, time, ids, signals, exit */
    __NR_brk,
    __NR_mmap,
    __NR_munmap,
    __NR_mremap,
    __NR_madvise,
    __NR_mprotect,
    __NR_futex,
    __NR_clock_gettime,
    __NR_gettimeofday,
    __NR_clock_nanosleep,
    __NR_nanosleep,
    __NR_getrandom,
    __NR_getpid,
    __NR_gettid,
    __NR_rt_sigprocmask,
    /* abort(), fortify: the process's own end */
    __NR_rt_sigaction,
    __NR_tgkill,
    __NR_writev,
    __NR_rt_sigreturn,
    __NR_restart_syscall,
    __NR_exit,
    __NR_exit_group,
};

/* The head, socket's family test, one test per allowed call, the default. */
#define PROG_LEN (6 + 6 + 2 * ARRAY_SIZE(allowed) + 1)

int dnsd_seccomp(struct err **err)
{
	static const struct sock_filter head[] = {
	    SECCOMP_HEAD_X86_64,
	    /* socket: inet and inet6 only (the upstream queries). */
	    SECCOMP_JEQ(__NR_socket, 0, 5),
	    SECCOMP_LOAD(SECCOMP_ARG_LO(0)),
	    SECCOMP_JEQ(AF_INET, 1, 0),
	    SECCOMP_JEQ(AF_INET6, 0, 1),
	    SECCOMP_ALLOW,
	    SECCOMP_DENY(EAFNOSUPPORT),
	};
	struct sock_filter f[PROG_LEN];
	struct sock_fprog prog = {.len = 0, .filter = f};

	for (size_t i = 0; i < ARRAY_SIZE(head); i++)
		f[prog.len++] = head[i];
	for (size_t i = 0; i < ARRAY_SIZE(allowed); i++) {
		f[prog.len++] = (struct sock_filter)SECCOMP_JEQ((unsigned)allowed[i], 0, 1);
		f[prog.len++] = (struct sock_filter)SECCOMP_ALLOW;
	}
	f[prog.len++] = (struct sock_filter)SECCOMP_DENY(ENOSYS);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return err_make(err, errno, "dns-serve: seccomp filter");
	return 0;
}
