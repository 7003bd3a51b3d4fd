/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ring-3 virtio driver of virtio-drv.h (virtio-mmio, or virtio-pci with virtio-pci.c). */
#include "virtio-drv.h"

#define REG_MAGIC	     0x000
#define REG_VERSION	     0x004
#define REG_DEVICE_ID	     0x008
#define REG_QUEUE_NOTIFY     0x050
#define REG_INTERRUPT_STATUS 0x060
#define REG_INTERRUPT_ACK    0x064
#define REG_CONFIG	     0x100

/* The registers both transports have, by name: virtio-mmio offset, or PCI common cfg. */
enum reg {
	DFSEL,
	DF,
	GFSEL,
	GF,
	STATUS,
	QSEL,
	QMAX,
	QSIZE,
	QREADY,
	QDESC,
	QDRIVER,
	QDEVICE,
	QNOFF
};

static const struct {
	uint16_t mmio, pci;
	uint8_t pci_len; /* virtio-mmio registers are all 32-bit */
} regs[] = {
    [DFSEL] = {0x014, 0x00, 4}, [DF] = {0x010, 0x04, 4},      [GFSEL] = {0x024, 0x08, 4},
    [GF] = {0x020, 0x0c, 4},	[STATUS] = {0x070, 0x14, 1},  [QSEL] = {0x030, 0x16, 2},
    [QMAX] = {0x034, 0x18, 2},	[QSIZE] = {0x038, 0x18, 2},   [QREADY] = {0x044, 0x1c, 2},
    [QDESC] = {0x080, 0x20, 4}, [QDRIVER] = {0x090, 0x28, 4}, [QDEVICE] = {0x0a0, 0x30, 4},
    [QNOFF] = {0, 0x1e, 2},
};

#define S_ACK	      1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8

#define DESC_F_NEXT	1
#define DESC_F_WRITE	2
#define DESC_F_INDIRECT 4

struct vdrv_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Ring memory: per queue one page of descriptors, one avail page, one used page. */
static uint8_t ring_pool[4 * VDRV_MAX_QUEUES][3][4096] __attribute__((aligned(4096)));
static unsigned ring_next;

static uint32_t rd(struct vdrv_dev *d, enum reg r)
{
	uint64_t a = d->base + d->common + regs[r].pci;

	if (!d->pci)
		return mmio_read32(d->base + regs[r].mmio);
	if (regs[r].pci_len == 1)
		return *(volatile uint8_t *)a;
	return regs[r].pci_len == 2 ? *(volatile uint16_t *)a : mmio_read32(a);
}

static void wr(struct vdrv_dev *d, enum reg r, uint32_t v)
{
	uint64_t a = d->base + d->common + regs[r].pci;

	if (!d->pci)
		mmio_write32(d->base + regs[r].mmio, v);
	else if (regs[r].pci_len == 1)
		*(volatile uint8_t *)a = v;
	else if (regs[r].pci_len == 2)
		*(volatile uint16_t *)a = v;
	else
		mmio_write32(a, v);
}

/* Parse a hex or decimal number at *s; advances *s. */
static uint64_t number(const char **s)
{
	uint64_t v = 0;
	unsigned base = 10;

	if ((*s)[0] == '0' && ((*s)[1] == 'x' || (*s)[1] == 'X')) {
		base = 16;
		*s += 2;
	}
	for (;; (*s)++) {
		char c = **s;
		unsigned dig;

		if (c >= '0' && c <= '9')
			dig = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			dig = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			dig = c - 'A' + 10;
		else
			return v;
		v = v * base + dig;
	}
}

int vdrv_find(uint32_t device_id, unsigned nth, struct vdrv_dev *ret)
{
	static const char key[] = "virtio_mmio.device=";
	const char *s = guest_cmdline();

	if (guest_cmdline_has("pci"))
		return vpci_find(device_id, nth, ret);
	for (; *s; s++) {
		if ((s != guest_cmdline() && s[-1] != ' ') || memcmp(s, key, sizeof(key) - 1))
			continue;
		s += sizeof(key) - 1;
		number(&s); /* size */
		if (*s == 'K' || *s == 'k')
			s++;
		if (*s++ != '@')
			continue;
		struct vdrv_dev d = {.base = number(&s)};
		if (*s++ != ':')
			continue;
		d.irq = number(&s);
		if (mmio_read32(d.base + REG_MAGIC) != 0x74726976 ||
		    mmio_read32(d.base + REG_VERSION) != 2)
			continue;
		d.device_id = mmio_read32(d.base + REG_DEVICE_ID);
		if (d.device_id == device_id && nth-- == 0) {
			*ret = d;
			return 0;
		}
		s--;
	}
	return -1;
}

uint64_t vdrv_device_features(struct vdrv_dev *d)
{
	wr(d, DFSEL, 1);
	uint64_t hi = rd(d, DF);
	wr(d, DFSEL, 0);
	return hi << 32 | rd(d, DF);
}

int vdrv_init(struct vdrv_dev *d, uint64_t wanted)
{
	uint64_t f = (wanted | VDRV_F_VERSION_1) & vdrv_device_features(d);

	wr(d, STATUS, 0);
	wr(d, STATUS, S_ACK);
	wr(d, STATUS, S_ACK | S_DRIVER);
	wr(d, GFSEL, 0);
	wr(d, GF, (uint32_t)f);
	wr(d, GFSEL, 1);
	wr(d, GF, f >> 32);
	wr(d, STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(d, STATUS) & S_FEATURES_OK) || !(f & VDRV_F_VERSION_1))
		return -1;
	d->features = f;
	return 0;
}

/* The high half of a 64-bit register is 4 bytes on in both transports. */
static void wr64(struct vdrv_dev *d, enum reg r, uint64_t v)
{
	wr(d, r, (uint32_t)v);
	if (d->pci)
		mmio_write32(d->base + d->common + regs[r].pci + 4, v >> 32);
	else
		mmio_write32(d->base + regs[r].mmio + 4, v >> 32);
}

int vdrv_queue_setup(struct vdrv_dev *d, unsigned index, struct vdrv_queue *q)
{
	uint32_t max;

	if (ring_next == ARRAY_SIZE(ring_pool))
		return -1;
	wr(d, QSEL, index);
	max = rd(d, QMAX);
	if (max == 0 || rd(d, QREADY))
		return -1;
	memset(q, 0, sizeof(*q));
	q->dev = d;
	q->index = index;
	q->size = max < VDRV_QSIZE ? max : VDRV_QSIZE; /* <= 128: indirect tables use the rest */
	q->desc = (struct vdrv_desc *)ring_pool[ring_next][0];
	q->avail = (volatile uint16_t *)ring_pool[ring_next][1];
	q->used = (volatile uint16_t *)ring_pool[ring_next][2];
	ring_next++;
	wr(d, QSIZE, q->size);
	wr64(d, QDESC, (uint64_t)(uintptr_t)q->desc);
	wr64(d, QDRIVER, (uint64_t)(uintptr_t)q->avail);
	wr64(d, QDEVICE, (uint64_t)(uintptr_t)q->used);
	wr(d, QREADY, 1);
	q->notify =
	    d->base + (d->pci ? d->notify + d->notify_mul * rd(d, QNOFF) : REG_QUEUE_NOTIFY);
	return rd(d, QREADY) == 1 ? 0 : -1;
}

void vdrv_driver_ok(struct vdrv_dev *d)
{
	wr(d, STATUS, rd(d, STATUS) | S_DRIVER_OK);
}

uint32_t vdrv_status(struct vdrv_dev *d)
{
	return rd(d, STATUS);
}

static uint64_t config_addr(struct vdrv_dev *d, unsigned off)
{
	return d->base + (d->pci ? d->devcfg : REG_CONFIG) + off;
}

uint8_t vdrv_config8(struct vdrv_dev *d, unsigned off)
{
	return *(volatile uint8_t *)config_addr(d, off);
}

uint32_t vdrv_config32(struct vdrv_dev *d, unsigned off)
{
	return mmio_read32(config_addr(d, off));
}

uint32_t vdrv_isr_ack(struct vdrv_dev *d)
{
	uint32_t isr;

	if (d->pci)
		return *(volatile uint8_t *)(d->base + d->isr); /* reading clears it */
	isr = mmio_read32(d->base + REG_INTERRUPT_STATUS);
	mmio_write32(d->base + REG_INTERRUPT_ACK, isr);
	return isr;
}

void vdrv_config_write32(struct vdrv_dev *d, unsigned off, uint32_t v)
{
	mmio_write32(config_addr(d, off), v);
}

uint64_t vdrv_config64(struct vdrv_dev *d, unsigned off)
{
	return (uint64_t)vdrv_config32(d, off + 4) << 32 | vdrv_config32(d, off);
}

/* Write a chain of n buffers into table[0..n-1]. */
static void write_chain(struct vdrv_desc *table, const struct vdrv_buf *bufs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vdrv_desc *dd = &table[i];

		dd->addr = (uint64_t)(uintptr_t)bufs[i].addr;
		dd->len = bufs[i].len;
		dd->flags = (bufs[i].writable ? DESC_F_WRITE : 0) | (i + 1 < n ? DESC_F_NEXT : 0);
		dd->next = i + 1;
	}
}

/*
 * One chain at a time per queue is all the tests need: it always starts at
 * descriptor 0.  With VIRTIO_F_INDIRECT_DESC negotiated, descriptor 0 points
 * at an indirect table in the second half of the descriptor page.
 */
void vdrv_offer(struct vdrv_queue *q, const struct vdrv_buf *bufs, unsigned n)
{
	uint16_t head = 0;

	if (q->dev->features & VDRV_F_INDIRECT_DESC) {
		struct vdrv_desc *table = &q->desc[128];

		write_chain(table, bufs, n);
		q->desc[0] = (struct vdrv_desc){(uint64_t)(uintptr_t)table, n * sizeof(*table),
						DESC_F_INDIRECT, 0};
	} else {
		write_chain(q->desc, bufs, n);
	}
	q->avail[2 + q->avail_idx % q->size] = head;
	barrier();
	q->avail_idx++;
	__atomic_store_n(&q->avail[1], q->avail_idx, __ATOMIC_RELEASE);
}

void vdrv_offer_at(struct vdrv_queue *q, uint16_t head, const struct vdrv_buf *buf)
{
	write_chain(&q->desc[head], buf, 1);
	q->avail[2 + q->avail_idx % q->size] = head;
	barrier();
	q->avail_idx++;
	__atomic_store_n(&q->avail[1], q->avail_idx, __ATOMIC_RELEASE);
}

void vdrv_kick(struct vdrv_queue *q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->dev->pci)
		*(volatile uint16_t *)q->notify = q->index;
	else
		mmio_write32(q->notify, q->index);
}

int64_t vdrv_wait(struct vdrv_queue *q, uint64_t timeout_us)
{
	uint64_t start = guest_now_us();
	volatile uint32_t *elem;
	uint16_t idx;

	while ((idx = __atomic_load_n(&q->used[1], __ATOMIC_ACQUIRE)) == q->last_used) {
		if (guest_now_us() - start > timeout_us)
			return -1;
		cpu_relax();
	}
	/* More than a ring's worth ahead: the index went back (a lost or stale used ring). */
	if ((uint16_t)(idx - q->last_used) > q->size) {
		guest_printf("virtio: used index %u, expected %u or after: stale used ring\n", idx,
			     q->last_used);
		guest_exit(VDRV_EXIT_STALE_RING);
	}
	elem = (volatile uint32_t *)&q->used[2] + 2 * (q->last_used % q->size);
	q->last_used++;
	return elem[1];
}

int64_t vdrv_submit(struct vdrv_queue *q, const struct vdrv_buf *bufs, unsigned n,
		    uint64_t timeout_us)
{
	vdrv_offer(q, bufs, n);
	vdrv_kick(q);
	return vdrv_wait(q, timeout_us);
}

void vdrv_hold(const char *who)
{
	uint64_t us = guest_cmdline_u64_or("hold", 0, 600000000);

	if (!us)
		return;
	guest_printf("%s: holding\n", who);
	guest_udelay(us);
	guest_printf("%s: going on\n", who);
}
