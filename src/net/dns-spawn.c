/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Starting a network's DNS responder (dns-server.c) and waiting for it to go.  The
 * starter binds the sockets (so a clash is its error, before the container starts), then
 * double-forks `isola network dns-serve` with them as fds 4.. and the locked pid file
 * as fd 3.  <network>.lock orders a start against the responder's last look at the state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "dns-internal.h"
#include "fdutil.h"
#include "net.h"
#include "strv.h"

#define SETTLE_MS 5000

/* ---- starting and waiting ---- */

const char *net_dns_resolv_path(void)
{
	const char *rc = getenv("ISOLA_DNS_RESOLV_CONF");

	return rc && *rc ? rc : "/etc/resolv.conf";
}

void net_dns_stat_id(const struct stat *st, char *buf, size_t size)
{
	if (st)
		snprintf(buf, size, "%ju:%ju", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino);
	else
		snprintf(buf, size, "-");
}

/* The process pid has the file pf as its fd 3 (as the responder has its pid file). */
static bool holds_pid_file(int pid, int pf)
{
	char p[64];
	struct stat a, b;

	snprintf(p, sizeof(p), "/proc/%d/fd/%d", pid, FD_PID);
	return stat(p, &a) == 0 && fstat(pf, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/*
 * The living responder (pf, its pid file, locked by it) cannot read the resolv.conf its
 * PATH names now (replaced since: another ID): killed, and true once its pid file is ours.
 * Called under the network's lock, so no other responder starts meanwhile; one starting
 * has an empty pid file (truncated before the spawn) and is left alone, as is anything
 * that is not, by its fd 3, the holder of this pid file.
 */
static bool stop_if_stale(int pf)
{
	char buf[PATH_MAX + 128] = "", id[64], now[64], *path, *end;
	ssize_t n = pread(pf, buf, sizeof(buf) - 1, 0);
	_cleanup_close_ int pidfd = -1;
	struct stat st;
	int pid;

	if (n <= 0 || sscanf(buf, "%d\n%63s\n", &pid, id) != 2 || pid <= 1 || streq(id, "*"))
		return false;
	path = strchr(buf, '\n');
	path = path ? strchr(path + 1, '\n') : NULL;
	end = path ? strchr(++path, '\n') : NULL;
	if (!end || *path != '/')
		return false;
	*end = '\0';
	net_dns_stat_id(stat(path, &st) == 0 && S_ISREG(st.st_mode) ? &st : NULL, now, sizeof(now));
	if (streq(id, now))
		return false;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 || !holds_pid_file(pid, pf))
		return false;
	/* Nothing of it to save: its state is net/state. */
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
		return false;
	/*
	 * The pidfd polls readable once the process has exited, after all its files are
	 * closed: its sockets on port 53 too, not only the pid file's lock.
	 */
	if (poll(&(struct pollfd){.fd = pidfd, .events = POLLIN}, 1, SETTLE_MS) <= 0)
		return false;
	return flock(pf, LOCK_EX | LOCK_NB) == 0;
}

/* A UDP socket or a TCP listener on addr port 53. */
static int bind_53(const char *addr, int type, struct err **err)
{
	struct sockaddr_storage sa = {};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
	socklen_t len;
	int one = 1, fd;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		len = sizeof(*s6);
	} else {
		return err_make(err, 0, "DNS: bad gateway address `%s`", addr);
	}
	fd = socket(sa.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_make(err, errno, "DNS: socket");
	if (type == SOCK_STREAM) /* a restarted responder finds its port in TIME_WAIT */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* The bridge's IPv6 address may still be tentative (DAD). */
	if (sa.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0)) {
		int e = errno;

		close(fd);
		return err_make(err, e, "DNS responder: bind %s port 53%s", addr,
				type == SOCK_STREAM ? "/tcp" : "");
	}
	return fd;
}

/* In the grandchild: fds in place, a clean signal state, then isola network dns-serve. */
static void __attribute__((noreturn))
exec_server(const char *store, const char *network, int pid_fd, const int *socks, size_t n)
{
	char *argv[] = {"isola",       "network",	"dns-serve", "--store",
			(char *)store, (char *)network, NULL};
	/* Not the environment of whichever run started it: the responder outlives that. */
	static char resolv[8192], cwd[4096];
	const char *rc = getenv("ISOLA_DNS_RESOLV_CONF");
	char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", rc ? resolv : NULL, NULL};
	int hi[1 + MAX_SOCKS], nul;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* A relative resolv.conf is the caller's: made absolute before the chdir. */
	if (rc && *rc != '/' && !getcwd(cwd, sizeof(cwd)))
		_exit(127);
	if (chdir("/") < 0)
		_exit(127);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	hi[0] = fcntl(pid_fd, F_DUPFD, 64);
	for (size_t i = 0; i < n; i++)
		hi[1 + i] = fcntl(socks[i], F_DUPFD, 64);
	nul = open("/dev/null", O_RDWR);
	if (nul < 0 || hi[0] < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0 ||
	    dup2(hi[0], FD_PID) < 0)
		_exit(127);
	for (size_t i = 0; i < n; i++)
		if (hi[1 + i] < 0 || dup2(hi[1 + i], FD_SOCK + i) < 0)
			_exit(127);
	close_fds_from(FD_SOCK + n);
	if (rc && snprintf(resolv, sizeof(resolv), "ISOLA_DNS_RESOLV_CONF=%s%s%s",
			   *rc == '/' ? "" : cwd, *rc == '/' ? "" : "/", rc) >= (int)sizeof(resolv))
		_exit(127);
	execve("/proc/self/exe", argv, envp);
	_exit(127);
}

/* Double fork: the responder is nobody's child and in a session of its own. */
static int spawn(const char *store, const char *network, int pid_fd, const int *socks, size_t n,
		 struct err **err)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return err_make(err, errno, "DNS responder: fork");
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		exec_server(store, network, pid_fd, socks, n);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return err_make(err, ECHILD, "DNS responder: fork");
	return 0;
}

int net_dns_ensure(const char *store, const char *network, char **addrs, struct err **err)
{
	_cleanup_free_ char *dir = NULL, *lp = net_dns_file(store, network, ".lock"),
			    *pp = net_dns_file(store, network, ".pid");
	_cleanup_close_ int lk = -1, pf = -1;
	int socks[MAX_SOCKS];
	size_t n = 0;
	int r = 0;

	if (!lp || !pp || asprintf(&dir, "%s/net/dns", store) < 0)
		return err_make(err, ENOMEM, "DNS");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_make(err, errno, "mkdir `%s`", dir);
	lk = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lk < 0 || flock(lk, LOCK_EX) < 0)
		return err_make(err, errno, "lock `%s`", lp);
	pf = open(pp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (pf < 0)
		return err_make(err, errno, "open `%s`", pp);
	if (flock(pf, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return err_make(err, errno, "lock `%s`", pp);
		if (!stop_if_stale(pf))
			return 0; /* it serves on */
	}
	for (size_t i = 0; addrs && addrs[i] && n + 2 <= MAX_SOCKS && r >= 0; i++) {
		for (int k = 0; k < 2 && r >= 0; k++) {
			r = bind_53(addrs[i], k ? SOCK_STREAM : SOCK_DGRAM, err);
			if (r >= 0)
				socks[n++] = r;
		}
	}
	if (r >= 0 && n == 0)
		r = err_make(err, 0, "network `%s`: no gateway address for its DNS responder",
			     network);
	/* Until the new responder writes it, no pid: a stale check leaves a starting one be. */
	if (r >= 0 && ftruncate(pf, 0) < 0)
		r = err_make(err, errno, "truncate `%s`", pp);
	if (r >= 0)
		r = spawn(store, network, pf, socks, n, err);
	for (size_t i = 0; i < n; i++)
		close(socks[i]);
	if (r < 0)
		return err_wrap(err, "network `%s`", network);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The responder is gone: its pid file is not locked (looked at under the network's lock). */
static bool gone(int lk, int pf)
{
	bool r;

	if (flock(lk, LOCK_EX) < 0)
		return false;
	r = flock(pf, LOCK_EX | LOCK_NB) == 0;
	if (r)
		flock(pf, LOCK_UN);
	flock(lk, LOCK_UN);
	return r;
}

void net_dns_settle(const char *store, const char *network)
{
	_cleanup_free_ char *pp = net_dns_file(store, network, ".pid"),
			    *lp = net_dns_file(store, network, ".lock");
	_cleanup_close_ int pf = pp ? open(pp, O_RDWR | O_CLOEXEC) : -1;
	_cleanup_close_ int lk = lp ? open(lp, O_RDWR | O_CLOEXEC) : -1;
	uint64_t end = now_ms() + SETTLE_MS;

	if (pf < 0 || lk < 0 || net_dns_members(store, network) > 0)
		return;
	/*
	 * The responder exits within a millisecond or two of seeing the state go (and from
	 * its last look until it is gone, gone() waits on its lock): look every 1 ms at first,
	 * then every 10 ms.
	 */
	for (int i = 0; !gone(lk, pf) && now_ms() < end; i++)
		nanosleep(&(struct timespec){0, (i < 50 ? 1 : 10) * 1000 * 1000}, NULL);
}

void net_dns_forget(const char *store, const char *network)
{
	_cleanup_free_ char *pp = net_dns_file(store, network, ".pid"),
			    *lp = net_dns_file(store, network, ".lock");
	_cleanup_close_ int lk = lp ? open(lp, O_RDWR | O_CLOEXEC) : -1;
	_cleanup_close_ int pf = pp ? open(pp, O_RDWR | O_CLOEXEC) : -1;

	/* Under the network's lock, and only if no responder holds the pid file. */
	if (lk < 0 || flock(lk, LOCK_EX) < 0)
		return;
	if (pf >= 0 && flock(pf, LOCK_EX | LOCK_NB) < 0)
		return;
	unlink(pp);
	unlink(lp);
}
