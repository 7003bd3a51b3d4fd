/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guest's NIC in the OCI mode (docs/vm-containers.md "Networking"): the engine
 * gives the container a network namespace it made (linux.namespaces, type network, a
 * path) and owns its CNI ADD and DEL.  create joins a TAP there to the netns's
 * interface (src/net/vmlink.c) and the VMM runs in it; delete removes the TAP and the
 * interface's ingress qdisc, which is all we added.  What to undo is recorded in the
 * state dir (vm.net) before anything is made.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "net.h"
#include "oci-internal.h"

#define NET_FILE "vm.net"

void vmct_oci_nic_make(const struct net_vm_iface *v, const char *netns, const char *tap,
		       char vmm_net[VMCT_OCI_NIC_ARG], struct vmct_oci_nic *ret)
{
	const uint8_t *m = v->mac;

	snprintf(vmm_net, VMCT_OCI_NIC_ARG, "tap=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x", tap, m[0],
		 m[1], m[2], m[3], m[4], m[5]);
	*ret = (struct vmct_oci_nic){
	    .netns = netns,
	    .vmm_net = vmm_net,
	    .tap = tap,
	    .cfg = {.set = true,
		    .addr = v->addr,
		    .gw = v->gw,
		    .prefix = v->prefix,
		    .mtu = v->mtu >= 68 && v->mtu <= 65535 ? v->mtu : 0,
		    .has_mac = true},
	};
	/* The interface's MAC: a warm clone's NIC has the template's until the agent sets it. */
	memcpy(ret->cfg.mac, v->mac, sizeof(ret->cfg.mac));
}

void vmct_oci_netns_free(struct vmct_oci_netns *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	free(n->path);
	n->path = NULL;
}

/*
 * @path opened for reading only if it is a namespace file (nsfs): a device or a FIFO
 * named there is never opened (opening one can act: a watchdog, a tape).
 */
static int open_nsfs(const char *path)
{
	_cleanup_close_ int o = open(path, O_PATH | O_CLOEXEC);
	struct statfs sf;
	char p[64];
	int fd;

	if (o < 0)
		return -errno;
	if (fstatfs(o, &sf) < 0)
		return -errno;
	if (sf.f_type != NSFS_MAGIC)
		return -ENOTTY; /* "not a network namespace", as the ioctl would say */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", o);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* @fd is a network namespace, and not the one we run in (the host's, as a rule). */
static int check_netns(int fd, const char *field, const char *path, struct stat *st,
		       struct err **err)
{
	struct stat self;

	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
		return err_make(err, 0, "%s `%s`: not a network namespace", field, path);
	if (fstat(fd, st) < 0 || stat("/proc/self/ns/net", &self) < 0)
		return err_make(err, errno, "%s `%s`", field, path);
	if (st->st_dev == self.st_dev && st->st_ino == self.st_ino)
		return err_make(err, 0,
				"%s `%s`: the runtime's own network namespace (the VM would take "
				"over its interface)",
				field, path);
	return 0;
}

int vmct_oci_netns_open(json_t *spec, struct vmct_oci_netns *ret, struct err **err)
{
	json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces"), *ns;
	char field[64];
	size_t i;

	ret->fd = -1;
	json_array_foreach (nss, i, ns) {
		json_t *path = json_object_get(ns, "path");
		const char *p = json_string_value(path);
		struct stat st;
		int r;

		if (!json_is_object(ns) ||
		    !streq(json_string_value(json_object_get(ns, "type")) ?: "", "network"))
			continue;
		snprintf(field, sizeof(field), "linux.namespaces[%zu].path", i);
		if (!path || (p && !*p))
			return 0; /* a new netns: the guest gets no NIC */
		if (!p || p[0] != '/' || strlen(p) != json_string_length(path) ||
		    strlen(p) >= PATH_MAX)
			return err_make(err, 0, "%s: not an absolute path", field);
		ret->fd = open_nsfs(p);
		if (ret->fd == -ENOTTY)
			return err_make(err, 0, "%s `%s`: not a network namespace", field, p);
		if (ret->fd < 0)
			return err_make(err, -ret->fd, "%s `%s`", field, p);
		r = check_netns(ret->fd, field, p, &st, err);
		if (r < 0)
			return r;
		ret->dev = st.st_dev;
		ret->ino = st.st_ino;
		ret->path = strdup(p);
		return ret->path ? 0 : err_make(err, ENOMEM, "%s", field);
	}
	return 0;
}

/* vm.net: the netns (path and identity), the interface and the TAP. */
static int record(int dirfd, const struct vmct_oci_netns *n, struct err **err)
{
	_cleanup_json_ json_t *j =
	    json_pack("{s:s, s:I, s:I, s:s, s:s}", "netns", n->path, "dev", (json_int_t)n->dev,
		      "ino", (json_int_t)n->ino, "if", n->ifname, "tap", NET_VM_OCI_TAP);
	_cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (!text)
		return err_make(err, ENOMEM, NET_FILE);
	return write_file_atomic_at(dirfd, NET_FILE, text, strlen(text), 0600, err);
}

int vmct_oci_netns_link(struct vmct_oci_netns *n, int dirfd, struct err **err)
{
	struct net_vm_iface v = {};
	int r;

	if (n->fd < 0)
		return 0;
	/* Recorded first (the interface not yet known: delete then removes the TAP alone). */
	r = record(dirfd, n, err);
	if (r >= 0)
		r = net_vm_link_ns(n->fd, n->path, NET_VM_OCI_TAP, &v, n->ifname, err);
	if (r < 0 || !n->ifname[0]) {
		unlinkat(dirfd, NET_FILE, 0);
		return r;
	}
	r = record(dirfd, n, err);
	if (r < 0) {
		net_vm_unlink_ns(n->fd, n->path, NET_VM_OCI_TAP, n->ifname, NULL);
		unlinkat(dirfd, NET_FILE, 0);
		return r;
	}
	vmct_oci_nic_make(&v, n->path, NET_VM_OCI_TAP, n->vmm_net, &n->nic);
	n->linked = true;
	return 0;
}

void vmct_oci_netns_unlink(int dirfd)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_close_ int fd = -1;
	const char *path, *ifname, *tap;
	struct stat st;

	if (json_load_file_capped(dirfd, NET_FILE, 4096, &j, NULL) < 0)
		return;
	path = json_string_value(json_object_get(j, "netns"));
	ifname = json_string_value(json_object_get(j, "if"));
	tap = json_string_value(json_object_get(j, "tap"));
	if (!path || !ifname || !tap || !streq(tap, NET_VM_OCI_TAP))
		return;
	/* Gone, or another namespace by now: ours went with its TAP, nothing to undo. */
	fd = open_nsfs(path);
	if (fd < 0 || ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET || fstat(fd, &st) < 0 ||
	    (json_int_t)st.st_dev != json_integer_value(json_object_get(j, "dev")) ||
	    (json_int_t)st.st_ino != json_integer_value(json_object_get(j, "ino")))
		return;
	net_vm_unlink_ns(fd, path, tap, *ifname ? ifname : NULL, NULL);
	unlinkat(dirfd, NET_FILE, 0);
}
