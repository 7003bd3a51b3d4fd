/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola-agent: PID 1 of the initramfs that `isola run --vm` boots.
 *
 * It mounts /proc, /sys and /dev, loads the kernel modules the host put in
 * /modules (in name order: the host numbers them dependencies first), connects
 * to the host over virtio-vsock (CID 2, VMCT_PORT), reads the process config,
 * mounts the image's root disk (/dev/vda, ext4, read-only) under a tmpfs-backed
 * overlay, and runs the process there: its own mount namespace with that root
 * on "/" (make_mntns), its privileges, exec.  Its stdout
 * and stderr go to the host as frames, the host's stdin and signals come back;
 * its exit status is the last frame.  Then the VM powers off.
 *
 * Protocol v3 (proto.h): once the root is mounted the agent also listens on
 * vsock port VMCT_EXEC_PORT; every connection there is one more session (an
 * exec), served by a forked handler that runs its process in the same root.
 * A process may get a terminal: a pty of a devpts instance mounted in the
 * root, its controlling terminal (setsid + TIOCSCTTY), sized by the host.
 *
 * The process gets the privileges its config.json gives it -- capability
 * sets, no_new_privs, a seccomp filter the host compiled, supplementary
 * groups -- set as isola's container init sets them (src/lib/caps-sys.c
 * is shared).  The process is PID 1 of a PID namespace of its own, with a
 * /proc of that namespace (ns_fork); every exec's process joins it, so none
 * sees the agent or signals it.  With `--init` (config key init) PID 1 is a
 * small init of the agent's instead (guest_init), which reaps and forwards
 * signals to the process.  Cgroups inside the guest are not made: the VM is
 * the boundary.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <linux/openat2.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/random.h>
#include <linux/seccomp.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caps-sys.h"
#include "copytree.h"
#include "proto.h"

#define NEWROOT "/newroot"

extern char **environ;

static int vsock = -1;	    /* this process's session */
static int ct_mntns = -1;   /* the container's mount namespace (make_mntns) */
static int ct_pts = -1;	    /* its /dev/pts (O_PATH): terminals are opened there */
static int ct_pidns = -1;   /* its PID namespace: the first session's process's (ns_fork) */
static int setup_done = -1; /* the first session's child closes it once the namespaces are set */
static bool session_child;  /* a handler of a further session: it ends, the VM does not */
static uint8_t frame_buf[VMCT_HDR + VMCT_FRAME_MAX];

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

/*
 * Wait for the host to close (up to 10 s), so the last frames reach it, then
 * power off; a further session's handler just ends.
 */
static __attribute__((noreturn)) void finish(void)
{
	struct pollfd p = {.fd = vsock, .events = POLLIN};
	char b[256];

	if (vsock >= 0) {
		shutdown(vsock, SHUT_WR);
		while (poll(&p, 1, 10000) > 0 && read(vsock, b, sizeof(b)) > 0)
			;
	}
	if (session_child)
		_exit(0);
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

/*
 * Which modules load_modules() loads: a warm template defers the disk's
 * driver; virtiofs and fuse load only for a shared directory (MODS_FS).
 */
enum mods { MODS_ALL, MODS_BUT_DISK, MODS_DISK, MODS_FS };

static bool wanted(const char *name, enum mods which)
{
	bool disk = strstr(name, "-virtio_blk.ko") != NULL;
	bool fs = strstr(name, "-virtiofs.ko") || strstr(name, "-fuse.ko");

	if (name[0] == '.' || fs != (which == MODS_FS))
		return false;
	return which == MODS_ALL || which == MODS_FS || (which == MODS_DISK) == disk;
}

static void load_modules(enum mods which)
{
	struct dirent **ents = NULL;
	int n = scandir("/modules", &ents, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		char p[512];
		int fd;

		if (wanted(ents[i]->d_name, which)) {
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
	/* Terminals: a devpts instance of the root's own, its ptmx usable by all. */
	if ((mkdir(NEWROOT "/dev/pts", 0755) < 0 && errno != EEXIST) ||
	    mount("devpts", NEWROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620") < 0)
		klog("mount devpts: %s", strerror(errno));
}

/*
 * The container's mount namespace, made once the root and its mounts are
 * ready: a copy of ours with the root's overlay moved onto "/" (as
 * switch_root moves its new root).  Every session's process joins it, and
 * setns() leaves it at the overlay's root.
 *
 * Not a chroot into NEWROOT: the process has CAP_SYS_CHROOT by default,
 * and a chroot into a subdirectory with a directory fd outside it walks
 * ".." past NEWROOT into the agent's initramfs.  Here ".." at the top of
 * the root reaches "/" of the initramfs, which the overlay covers, so the
 * walk lands back on the overlay.  pivot_root(2) would be the usual tool,
 * but it refuses the initramfs (rootfs has no parent mount).
 */
/*
 * @fd moved above stdio: the agent runs with no console, so 0-2 may be free,
 * and a child's dup2() onto them must not close one of these.
 */
static int above_stdio(int fd)
{
	int high;

	if (fd < 0 || fd > 2)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return high;
}

static void make_mntns(void)
{
	int self = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

	if (self < 0 || unshare(CLONE_NEWNS) < 0)
		fatal("a mount namespace for the container: %s", strerror(errno));
	/*
	 * The namespace's own devpts mount: a terminal opened through it is
	 * /dev/pts/N in /proc/self/fd of the container's process (musl's
	 * ttyname() reads it), not our /newroot/dev/pts/N.
	 */
	ct_pts = above_stdio(open(NEWROOT "/dev/pts", O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (mount(NEWROOT, "/", NULL, MS_MOVE, NULL) < 0)
		fatal("move the root onto /: %s", strerror(errno));
	/* Our root is still the initramfs's, under the overlay: /proc is ours. */
	ct_mntns = above_stdio(open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
	if (ct_mntns < 0 || setns(self, CLONE_NEWNS) < 0)
		fatal("back to the agent's mount namespace: %s", strerror(errno));
	close(self);
}

/* SIOCSIFFLAGS: @name up. */
static int if_up(int s, const char *name)
{
	struct ifreq ifr = {};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static void set_sin(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(addr)};

	memcpy(sa, &sin, sizeof(sin));
}

/*
 * eth0's MAC: a warm clone has the template's (the same in every clone) until
 * this sets the container's (SIOCSIFHWADDR while eth0 is down: virtio-net
 * takes it in software; the host side passes any source MAC).
 */
static void set_mac(int s, const struct vmct_net *n)
{
	struct ifreq ifr = {};

	if (!n->has_mac)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, n->mac, 6);
	if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
		fatal("eth0: set MAC: %s", strerror(errno));
}

/*
 * A gratuitous ARP from eth0 once it is up: the gateway's and the peers'
 * neighbour entries for the address (a previous owner's MAC, or a clone's
 * before it set its own) and the bridges' tables follow at once.  Best effort.
 */
static void announce(const struct vmct_net *n)
{
	struct sockaddr_ll ll = {
	    .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_halen = 6};
	uint8_t f[VMCT_GARP_LEN], mac[6];
	struct ifreq ifr = {};
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
	if (s < 0 || ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		goto fail;
	ll.sll_ifindex = ifr.ifr_ifindex;
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		goto fail;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	memset(ll.sll_addr, 0xff, 6);
	vmct_garp_frame(f, mac, n->addr);
	if (sendto(s, f, sizeof(f), 0, (struct sockaddr *)&ll, sizeof(ll)) != sizeof(f))
		goto fail;
	close(s);
	return;
fail:
	klog("eth0: gratuitous ARP: %s", strerror(errno));
	if (s >= 0)
		close(s);
}

/*
 * lo up; eth0 (the virtio-net device, docs/vm-containers.md "Networking") with the
 * MAC, address, prefix and MTU the host sent, up, announced, and the default route
 * via the gateway.
 */
static void setup_net(const struct vmct_net *n)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), i;
	struct ifreq ifr = {};
	struct rtentry rt = {};

	if (s < 0 || if_up(s, "lo") < 0)
		klog("lo up: %s", strerror(errno));
	if (!n->set) {
		if (s >= 0)
			close(s);
		return;
	}
	if (s < 0)
		fatal("socket: %s", strerror(errno));
	for (i = 0; i < 300 && access("/sys/class/net/eth0", F_OK) < 0; i++)
		sleep_ms(10);
	set_mac(s, n);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
	set_sin(&ifr.ifr_addr, n->addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		fatal("eth0: set address: %s", strerror(errno));
	set_sin(&ifr.ifr_netmask, n->prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> n->prefix));
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		fatal("eth0: set netmask: %s", strerror(errno));
	ifr.ifr_mtu = n->mtu;
	if (n->mtu && ioctl(s, SIOCSIFMTU, &ifr) < 0)
		fatal("eth0: set MTU %u: %s", n->mtu, strerror(errno));
	if (if_up(s, "eth0") < 0)
		fatal("eth0 up: %s", strerror(errno));
	announce(n);
	set_sin(&rt.rt_dst, 0);
	set_sin(&rt.rt_genmask, 0);
	set_sin(&rt.rt_gateway, n->gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	if (n->gw && ioctl(s, SIOCADDRT, &rt) < 0)
		fatal("default route via the gateway: %s", strerror(errno));
	close(s);
}

/*
 * linux.sysctl (run IMAGE's net.ipv4.ping_group_range, say), written to the
 * guest's /proc/sys before the process starts: the container shares the
 * guest's namespaces but its mount and PID ones, and the VM's kernel is its
 * own.  A key the kernel does not take fails the start, as it does a plain
 * container's.
 */
static void setup_sysctls(const struct vmct_config *c)
{
	for (size_t i = 0; c->sysctls && c->sysctls[i]; i++) {
		const char *e = c->sysctls[i], *v = strchr(e, ' ') + 1; /* vmct_sysctl_ok */
		char path[VMCT_SYSCTL_STR + 16];
		int fd, n = snprintf(path, sizeof(path), "/proc/sys/%.*s", (int)(v - 1 - e), e);

		for (char *p = path + 10; p < path + n; p++)
			if (*p == '.')
				*p = '/';
		fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || write_all(fd, v, strlen(v)) < 0)
			fatal("sysctl %.*s: %s", (int)(v - 1 - e), e, strerror(errno));
		close(fd);
	}
}

/* One of the root's /etc files, replacing what the image has there (a symlink too). */
static void put_etc(int etc, const char *name, const char *text)
{
	int fd;

	if (!text)
		return;
	if (unlinkat(etc, name, 0) < 0 && errno != ENOENT)
		klog("replace /etc/%s: %s", name, strerror(errno));
	fd = openat(etc, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
		fatal("write /etc/%s: %s", name, strerror(errno));
	close(fd);
}

/* The UTS name and /etc/{hosts,resolv.conf,hostname} from the host (the bundle's files). */
static void setup_etc(const struct vmct_config *c)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT};
	int root, etc;

	if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
		klog("sethostname: %s", strerror(errno));
	if (!c->etc_hosts && !c->etc_resolv && !c->etc_hostname)
		return;
	root = open(NEWROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* /etc resolved inside the root: an image's symlink cannot lead out of it. */
	etc = root < 0 ? -1 : (int)syscall(SYS_openat2, root, "etc", &how, sizeof(how));
	if (etc < 0 && errno == ENOENT && mkdirat(root, "etc", 0755) == 0)
		etc = (int)syscall(SYS_openat2, root, "etc", &how, sizeof(how));
	if (etc < 0)
		fatal("open the root's /etc: %s", strerror(errno));
	put_etc(etc, "hosts", c->etc_hosts);
	put_etc(etc, "resolv.conf", c->etc_resolv);
	put_etc(etc, "hostname", c->etc_hostname);
	close(etc);
	close(root);
}

/* mkdir -p @path (absolute) with mode 0755. */
static void mkdir_p(const char *path)
{
	char p[sizeof(NEWROOT) + VMCT_MOUNT_STR];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

/* @path (absolute) in the root, resolved inside it: an image's symlink cannot lead out. */
static int open_in_root(const char *path, uint64_t flags)
{
	struct open_how how = {.flags = flags | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int root = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC), fd, e;

	if (root < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, root, path + strspn(path, "/"), &how, sizeof(how));
	e = errno;
	close(root);
	errno = e;
	return fd;
}

/*
 * A tmpcopyup tmpfs (docs/vm-containers.md "Mounts"): what the root has at
 * m->dest is read through @below, opened before the mount covers it (the
 * mount is made on that very directory), and copied into the new tmpfs with
 * src/lib/copytree.c's rules for a hostile tree.  A read-only one is made
 * read-only once the copy is in.
 */
static void mount_copyup(const struct vmct_mount *m, int below)
{
	struct ct_copytree_fail f = {};
	struct stat sb, st;
	struct statfs sf;
	char at[32];
	int top, r;

	snprintf(at, sizeof(at), "/proc/self/fd/%d", below);
	if (mount(m->type, at, m->type, m->flags & ~(unsigned long)MS_RDONLY,
		  m->data[0] ? m->data : NULL) < 0)
		fatal("mount %s on %s: %s", m->type, m->dest, strerror(errno));
	top = open_in_root(m->dest, O_RDONLY | O_DIRECTORY);
	if (top < 0)
		fatal("tmpcopyup of %s: open it after mounting: %s", m->dest, strerror(errno));
	/* The tmpfs just made, not what the image has there. */
	if (fstat(top, &st) < 0 || fstat(below, &sb) < 0 || fstatfs(top, &sf) < 0 ||
	    st.st_dev == sb.st_dev || sf.f_type != TMPFS_MAGIC)
		fatal("tmpcopyup of %s: the tmpfs is not where it was mounted", m->dest);
	r = ct_copytree(below, top, &f);
	if (r < 0)
		fatal("tmpcopyup of %s: %s %s: %s", m->dest, f.what, f.path, strerror(-r));
	/* The tmpfs's root is @top's: @at is the directory under it. */
	snprintf(at, sizeof(at), "/proc/self/fd/%d", top);
	if ((m->flags & MS_RDONLY) &&
	    mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | m->flags, NULL) < 0)
		fatal("make %s read-only: %s", m->dest, strerror(errno));
	close(top);
}

/*
 * The first session's CONFIG mounts, in the root: the OCI mode's tmpfs, mqueue
 * and cgroup mounts, and the host's shared directories (virtiofs, the source
 * being the device's tag; its modules load with the first one).
 */
static void setup_mounts(const struct vmct_config *c)
{
	char dest[sizeof(NEWROOT) + VMCT_MOUNT_STR];
	struct vmct_mount m;
	bool fs_loaded = false;

	for (size_t i = 0; c->mounts && c->mounts[i]; i++) {
		int below = -1;
		bool fs;

		if (vmct_mount_parse(c->mounts[i], &m) < 0)
			fatal("a bad mount from the host");
		fs = !strcmp(m.type, "virtiofs");
		if (fs && !fs_loaded) {
			load_modules(MODS_FS);
			fs_loaded = true;
		}
		/* tmpcopyup: what the root has there, before the mount covers it; nothing: none. */
		if (m.copyup) {
			below = open_in_root(m.dest, O_RDONLY | O_DIRECTORY);
			if (below < 0 && errno != ENOENT)
				fatal("tmpcopyup of %s: open it: %s", m.dest, strerror(errno));
		}
		if (below >= 0) {
			mount_copyup(&m, below);
			close(below);
			continue;
		}
		snprintf(dest, sizeof(dest), "%s%s", NEWROOT, m.dest);
		mkdir_p(dest);
		if (mount(fs ? m.data : m.type, dest, m.type, m.flags,
			  fs || !m.data[0] ? NULL : m.data) < 0)
			fatal("mount %s on %s: %s", fs ? m.data : m.type, m.dest, strerror(errno));
	}
}

/*
 * A terminal of the root's devpts, sized rows x cols: its master in *ret_master
 * and its slave (for the child, opened here: no race with the master's reads).
 */
static int open_pty(const struct vmct_config *c, int *ret_master, int *ret_slave)
{
	struct winsize ws = {.ws_row = c->rows, .ws_col = c->cols};
	int m = openat(ct_pts, "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), unlock = 0, sl;
	unsigned n;
	char p[16];

	if (m < 0)
		return -1;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ioctl(m, TIOCGPTN, &n) < 0) {
		close(m);
		return -1;
	}
	if (ws.ws_row && ws.ws_col)
		ioctl(m, TIOCSWINSZ, &ws);
	snprintf(p, sizeof(p), "%u", n);
	sl = openat(ct_pts, p, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (sl < 0) {
		close(m);
		return -1;
	}
	*ret_master = m;
	*ret_slave = sl;
	return 0;
}

/* The terminal's slave as stdio and controlling terminal (we are a session leader). */
static int attach_pty(int fd)
{
	if (ioctl(fd, TIOCSCTTY, 0) < 0)
		return -1;
	return dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ? -1 : 0;
}

static __attribute__((noreturn)) void child_fail(const char *what)
{
	dprintf(2, "isola-agent: %s: %s\n", what, strerror(errno));
	_exit(125);
}

/*
 * oomScoreAdj, rlimits (raising one needs CAP_SYS_RESOURCE: before the drop),
 * umask, ioPriority (the RT class needs CAP_SYS_ADMIN or CAP_SYS_NICE too).
 */
static void set_limits(const struct vmct_config *c)
{
	char text[16];
	int fd, n;

	if (c->has_oom) {
		n = snprintf(text, sizeof(text), "%d", c->oom_score_adj);
		fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, text, (size_t)n) != n)
			child_fail("oom_score_adj");
		close(fd);
	}
	for (uint32_t i = 0; i < c->n_rlimits; i++) {
		const struct vmct_rlimit *l = &c->rlimits[i];

		if (setrlimit((int)l->resource, &(struct rlimit){l->soft, l->hard}) < 0)
			child_fail("setrlimit");
	}
	umask(c->has_umask ? c->umask : 0022);
	if (c->ioprio && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, c->ioprio) < 0)
		child_fail("ioprio_set");
}

/* The ids a process runs with: the config's, or exec -u NAME's. */
struct ids {
	uint32_t uid, gid;
	uint32_t n_groups;
	gid_t groups[VMCT_GROUPS_MAX];
};

/* All digits, at most UINT32_MAX: *ret. */
static bool numeric(const char *s, size_t n, uint32_t *ret)
{
	return vmct_parse_u32n(s, n, ret) == 0;
}

/* Field @i of a ':'-separated line (NUL-terminated, no newline) and its length. */
static const char *field(const char *line, int i, size_t *len)
{
	for (; i > 0 && line; i--) {
		line = strchr(line, ':');
		line = line ? line + 1 : NULL;
	}
	if (line)
		*len = strcspn(line, ":");
	return line;
}

/* Does the comma list @members (up to its NUL) hold @name? */
static bool member(const char *members, const char *name)
{
	size_t n = strlen(name);

	for (const char *m = members; m && *m; m = strchr(m, ',') ? strchr(m, ',') + 1 : NULL)
		if (!strncmp(m, name, n) && (m[n] == ',' || !m[n]))
			return true;
	return false;
}

/*
 * The container's /etc/passwd or /etc/group, if it is a regular file: a FIFO
 * or a device the image put there must not hang or flood the exec.
 */
static FILE *open_db(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *fp;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(fp = fdopen(fd, "r"))) {
		close(fd);
		return NULL;
	}
	return fp;
}

/* The next line (without its newline), or NULL after EOF or DB_MAX bytes read. */
#define DB_MAX (4u << 20)
static char *db_line(FILE *fp, char **line, size_t *cap, size_t *total)
{
	ssize_t n = fp && *total < DB_MAX ? getline(line, cap, fp) : -1;

	if (n <= 0)
		return NULL;
	*total += (size_t)n;
	(*line)[strcspn(*line, "\n")] = '\0';
	return *line;
}

/*
 * exec -u NAME[:GROUP] inside the root (in its mount namespace: the container's
 * /etc/passwd and /etc/group, as runc reads them): a name or number for the
 * user (a number not in passwd gets gid 0), a name or number for the group
 * (else the user's), and the user's groups from /etc/group added to the
 * config's.  A name that is not there fails the exec (125).
 */
static void resolve_user(const char *spec, struct ids *id)
{
	size_t ulen = strcspn(spec, ":"), n;
	const char *grp = spec[ulen] ? spec + ulen + 1 : NULL, *f;
	char *line = NULL, uname[33] = "";
	size_t cap = 0, total = 0;
	bool found = false, by_num = numeric(spec, ulen, &id->uid);
	uint32_t v;
	FILE *fp;

	id->gid = 0;
	fp = open_db("/etc/passwd");
	while (!found && db_line(fp, &line, &cap, &total)) {
		f = field(line, 2, &n);
		if (!f || !numeric(f, n, &v) ||
		    (by_num ? v != id->uid
			    : (strcspn(line, ":") != ulen || strncmp(line, spec, ulen))))
			continue;
		f = field(line, 3, &n);
		if (!f || !numeric(f, n, &id->gid))
			continue;
		id->uid = v;
		snprintf(uname, sizeof(uname), "%.*s", (int)strcspn(line, ":"), line);
		found = true;
	}
	if (fp)
		fclose(fp);
	if (!found && !by_num) {
		dprintf(2, "isola-agent: user `%.*s`: not in the container's /etc/passwd\n",
			(int)ulen, spec);
		_exit(125);
	}
	if (grp && numeric(grp, strlen(grp), &id->gid))
		grp = NULL;
	fp = open_db("/etc/group");
	total = 0;
	while (db_line(fp, &line, &cap, &total)) {
		f = field(line, 2, &n);
		if (!f || !numeric(f, n, &v))
			continue;
		if (grp && strcspn(line, ":") == strlen(grp) && !strncmp(line, grp, strlen(grp))) {
			id->gid = v;
			grp = NULL;
		}
		f = field(line, 3, &n);
		if (*uname && f && member(f, uname) && id->n_groups < VMCT_GROUPS_MAX)
			id->groups[id->n_groups++] = v;
	}
	if (fp)
		fclose(fp);
	free(line);
	if (grp) {
		dprintf(2, "isola-agent: group `%s`: not in the container's /etc/group\n", grp);
		_exit(125);
	}
}

/* The container's seccomp filter, from an aligned copy of the host's bytes. */
static void load_filter(const struct vmct_config *c)
{
	struct sock_fprog prog = {.len = (unsigned short)(c->seccomp_len / VMCT_BPF_INSN)};

	if (!c->seccomp)
		return;
	prog.filter = malloc(c->seccomp_len);
	if (!prog.filter)
		child_fail("seccomp filter");
	memcpy(prog.filter, c->seccomp, c->seccomp_len);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c->seccomp_flags, &prog) < 0)
		child_fail("load the seccomp filter");
}

/*
 * `--init`: we become PID 1's init, the caller (in a child) goes on to exec
 * the process.  Every signal is blocked here and taken with sigwaitinfo --
 * PID 1 gets no signal it has no handler for, but a blocked one is queued --
 * and forwarded to the process; orphans are reaped; the process's end is
 * ours (128 + N for a signal).  On a terminal the process gets a foreground
 * process group of its own, so a ^C reaches it once, not through us too.
 */
static void guest_init(bool tty)
{
	sigset_t all, none;
	siginfo_t si;
	pid_t pid, p;
	int st, sig;

	sigfillset(&all);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &all, NULL);
	pid = fork();
	if (pid < 0)
		child_fail("fork the process under the init");
	if (pid == 0) {
		/* SIGTTOU of tcsetpgrp() from a background group is blocked still. */
		if (tty && (setpgid(0, 0) < 0 || tcsetpgrp(0, getpid()) < 0))
			child_fail("a foreground process group");
		sigprocmask(SIG_SETMASK, &none, NULL);
		return;
	}
	prctl(PR_SET_NAME, "init", 0, 0, 0);
	for (;;) {
		sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(pid, sig);
			continue;
		}
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			if (p == pid)
				_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
}

/*
 * The first session's process: PID 1 of the container's PID namespace, and
 * the /proc of the container's mount namespace that namespace's (a proc
 * mount shows the PID namespace of whoever mounted it).
 */
static void own_proc(void)
{
	if (umount2("/proc", MNT_DETACH) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		child_fail("mount /proc of the container's PID namespace");
}

/*
 * linux.maskedPaths and readonlyPaths, as for a plain container: a masked
 * directory gets an empty read-only tmpfs over it, a masked file /dev/null;
 * a read-only path a read-only bind of itself, which keeps the nosuid,
 * nodev and noexec it had.  A path the root does not have is skipped.  In
 * the container's mount namespace, so every exec sees them too; /proc's
 * entries after own_proc (its new /proc has none of an earlier mask).
 */
static void apply_paths(const struct vmct_config *c)
{
	char what[VMCT_MOUNT_STR + 16];
	struct statvfs vfs;
	struct stat st;

	for (size_t i = 0; c->paths && c->paths[i]; i++) {
		const char *p = c->paths[i] + 2;
		unsigned long keep;
		bool masked = c->paths[i][0] == 'M';
		int r;

		if (stat(p, &st) < 0 && errno == ENOENT)
			continue;
		snprintf(what, sizeof(what), "%s %s", masked ? "mask" : "make read-only", p);
		if (masked && S_ISDIR(st.st_mode))
			r = mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
				  "size=0,mode=0555");
		else if (masked)
			r = mount("/dev/null", p, NULL, MS_BIND, NULL);
		else if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 || statvfs(p, &vfs) < 0)
			r = -1;
		else {
			keep = (vfs.f_flag & ST_NOSUID ? MS_NOSUID : 0) |
			       (vfs.f_flag & ST_NODEV ? MS_NODEV : 0) |
			       (vfs.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
			r = mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL);
		}
		if (r < 0)
			child_fail(what);
	}
}

/*
 * The child: stdio from the pipes (in, out, err) or the terminal (tty: in is
 * its slave), into the root; then as isola's container init does
 * (src/container/process.c): oomScoreAdj, rlimits, umask, ioPriority; no_new_privs,
 * the seccomp filter, the capability sets, the groups, uid and gid; exec.
 */
static __attribute__((noreturn)) void child(const struct vmct_config *c, int in, int out, int err,
					    bool tty)
{
	const char *what;
	struct ids id;
	sigset_t none;
	int cap;

	/*
	 * Not dumpable until the execve: in the container's PID namespace, its
	 * root could otherwise ptrace this child between the capability drop and
	 * the seccomp filter (runc: CVE-2016-9962).
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	if (tty ? attach_pty(in) < 0 : (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0))
		_exit(125);
	set_limits(c);
	if (setns(ct_mntns, CLONE_NEWNS) < 0) {
		dprintf(2, "isola-agent: join the container's mount namespace: %s\n",
			strerror(errno));
		_exit(125);
	}
	if (!session_child) {
		own_proc();
		apply_paths(c);
		/* Now an exec may join (run() waits for this). */
		close(setup_done);
	}
	id.uid = c->uid;
	id.gid = c->gid;
	id.n_groups = c->n_groups;
	for (uint32_t i = 0; i < c->n_groups; i++)
		id.groups[i] = c->groups[i];
	if (c->user)
		resolve_user(c->user, &id);
	if (chdir(c->cwd) < 0) {
		dprintf(2, "isola-agent: chdir `%s`: %s\n", c->cwd, strerror(errno));
		_exit(125);
	}
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail("PR_SET_NO_NEW_PRIVS");
	/* Without no_new_privs the filter needs CAP_SYS_ADMIN: load it before the drop. */
	if (!c->no_new_privs)
		load_filter(c);
	if (c->has_caps && (ct_caps_sys_drop_bounding(&c->caps, &cap) < 0 ||
			    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0))
		child_fail("drop the bounding set");
	if (setgroups(id.n_groups, id.groups) < 0 || setgid(id.gid) < 0 || setuid(id.uid) < 0) {
		dprintf(2, "isola-agent: set uid %u gid %u: %s\n", id.uid, id.gid, strerror(errno));
		_exit(125);
	}
	if (c->has_caps && (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
			    ct_caps_sys_apply(&c->caps, &what, &cap) < 0))
		child_fail("set the capabilities");
	if (c->no_new_privs)
		load_filter(c);
	if (c->init && !session_child)
		guest_init(tty);
	environ = c->env;
	execvp(c->argv[0], c->argv);
	dprintf(2, "isola-agent: exec `%s`: %s\n", c->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

struct relay {
	pid_t pid;
	int chldfd, in, out, err; /* chldfd: SIGCHLD (ours and orphans'), a signalfd */
	int listen_fd;		  /* further sessions (the first session only), -1: none */
	bool tty;		  /* in and out are the terminal's master */
	bool exited;
	int status;
	uint8_t *buf;
	size_t have;
	struct vmct_outq inq; /* stdin bytes the process has not taken yet (in: O_NONBLOCK) */
	bool in_eof;	      /* the host's EOF came: close in once inq is empty */
};

/* A pipe's bytes to the host; false at EOF. */
static bool pump(int *fd, uint32_t type)
{
	static char b[VMCT_DATA_MAX];
	ssize_t n = read(*fd, b, sizeof(b));

	if (n < 0 && (errno == EINTR || errno == EAGAIN)) /* a terminal's master is O_NONBLOCK */
		return true;
	if (n <= 0) { /* a terminal's master says EIO once no one holds the slave */
		close(*fd);
		*fd = -1;
		return false;
	}
	send_frame(type, b, n);
	return true;
}

/* Queued stdin to the process, as far as its pipe takes it; then a pending EOF. */
static void stdin_flush(struct relay *r)
{
	if (r->in < 0)
		return;
	if (vmct_outq_flush(&r->inq, r->in, false) < 0) { /* EPIPE: no one reads it */
		vmct_outq_free(&r->inq);
		r->in_eof = !r->tty;
	}
	if (r->in_eof && !vmct_outq_pending(&r->inq)) {
		close(r->in);
		r->in = -1;
	}
}

static void host_frame(struct relay *r, uint32_t type, const uint8_t *pl, uint32_t len)
{
	uint16_t rows, cols;

	if (type == VMCT_STDIN && len == 0 && r->in >= 0 && !r->tty) {
		r->in_eof = true;
		stdin_flush(r);
	} else if (type == VMCT_STDIN && len && r->in >= 0 && !r->in_eof) {
		if (vmct_outq_put(&r->inq, pl, len) < 0)
			klog("stdin: out of memory, %u bytes dropped", len);
		stdin_flush(r);
	} else if (type == VMCT_SIGNAL && len == 4 && !r->exited) {
		uint32_t sig = vmct_get_u32(pl);

		if (sig > 0 && sig < 65)
			kill(r->pid, sig);
	} else if (type == VMCT_WINCH && r->tty && r->in >= 0 &&
		   vmct_winch_parse(pl, len, &rows, &cols) == 0) {
		struct winsize ws = {.ws_row = rows, .ws_col = cols};

		ioctl(r->in, TIOCSWINSZ, &ws); /* the kernel signals the foreground group */
	}
}

/* The whole frames in r->buf: stdin bytes, EOF, signals, terminal sizes. */
static int host_frames(struct relay *r)
{
	const uint8_t *pl;
	uint32_t type, len;
	long f;

	while ((f = vmct_frame_next(r->buf, r->have, &type, &pl, &len)) > 0) {
		host_frame(r, type, pl, len);
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

/* Every child that ended (ours, a session's handler, an orphan): the process's status. */
static void reap(struct relay *r)
{
	struct signalfd_siginfo si;
	int st;
	pid_t p;

	while (read(r->chldfd, &si, sizeof(si)) == sizeof(si))
		;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		if (p == r->pid) {
			r->exited = true;
			r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
}

static __attribute__((noreturn)) void session(int conn);

/*
 * A connection from the host (CID 2) only: with vsock loopback in the guest's
 * kernel, a process of the guest could connect to the agent's ports as well,
 * and a session's CONFIG says which uid, capabilities and filter its process
 * gets.  -1 for another peer (closed) or a failed accept.
 */
static int accept_host(int lfd)
{
	struct sockaddr_vm peer = {0};
	socklen_t len = sizeof(peer);
	int conn = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);

	if (conn >= 0 && (len < sizeof(peer) || peer.svm_family != AF_VSOCK ||
			  peer.svm_cid != VMADDR_CID_HOST)) {
		close(conn);
		return -1;
	}
	return conn;
}

/* A connection on the exec port: a handler process of its own serves it. */
static void accept_session(struct relay *r)
{
	int conn = accept_host(r->listen_fd);
	pid_t pid;

	if (conn < 0)
		return;
	pid = fork();
	if (pid == 0) {
		/* Not the first session's fds: its process must see its stdin's EOF. */
		int fds[] = {r->listen_fd, r->chldfd, r->in, r->out, r->err, vsock};

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
		session(conn);
	}
	if (pid < 0)
		klog("fork a session: %s", strerror(errno));
	close(conn);
}

static void relay(struct relay *r)
{
	/* Frames that came with the config (stdin, an early signal) are not news to poll.
	 */
	if (host_frames(r) < 0)
		vsock = -1;
	while (r->out >= 0 || r->err >= 0 || !r->exited) {
		size_t queued = vmct_outq_pending(&r->inq);
		/*
		 * The host's frames are not read while more than VMCT_OUTQ_HIGH
		 * bytes of stdin wait for the process (signals behind them wait
		 * too); its output is relayed all the while.
		 */
		struct pollfd p[6] = {
		    {.fd = r->out, .events = POLLIN},
		    {.fd = r->err, .events = POLLIN},
		    {.fd = r->chldfd, .events = POLLIN},
		    {.fd = queued > VMCT_OUTQ_HIGH ? -1 : vsock, .events = POLLIN},
		    {.fd = r->exited ? -1 : r->listen_fd, .events = POLLIN},
		    {.fd = queued ? r->in : -1, .events = POLLOUT},
		};
		/* Once the process is gone, a pipe a descendant still holds is drained
		 * briefly. */
		int n = poll(p, 6, r->exited ? 200 : -1);

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
		if (p[4].revents)
			accept_session(r);
		if (p[5].revents)
			stdin_flush(r);
	}
	reap(r);
	vmct_outq_free(&r->inq);
}

/* The process's stdio: pipes, or a terminal (in[0] its slave, in[1] and out[0] its master).
 */
static void make_stdio(const struct vmct_config *c, struct relay *r, int in[2], int out[2],
		       int err[2])
{
	in[0] = in[1] = out[0] = out[1] = err[0] = err[1] = -1;
	if (!c->tty) {
		if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
		    pipe2(err, O_CLOEXEC) < 0)
			fatal("pipe: %s", strerror(errno));
		return;
	}
	if (open_pty(c, &in[1], &in[0]) < 0)
		fatal("a terminal in the VM: %s", strerror(errno));
	r->tty = true;
	out[0] = fcntl(in[1], F_DUPFD_CLOEXEC, 3); /* closed apart: pump() closes out at EIO */
	if (out[0] < 0)
		fatal("dup: %s", strerror(errno));
}

/*
 * The first session's process in a new PID namespace, as its PID 1 (fork()
 * with CLONE_NEWPID: no stack of its own, the child goes on on a copy of
 * ours); the namespace is kept for the exec sessions.  A further session's
 * handler joined that namespace (session()): a plain fork() lands there.
 */
static pid_t ns_fork(void)
{
	char path[64];
	pid_t pid;

	if (session_child)
		return fork();
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid <= 0)
		return pid;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	ct_pidns = above_stdio(open(path, O_RDONLY | O_CLOEXEC));
	if (ct_pidns < 0)
		klog("the container's PID namespace: %s (no exec can join it)", strerror(errno));
	return pid;
}

static void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void run(const struct vmct_config *c, size_t have, int listen_fd)
{
	struct relay r = {.buf = frame_buf, .have = have, .chldfd = -1, .listen_fd = listen_fd};
	int in[2], out[2], err[2], ready[2] = {-1, -1};
	sigset_t chld;

	/* Before the fork: no SIGCHLD is missed.  The child unblocks all. */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	r.chldfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r.chldfd < 0)
		fatal("signalfd: %s", strerror(errno));
	make_stdio(c, &r, in, out, err);
	/*
	 * The first session: no exec is accepted before the child has set up
	 * the namespaces it joins (own_proc, apply_paths): it closes setup_done.
	 */
	if (!session_child) {
		if (pipe2(ready, O_CLOEXEC) < 0)
			fatal("pipe: %s", strerror(errno));
		ready[0] = above_stdio(ready[0]);
		setup_done = ready[1] = above_stdio(ready[1]);
	}
	r.pid = ns_fork();
	/* A PID namespace whose PID 1 is gone takes no new process: ENOMEM. */
	if (r.pid < 0 && session_child && errno == ENOMEM)
		fatal("the container's process has ended");
	if (r.pid < 0)
		fatal("fork: %s", strerror(errno));
	if (r.pid == 0)
		child(c, in[0], out[1], err[1], r.tty);
	if (ready[1] >= 0) {
		char b;

		closep(&ready[1]);
		setup_done = -1;
		while (read(ready[0], &b, 1) < 0 && errno == EINTR)
			;
		closep(&ready[0]);
	}
	closep(&in[0]);
	closep(&out[1]);
	closep(&err[1]);
	r.in = in[1];
	/* Never blocks the relay (a terminal's master: out too, pump() knows). */
	fcntl(r.in, F_SETFL, fcntl(r.in, F_GETFL) | O_NONBLOCK);
	r.out = out[0];
	r.err = err[0];
	relay(&r);
	while (!r.exited && waitpid(r.pid, &r.status, 0) == r.pid) {
		r.exited = true;
		r.status = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
	}
	closep(&r.in);
	send_u32(VMCT_EXIT, r.status);
}

/* HELLO, then the host's CONFIG: the process (the rest of frame_buf's bytes in *ret_have).
 */
static void handshake(struct vmct_config *c, size_t *ret_have)
{
	const uint8_t *pl;
	const char *why;
	uint32_t type, len;
	size_t have = 0;
	long f;

	send_frame(VMCT_HELLO, VMCT_VERSION, strlen(VMCT_VERSION));
	f = read_frame(frame_buf, &have, sizeof(frame_buf), &type, &pl, &len);
	if (f < 0 || type != VMCT_CONFIG)
		fatal("expected a config frame from the host");
	if (vmct_config_parse(pl, len, c, &why) < 0)
		fatal("bad config from the host: %s", why);
	memmove(frame_buf, frame_buf + f, have - f);
	*ret_have = have - f;
}

/* A further session (an exec), in a handler process: its process, then the handler ends. */
static __attribute__((noreturn)) void session(int conn)
{
	struct vmct_config c;
	size_t have;

	session_child = true;
	vsock = conn;
	handshake(&c, &have);
	if (c.mounts || c.init)
		fatal("mounts or an init in an exec session");
	/* Our children are born in the container's PID namespace (ours stays). */
	if (setns(ct_pidns, CLONE_NEWPID) < 0)
		fatal("join the container's PID namespace: %s", strerror(errno));
	run(&c, have, -1);
	finish();
}

/* The exec port's listener; the VM runs on without it (klog says why). */
static int listen_exec(void)
{
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = VMCT_EXEC_PORT};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		klog("listen on vsock port %u: %s", VMCT_EXEC_PORT, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * A warm template (`isola.warm=1` on the kernel command line, src/vmct/warm.c)
 * is snapshotted while its agent waits in accept() on VMCT_PORT, and every
 * container restores a copy of it.
 */
static bool warm_template(void)
{
	char b[1024] = "";
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, b, sizeof(b) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	b[n] = '\0';
	return strstr(b, " isola.warm=1") || !strncmp(b, "isola.warm=1", 12);
}

/*
 * Every clone of a template has its RNG state, and its clock stops at the
 * snapshot: the host's time and entropy come first.  The entropy is credited
 * and the CRNG reseeded from it (RNDRESEEDCRNG) before any process starts;
 * without that a clone's /dev/urandom would repeat its siblings' output.
 */
static void warm_apply(const uint8_t *pl, uint32_t len)
{
	struct {
		struct rand_pool_info info;
		uint8_t buf[VMCT_SEED_MAX];
	} rp;
	const uint8_t *seed;
	uint64_t sec;
	uint32_t nsec, n;
	struct timespec ts;
	int fd;

	if (vmct_warm_parse(pl, len, &sec, &nsec, &seed, &n) < 0)
		fatal("a bad warm-start frame from the host");
	ts = (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = nsec};
	if (clock_settime(CLOCK_REALTIME, &ts) < 0)
		klog("set the clock: %s", strerror(errno));
	rp.info.entropy_count = (int)(n * 8);
	rp.info.buf_size = (int)n;
	memcpy(rp.info.buf, seed, n);
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, RNDADDENTROPY, &rp.info) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
		fatal("reseed the VM's RNG: %s", strerror(errno));
	close(fd);
}

/*
 * A restored template: the host connects (CONNECT VMCT_PORT through the
 * VMM).  Connections that end before the WARM frame (the template builder's
 * probe, or one the restore reset) are dropped and the next one accepted.
 */
static void warm_handshake(struct vmct_config *c, size_t *ret_have)
{
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = VMCT_PORT};
	int lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	const uint8_t *pl;
	const char *why;
	uint32_t type, len;
	size_t have;
	long f;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		fatal("listen on vsock port %u: %s", VMCT_PORT, strerror(errno));
	for (;;) {
		vsock = accept_host(lfd);
		if (vsock < 0)
			continue;
		have = 0;
		send_frame(VMCT_HELLO, VMCT_VERSION, strlen(VMCT_VERSION));
		f = read_frame(frame_buf, &have, sizeof(frame_buf), &type, &pl, &len);
		if (f > 0 && type == VMCT_WARM)
			break;
		close(vsock);
		vsock = -1;
	}
	close(lfd);
	warm_apply(pl, len);
	memmove(frame_buf, frame_buf + f, have - f);
	have -= f;
	f = read_frame(frame_buf, &have, sizeof(frame_buf), &type, &pl, &len);
	if (f < 0 || type != VMCT_CONFIG)
		fatal("expected a config frame from the host");
	if (vmct_config_parse(pl, len, c, &why) < 0)
		fatal("bad config from the host: %s", why);
	memmove(frame_buf, frame_buf + f, have - f);
	*ret_have = have - f;
}

int main(void)
{
	struct vmct_config c;
	size_t have;
	bool warm;

	signal(SIGPIPE, SIG_IGN);
	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	warm = warm_template();
	load_modules(warm ? MODS_BUT_DISK : MODS_ALL);
	if (warm) {
		/*
		 * The disk's driver loads after the restore: the container's disk
		 * then replaces the template's placeholder with no cached block or
		 * stale capacity of it in the guest.
		 */
		warm_handshake(&c, &have);
		load_modules(MODS_DISK);
	} else {
		vsock = connect_host();
		if (vsock < 0)
			fatal("cannot connect to the host over vsock");
		handshake(&c, &have);
	}
	setup_root();
	setup_mounts(&c);
	setup_net(&c.net);
	setup_sysctls(&c);
	setup_etc(&c);
	make_mntns();
	run(&c, have, listen_exec());
	finish();
}
