/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The VM container's initramfs: a newc cpio with /init and the modules, dependencies first. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdutil.h"
#include "tap.h"
#include "vmct.h"

static char dir[] = "/tmp/test-vmct-XXXXXX";

static void put(const char *rel, const char *data, size_t len)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

#define MOD(rel, deps)                                   \
	put(rel, "junk\0name=x\0depends=" deps "\0more", \
	    sizeof("junk\0name=x\0depends=" deps "\0more"))

/* The names in the cpio, space-separated, and /init's content. */
static int list(const char *path, char *names, size_t size, char *init, size_t isize)
{
	char *buf = NULL;
	size_t len = 0, o = 0;

	names[0] = init[0] = '\0';
	if (read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, NULL) < 0)
		return -1;
	while (o + 110 <= len && !memcmp(buf + o, "070701", 6)) {
		char f[9] = {};
		unsigned long fsize, nsize;

		memcpy(f, buf + o + 54, 8);
		fsize = strtoul(f, NULL, 16);
		memcpy(f, buf + o + 94, 8);
		nsize = strtoul(f, NULL, 16);
		const char *name = buf + o + 110;
		if (!strcmp(name, "TRAILER!!!"))
			break;
		strncat(names, name, size - strlen(names) - 2);
		strcat(names, " ");
		o = (o + 110 + nsize + 3) & ~3ul;
		if (!strcmp(name, "init") && fsize < isize) {
			memcpy(init, buf + o, fsize);
			init[fsize] = '\0';
		}
		o = (o + fsize + 3) & ~3ul;
	}
	free(buf);
	return 0;
}

int main(void)
{
	char names[4096], init[64], p[512], out[512];
	struct err *err = NULL;
	int r;

	if (!mkdtemp(dir))
		abort();
	put("agent", "AGENT", 5);
	snprintf(p, sizeof(p), "%s/kernel", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/kernel/sub", dir);
	mkdir(p, 0755);
	MOD("kernel/virtio.ko", "");
	MOD("kernel/sub/virtio_ring.ko", "virtio");
	MOD("kernel/virtio_pci.ko", "virtio_ring,virtio");
	MOD("kernel/virtio_blk.ko", "virtio,virtio_ring");
	MOD("kernel/sub/overlay.ko", "");
	MOD("kernel/vsock.ko", "");
	MOD("kernel/vmw_vsock_virtio_transport_common.ko", "vsock");
	MOD("kernel/vmw-vsock-virtio-transport.ko", "vmw_vsock_virtio_transport_common,vsock");
	MOD("kernel/sub/failover.ko", "");
	MOD("kernel/net_failover.ko", "failover");
	MOD("kernel/virtio_net.ko", "net_failover,virtio,virtio_ring");
	put("modules.builtin", "kernel/fs/ext4/ext4.ko\nkernel/crypto/crc32c_generic.ko\n", 55);

	snprintf(out, sizeof(out), "%s/initrd.cpio", dir);
	snprintf(p, sizeof(p), "%s/agent", dir);
	r = vmct_initramfs_write(p, dir, out, &err);
	ok(r == 0, "write the initramfs%s%s", err ? ": " : "", err ? err->msg : "");
	err_free(&err);
	list(out, names, sizeof(names), init, sizeof(init));
	printf("# %s\n", names);
	ok(!strcmp(init, "AGENT"), "/init is the agent");
	ok(!strcmp(names, "init modules modules/00-virtio.ko modules/01-virtio_ring.ko "
			  "modules/02-virtio_pci.ko modules/03-virtio_blk.ko modules/04-overlay.ko "
			  "modules/05-vsock.ko modules/06-vmw_vsock_virtio_transport_common.ko "
			  "modules/07-vmw_vsock_virtio_transport.ko modules/08-failover.ko "
			  "modules/09-net_failover.ko modules/10-virtio_net.ko "),
	   "modules once each, dependencies first, ext4 and crc32c (built in) left out, '-' read "
	   "as '_'");

	/* The optional virtiofs: taken (after fuse) when the kernel has it. */
	unlink(out);
	MOD("kernel/sub/fuse.ko", "");
	MOD("kernel/virtiofs.ko", "fuse,virtio,virtio_ring");
	snprintf(p, sizeof(p), "%s/agent", dir);
	r = vmct_initramfs_write(p, dir, out, &err);
	ok(r == 0, "write the initramfs with virtiofs%s%s", err ? ": " : "", err ? err->msg : "");
	err_free(&err);
	list(out, names, sizeof(names), init, sizeof(init));
	ok(strstr(names, "modules/10-virtio_net.ko modules/11-fuse.ko modules/12-virtiofs.ko ") !=
	       NULL,
	   "virtiofs is taken last, fuse before it: %s", names);

	unlink(out);
	snprintf(p, sizeof(p), "%s/kernel/virtio_blk.ko", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/agent", dir);
	r = vmct_initramfs_write(p, dir, out, &err);
	ok(r < 0 && err && strstr(err->msg, "virtio_blk"), "a missing module is named: %s",
	   err ? err->msg : "");
	ok(!path_exists(out), "and no initramfs is left");
	err_free(&err);

	MOD("kernel/virtio_blk.ko", "virtio_pci");
	MOD("kernel/virtio.ko", "virtio_blk");
	r = vmct_initramfs_write(p, dir, out, &err);
	ok(r < 0 && err, "a dependency loop is refused: %s", err ? err->msg : "");
	err_free(&err);

	r = vmct_initramfs_write(p, NULL, out, &err);
	list(out, names, sizeof(names), init, sizeof(init));
	ok(r == 0 && !strcmp(names, "init modules "), "no module dir: /init only");
	err_free(&err);

	snprintf(p, sizeof(p), "rm -rf --one-file-system %s", dir);
	if (system(p))
		return 1;
	return tap_done();
}
