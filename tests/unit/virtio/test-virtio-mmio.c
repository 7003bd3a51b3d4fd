/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-mmio + virtio-rng + virtio-blk driven the way a guest driver does,
 * through the MMIO bus, against a fake VM (malloc'ed guest memory, no KVM:
 * no irqfd and no ioeventfd, so the fallbacks are what runs here).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#include "fake-vm.h"
#include "tap.h"
#include "virtio-internal.h"
#include "virtio.h"
#include "vm-config.h"
#include "vm.h"

/* A blk request: header, data (len bytes, direction by type), status byte. */
static int blk_req(struct drv *d, uint32_t type, uint64_t sector, uint32_t len, uint8_t *status)
{
	uint32_t hdr[4] = {type, 0, (uint32_t)sector, (uint32_t)(sector >> 32)};
	bool to_dev = type != 0 && type != 8;
	int r;

	memcpy(gp(BUF(d, 0)), hdr, 16);
	*(uint8_t *)gp(BUF(d, 2)) = 0xff;
	desc(d, 0, BUF(d, 0), 16, VIRTQ_DESC_F_NEXT, len ? 1 : 2);
	desc(d, 1, BUF(d, 1), len, VIRTQ_DESC_F_NEXT | (to_dev ? 0 : VIRTQ_DESC_F_WRITE), 2);
	desc(d, 2, BUF(d, 2), 1, VIRTQ_DESC_F_WRITE, 0);
	r = drv_submit(d, 0);
	*status = *(uint8_t *)gp(BUF(d, 2));
	return r;
}

static uint64_t ver1 = 1ull << VIRTIO_F_VERSION_1;

static void test_rng(struct drv *d)
{
	static const uint8_t zero[256];

	is_int(rd(d, 0x0), 0x74726976, "rng: magic");
	is_int(rd(d, 0x4), 2, "rng: version 2");
	is_int(rd(d, 0x8), VIRTIO_ID_RNG, "rng: device id");
	ok(!(drv_init(d, 0) & VIRTIO_STATUS_FEATURES_OK),
	   "rng: FEATURES_OK refused without VERSION_1");
	ok(!(drv_init(d, ver1 | 1ull << 40) & VIRTIO_STATUS_FEATURES_OK),
	   "rng: FEATURES_OK refused for a feature never offered");
	ok(drv_init(d, ver1) & VIRTIO_STATUS_FEATURES_OK, "rng: VERSION_1 accepted");
	is_int(rd(d, 0x34), VIRTQ_MAX_SIZE, "rng: QueueNumMax");
	drv_queue(d);
	is_int(rd(d, 0x44), 1, "rng: queue ready");
	desc(d, 0, BUF(d, 0), 256, VIRTQ_DESC_F_WRITE, 0);
	memset(gp(BUF(d, 0)), 0, 256);
	int before = __atomic_load_n(&irqs, __ATOMIC_SEQ_CST);
	is_int(drv_submit(d, 0), 256, "rng: 256 random bytes returned");
	ok(memcmp(gp(BUF(d, 0)), zero, 256) != 0, "rng: buffer filled");
	/* The interrupt follows the used index: give the worker a moment. */
	for (int i = 0; i < 1000 && __atomic_load_n(&irqs, __ATOMIC_SEQ_CST) == before; i++)
		usleep(1000);
	ok(__atomic_load_n(&irqs, __ATOMIC_SEQ_CST) > before && (rd(d, 0x60) & VIRTIO_ISR_QUEUE),
	   "rng: used-buffer interrupt raised");
	wr(d, 0x64, VIRTIO_ISR_QUEUE);
	is_int(rd(d, 0x60), 0, "rng: InterruptACK clears it");
}

static void test_blk(struct drv *d, int img_fd)
{
	uint8_t st, sector[512];
	uint64_t cap = 0;

	is_int(rd(d, 0x8), VIRTIO_ID_BLOCK, "blk: device id");
	bus_access(&mmio_bus, d->base + 0x100, &cap, 8, false);
	is_int(cap, 2048, "blk: capacity in sectors, 8-byte config read");
	ok(drv_init(d, ver1 | 1ull << VIRTIO_F_EVENT_IDX | 1ull << 9) & VIRTIO_STATUS_FEATURES_OK,
	   "blk: VERSION_1 + EVENT_IDX + FLUSH accepted");
	drv_queue(d);

	memset(gp(BUF(d, 1)), 0x5a, 1024);
	is_int(blk_req(d, 1, 3, 1024, &st), 1, "blk: write returns the status byte only");
	is_int(st, 0, "blk: write OK");
	ok(pread(img_fd, sector, 512, 4 * 512) == 512 && sector[0] == 0x5a && sector[511] == 0x5a,
	   "blk: pattern landed in the image at sector 4");
	memset(gp(BUF(d, 1)), 0, 1024);
	is_int(blk_req(d, 0, 3, 1024, &st), 1025, "blk: read returns data + status");
	ok(st == 0 && ((uint8_t *)gp(BUF(d, 1)))[1023] == 0x5a, "blk: read back the pattern");
	is_int((blk_req(d, 8, 0, 20, &st), st), 0, "blk: GET_ID OK");
	ok(memcmp(gp(BUF(d, 1)), "isola-serial", 12) == 0, "blk: GET_ID returns the serial");
	is_int((blk_req(d, 4, 0, 0, &st), st), 0, "blk: FLUSH OK");
	is_int((blk_req(d, 0, 2047, 1024, &st), st), 1, "blk: read past the end is IOERR");
	is_int((blk_req(d, 1, UINT64_MAX, 512, &st), st), 1, "blk: sector overflow is IOERR");
	is_int((blk_req(d, 0, 0, 100, &st), st), 1, "blk: length not a multiple of 512 is IOERR");
	is_int((blk_req(d, 99, 0, 0, &st), st), 2, "blk: unknown type is UNSUPP");
	uint32_t seg[4] = {4, 0, 1, 0};
	memcpy(gp(BUF(d, 1)), seg, 16);
	is_int((blk_req(d, 13, 0, 16, &st), st), 0, "blk: WRITE_ZEROES OK");
	ok(pread(img_fd, sector, 512, 4 * 512) == 512 && sector[0] == 0 && sector[511] == 0,
	   "blk: sector 4 zeroed in the image");

	desc(d, 0, MEM_GPA + MEM_SIZE - 4, 16, VIRTQ_DESC_F_NEXT, 2);
	is_int(drv_submit(d, 0), 0, "blk: chain outside guest memory completed with length 0");
	is_int((blk_req(d, 4, 0, 0, &st), st), 0, "blk: the next request still works");

	AVAIL(d)->ring[d->avail_idx[0] % QSZ] = 300;
	__atomic_store_n(&AVAIL(d)->idx, ++d->avail_idx[0], __ATOMIC_RELEASE);
	wr(d, 0x50, 0);
	for (int i = 0; i < 2000 && !(rd(d, 0x70) & VIRTIO_STATUS_NEEDS_RESET); i++)
		usleep(1000);
	ok(rd(d, 0x70) & VIRTIO_STATUS_NEEDS_RESET, "blk: corrupt ring sets DEVICE_NEEDS_RESET");
	ok(rd(d, 0x60) & VIRTIO_ISR_CONFIG, "blk: with a configuration-change interrupt");
	wr(d, 0x70, 0);
	ok(rd(d, 0x70) == 0 && rd(d, 0x60) == 0 && rd(d, 0x44) == 0, "blk: reset clears it all");
	ok(drv_init(d, ver1) & VIRTIO_STATUS_FEATURES_OK, "blk: usable again after reset");
	drv_queue(d);
	is_int((blk_req(d, 4, 0, 0, &st), st), 0, "blk: requests work after reset");
}

/* A temporary image of `size` bytes starting with `head`; its path in tmpl. */
static int image(char *tmpl, off_t size, const char *head)
{
	int fd = mkstemp(tmpl);

	if (fd < 0 || ftruncate(fd, size) < 0 || pwrite(fd, head, strlen(head), 0) < 0)
		return -1;
	return fd;
}

static uint64_t capacity(struct drv *d)
{
	uint64_t cap = 0;

	bus_access(&mmio_bus, d->base + 0x100, &cap, 8, false);
	return cap;
}

/*
 * PATCH /drives underneath: disk 0 gets a 2 MiB image B.  The guest sees the
 * new capacity with a new config generation and a configuration change
 * interrupt, reads B, writes past the old end into B.  A locked image is
 * refused and changes nothing; the image in use again only resizes.
 */
static void test_blk_swap(struct drv *d, struct vm_config *cfg)
{
	char b[] = "/tmp/isola-test-blk.XXXXXX", c[] = "/tmp/isola-test-blk.XXXXXX";
	_cleanup_close_ int bfd = image(b, 2 << 20, "DISK-B"), cfd = image(c, 4096, "DISK-C");
	_cleanup_close_ int other = open(c, O_RDWR | O_CLOEXEC), again = -1;
	_cleanup_err_ struct err *err = NULL;
	struct vm_disk_cfg nd = cfg->disks[0];
	uint32_t gen = rd(d, 0xfc);
	uint8_t st, sector[512];
	int before = __atomic_load_n(&irqs, __ATOMIC_SEQ_CST);

	if (!ok(bfd >= 0 && cfd >= 0 && other >= 0, "images B and C"))
		return;
	wr(d, 0x64, rd(d, 0x60)); /* acknowledge what is pending */
	nd.path = b;
	is_int(vmm_virtio_disk_update(VM, 0, open(b, O_RDWR | O_CLOEXEC), &nd, 0, &err), 0,
	       "swap: disk 0 now on B %s", err ? err->msg : "");
	is_int(capacity(d), 4096, "swap: capacity 4096 sectors");
	is_int(rd(d, 0xfc), gen + 1, "swap: a new config generation");
	ok(rd(d, 0x60) & VIRTIO_ISR_CONFIG, "swap: InterruptStatus says configuration change");
	ok(__atomic_load_n(&irqs, __ATOMIC_SEQ_CST) > before, "swap: with an interrupt");
	wr(d, 0x64, VIRTIO_ISR_CONFIG);
	is_int((blk_req(d, 0, 0, 512, &st), st), 0, "swap: read OK");
	ok(memcmp(gp(BUF(d, 1)), "DISK-B", 6) == 0, "swap: the guest reads B");
	memset(gp(BUF(d, 1)), 0x42, 512);
	is_int((blk_req(d, 1, 3000, 512, &st), st), 0, "swap: write past the old end OK");
	ok(pread(bfd, sector, 512, 3000 * 512) == 512 && sector[0] == 0x42, "swap: it lands in B");

	ok(flock(other, LOCK_EX | LOCK_NB) == 0, "C locked by another user");
	nd.path = c;
	ok(vmm_virtio_disk_update(VM, 0, open(c, O_RDWR | O_CLOEXEC), &nd, 0, &err) < 0 &&
	       strstr(err->msg, c) && strstr(err->msg, "locked"),
	   "swap to a locked image refused: %s", err ? err->msg : "");
	err_free(&err);
	is_int(capacity(d), 4096, "refused: capacity unchanged");
	is_int(rd(d, 0xfc), gen + 1, "refused: generation unchanged");
	is_int((blk_req(d, 0, 0, 512, &st), st), 0, "refused: still reads");
	ok(memcmp(gp(BUF(d, 1)), "DISK-B", 6) == 0, "refused: still B");

	ok(ftruncate(bfd, 3 << 20) == 0, "B grows to 3 MiB");
	nd.path = b;
	again = open(b, O_RDWR | O_CLOEXEC);
	is_int(vmm_virtio_disk_update(VM, 0, TAKE_FD(again), &nd, 0, &err), 0,
	       "B again: the file in use %s", err ? err->msg : "");
	is_int(capacity(d), 6144, "B again: the new size");
	again = open(b, O_RDWR | O_CLOEXEC);
	ok(flock(again, LOCK_EX | LOCK_NB) < 0, "B again: the disk still holds B's lock");
	ok(vmm_virtio_disk_update(VM, 7, -1, &nd, VMM_DISK_RL_BW | VMM_DISK_RL_IOPS, &err) < 0,
	   "no disk 7: refused");
	err_free(&err);

	/* A limit set while running (the disk had none) holds a request; lifting it lets it go. */
	nd.iops = (struct vm_rate_cfg){.size = 1, .refill_ms = 3600000};
	is_int(vmm_virtio_disk_update(VM, 0, -1, &nd, VMM_DISK_RL_BW | VMM_DISK_RL_IOPS, &err), 0,
	       "limit: 1 operation an hour");
	is_int((blk_req(d, 0, 0, 512, &st), st), 0, "limit: the first request passes");
	is_int(blk_req(d, 0, 0, 512, &st), -1, "limit: the second is held");
	nd.iops = (struct vm_rate_cfg){0};
	is_int(vmm_virtio_disk_update(VM, 0, -1, &nd, VMM_DISK_RL_BW | VMM_DISK_RL_IOPS, &err), 0,
	       "limit lifted");
	is_int(drv_wait_q(d, 0), 513, "the held request is served");
	is_int(*(uint8_t *)gp(BUF(d, 2)), 0, "with status OK");
	unlink(b);
	unlink(c);
}

static void test_blk_ro(struct drv *d, int img_fd)
{
	uint8_t st, sector[512];

	uint32_t feat = rd(d, 0x10);
	ok(feat & (1u << 5), "ro blk: VIRTIO_BLK_F_RO offered");
	drv_init(d, ver1 | 1u << 5);
	drv_queue(d);
	memset(gp(BUF(d, 1)), 0x77, 512);
	is_int((blk_req(d, 1, 0, 512, &st), st), 1, "ro blk: write is IOERR");
	ok(pread(img_fd, sector, 512, 0) == 512 && sector[0] == 0, "ro blk: image unchanged");
	is_int((blk_req(d, 0, 0, 512, &st), st), 0, "ro blk: read OK");
}

int main(void)
{
	char img[] = "/tmp/isola-test-blk.XXXXXX", img2[] = "/tmp/isola-test-blk.XXXXXX";
	int fd = mkstemp(img), fd2 = mkstemp(img2);
	_cleanup_err_ struct err *err = NULL;
	struct vm_config cfg = {0};
	struct drv blk = {.base = BASE, .ring = MEM_GPA};

	if (fake_vm_init() < 0 || fd < 0 || fd2 < 0 || ftruncate(fd, 1 << 20) < 0 ||
	    ftruncate(fd2, 4096) < 0)
		return 1;
	cfg.n_disks = 2;
	cfg.disks[0] = (struct vm_disk_cfg){.path = img, .serial = "isola-serial"};
	cfg.disks[1] = (struct vm_disk_cfg){.path = img2, .readonly = true};
	cfg.rng = true;

	is_int(vmm_virtio_setup(VM, &cfg, &err), 0, "setup of two disks and an rng");
	ok(streq(cmdline, "virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6 "
			  "virtio_mmio.device=4K@0xd0002000:7"),
	   "devices announced on the command line: %s", cmdline);

	test_rng(&(struct drv){.base = BASE + 0x2000, .ring = MEM_GPA + 0x20000});
	test_blk(&blk, fd);
	test_blk_swap(&blk, &cfg);
	test_blk_ro(&(struct drv){.base = BASE + 0x1000, .ring = MEM_GPA + 0x10000}, fd2);

	vmm_virtio_teardown(VM);

	/* A failing device undoes the whole setup (the VM is abandoned then). */
	cfg.has_vsock = true;
	cfg.vsock_cid = 3;
	cfg.vsock_uds = "/nonexistent/isola/v.sock";
	ok(vmm_virtio_setup(VM, &cfg, &err) < 0 && strstr(err->msg, "/nonexistent/isola/v.sock"),
	   "bad vsock uds refused: %s", err ? err->msg : "");
	vmm_virtio_teardown(VM);
	err_free(&err);

	/* A FIFO as a disk (a user's, or one a snapshot names) is refused, not waited on. */
	{
		char fifo[] = "/tmp/isola-test-blk-fifo.XXXXXX";
		int t = mkstemp(fifo);

		if (t >= 0) {
			close(t);
			unlink(fifo);
		}
		cfg.has_vsock = false;
		cfg.n_disks = 1;
		cfg.disks[0] = (struct vm_disk_cfg){.path = fifo, .readonly = true};
		alarm(10); /* the code before this hung in open(2) */
		ok(mkfifo(fifo, 0600) == 0 && vmm_virtio_setup(VM, &cfg, &err) < 0 &&
		       strstr(err->msg, "not a regular file or block device"),
		   "a FIFO disk is refused at once: %s", err ? err->msg : "");
		alarm(0);
		vmm_virtio_teardown(VM);
		unlink(fifo);
	}
	unlink(img);
	unlink(img2);
	close(fd);
	close(fd2);
	fake_vm_fini();
	return tap_done();
}
