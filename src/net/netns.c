/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Network namespaces that outlive their processes, as `ip netns add` makes them: a
 * child unshares a new network namespace and bind-mounts /proc/self/ns/net on a file.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "net.h"

static int loopback_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {};

	if (s < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

int net_netns_create(const char *path, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	int status;
	pid_t pid;

	if (fd < 0)
		return err_make(err, errno, "create `%s`", path);
	pid = fork();
	if (pid < 0) {
		unlink(path);
		return err_make(err, errno, "fork");
	}
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(errno);
		if (loopback_up() < 0)
			_exit(errno);
		if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
			_exit(errno);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			break;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	unlink(path);
	return err_make(err, WIFEXITED(status) ? WEXITSTATUS(status) : EIO,
			"new network namespace on `%s`", path);
}

int net_netns_remove(const char *path, struct err **err)
{
	/* UMOUNT_NOFOLLOW: a symlink in net/ns never takes the mount it points to. */
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		return err_make(err, errno, "unmount `%s`", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return err_make(err, errno, "remove `%s`", path);
	return 0;
}

/* Ports on the bridge (veths of containers of any store): then it stays. */
static bool bridge_in_use(const char *name)
{
	char p[64];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	snprintf(p, sizeof(p), "/sys/class/net/%s/brif", name);
	d = opendir(p);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			return true;
	return false;
}

bool net_iface_exists(const char *name)
{
	return strlen(name) < IFNAMSIZ && if_nametoindex(name) != 0;
}

bool net_iface_is_bridge(const char *name)
{
	char p[64];
	struct stat st;

	if (strlen(name) >= IFNAMSIZ || strchr(name, '/') || name[0] == '.')
		return false;
	snprintf(p, sizeof(p), "/sys/class/net/%s/bridge", name);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int net_bridge_delete(const char *name, struct err **err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {};

	if (s < 0)
		return err_make(err, errno, "socket");
	if (strlen(name) >= IFNAMSIZ)
		return err_make(err, EINVAL, "bridge `%s`", name);
	if (!net_iface_exists(name))
		return 0;
	/* Before anything is set on it: anything else (eth0, lo, a veth) is left alone. */
	if (!net_iface_is_bridge(name))
		return err_make(err, ENOTTY, "`%s` is not a bridge; left alone", name);
	if (bridge_in_use(name))
		return 0;
	strcpy(ifr.ifr_name, name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return errno == ENODEV ? 0 : err_make(err, errno, "bridge `%s`", name);
	ifr.ifr_flags &= ~IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return err_make(err, errno, "set bridge `%s` down", name);
	if (ioctl(s, SIOCBRDELBR, name) < 0 && errno != ENXIO)
		return err_make(err, errno, "delete bridge `%s`", name);
	return 0;
}

/* Does a line of /proc/net/if_inet6 (addr ifindex prefix scope flags name) say tentative? */
static bool tentative_on(const char *line, const char *dev)
{
	char addr[33], name[IFNAMSIZ + 1];
	unsigned idx, prefix, scope, flags;

	if (sscanf(line, "%32s %x %x %x %x %16s", addr, &idx, &prefix, &scope, &flags, name) != 6)
		return false;
	/* IFA_F_TENTATIVE; an address whose DAD failed stays so, and is not waited for. */
	return streq(name, dev) && (flags & 0x40) && !(flags & 0x08);
}

void net_bridge_settle_ipv6(const char *bridge)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	for (int i = 0; i < 150; i++) { /* 3 s; DAD takes ~1 s */
		_cleanup_fclose_ FILE *f = fopen("/proc/net/if_inet6", "re");
		char line[256];
		bool waiting = false;

		while (f && !waiting && fgets(line, sizeof(line), f))
			waiting = tentative_on(line, bridge);
		if (!waiting)
			return;
		nanosleep(&ts, NULL);
	}
}
