/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VMM's confinement (src/vmm/confine.c), without KVM: each check runs in a
 * child that confines itself as the VMM does and then tries what a VMM taken
 * over by its guest would (exec, namespaces, mounts, raw sockets, typing
 * into the terminal, another syscall ABI, raising a uid), and what the VMM
 * itself must still do (threads, fork-free clone, unix/inet/netlink sockets,
 * ordinary ioctls and file I/O).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine.h"
#include "tap.h"

/* Run fn in a child confined with allow_exec; its exit status, or 128 + the signal. */
static int confined(int (*fn)(void), bool allow_exec)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct err *err = NULL;

		if (vmm_confine(&(struct vmm_confine_opts){.allow_exec = allow_exec}, &err) < 0) {
			printf("# vmm_confine: %s\n", err->msg);
			_exit(100);
		}
		fflush(stdout);
		_exit(fn());
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* 0 when the call failed with errno e, else 1 (2 when it succeeded). */
static int want_errno(long r, int e)
{
	return r >= 0 ? 2 : errno == e ? 0 : 1;
}

static int try_exec(void)
{
	char *argv[] = {"sh", "-c", "exit 7", NULL};

	execv("/bin/sh", argv);
	return errno == EPERM ? 0 : 1;
}

static int try_namespaces(void)
{
	return want_errno(unshare(CLONE_NEWNS), EPERM) | want_errno(unshare(CLONE_NEWUSER), EPERM) |
	       want_errno(setns(0, 0), EPERM) |
	       want_errno(mount("none", "/tmp", "tmpfs", 0, NULL), EPERM) |
	       want_errno(syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0), EPERM) |
	       want_errno(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), EPERM);
}

static void *thread_main(void *arg)
{
	return arg;
}

/* Threads (glibc tries clone3, refused with ENOSYS, then clone) and a plain fork. */
static int try_threads(void)
{
	static int token;
	pthread_t t;
	void *back = NULL;
	pid_t pid;
	int st;

	if (syscall(SYS_clone3, NULL, 0) >= 0 || errno != ENOSYS)
		return 1;
	if (pthread_create(&t, NULL, thread_main, &token) || pthread_join(t, &back) ||
	    back != &token)
		return 2;
	pid = fork();
	if (pid == 0)
		_exit(3);
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 3 ? 0
											       : 4;
}

static int try_sockets(void)
{
	static const int ok_domains[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
	int fd;

	for (size_t i = 0; i < sizeof(ok_domains) / sizeof(ok_domains[0]); i++) {
		fd = socket(ok_domains[i], ok_domains[i] == AF_NETLINK ? SOCK_RAW : SOCK_STREAM, 0);
		if (fd < 0)
			return 10 + (int)i;
		close(fd);
	}
	return want_errno(socket(AF_PACKET, SOCK_RAW, 0), EAFNOSUPPORT) |
	       want_errno(socket(AF_VSOCK, SOCK_STREAM, 0), EAFNOSUPPORT) |
	       want_errno(socket(AF_ALG, SOCK_SEQPACKET, 0), EAFNOSUPPORT);
}

/* fd -1: without the filter the kernel answers EBADF, so EPERM is the filter's. */
static int try_ioctls(void)
{
	char c = 'x';
	int n;

	return want_errno(ioctl(-1, TIOCSTI, &c), EPERM) |
	       want_errno(ioctl(-1, TIOCLINUX, &c), EPERM) |
	       want_errno(ioctl(-1, FIONREAD, &n), EBADF);
}

/* What the VMM does all day: files, eventfds, memory. */
static int try_io(void)
{
	char path[] = "/tmp/isola-confine-XXXXXX", buf[4] = "";
	int fd = mkstemp(path), efd = eventfd(0, EFD_CLOEXEC);
	uint64_t one = 1;
	int r = 0;

	if (fd < 0 || efd < 0)
		return 1;
	if (write(fd, "abc", 3) != 3 || pread(fd, buf, 3, 0) != 3 || strcmp(buf, "abc") ||
	    write(efd, &one, sizeof(one)) != sizeof(one))
		r = 2;
	unlink(path);
	close(fd);
	close(efd);
	return r;
}

static int try_identity(void)
{
	return want_errno(setuid(1000), EPERM) | want_errno(setgid(1000), EPERM) |
	       want_errno(syscall(SYS_io_uring_setup, 1, NULL), EPERM) |
	       want_errno(syscall(SYS_bpf, 0, NULL, 0), EPERM) |
	       want_errno(syscall(SYS_ptrace, 0, 0, 0, 0), EPERM);
}

/*
 * Every number of the deny list, with junk arguments (-1: bad fds, pointers and
 * flags, so that a call the filter let through would fail harmlessly).
 */
static int try_each_denied(void)
{
	size_t n;
	const int *nrs = vmm_confine_denied(&n);
	int bad = 0;

	for (size_t i = 0; i < n; i++)
		if (syscall(nrs[i], -1L, -1L, -1L, -1L, -1L, -1L) != -1 || errno != EPERM) {
			printf("# system call %d was not refused\n", nrs[i]);
			bad = 1;
		}
	return bad;
}

/*
 * --on-reboot restart: a confined VMM (exec allowed) execs isola again, which
 * confines itself once more: capset, which the inherited filter refuses, is
 * not needed (the sets are cut), and with `restarted` no second filter stacks.
 */
static const char *again_mode;
static uint64_t status_mask(const char *key);

static int try_restart(void)
{
	char *argv[] = {"test-vmm-confine", "again", (char *)again_mode, NULL};

	execv("/proc/self/exe", argv);
	return 1;
}

/* The exec'd side: 0 when it confined itself with the filters it should have. */
static int again(const char *mode)
{
	struct err *err = NULL;
	bool restarted = !strcmp(mode, "restarted");

	if (vmm_confine(&(struct vmm_confine_opts){.allow_exec = true, .restarted = restarted},
			&err) < 0) {
		printf("# again: %s\n", err->msg);
		return 1;
	}
	return status_mask("Seccomp_filters:") == (restarted ? 1u : 2u) ? 0 : 2;
}

/* getpid through int 0x80 (the i386 ABI): the filter kills, as for any foreign ABI. */
static int try_i386_abi(void)
{
	long r = 20; /* __NR_getpid on i386 */

	__asm__ volatile("int $0x80" : "+a"(r) : : "memory");
	return 0;
}

static uint64_t status_mask(const char *key)
{
	char line[256];
	uint64_t v = UINT64_MAX;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtoull(line + strlen(key), NULL, 16);
	if (f)
		fclose(f);
	return v;
}

/* The capability sets before the child confined itself. */
static uint64_t cap_eff_before, cap_bnd_before;

static int check_status(void)
{
	uint64_t keep = vmm_confine_caps & cap_eff_before;

	if (status_mask("NoNewPrivs:") != 1 || status_mask("Seccomp:") != 2)
		return 1;
	if (status_mask("CapEff:") != keep || status_mask("CapPrm:") != keep ||
	    status_mask("CapInh:") != 0 || status_mask("CapAmb:") != 0)
		return 2;
	return status_mask("CapBnd:") == (vmm_confine_caps & cap_bnd_before) ? 0 : 3;
}

/* int 0x80 in an unconfined child: a kernel without IA32 emulation answers SIGSEGV. */
static bool has_i386_abi(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(try_i386_abi());
	/* (Under ASan its SEGV handler exits 1.) */
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
	bool root;

	/* _exit: LeakSanitizer's exit-time check would ptrace, which the filter refuses. */
	if (argc == 3 && !strcmp(argv[1], "again")) {
		int r = again(argv[2]);

		fflush(stdout);
		_exit(r);
	}

	cap_eff_before = status_mask("CapEff:");
	cap_bnd_before = status_mask("CapBnd:");
	root = geteuid() == 0 && cap_eff_before == cap_bnd_before;

	setvbuf(stdout, NULL, _IONBF, 0);
	is_int(confined(try_exec, false), 0, "exec is refused (EPERM)");
	is_int(confined(try_exec, true), 7, "with allow_exec (--on-reboot restart) exec works");
	is_int(confined(try_namespaces, false), 0,
	       "unshare, setns, mount and clone with CLONE_NEWNET/NEWUSER are refused");
	is_int(confined(try_threads, false), 0,
	       "clone3 answers ENOSYS; threads and a plain fork still start");
	is_int(confined(try_sockets, false), 0,
	       "unix, inet, inet6 and netlink sockets open; packet, vsock and alg do not");
	is_int(confined(try_ioctls, false), 0,
	       "TIOCSTI and TIOCLINUX are refused, FIONREAD is not");
	is_int(confined(try_io, false), 0, "files and eventfds work");
	if (has_i386_abi())
		is_int(confined(try_i386_abi, false), 128 + SIGSYS,
		       "a system call of the i386 ABI kills");
	else
		skip("this kernel has no i386 ABI (int 0x80 faults)", "");
	if (root) {
		is_int(confined(try_identity, false), 0,
		       "setuid, setgid, io_uring, bpf and ptrace are refused");
		again_mode = "restarted";
		is_int(
		    confined(try_restart, true), 0,
		    "a restart exec'd by a confined VMM confines itself again, adding no filter");
		again_mode = "fresh";
		is_int(confined(try_restart, true), 0,
		       "without `restarted` it stacks a second filter, and capset is not needed");
		is_int(confined(try_each_denied, false), 0,
		       "each number of the deny list is refused");
		is_int(confined(check_status, false), 0,
		       "no_new_privs, a filter, and every capability set cut to the VMM's");
	} else {
		skip("not root with every capability: uid changes are refused anyway", "");
		skip("not root with every capability", "");
		skip("not root with every capability", "");
		skip("not root with every capability", "");
		skip("not root with every capability", "");
	}
	return tap_done();
}
