/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One container process in a micro-VM, the host side.  A private directory
 * holds the vsock socket the VMM connects to when the agent dials the host
 * (<dir>/v.sock_VMCT_PORT, virtio/vsock.c) and the VM's console log.  The VMM
 * is `isola vm run` as a child; we relay frames until the agent reports the
 * exit status, then wait for the VMM (the agent powers the VM off) and remove
 * the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "relay.h"
#include "spawn.h"
#include "text.h"
#include "vmct.h"

#define CMDLINE	     "console=ttyS0 reboot=k panic=-1 quiet"
#define STOP_WAIT_MS 30000
#define CONSOLE_TAIL 2048
/* The agent takes its config at once; exec.c gives an exec session as long. */
#define CONFIG_SEND_MS 30000

struct host {
	const struct vmct_run_opts *o;
	char dir[64];
	pid_t vmm;
	int pidfd, listen_fd, sigfd;
	bool vmm_exited;
	int vmm_status;
	struct vmct_relay r; /* the session: r.conn is the agent's connection */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int listen_at(struct host *h, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/v.sock_%u", h->dir, VMCT_PORT);
	h->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0 || bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(h->listen_fd, 1) < 0)
		return err_make(err, errno, "listen on `%s`", sa.sun_path);
	return 0;
}

static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = setns(fd, CLONE_NEWNET);
	close(fd);
	return r;
}

/* `vm run`'s argv: the fixed options, --net, VMCT_FS_MAX times --fs, the NULL. */
#define VMM_ARGV_MAX (24 + 2 * VMCT_FS_MAX)

static int spawn_vmm(struct host *h, struct err **err)
{
	const struct vmct_run_opts *o = h->o;
	char mem[32], cpus[16], disk[PATH_MAX + 8], vsock[128], console[96];
	char fs[VMCT_FS_MAX][PATH_MAX + 32];
	const char *argv[VMM_ARGV_MAX] = {o->vmm,    "vm",
					  "run",     "--kernel",
					  o->kernel, "--initrd",
					  o->initrd, "--cmdline",
					  CMDLINE,   "--memory",
					  mem,	     "--cpus",
					  cpus,	     "--virtio-transport",
					  "pci",     "--disk",
					  disk,	     "--vsock",
					  vsock};
	size_t n = 0;

	snprintf(mem, sizeof(mem), "%lluK", (unsigned long long)(o->memory >> 10));
	snprintf(cpus, sizeof(cpus), "%u", o->cpus ? o->cpus : 1);
	snprintf(disk, sizeof(disk), "%s,ro", o->disk);
	snprintf(vsock, sizeof(vsock), "cid=3,uds=%s/v.sock", h->dir);
	snprintf(console, sizeof(console), "%s/console.log", h->dir);
	while (argv[n])
		n++;
	if (o->net) {
		argv[n++] = "--net";
		argv[n++] = o->net;
	}
	if (o->n_shares > VMCT_FS_MAX)
		return err_make(err, E2BIG, "more than %u shared directories", VMCT_FS_MAX);
	for (unsigned i = 0; i < o->n_shares; i++) {
		if ((size_t)snprintf(fs[i], sizeof(fs[i]), "tag=" VMCT_FS_PREFIX "%u,path=%s%s", i,
				     o->shares[i].path,
				     o->shares[i].ro ? ",ro" : "") >= sizeof(fs[i]))
			return err_make(err, ENAMETOOLONG, "shared directory `%.64s`",
					o->shares[i].path);
		argv[n++] = "--fs";
		argv[n++] = fs[i];
	}
	h->vmm = fork();
	if (h->vmm < 0)
		return err_make(err, errno, "fork");
	if (h->vmm == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		spawn_child_signals();
		/* Its own process group: a terminal's ^C reaches us, and we tell the guest. */
		setpgid(0, 0);
		/* And it does not outlive us, even when we are killed. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
			_exit(127);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		/* Its TAP is in the container's network namespace: it opens it by name. */
		if (o->netns && enter_netns(o->netns) < 0) {
			dprintf(2, "enter the network namespace `%s`: %s\n", o->netns,
				strerror(errno));
			_exit(127);
		}
		execv(o->vmm, (char **)argv);
		dprintf(2, "exec `%s`: %s\n", o->vmm, strerror(errno));
		_exit(127);
	}
	h->pidfd = syscall(SYS_pidfd_open, h->vmm, 0);
	if (h->pidfd < 0)
		return err_make(err, errno, "pidfd_open");
	return 0;
}

static void reap_vmm(struct host *h)
{
	int st;

	if (h->vmm_exited || h->vmm <= 0)
		return;
	if (waitpid(h->vmm, &st, WNOHANG) == h->vmm) {
		h->vmm_exited = true;
		h->vmm_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

/*
 * Until @fd has @events (1), by @end.  The container does not run yet, so a
 * signal stops the VM (there is nothing to pass it to), and so does the VMM's
 * end.  @what and @until word the timeout and the VMM's end.
 */
static int wait_agent(struct host *h, int fd, short events, int64_t end, unsigned secs,
		      const char *what, const char *until, struct err **err)
{
	for (;;) {
		struct pollfd p[3] = {{.fd = fd, .events = events},
				      {.fd = h->pidfd, .events = POLLIN},
				      {.fd = h->sigfd, .events = POLLIN}};
		int64_t left = end - now_ms();

		if (left <= 0)
			return err_make(err, ETIMEDOUT, "the VM's agent did not %s in %us", what,
					secs);
		if (poll(p, 3, left > INT_MAX ? INT_MAX : (int)left) < 0 && errno != EINTR)
			return err_make(err, errno, "poll");
		if (p[2].revents) {
			struct signalfd_siginfo si = {};

			/* A terminal resized while the VM boots: the size goes with the start. */
			if (read(h->sigfd, &si, sizeof(si)) != sizeof(si) ||
			    si.ssi_signo == SIGWINCH)
				continue;
			return err_make(err, ECANCELED, "signal %u before the container started",
					si.ssi_signo);
		}
		if (p[0].revents)
			return 1;
		if (p[1].revents) {
			reap_vmm(h);
			return err_make(err, 0, "the VM exited (status %d) before %s",
					h->vmm_status, until);
		}
	}
}

/* Wait for the agent to dial in (the VMM connects our socket), up to the boot timeout. */
static int accept_agent(struct host *h, struct err **err)
{
	unsigned secs = h->o->boot_timeout_s ? h->o->boot_timeout_s : 600;
	int64_t end = now_ms() + (int64_t)secs * 1000;
	int r;

	while (h->r.conn < 0) {
		r = wait_agent(h, h->listen_fd, POLLIN, end, secs, "connect", "its agent connected",
			       err);
		if (r < 0)
			return r;
		h->r.conn = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	}
	return 0;
}

/*
 * All of @p to the agent by @end: a guest that never reads must not hold us in
 * a blocking send with the signals blocked (a 900 KB config of a long
 * --env-file did).
 */
static int send_agent(struct host *h, const void *p, size_t n, int64_t end, struct err **err)
{
	const uint8_t *c = p;
	int r;

	while (n) {
		ssize_t w = send(h->r.conn, c, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w >= 0) {
			c += w;
			n -= (size_t)w;
		} else if (errno == EAGAIN) {
			r = wait_agent(h, h->r.conn, POLLOUT, end, CONFIG_SEND_MS / 1000,
				       "take its config", "the container started", err);
			if (r < 0)
				return r;
		} else if (errno != EINTR) {
			return err_make(err, errno, "send the config to the agent");
		}
	}
	return 0;
}

static int send_config(struct host *h, struct err **err)
{
	_cleanup_free_ uint8_t *cfg = NULL;
	int64_t end = now_ms() + CONFIG_SEND_MS;
	uint8_t hdr[VMCT_HDR];
	uint32_t len;
	int r;

	cfg = vmct_config_encode(h->o->proc, &len);
	if (!cfg)
		return err_make(err, errno, "the process config");
	vmct_frame_header(hdr, VMCT_CONFIG, len);
	r = send_agent(h, hdr, sizeof(hdr), end, err);
	if (r >= 0)
		r = send_agent(h, cfg, len, end, err);
	if (r >= 0 && h->o->in_fd < 0) {
		vmct_frame_header(hdr, VMCT_STDIN, 0);
		r = send_agent(h, hdr, sizeof(hdr), end, err);
	}
	return r;
}

/* The VMM stops once the agent powers off; after STOP_WAIT_MS it is killed. */
static void stop_vmm(struct host *h, bool kill_now)
{
	struct pollfd p = {.fd = h->pidfd, .events = POLLIN};
	int st;

	if (h->vmm <= 0 || h->vmm_exited)
		return;
	if (kill_now || poll(&p, 1, STOP_WAIT_MS) <= 0)
		kill(h->vmm, SIGKILL);
	while (waitpid(h->vmm, &st, 0) < 0 && errno == EINTR)
		;
	h->vmm_exited = true;
	h->vmm_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The end of the console, for an error message: guest text, escaped. */
static char *console_tail(struct host *h)
{
	_cleanup_free_ char *buf = NULL;
	char p[96];
	size_t len = 0;

	snprintf(p, sizeof(p), "%s/console.log", h->dir);
	if (h->o->console_copy) {
		_cleanup_free_ char *all = NULL;
		size_t n = 0;

		if (read_file_at(AT_FDCWD, p, 16u << 20, &all, &n, NULL) >= 0)
			write_file_atomic_at(AT_FDCWD, h->o->console_copy, all, n, 0600, NULL);
	}
	if (read_file_at(AT_FDCWD, p, 16u << 20, &buf, &len, NULL) < 0 || len == 0)
		return strdup("(no console output)");
	if (len > CONSOLE_TAIL)
		return text_escape_ctl(buf + len - CONSOLE_TAIL, CONSOLE_TAIL);
	return text_escape_ctl(buf, len);
}

static void host_cleanup(struct host *h)
{
	char p[128];

	if (h->o->vsock_note)
		unlink(h->o->vsock_note);
	stop_vmm(h, true);
	if (h->r.conn >= 0)
		close(h->r.conn);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	if (h->pidfd >= 0)
		close(h->pidfd);
	if (h->sigfd >= 0)
		close(h->sigfd);
	if (h->dir[0]) {
		const char *const files[] = {"v.sock_1024", "v.sock", "console.log"};

		for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
			snprintf(p, sizeof(p), "%s/%s", h->dir, files[i]);
			unlink(p);
		}
		rmdir(h->dir);
	}
	vmct_relay_free(&h->r);
}

/*
 * Where exec finds the VM (vmct_exec): the VMM's hybrid-vsock socket.  The note
 * is a path; write_file_atomic_at wants a directory and a name in it.
 */
static int write_vsock_note(struct host *h, struct err **err)
{
	_cleanup_free_ char *dir = strdup(h->o->vsock_note);
	_cleanup_close_ int dfd = -1;
	char p[128], *name = dir ? strrchr(dir, '/') : NULL;

	if (!dir)
		return err_make(err, ENOMEM, "vsock note");
	if (name) {
		*name++ = '\0';
		dfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return err_make(err, errno, "open `%s`", dir);
	}
	snprintf(p, sizeof(p), "%s/v.sock\n", h->dir);
	return write_file_atomic_at(name ? dfd : AT_FDCWD, name ? name : dir, p, strlen(p), 0600,
				    err);
}

static int start(struct host *h, sigset_t *mask, struct err **err)
{
	int r;

	snprintf(h->dir, sizeof(h->dir), "/tmp/isola-vmct-XXXXXX");
	if (!mkdtemp(h->dir)) {
		h->dir[0] = '\0';
		return err_make(err, errno, "mkdtemp");
	}
	h->sigfd = signalfd(-1, mask, SFD_CLOEXEC);
	if (h->sigfd < 0)
		return err_make(err, errno, "signalfd");
	if (h->o->warm) {
		r = vmct_warm_start(h->o, h->dir, h->sigfd, &h->vmm, &h->pidfd, &h->r.conn, err);
	} else {
		r = listen_at(h, err);
		if (r >= 0)
			r = spawn_vmm(h, err);
		if (r >= 0)
			r = accept_agent(h, err);
	}
	if (r >= 0 && h->o->agent_ready)
		r = h->o->agent_ready(h->o->hook_arg, h->vmm, h->pidfd, h->dir, err);
	if (r >= 0)
		r = send_config(h, err);
	if (r >= 0 && h->o->config_sent)
		h->o->config_sent(h->o->hook_arg);
	if (r >= 0 && h->o->vsock_note)
		r = write_vsock_note(h, err);
	return r;
}

int vmct_run(const struct vmct_run_opts *o, int *ret_status, struct err **err)
{
	struct host h = {.o = o, .pidfd = -1, .listen_fd = -1, .sigfd = -1};
	struct termios saved;
	sigset_t mask, old;
	bool raw;
	int r;

	if (vmct_relay_init(&h.r) < 0)
		return err_make(err, ENOMEM, "buffer");

	/* Relayed: `isola kill` of a VM container signals its monitor (oci.c). */
	vmct_relayed_set(&mask);
	sigprocmask(SIG_BLOCK, &mask, &old);
	r = start(&h, &mask, err);
	if (r >= 0) {
		/* Raw once the process runs (and restored before any message). */
		raw = o->proc->tty && vmct_term_raw(o->in_fd, &saved);
		h.r.in = o->in_fd;
		h.r.out = o->out_fd;
		h.r.err = o->err_fd;
		h.r.sigfd = h.sigfd;
		h.r.end = h.pidfd; /* the VMM */
		if (o->proc->tty)
			h.r.tty = o->in_fd >= 0 ? o->in_fd : o->out_fd;
		vmct_relay_run(&h.r);
		if (raw)
			tcsetattr(o->in_fd, TCSANOW, &saved);
		/* The agent waits for this close before it powers the VM off. */
		close(h.r.conn);
		h.r.conn = -1;
		stop_vmm(&h, !h.r.got_exit);
	}
	if (r >= 0 && !h.r.got_exit) {
		_cleanup_free_ char *tail = console_tail(&h);

		if (h.r.agent_error)
			r = err_make(err, 0, "in the VM: %s", h.r.agent_error);
		else
			r = err_make(err, 0,
				     "the VM ended (status %d) without the container's exit "
				     "status; its console ends with:\n%s",
				     h.vmm_status, tail ? tail : "");
	} else if (r < 0 && err && *err && err_code(*err) != -ECANCELED) {
		/* (A signal's ECANCELED stays as it is: run --vm's warm path tells it apart.) */
		_cleanup_free_ char *tail = console_tail(&h), *msg = strdup((*err)->msg);

		err_free(err);
		r = err_make(err, 0, "%s; the VM console ends with:\n%s", msg ? msg : "",
			     tail ? tail : "");
	}
	host_cleanup(&h);
	/*
	 * A signal that came after the relay (while the VMM stopped) is still pending:
	 * unblocked, it would kill us before the caller removes the bundle.  The VM is
	 * gone already, so it is consumed here.
	 */
	while (sigtimedwait(&mask, NULL, &(struct timespec){0}) > 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r >= 0)
		*ret_status = h.r.status;
	return r;
}
