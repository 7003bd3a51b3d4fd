/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Warm starts for `isola run --vm` (docs/vm-containers.md, "Warm starts").
 *
 * A template VM per (kernel, initramfs, memory, cpus, transport) boots once
 * with `isola.warm=1` on its command line: its agent loads every module but
 * the disk's driver, listens on vsock port VMCT_PORT and waits.  The builder
 * sees its HELLO (a CONNECT through the VMM's hybrid vsock), has the VMM write
 * a snapshot (SIGUSR2), kills it, and renames the directory into place as
 * <cache>/warm-KEY: state, mem and warm.info (the placeholder disk's and the
 * vsock socket's paths as the snapshot saved them, for the remaps).
 *
 * A container with N volumes restores a template of its own key with N
 * virtio-fs shares (tags VMCT_FS_PREFIX0..N-1) of an empty read-only
 * placeholder directory.  The template's agent loads no virtiofs driver
 * (that comes with the first virtiofs mount of a CONFIG), so no driver has
 * taken the shares when the snapshot is written, and the VMM restores them
 * onto the container's directories (--fs-remap TAG=DIR,ro|rw).
 *
 * Each container then runs `isola vm restore` of the template with its own
 * root disk remapped over the placeholder and a vsock socket of its own; the
 * host connects to the waiting agent, sends the time and fresh entropy (a
 * WARM frame: clones share their RNG state), then the CONFIG as on a cold
 * boot.  The memory file is mapped MAP_PRIVATE by the restore, never copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image.h"
#include "spawn.h"
#include "text.h"
#include "vmct.h"

/* host.c's command line, and the agent's cue that this boot is a template. */
#define WARM_CMDLINE	  "console=ttyS0 reboot=k panic=-1 quiet isola.warm=1"
#define WARM_INFO	  "warm.info"
#define WARM_KEYFILE	  "warm.key" /* what the key hashes: the files it was built from */
#define WARM_KEY_TEXT_MAX (3 * PATH_MAX + 512)
#define WARM_INFO_MAX	  8192
#define WARM_PLACEHOLDER  (1u << 20)
#define WARM_SNAP_WAIT	  120000 /* ms for the VMM to write the snapshot */
#define WARM_SEED	  64
#define WARM_INFO_LINES	  4  /* disk=, vsock=, then net= (a NIC) and fs=N (shares) */
#define WARM_IFNAME_MAX	  15 /* IFNAMSIZ - 1 */
/*
 * The template's NIC: a TAP of this name in a network namespace of the build's
 * own (it goes with the VMM), and a fixed locally administered MAC (each
 * container's agent sets eth0's, docs/vm-containers.md "Warm starts with a NIC").
 */
#define WARM_TAP "warm0"
#define WARM_NET "tap=" WARM_TAP ",mac=02:00:00:00:00:01"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stat_part(const char *what, const char *path, char *out, size_t n, struct err **err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_make(err, errno, "%s `%s`", what, path);
	snprintf(out, n, "%s=%s:%llu:%lld.%09ld:%llu:%llu\n", what, path,
		 (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return 0;
}

/* The text a template's key hashes, kept in the template as warm.key (prune reads it back). */
static int key_text(const char *vmm, const char *kernel, const char *initrd, uint64_t memory,
		    unsigned cpus, bool nic, unsigned n_fs, char *out, size_t n, struct err **err)
{
	char v[PATH_MAX + 128], k[PATH_MAX + 128], i[PATH_MAX + 128], fs[16] = "";
	int r;

	if (!memory || !cpus)
		return err_make(err, EINVAL, "warm template: memory and cpus must be set");
	if (n_fs > VMCT_FS_MAX)
		return err_make(err, E2BIG, "warm template: more than %u shares", VMCT_FS_MAX);
	/* The VMM too: another isola may not restore this one's snapshot format. */
	r = stat_part("vmm", vmm, v, sizeof(v), err);
	if (r >= 0)
		r = stat_part("kernel", kernel, k, sizeof(k), err);
	if (r >= 0)
		r = stat_part("initrd", initrd, i, sizeof(i), err);
	if (r < 0)
		return err_wrap(err, "warm template key");
	/* v1: the agent's warm protocol; the initrd's name carries the agent's hash. */
	if (n_fs)
		snprintf(fs, sizeof(fs), "fs=%u\n", n_fs);
	snprintf(out, n, "isola-warm v1\n%s%s%smemory=%llu\ncpus=%u\ntransport=pci\n%s%s", v, k, i,
		 (unsigned long long)memory, cpus, nic ? "nic=1\n" : "", fs);
	return 0;
}

static int key_of_text(const char *text, char ret[VMCT_WARM_KEY_LEN + 1], struct err **err)
{
	char digest[IMG_DIGEST_LEN + 1];
	int r = img_sha256_digest(text, strlen(text), digest, err);

	if (r < 0)
		return err_wrap(err, "warm template key");
	snprintf(ret, VMCT_WARM_KEY_LEN + 1, "%.*s", VMCT_WARM_KEY_LEN, img_digest_hex(digest));
	return 0;
}

int vmct_warm_key(const char *vmm, const char *kernel, const char *initrd, uint64_t memory,
		  unsigned cpus, bool nic, unsigned n_fs, char ret[VMCT_WARM_KEY_LEN + 1],
		  struct err **err)
{
	char all[WARM_KEY_TEXT_MAX];
	int r = key_text(vmm, kernel, initrd, memory, cpus, nic, n_fs, all, sizeof(all), err);

	return r < 0 ? r : key_of_text(all, ret, err);
}

/*
 * Is one "what=PATH:size:mtime:dev:ino" line of warm.key still what stat_part says of
 * PATH now?  PATH is what comes before the last four colons; @gone lists paths a dry
 * run of prune counts as removed.
 */
static bool key_line_current(const char *line, size_t n, char *const *gone)
{
	char l[PATH_MAX + 128], now[PATH_MAX + 128], *eq, *c = NULL;
	int colons = 0;

	if (n >= sizeof(l))
		return false;
	memcpy(l, line, n);
	l[n] = '\0';
	eq = strchr(l, '=');
	for (char *p = l + n; eq && p > eq && colons < 4; p--)
		if (p[-1] == ':' && ++colons == 4)
			c = p - 1;
	if (!eq || !c || eq[1] != '/')
		return false;
	*eq = *c = '\0';
	for (; gone && *gone; gone++)
		if (streq(*gone, eq + 1))
			return false;
	if (stat_part(l, eq + 1, now, sizeof(now), NULL) < 0)
		return false;
	*eq = '=';
	*c = ':';
	return strlen(now) == n + 1 && !strncmp(now, l, n);
}

bool vmct_warm_current(int dirfd, const char *name, const char *key, char *const *gone)
{
	_cleanup_free_ char *text = NULL;
	char path[NAME_MAX + 16], again[VMCT_WARM_KEY_LEN + 1];
	size_t len = 0;
	int files = 0;

	snprintf(path, sizeof(path), "%s/" WARM_KEYFILE, name);
	if (read_file_at(dirfd, path, WARM_KEY_TEXT_MAX, &text, &len, NULL) < 0 ||
	    strlen(text) != len || key_of_text(text, again, NULL) < 0 || !streq(again, key))
		return false;
	for (const char *p = text, *nl; (nl = strchr(p, '\n')); p = nl + 1)
		if (!strncmp(p, "vmm=", 4) || !strncmp(p, "kernel=", 7) ||
		    !strncmp(p, "initrd=", 7)) {
			if (!key_line_current(p, nl - p, gone))
				return false;
			files++;
		}
	return files == 3;
}

void vmct_warm_free(struct vmct_warm *w)
{
	free(w->dir);
	free(w->state);
	free(w->mem);
	free(w->disk_from);
	free(w->vsock_from);
	free(w->net_from);
	*w = (struct vmct_warm){};
}

/* One "key=/absolute/path" line of warm.info into *ret. */
static int info_line(const char *file, const char *line, size_t n, const char *key, char **ret,
		     struct err **err)
{
	size_t kl = strlen(key);

	if (n <= kl + 1 || strncmp(line, key, kl) || line[kl] != '=' || line[kl + 1] != '/' ||
	    n - kl - 1 >= PATH_MAX || memchr(line, '\0', n))
		return err_make(err, EINVAL, "`%s`: expected `%s=/absolute/path`", file, key);
	*ret = strndup(line + kl + 1, n - kl - 1);
	return *ret ? 0 : err_make(err, ENOMEM, "`%s`", file);
}

/* "fs=N": how many shares the template has, 1..VMCT_FS_MAX. */
static int info_fs(const char *file, const char *line, size_t n, unsigned *ret, struct err **err)
{
	if (n != 4 || strncmp(line, "fs=", 3) || line[3] < '1' ||
	    line[3] > (char)('0' + VMCT_FS_MAX))
		return err_make(err, EINVAL, "`%s`: expected `fs=N` (1..%u shares)", file,
				VMCT_FS_MAX);
	*ret = (unsigned)(line[3] - '0');
	return 0;
}

/* "net=NAME": the placeholder TAP's name (a network interface name, 1..15 bytes). */
static int info_net(const char *file, const char *line, size_t n, char **ret, struct err **err)
{
	size_t i;

	if (n < 5 || n > 4 + WARM_IFNAME_MAX || strncmp(line, "net=", 4))
		goto bad;
	for (i = 4; i < n; i++)
		if (!((line[i] >= 'a' && line[i] <= 'z') || (line[i] >= 'A' && line[i] <= 'Z') ||
		      (line[i] >= '0' && line[i] <= '9') || line[i] == '-' || line[i] == '_'))
			goto bad;
	*ret = strndup(line + 4, n - 4);
	return *ret ? 0 : err_make(err, ENOMEM, "`%s`", file);
bad:
	return err_make(err, EINVAL, "`%s`: expected `net=TAP` (a TAP's name)", file);
}

static int is_file(const char *path, struct err **err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_make(err, errno, "warm template `%s`", path);
	if (!S_ISREG(st.st_mode))
		return err_make(err, EINVAL, "warm template `%s`: not a regular file", path);
	return 0;
}

int vmct_warm_load(const char *dir, struct vmct_warm *ret, struct err **err)
{
	_cleanup_free_ char *file = NULL, *text = NULL;
	struct vmct_warm w = {};
	const char *line[WARM_INFO_LINES + 1];
	size_t len, n = 0;
	int r;

	if (asprintf(&file, "%s/" WARM_INFO, dir) < 0 || asprintf(&w.state, "%s/state", dir) < 0 ||
	    asprintf(&w.mem, "%s/mem", dir) < 0 || !(w.dir = strdup(dir))) {
		vmct_warm_free(&w);
		return err_make(err, ENOMEM, "warm template");
	}
	r = read_file_at(AT_FDCWD, file, WARM_INFO_MAX, &text, &len, err);
	/* line[i] starts line i; line[n] is the end (one past the last '\n'). */
	for (size_t i = 0; r >= 0 && i < len && n <= WARM_INFO_LINES; i++)
		if (i == 0 || text[i - 1] == '\n')
			line[n++] = text + i;
	if (r >= 0 && n <= WARM_INFO_LINES)
		line[n] = text + len;
	if (r >= 0 && (n < 2 || n > WARM_INFO_LINES || text[len - 1] != '\n'))
		r = err_make(err, EINVAL,
			     "`%s`: expected the lines disk=, vsock= and maybe net= and fs=", file);
	if (r >= 0)
		r = info_line(file, line[0], line[1] - line[0] - 1, "disk", &w.disk_from, err);
	if (r >= 0)
		r = info_line(file, line[1], line[2] - line[1] - 1, "vsock", &w.vsock_from, err);
	/* Then net= (a NIC), then fs=N (shares), each there or not. */
	for (size_t i = 2; r >= 0 && i < n; i++) {
		size_t ll = line[i + 1] - line[i] - 1;

		if (!strncmp(line[i], "net=", 4) && !w.net_from && !w.n_fs)
			r = info_net(file, line[i], ll, &w.net_from, err);
		else if (!w.n_fs)
			r = info_fs(file, line[i], ll, &w.n_fs, err);
		else
			r = err_make(err, EINVAL, "`%s`: line %zu: expected nothing more", file,
				     i + 1);
	}
	if (r >= 0)
		r = is_file(w.state, err);
	if (r >= 0)
		r = is_file(w.mem, err);
	if (r < 0) {
		vmct_warm_free(&w);
		return r;
	}
	*ret = w;
	return 0;
}

/* A signal on @sigfd (read, so it does not kill us later): ECANCELED naming it. */
static int signalled(int sigfd, struct err **err)
{
	struct signalfd_siginfo si = {};

	if (read(sigfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return err_make(err, ECANCELED, "signal %u before the container started", si.ssi_signo);
}

int vmct_warm_lock(const char *cachedir, int sigfd, struct err **err)
{
	int fd = open(cachedir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return err_make(err, errno, "open `%s`", cachedir);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (sigfd == VMCT_WARM_LOCK_TRY && errno == EWOULDBLOCK) {
			close(fd);
			return -EWOULDBLOCK;
		}
		struct pollfd p = {.fd = sigfd, .events = POLLIN};
		int e = errno, r;

		if (e != EWOULDBLOCK && e != EINTR) {
			close(fd);
			return err_make(err, e, "lock `%s`", cachedir);
		}
		/* Another run builds a template: wait for it, but not past a signal. */
		if (poll(&p, sigfd >= 0 ? 1 : 0, 50) > 0 && (r = signalled(sigfd, err)) < 0) {
			close(fd);
			return r;
		}
	}
	return fd;
}

/* Enter the VMM's netns: @netns (a path), a new empty one (VMCT_NETNS_NEW), ours (NULL). */
static int vmm_netns(const char *netns)
{
	int fd, r;

	if (!netns)
		return 0;
	if (!*netns)
		return unshare(CLONE_NEWNET);
	fd = open(netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = setns(fd, CLONE_NEWNET);
	close(fd);
	return r;
}

int vmct_spawn_vmm(const char *const *argv, const char *console, const char *netns, pid_t *ret_pid,
		   int *ret_pidfd, struct err **err)
{
	pid_t pid = fork();
	int pidfd;

	if (pid < 0)
		return err_make(err, errno, "fork");
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = open(console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		spawn_child_signals();
		setpgid(0, 0); /* a terminal's ^C reaches us, and we tell the guest */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
			_exit(127);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		/* A TAP is opened (or made) by name in the VMM's network namespace. */
		if (vmm_netns(netns) < 0) {
			dprintf(2, "the VMM's network namespace `%s`: %s\n",
				*netns ? netns : "(new)", strerror(errno));
			_exit(127);
		}
		execv(argv[0], (char **)argv);
		dprintf(2, "exec `%s`: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	*ret_pid = pid;
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return err_make(err, errno, "pidfd_open");
	*ret_pidfd = pidfd;
	return 0;
}

/*
 * "CONNECT port\n" on a connected fd, and the VMM's "OK <port>\n" before @end.
 * The answer waits for the guest's driver: -ECHILD when the VMM exits
 * meanwhile, -ECANCELED on a signal on @sigfd (left there to be read).
 */
static int hybrid_connect(int fd, unsigned port, int64_t end, int pidfd, int sigfd)
{
	char line[VMCT_CONNECT_MAX + 1], req[32];
	uint32_t got;
	size_t n = 0;

	snprintf(req, sizeof(req), "CONNECT %u\n", port);
	if (write_all(fd, req, strlen(req)) < 0)
		return -errno;
	for (;;) {
		struct pollfd p[3] = {{.fd = fd, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN},
				      {.fd = sigfd, .events = POLLIN}};
		int64_t left = end - now_ms();
		ssize_t k;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(p, 3, left > INT_MAX ? INT_MAX : (int)left) < 0 && errno != EINTR)
			return -errno;
		if (p[2].revents)
			return -ECANCELED;
		if (p[1].revents)
			return -ECHILD;
		if (!p[0].revents)
			continue;
		k = read(fd, line + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -ECONNREFUSED;
		if (line[n] == '\n')
			break;
		if (++n >= VMCT_CONNECT_MAX)
			return -EPROTO;
	}
	line[n] = '\0';
	return vmct_connect_reply_parse(line, &got) < 0 ? -EPROTO : 0;
}

/* One try: a session with the agent through the VMM at @uds, or -errno. */
static int try_connect(const char *uds, int64_t end, int pidfd, int sigfd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	int r;

	if (strlen(uds) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, uds);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	r = hybrid_connect(fd, VMCT_PORT, end, pidfd, sigfd);
	return r < 0 ? r : TAKE_FD(fd);
}

int vmct_warm_connect(const char *uds, int pidfd, int sigfd, unsigned timeout_s, int *ret_fd,
		      struct err **err)
{
	int64_t end = now_ms() + (int64_t)(timeout_s ? timeout_s : 600) * 1000;
	int fd;

	for (;;) {
		struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
				      {.fd = sigfd, .events = POLLIN}};
		int n;

		fd = try_connect(uds, end, pidfd, sigfd);
		if (fd >= 0)
			break;
		if (fd == -ENAMETOOLONG || fd == -EPROTO)
			return err_make(err, -fd, "`%s`: CONNECT %u", uds, VMCT_PORT);
		if (now_ms() >= end)
			return err_make(err, ETIMEDOUT, "the VM's agent did not answer in %us",
					timeout_s);
		/* Not listening yet (the socket, or the agent): retry in 20 ms. */
		n = fd == -ECANCELED || fd == -ECHILD ? 1 : poll(p, sigfd >= 0 ? 2 : 1, 20);
		if (n > 0 && (fd == -ECANCELED || p[1].revents) && signalled(sigfd, err) < 0)
			return -ECANCELED;
		if (n > 0 && (fd == -ECHILD || p[0].revents))
			return err_make(err, 0, "the VM exited before its agent answered");
	}
	*ret_fd = fd;
	return 0;
}

int vmct_warm_send(int fd, struct err **err)
{
	uint8_t seed[WARM_SEED], buf[VMCT_HDR + VMCT_WARM_HDR + WARM_SEED];
	struct timespec ts;

	if (getrandom(seed, sizeof(seed), 0) != sizeof(seed))
		return err_make(err, errno ? errno : EIO, "getrandom");
	clock_gettime(CLOCK_REALTIME, &ts);
	vmct_frame_header(buf, VMCT_WARM, VMCT_WARM_HDR + WARM_SEED);
	vmct_warm_encode(buf + VMCT_HDR, (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec, seed,
			 WARM_SEED);
	explicit_bzero(seed, sizeof(seed));
	if (write_all(fd, buf, sizeof(buf)) < 0)
		return err_make(err, errno, "send the warm-start frame");
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static void stop(pid_t *pid, int *pidfd)
{
	int st;

	if (*pid > 0) {
		kill(*pid, SIGKILL);
		while (waitpid(*pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	*pid = -1;
	if (*pidfd >= 0)
		close(*pidfd);
	*pidfd = -1;
}

/* The agent's HELLO on @fd (some bytes of it) before @end. */
static int wait_hello(int fd, int64_t end)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char b[64];
	int64_t left = end - now_ms();

	if (left <= 0 || poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left) <= 0)
		return -ETIMEDOUT;
	return read(fd, b, sizeof(b)) > 0 ? 0 : -ECONNRESET;
}

/* The VMM writes the state file last (after the memory file), by rename. */
static int wait_snapshot(const char *state, int pidfd)
{
	int64_t end = now_ms() + WARM_SNAP_WAIT;
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	while (!path_exists(state)) {
		if (now_ms() >= end)
			return -ETIMEDOUT;
		if (poll(&p, 1, 20) > 0)
			return -ECHILD;
	}
	return 0;
}

struct build {
	const struct vmct_run_opts *o;
	bool nic;
	unsigned n_fs;
	char share[PATH_MAX];			 /* the empty placeholder directory */
	char fs_opt[VMCT_FS_MAX][PATH_MAX + 64]; /* --fs tag=isola-fsI,path=share,ro */
	int sigfd;
	char tmp[PATH_MAX - 64], sockdir[64];
	char disk[PATH_MAX], sock[128], state[PATH_MAX], mem[PATH_MAX], console[PATH_MAX];
	pid_t pid;
	int pidfd;
};

static int build_files(struct build *b, const char *cachedir, const char *key, struct err **err)
{
	_cleanup_close_ int fd = -1;

	if ((size_t)snprintf(b->tmp, sizeof(b->tmp), "%s/.warm-%s-XXXXXX", cachedir, key) >=
	    sizeof(b->tmp)) {
		b->tmp[0] = '\0';
		return err_make(err, ENAMETOOLONG, "`%s`", cachedir);
	}
	if (!mkdtemp(b->tmp)) {
		b->tmp[0] = '\0';
		return err_make(err, errno, "mkdtemp in `%s`", cachedir);
	}
	/* The socket's path must fit sun_path, however long the store's path. */
	snprintf(b->sockdir, sizeof(b->sockdir), "/tmp/isola-warm-XXXXXX");
	if (!mkdtemp(b->sockdir)) {
		b->sockdir[0] = '\0';
		return err_make(err, errno, "mkdtemp");
	}
	snprintf(b->disk, sizeof(b->disk), "%s/placeholder.img", b->tmp);
	snprintf(b->sock, sizeof(b->sock), "%s/v.sock", b->sockdir);
	snprintf(b->state, sizeof(b->state), "%s/state", b->tmp);
	snprintf(b->mem, sizeof(b->mem), "%s/mem", b->tmp);
	snprintf(b->console, sizeof(b->console), "%s/console.log", b->tmp);
	snprintf(b->share, sizeof(b->share), "%s/share", b->tmp);
	if (b->n_fs && mkdir(b->share, 0500) < 0)
		return err_make(err, errno, "create `%s`", b->share);
	for (unsigned i = 0; i < b->n_fs; i++)
		snprintf(b->fs_opt[i], sizeof(b->fs_opt[i]), "tag=" VMCT_FS_PREFIX "%u,path=%s,ro",
			 i, b->share);
	fd = open(b->disk, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, WARM_PLACEHOLDER) < 0)
		return err_make(err, errno, "create `%s`", b->disk);
	return 0;
}

static int build_boot(struct build *b, struct err **err)
{
	const struct vmct_run_opts *o = b->o;
	char mem[32], cpus[16], disk[PATH_MAX + 8], vsock[160];
	const char *argv[24 + 2 * VMCT_FS_MAX] = {o->vmm,	"vm",
						  "run",	"--kernel",
						  o->kernel,	"--initrd",
						  o->initrd,	"--cmdline",
						  WARM_CMDLINE, "--memory",
						  mem,		"--cpus",
						  cpus,		"--virtio-transport",
						  "pci",	"--disk",
						  disk,		"--vsock",
						  vsock,	"--snapshot-state",
						  b->state,	"--snapshot-mem",
						  b->mem};
	_cleanup_close_ int fd = -1;
	int64_t end = now_ms() + (int64_t)(o->boot_timeout_s ? o->boot_timeout_s : 600) * 1000;
	size_t n = 0;
	int r;

	snprintf(mem, sizeof(mem), "%lluK", (unsigned long long)(o->memory >> 10));
	snprintf(cpus, sizeof(cpus), "%u", o->cpus ? o->cpus : 1);
	snprintf(disk, sizeof(disk), "%s,ro", b->disk);
	snprintf(vsock, sizeof(vsock), "cid=3,uds=%s", b->sock);
	while (argv[n])
		n++;
	/* The NIC's TAP is made by the VMM in a namespace of its own, gone with it. */
	if (b->nic) {
		argv[n++] = "--net";
		argv[n++] = WARM_NET;
	}
	for (unsigned i = 0; i < b->n_fs; i++) {
		argv[n++] = "--fs";
		argv[n++] = b->fs_opt[i];
	}
	r = vmct_spawn_vmm(argv, b->console, b->nic ? VMCT_NETNS_NEW : NULL, &b->pid, &b->pidfd,
			   err);
	if (r >= 0)
		r = vmct_warm_connect(b->sock, b->pidfd, b->sigfd, o->boot_timeout_s, &fd, err);
	if (r >= 0 && wait_hello(fd, end) < 0)
		r = err_make(err, ETIMEDOUT, "the template's agent sent no HELLO");
	if (r < 0)
		return r;
	close(TAKE_FD(fd)); /* the agent goes back to accept(); a restore resets it anyway */
	if (kill(b->pid, SIGUSR2) < 0)
		return err_make(err, errno, "signal the template's VMM");
	r = wait_snapshot(b->state, b->pidfd);
	if (r < 0)
		return err_make(err, -r, "the template's VMM wrote no snapshot");
	return 0;
}

static int build_finish(struct build *b, const char *dir, struct err **err)
{
	const struct vmct_run_opts *o = b->o;
	char info[PATH_MAX * 2 + 48], key[WARM_KEY_TEXT_MAX], fs[16] = "";
	_cleanup_close_ int dfd = open(b->tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r;

	stop(&b->pid, &b->pidfd);
	if (dfd < 0)
		return err_make(err, errno, "open `%s`", b->tmp);
	if (b->n_fs)
		snprintf(fs, sizeof(fs), "fs=%u\n", b->n_fs);
	snprintf(info, sizeof(info), "disk=%s\nvsock=%s\n%s%s", b->disk, b->sock,
		 b->nic ? "net=" WARM_TAP "\n" : "", fs);
	/* What the key was made of, as vmct_warm_get made it: prune checks it still holds. */
	r = key_text(o->vmm, o->kernel, o->initrd, o->memory, o->cpus ? o->cpus : 1, b->nic,
		     b->n_fs, key, sizeof(key), err);
	if (r >= 0)
		r = write_file_atomic_at(dfd, WARM_KEYFILE, key, strlen(key), 0600, err);
	if (r >= 0)
		r = write_file_atomic_at(dfd, WARM_INFO, info, strlen(info), 0600, err);
	if (r < 0)
		return r;
	unlink(b->disk);
	unlink(b->console);
	if (rename(b->tmp, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		return err_make(err, errno, "rename `%s` to `%s`", b->tmp, dir);
	return 0;
}

/*
 * The last line of the template's console (the VMM's reason), for a one-line
 * message: guest text, escaped.
 */
static void add_console(struct build *b, struct err **err)
{
	_cleanup_free_ char *buf = NULL, *msg = NULL, *line = NULL;
	size_t len = 0;
	char *last;

	if (!err || !*err || read_file_at(AT_FDCWD, b->console, 16u << 20, &buf, &len, NULL) < 0)
		return;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	last = strrchr(buf, '\n');
	last = last ? last + 1 : buf;
	if (!*last || !(line = text_escape_ctl(last, strnlen(last, 300))) ||
	    !(msg = strdup((*err)->msg)))
		return;
	err_free(err);
	err_make(err, 0, "%s; the template VM's console ends with: %s", msg, line);
}

static int build(const char *cachedir, const char *key, const char *dir,
		 const struct vmct_run_opts *o, int sigfd, struct err **err)
{
	struct build b = {.o = o,
			  .nic = o->net != NULL,
			  .n_fs = o->n_shares,
			  .sigfd = sigfd,
			  .pid = -1,
			  .pidfd = -1};
	int r = build_files(&b, cachedir, key, err);

	if (r >= 0)
		r = build_boot(&b, err);
	if (r < 0 && err_code(*err) != -ECANCELED)
		add_console(&b, err);
	if (r >= 0)
		r = build_finish(&b, dir, err);
	stop(&b.pid, &b.pidfd);
	if (b.sockdir[0]) {
		unlink(b.sock);
		rmdir(b.sockdir);
	}
	if (b.tmp[0] && path_exists(b.tmp))
		rm_rf_at(AT_FDCWD, b.tmp, NULL);
	if (r < 0 && err_code(*err) != -ECANCELED)
		return err_wrap(err, "build the warm template");
	return r;
}

int vmct_warm_get(const char *cachedir, const struct vmct_run_opts *o, int sigfd,
		  struct vmct_warm *ret, struct err **err)
{
	_cleanup_close_ int lock = -1;
	_cleanup_free_ char *dir = NULL;
	char key[VMCT_WARM_KEY_LEN + 1];
	int r = vmct_warm_key(o->vmm, o->kernel, o->initrd, o->memory, o->cpus ? o->cpus : 1,
			      o->net != NULL, o->n_shares, key, err);

	if (r < 0)
		return r;
	if (asprintf(&dir, "%s/warm-%s", cachedir, key) < 0)
		return err_make(err, ENOMEM, "warm template");
	if (vmct_warm_load(dir, ret, NULL) >= 0)
		return 0;
	/* One builder per key; the others wait for it and use its template. */
	lock = vmct_warm_lock(cachedir, sigfd, err);
	if (lock < 0)
		return lock;
	if (vmct_warm_load(dir, ret, NULL) >= 0)
		return 0;
	if (path_exists(dir)) /* half a template (removed by hand?): build it again */
		rm_rf_at(AT_FDCWD, dir, NULL);
	r = build(cachedir, key, dir, o, sigfd, err);
	if (r >= 0)
		r = vmct_warm_load(dir, ret, err);
	return r;
}

bool vmct_warm_wanted(void)
{
	const char *v = getenv("ISOLA_VM_COLD");

	return !v || !*v || !strcmp(v, "0");
}

int vmct_warm_get_blocking(const char *cachedir, const struct vmct_run_opts *o,
			   struct vmct_warm *ret, struct err **err)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	_cleanup_close_ int sfd = -1;
	sigset_t mask, old;
	int r;

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	r = sfd < 0 ? err_make(err, errno, "signalfd") : vmct_warm_get(cachedir, o, sfd, ret, err);
	if (r < 0 && err_code(*err) == -ECANCELED)
		while (sigtimedwait(&mask, NULL, &(struct timespec){0}) > 0)
			;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

int vmct_warm_start(const struct vmct_run_opts *o, const char *dir, int sigfd, pid_t *vmm,
		    int *pidfd, int *conn, struct err **err)
{
	const struct vmct_warm *w = o->warm;
	char disk[2 * PATH_MAX + 2], vsock[PATH_MAX + 160], console[96], sock[96], net[64];
	char remap[VMCT_FS_MAX][PATH_MAX + 32];
	const char *argv[16 + 2 * VMCT_FS_MAX] = {
	    o->vmm,	 "vm",	  "restore",	  "--state", w->state,	      "--mem", w->mem,
	    "--console", "stdio", "--disk-remap", disk,	     "--vsock-remap", vsock};
	unsigned n_fs = o->n_shares;
	size_t n = 0;
	int r;

	/*
	 * A template's NIC goes onto the container's TAP, in its netns; never
	 * without one (the VMM would make its TAP in ours), nor one without.
	 */
	if (!w->net_from != !o->tap || !o->tap != !o->netns)
		return err_make(err, EINVAL, "warm template `%s`: %s", w->dir,
				w->net_from ? "has a NIC, the container has no network"
					    : "has no NIC for the container's network");
	if (w->n_fs != n_fs)
		return err_make(err, EINVAL, "warm template `%s`: %u shares, the container has %u",
				w->dir, w->n_fs, n_fs);
	while (argv[n])
		n++;
	if (o->tap) {
		snprintf(net, sizeof(net), "%s=%s", w->net_from, o->tap);
		argv[n++] = "--net-remap";
		argv[n++] = net;
	}
	/* The mode always said: the template's placeholder is read-only. */
	for (unsigned i = 0; i < n_fs; i++) {
		if ((size_t)snprintf(remap[i], sizeof(remap[i]), VMCT_FS_PREFIX "%u=%s,%s", i,
				     o->shares[i].path,
				     o->shares[i].ro ? "ro" : "rw") >= sizeof(remap[i]))
			return err_make(err, ENAMETOOLONG, "shared directory `%.64s`",
					o->shares[i].path);
		argv[n++] = "--fs-remap";
		argv[n++] = remap[i];
	}
	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
	snprintf(disk, sizeof(disk), "%s=%s", w->disk_from, o->disk);
	snprintf(vsock, sizeof(vsock), "%s=%s", w->vsock_from, sock);
	snprintf(console, sizeof(console), "%s/console.log", dir);
	r = vmct_spawn_vmm(argv, console, o->netns, vmm, pidfd, err);
	if (r >= 0)
		r = vmct_warm_connect(sock, *pidfd, sigfd, o->boot_timeout_s, conn, err);
	if (r >= 0)
		r = vmct_warm_send(*conn, err);
	return r;
}
