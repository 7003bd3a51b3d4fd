/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola-agent: PID 1 of the initramfs that `isola run --vm` boots.
 *
 * It mounts /proc, /sys and /dev, loads the kernel modules the host put in
 * /modules (in name order: the host numbers them dependencies first), connects
 * to the host over virtio-vsock (CID 2, VMCT_PORT), reads the process config,
 * mounts the image's root disk (/dev/vda, ext4, read-only) under a tmpfs-backed
 * overlay, and runs the process there: chroot, setgid/setuid, exec.  Its stdout
 * and stderr go to the host as frames, the host's stdin and signals come back;
 * its exit status is the last frame.  Then the VM powers off.
 *
 * This slice uses chroot + setuid, not isola's container code (namespaces,
 * cgroups, seccomp, capabilities) inside the guest: the VM is the boundary.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <linux/vm_sockets.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define NEWROOT "/newroot"

extern char **environ;

static int vsock = -1;

static void klog(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (fd >= 0) {
		dprintf(fd, "isola-agent: %s\n", buf);
		close(fd);
	}
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= w;
	}
	return 0;
}

static int send_frame(uint32_t type, const void *p, uint32_t n)
{
	uint8_t hdr[VMCT_HDR];

	vmct_frame_header(hdr, type, n);
	if (vsock < 0 || write_all(vsock, hdr, sizeof(hdr)) < 0)
		return -1;
	return n ? write_all(vsock, p, n) : 0;
}

static void send_u32(uint32_t type, uint32_t v)
{
	uint8_t b[4];

	vmct_put_u32(b, v);
	send_frame(type, b, 4);
}

/* Wait for the host to close (up to 10 s), so the last frames reach it, then power off. */
static __attribute__((noreturn)) void finish(void)
{
	struct pollfd p = {.fd = vsock, .events = POLLIN};
	char b[256];

	if (vsock >= 0) {
		shutdown(vsock, SHUT_WR);
		while (poll(&p, 1, 10000) > 0 && read(vsock, b, sizeof(b)) > 0)
			;
	}
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static __attribute__((noreturn, format(printf, 1, 2))) void fatal(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	klog("%s", buf);
	send_frame(VMCT_ERROR, buf, strlen(buf));
	finish();
}

static void load_modules(void)
{
	struct dirent **ents = NULL;
	int n = scandir("/modules", &ents, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		char p[512];
		int fd;

		if (ents[i]->d_name[0] != '.') {
			snprintf(p, sizeof(p), "/modules/%s", ents[i]->d_name);
			fd = open(p, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
				klog("load %s: %s", p, strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		free(ents[i]);
	}
	free(ents);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* The host listens before the VM starts; retry briefly while vsock comes up. */
static int connect_host(void)
{
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = VMCT_PORT};

	for (int i = 0; i < 300; i++) {
		int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		klog("connect to the host: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		sleep_ms(100);
	}
	return -1;
}

/* Read frames until a complete one is in buf; returns its size, -1 on EOF/error. */
static long read_frame(uint8_t *buf, size_t *have, size_t cap, uint32_t *type, const uint8_t **pl,
		       uint32_t *plen)
{
	for (;;) {
		long r = vmct_frame_next(buf, *have, type, pl, plen);
		ssize_t n;

		if (r != 0)
			return r;
		n = read(vsock, buf + *have, cap - *have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		*have += n;
	}
}

static void mkdirs(const char *const *dirs)
{
	for (; *dirs; dirs++)
		if (mkdir(*dirs, 0755) < 0 && errno != EEXIST)
			klog("mkdir %s: %s", *dirs, strerror(errno));
}

static void setup_root(void)
{
	static const char *const d1[] = {"/lower", "/rw", NEWROOT, NULL};
	static const char *const d2[] = {"/rw/upper", "/rw/work", NULL};
	static const char *const d3[] = {NEWROOT "/proc", NEWROOT "/sys", NEWROOT "/dev",
					 NEWROOT "/tmp", NULL};
	int i;

	mkdirs(d1);
	for (i = 0; i < 300 && access("/dev/vda", F_OK) < 0; i++)
		sleep_ms(100);
	if (mount("/dev/vda", "/lower", "ext4", MS_RDONLY, "noload") < 0)
		fatal("mount the root disk /dev/vda: %s", strerror(errno));
	if (mount("tmpfs", "/rw", "tmpfs", 0, "mode=0755") < 0)
		fatal("mount tmpfs: %s", strerror(errno));
	mkdirs(d2);
	if (mount("overlay", NEWROOT, "overlay", 0,
		  "lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work") < 0)
		fatal("mount the overlay root: %s", strerror(errno));
	mkdirs(d3);
	if (mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
	    mount("sysfs", NEWROOT "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0 ||
	    mount("devtmpfs", NEWROOT "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, NULL) < 0)
		fatal("mount /proc, /sys, /dev in the root: %s", strerror(errno));
}

/* The child: stdio from the pipes, into the root, drop to uid/gid, exec. */
static __attribute__((noreturn)) void child(const struct vmct_config *c, int in, int out, int err)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(125);
	if (chdir(NEWROOT) < 0 || chroot(".") < 0) {
		dprintf(2, "isola-agent: chroot: %s\n", strerror(errno));
		_exit(125);
	}
	if (chdir(c->cwd) < 0) {
		dprintf(2, "isola-agent: chdir `%s`: %s\n", c->cwd, strerror(errno));
		_exit(125);
	}
	if (setgroups(0, NULL) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0) {
		dprintf(2, "isola-agent: set uid %u gid %u: %s\n", c->uid, c->gid, strerror(errno));
		_exit(125);
	}
	environ = c->env;
	execvp(c->argv[0], c->argv);
	dprintf(2, "isola-agent: exec `%s`: %s\n", c->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

struct relay {
	pid_t pid;
	int pidfd, in, out, err;
	bool exited;
	int status;
	uint8_t *buf;
	size_t have;
};

/* A pipe's bytes to the host; false at EOF. */
static bool pump(int *fd, uint32_t type)
{
	static char b[VMCT_DATA_MAX];
	ssize_t n = read(*fd, b, sizeof(b));

	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		return false;
	}
	send_frame(type, b, n);
	return true;
}

/* The whole frames in r->buf: stdin bytes, EOF, signals. */
static int host_frames(struct relay *r)
{
	const uint8_t *pl;
	uint32_t type, len;
	long f;

	while ((f = vmct_frame_next(r->buf, r->have, &type, &pl, &len)) > 0) {
		if (type == VMCT_STDIN && len == 0 && r->in >= 0) {
			close(r->in);
			r->in = -1;
		} else if (type == VMCT_STDIN && r->in >= 0) {
			write_all(r->in, pl, len);
		} else if (type == VMCT_SIGNAL && len == 4 && !r->exited) {
			uint32_t sig = vmct_get_u32(pl);

			if (sig > 0 && sig < 65)
				kill(r->pid, sig);
		}
		memmove(r->buf, r->buf + f, r->have - f);
		r->have -= f;
	}
	return f < 0 ? -1 : 0;
}

static int host_input(struct relay *r)
{
	ssize_t n = read(vsock, r->buf + r->have, VMCT_HDR + VMCT_FRAME_MAX - r->have);

	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	r->have += n;
	return host_frames(r);
}

static void reap(struct relay *r)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == r->pid) {
			r->exited = true;
			r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
}

static void relay(struct relay *r)
{
	/* Frames that came with the config (stdin, an early signal) are not news to poll. */
	if (host_frames(r) < 0)
		vsock = -1;
	while (r->out >= 0 || r->err >= 0 || !r->exited) {
		struct pollfd p[4] = {
		    {.fd = r->out, .events = POLLIN},
		    {.fd = r->err, .events = POLLIN},
		    {.fd = r->exited ? -1 : r->pidfd, .events = POLLIN},
		    {.fd = vsock, .events = POLLIN},
		};
		/* Once the process is gone, a pipe a descendant still holds is drained briefly. */
		int n = poll(p, 4, r->exited ? 200 : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (p[0].revents)
			pump(&r->out, VMCT_STDOUT);
		if (p[1].revents)
			pump(&r->err, VMCT_STDERR);
		if (p[2].revents)
			reap(r);
		if (p[3].revents && host_input(r) < 0) {
			klog("the host closed the connection");
			if (!r->exited)
				kill(r->pid, SIGKILL);
			vsock = -1;
		}
	}
	reap(r);
}

static void run(const struct vmct_config *c, uint8_t *buf, size_t have)
{
	struct relay r = {.buf = buf, .have = have, .pidfd = -1};
	int in[2], out[2], err[2];

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		fatal("pipe: %s", strerror(errno));
	r.pid = fork();
	if (r.pid < 0)
		fatal("fork: %s", strerror(errno));
	if (r.pid == 0)
		child(c, in[0], out[1], err[1]);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	r.in = in[1];
	r.out = out[0];
	r.err = err[0];
	r.pidfd = syscall(SYS_pidfd_open, r.pid, 0);
	if (r.pidfd < 0)
		fatal("pidfd_open: %s", strerror(errno));
	relay(&r);
	while (!r.exited && waitpid(r.pid, &r.status, 0) == r.pid) {
		r.exited = true;
		r.status = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
	}
	send_u32(VMCT_EXIT, r.status);
}

int main(void)
{
	static uint8_t buf[VMCT_HDR + VMCT_FRAME_MAX];
	struct vmct_config c;
	const uint8_t *pl;
	const char *why;
	uint32_t type, len;
	size_t have = 0;
	long f;

	signal(SIGPIPE, SIG_IGN);
	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	load_modules();
	vsock = connect_host();
	if (vsock < 0)
		fatal("cannot connect to the host over vsock");
	send_frame(VMCT_HELLO, VMCT_VERSION, strlen(VMCT_VERSION));
	f = read_frame(buf, &have, sizeof(buf), &type, &pl, &len);
	if (f < 0 || type != VMCT_CONFIG)
		fatal("expected a config frame from the host");
	if (vmct_config_parse(pl, len, &c, &why) < 0)
		fatal("bad config from the host: %s", why);
	memmove(buf, buf + f, have - f);
	have -= f;
	if (c.tty)
		fatal("a terminal (-t) is not supported in a VM container yet");
	setup_root();
	run(&c, buf, have);
	finish();
}
