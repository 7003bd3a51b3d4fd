/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-blk test guest.  On the first disk: reads the capacity and GET_ID,
 * writes `sectors=N` (default 8) sectors from sector `sector=S` (default 0),
 * each filled with "isola-blk:<sector>" repeated, flushes, reads them back and
 * compares; a read past the end must fail.  With `ro=1` it expects a read-only
 * disk: the RO feature and a failing write.  Prints "virtio-blk: ok".
 * `indirect` / `event_idx` negotiate those ring features (requests then go
 * through an indirect table).  `bench=N size=B`: N sequential writes then N reads of B bytes;
 * prints microseconds for each.  `rounds=R`: R write-and-verify rounds, round i at sector
 * S + i * N, printing "virtio-blk: round i" after each (the snapshot test stops it mid-I/O).
 * `hold=US` waits after the device is set up (vdrv_hold).  `pci msix`: the queue's
 * used buffers raise MSI-X vector 0x41 and every request waits for its interrupt too (a
 * migration that loses the MSI-X table or its route stops the guest with exit 4).  `irq`:
 * the same through the device's IOAPIC pin (edge; the ISR is read after each).
 * Exit codes: 0 ok, 1 no device, 2 negotiation, 3 queue, 4 timeout, 5 bad status,
 * 6 data mismatch, 7 read-only expectations not met.
 */
#include "virtio-drv.h"

#define VIRTIO_ID_BLOCK 2
#define F_RO		(1ull << 5)
#define F_FLUSH		(1ull << 9)
#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define MAX_SECTORS	64
#define MAX_BENCH	(1u << 20)
#define VEC_VIRTIO	0x41

struct req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct req_hdr hdr;
static uint8_t status;
static uint8_t data[MAX_BENCH] __attribute__((aligned(4096)));
static struct vdrv_queue q;
static bool use_irq;
static uint64_t irq_want;	 /* interrupts the requests so far must have raised */
static struct vdrv_dev *irq_dev; /* `irq`: the device whose ISR each interrupt reads */

/* One request; the status byte, or -1 on timeout. */
static int request(uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
	struct vdrv_buf b[3];
	unsigned n = 0;

	hdr = (struct req_hdr){type, 0, sector};
	status = 0xff;
	b[n++] = (struct vdrv_buf){&hdr, sizeof(hdr), false};
	if (len)
		b[n++] = (struct vdrv_buf){buf, len, type != T_OUT};
	b[n++] = (struct vdrv_buf){&status, 1, true};
	if (vdrv_submit(&q, b, n, 5000000) < 0)
		return -1;
	if (use_irq && !guest_irq_wait(VEC_VIRTIO, ++irq_want, 5000000)) {
		guest_printf("virtio-blk: no %s interrupt for request %lu\n",
			     irq_dev ? "INTx" : "MSI-X", (unsigned long)irq_want);
		return -1;
	}
	if (irq_dev)
		vdrv_isr_ack(irq_dev);
	return status;
}

static void fill(uint8_t *p, uint64_t sector)
{
	char tag[32];
	int n = guest_snprintf(tag, sizeof(tag), "isola-blk:%lu;", (unsigned long)sector);

	for (unsigned i = 0; i < 512; i++)
		p[i] = tag[i % n];
}

static int bench(uint64_t count, uint64_t size)
{
	uint64_t t0 = guest_now_us(), t1, t2;

	for (uint64_t i = 0; i < count; i++)
		if (request(T_OUT, i * (size / 512), data, size) != 0)
			return 5;
	t1 = guest_now_us();
	for (uint64_t i = 0; i < count; i++)
		if (request(T_IN, i * (size / 512), data, size) != 0)
			return 5;
	t2 = guest_now_us();
	guest_printf("virtio-blk: bench %lu x %lu bytes: write %lu us, read %lu us (tsc %lu kHz)\n",
		     (unsigned long)count, (unsigned long)size, (unsigned long)(t1 - t0),
		     (unsigned long)(t2 - t1), (unsigned long)guest_tsc_khz());
	return 0;
}

static int check_ro(uint64_t features)
{
	if (!(features & F_RO) || request(T_OUT, 0, data, 512) != 1) {
		guest_printf("virtio-blk: read-only disk accepted a write\n");
		return 7;
	}
	if (request(T_IN, 0, data, 512) != 0)
		return 5;
	guest_printf("virtio-blk: read-only ok\n");
	return 0;
}

static int write_verify(uint64_t first, uint64_t n, uint64_t capacity)
{
	if (first > capacity || n > capacity - first) {
		guest_printf("virtio-blk: disk too small\n");
		return 5;
	}
	for (uint64_t i = 0; i < n; i++)
		fill(data + i * 512, first + i);
	if (request(T_OUT, first, data, n * 512) != 0 || request(T_FLUSH, 0, NULL, 0) != 0)
		return 5;
	memset(data, 0, n * 512);
	if (request(T_IN, first, data, n * 512) != 0)
		return 5;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t want[512];

		fill(want, first + i);
		if (memcmp(want, data + i * 512, 512))
			return 6;
	}
	if (request(T_IN, capacity, data, 512) != 1) {
		guest_printf("virtio-blk: read past the end did not fail\n");
		return 5;
	}
	guest_printf("virtio-blk: wrote and read back %lu sectors at %lu\n", (unsigned long)n,
		     (unsigned long)first);
	return 0;
}

static int rounds(uint64_t first, uint64_t n, uint64_t capacity, uint64_t count)
{
	int r = 0;

	for (uint64_t i = 0; r == 0 && i < count; i++) {
		r = write_verify(first + i * n, n, capacity);
		if (r == 0)
			guest_printf("virtio-blk: round %lu\n", (unsigned long)i);
	}
	return r;
}

int main(void)
{
	uint64_t first = guest_cmdline_u64_or("sector", 0, UINT32_MAX);
	uint64_t n = guest_cmdline_u64_or("sectors", 8, MAX_SECTORS);
	uint64_t count = guest_cmdline_u64_or("bench", 0, 1000000);
	uint64_t size = guest_cmdline_u64_or("size", 4096, MAX_BENCH) & ~511ull;
	struct vdrv_dev d;
	char id[21] = {0};
	uint64_t capacity;
	int r;

	if (vdrv_find(VIRTIO_ID_BLOCK, 0, &d) < 0) {
		guest_printf("virtio-blk: no device on the cmdline \"%s\"\n", guest_cmdline());
		return 1;
	}
	uint64_t extra = (guest_cmdline_has("indirect") ? VDRV_F_INDIRECT_DESC : 0) |
			 (guest_cmdline_has("event_idx") ? VDRV_F_EVENT_IDX : 0);

	if (vdrv_init(&d, F_RO | F_FLUSH | extra) < 0 || (d.features & extra) != extra)
		return 2;
	if (vdrv_queue_setup(&d, 0, &q) < 0)
		return 3;
	vdrv_driver_ok(&d);
	if (d.pci && guest_cmdline_has("msix")) {
		guest_lapic_enable();
		vpci_msix_route(&d, 0, 1, VEC_VIRTIO);
		use_irq = true;
	} else if (guest_cmdline_has("irq")) {
		guest_lapic_enable();
		guest_ioapic_route(d.irq, VEC_VIRTIO, false);
		use_irq = true;
		irq_dev = &d;
	}
	vdrv_hold("virtio-blk");
	capacity = vdrv_config64(&d, 0);
	if (request(T_GET_ID, 0, id, 20) < 0)
		return 4;
	guest_printf("virtio-blk: %lu sectors, serial \"%s\"%s%s%s\n", (unsigned long)capacity, id,
		     d.features & F_RO ? ", read-only" : "",
		     d.features & VDRV_F_INDIRECT_DESC ? ", indirect" : "",
		     d.features & VDRV_F_EVENT_IDX ? ", event_idx" : "");
	if (count)
		r = bench(count, size ? size : 512);
	else if (guest_cmdline_has("ro"))
		r = check_ro(d.features);
	else if (guest_cmdline_has("rounds"))
		r = rounds(first, n, capacity, guest_cmdline_u64_or("rounds", 1, 100000));
	else
		r = write_verify(first, n, capacity);
	if (r == 0)
		guest_printf("virtio-blk: ok\n");
	return r;
}
