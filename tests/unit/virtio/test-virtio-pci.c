/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PCI bus and the virtio-pci transport driven as a guest would: config
 * space through ports 0xcf8/0xcfc, the virtio capabilities walked from the
 * capability list, the common configuration in BAR 0, MSI-X and INTx, plus
 * hostile accesses that must not crash (ASan runs this too).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "snap-format.h"
#include "fake-vm.h"
#include "pci/pci.h"
#include "tap.h"
#include "virtio.h"
#include "vm-config.h"
#include "vm-internal.h"

#define SLOT_RNG	  1
#define SLOT_BALLOON	  2
#define MSIX_VECTORS_TEST (VIRTIO_MAX_QUEUES + 1)

struct caps {
	uint64_t bar;
	uint32_t common, notify, isr, device, notify_mul;
	uint8_t msix, window; /* MSI-X and PCI cfg access capabilities */
	unsigned found;	      /* bit per virtio cfg_type seen */
};

static void cfg_addr(unsigned slot, unsigned off)
{
	uint32_t a = 0x80000000u | slot << 11 | (off & 0xfc);

	bus_access(&pio_bus, 0xcf8, &a, 4, true);
}

static uint32_t cfg_rd(unsigned slot, unsigned off, unsigned len)
{
	uint32_t v = 0;

	cfg_addr(slot, off);
	bus_access(&pio_bus, 0xcfc + (off & 3), &v, len, false);
	return v;
}

static void cfg_wr(unsigned slot, unsigned off, unsigned len, uint32_t v)
{
	cfg_addr(slot, off);
	bus_access(&pio_bus, 0xcfc + (off & 3), &v, len, true);
}

static uint64_t bar_rd(const struct caps *c, uint64_t off, unsigned len)
{
	uint64_t v = 0;

	bus_access(&mmio_bus, c->bar + off, &v, len, false);
	return v;
}

static void bar_wr(const struct caps *c, uint64_t off, unsigned len, uint64_t v)
{
	bus_access(&mmio_bus, c->bar + off, &v, len, true);
}

static void test_pci_dev(void)
{
	struct pci_dev d;
	uint32_t v = 0xffffffff, r = 0;
	uint8_t cap[4] = {PCI_CAP_ID_VNDR, 0, 4, 0};

	pci_dev_init(&d, 0x1af4, 0x1041, 0xff0000, 1);
	pci_dev_set_bar64(&d, 0, 0xd0004000, 0x4000);
	pci_cfg_write(&d, PCI_BAR0, &v, 4);
	pci_cfg_read(&d, PCI_BAR0, &r, 4);
	is_int(r, 0xffffc004, "BAR sizing: all-ones reads back ~(size-1) | 64-bit");
	pci_cfg_write(&d, PCI_BAR0 + 4, &v, 4);
	pci_cfg_read(&d, PCI_BAR0 + 4, &r, 4);
	is_int(r, 0xffffffff, "BAR sizing: upper half all ones below 4 GiB");
	ok(!pci_dev_bar_live(&d, 0), "BAR moved away (sizing) does not decode");
	v = 0xd0004000;
	pci_cfg_write(&d, PCI_BAR0, &v, 4);
	v = 0;
	pci_cfg_write(&d, PCI_BAR0 + 4, &v, 4);
	ok(!pci_dev_bar_live(&d, 0), "BAR restored but memory decode off");
	v = PCI_COMMAND_MEMORY | 0xf800; /* reserved bits must not stick */
	pci_cfg_write(&d, PCI_COMMAND, &v, 2);
	is_int(pci_dev_cfg16(&d, PCI_COMMAND), PCI_COMMAND_MEMORY, "command: only writable bits");
	ok(pci_dev_bar_live(&d, 0), "BAR decodes once memory is enabled");
	v = 0x12345678;
	pci_cfg_write(&d, PCI_VENDOR_ID, &v, 4);
	is_int(pci_dev_cfg16(&d, PCI_VENDOR_ID), 0x1af4, "vendor ID is read-only");
	r = 0xdead;
	pci_cfg_read(&d, 255, &r, 4);
	is_int(r, 0, "read across the end of config space is 0");
	pci_cfg_read(&d, 3, &r, 3);
	is_int(r, 0, "3-byte read is 0");
	pci_cfg_write(&d, 254, &v, 4); /* ignored, no overflow */
	for (int i = 0; i < 70; i++)
		pci_dev_add_cap(&d, cap, 4);
	is_int(pci_dev_add_cap(&d, cap, 4), -ENOSPC, "capabilities stop at the end of the space");
}

static struct caps walk_caps(unsigned slot)
{
	struct caps c = {0};
	unsigned off = cfg_rd(slot, PCI_CAPABILITY_LIST, 1), n = 0;

	c.bar = (cfg_rd(slot, PCI_BAR0, 4) & ~0xfull) | (uint64_t)cfg_rd(slot, PCI_BAR0 + 4, 4)
							    << 32;
	for (; off && n < 48; off = cfg_rd(slot, off + 1, 1), n++) {
		uint8_t id = cfg_rd(slot, off, 1), type = cfg_rd(slot, off + 3, 1);
		uint32_t where = cfg_rd(slot, off + 8, 4);

		if (id == PCI_CAP_ID_MSIX)
			c.msix = off;
		if (id != PCI_CAP_ID_VNDR || cfg_rd(slot, off + 4, 1) != 0)
			continue;
		c.found |= 1u << type;
		if (type == 1)
			c.common = where;
		else if (type == 2) {
			c.notify = where;
			c.notify_mul = cfg_rd(slot, off + 16, 4);
		} else if (type == 3)
			c.isr = where;
		else if (type == 4)
			c.device = where;
		else if (type == 5)
			c.window = off;
	}
	return c;
}

/* What Linux's pci_check_type1() and pci_sanity_check() do before trusting conf1. */
static void test_linux_conf1_probe(void)
{
	uint8_t b = 1;
	uint32_t a = 0x80000000u, v = 0;
	uint16_t cls = 0;

	bus_access(&pio_bus, 0xcfb, &b, 1, true);
	bus_access(&pio_bus, 0xcf8, &a, 4, true);
	bus_access(&pio_bus, 0xcf8, &v, 4, false);
	is_int(v, 0x80000000u, "conf1 probe: the address register reads back");
	cfg_addr(0, 0x08);
	bus_access(&pio_bus, 0xcfe, &cls, 2, false);
	is_int(cls, 0x0600, "conf1 probe: 00:00.0 class is host bridge (16-bit read at 0x0a)");
}

static void test_enumeration(void)
{
	is_int(cfg_rd(0, 0x08, 4) >> 8, PCI_CLASS_BRIDGE_HOST, "00:00.0 is a host bridge");
	is_int(cfg_rd(SLOT_RNG, 0, 4), 0x1044 << 16 | 0x1af4, "00:01.0 is virtio-rng 1af4:1044");
	is_int(cfg_rd(SLOT_RNG, 0x08, 1), 1, "revision 1 (modern)");
	is_int(cfg_rd(SLOT_BALLOON + 1, 0, 4), 0xffffffff, "empty slot reads all ones");
	is_int(cfg_rd(SLOT_RNG, 0, 2), 0x1af4, "16-bit read through 0xcfc");
	is_int(cfg_rd(SLOT_RNG, 2, 2), 0x1044, "16-bit read through 0xcfe");
	is_int(cfg_rd(SLOT_RNG, PCI_INTERRUPT_PIN, 1), 1, "INTA#");
	ok(cfg_rd(SLOT_RNG, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, "capability list present");
	cfg_wr(SLOT_RNG, PCI_BAR0, 4, 0xffffffff);
	is_int(cfg_rd(SLOT_RNG, PCI_BAR0, 4), 0xfffff004, "BAR 0 is 4 KiB, 64-bit");
	cfg_wr(SLOT_RNG, PCI_BAR0, 4, (uint32_t)BASE);
	/* Function 1, bus 1 and a disabled address select nothing. */
	is_int(cfg_rd(SLOT_RNG, 0, 4), 0x1044 << 16 | 0x1af4, "BAR restored");
	uint32_t a = 0x80000000u | 1 << 16 | SLOT_RNG << 11, v = 0;
	bus_access(&pio_bus, 0xcf8, &a, 4, true);
	bus_access(&pio_bus, 0xcfc, &v, 4, false);
	is_int(v, 0xffffffff, "bus 1 is empty");
	a = SLOT_RNG << 11;
	bus_access(&pio_bus, 0xcf8, &a, 4, true);
	bus_access(&pio_bus, 0xcfc, &v, 4, false);
	is_int(v, 0xffffffff, "no enable bit: no config cycle");
}

/* A BAR access through the PCI cfg access capability. */
static uint32_t window(const struct caps *c, uint32_t off, uint32_t len, bool wr, uint32_t v)
{
	cfg_wr(SLOT_RNG, c->window + 4, 1, 0);
	cfg_wr(SLOT_RNG, c->window + 8, 4, off);
	cfg_wr(SLOT_RNG, c->window + 12, 4, len);
	if (wr)
		cfg_wr(SLOT_RNG, c->window + 16, 4, v);
	return cfg_rd(SLOT_RNG, c->window + 16, 4);
}

static uint32_t window_ignored(const struct caps *c, uint8_t bar, uint32_t off, uint32_t len)
{
	cfg_wr(SLOT_RNG, c->window + 4, 1, bar);
	cfg_wr(SLOT_RNG, c->window + 8, 4, off);
	cfg_wr(SLOT_RNG, c->window + 12, 4, len);
	cfg_wr(SLOT_RNG, c->window + 16, 4, 0xabcd);
	return cfg_rd(SLOT_RNG, c->window + 16, 4);
}

static void test_cfg_window(const struct caps *c)
{
	is_int(window(c, c->common + 0x12, 2, false, 0) & 0xffff, 1,
	       "cfg window: num_queues read through config space");
	window(c, c->common + 0x00, 4, true, 1);
	is_int(window(c, c->common + 0x04, 4, false, 0), 1, "cfg window: write, then read");
	is_int(window(c, c->common + 0x00, 4, false, 0), 1, "cfg window: the write landed");
	/* Unusable windows: the data bytes are plain storage, dfselect stays 1. */
	cfg_wr(SLOT_RNG, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	is_int(window_ignored(c, 0, 0x2000, 4), 0xabcd, "cfg window: offset past the BAR ignored");
	is_int(window_ignored(c, 0, c->common, 3), 0xabcd, "cfg window: length 3 ignored");
	is_int(window_ignored(c, 0, c->common + 2, 4), 0xabcd, "cfg window: misaligned ignored");
	is_int(window_ignored(c, 1, c->common, 4), 0xabcd, "cfg window: BAR 1 does not exist");
	is_int(bar_rd(c, c->common, 4), 1, "cfg window: none of them reached the BAR");
	cfg_wr(SLOT_RNG, PCI_COMMAND, 2, 0);
}

static void rng_queue(const struct caps *c, uint64_t ring)
{
	memset(gp(ring), 0, 0x4000);
	bar_wr(c, c->common + 0x16, 2, 0);
	bar_wr(c, c->common + 0x18, 2, QSZ);
	bar_wr(c, c->common + 0x20, 8, ring);
	bar_wr(c, c->common + 0x28, 4, ring + 0x1000);
	bar_wr(c, c->common + 0x2c, 4, 0);
	bar_wr(c, c->common + 0x30, 8, ring + 0x2000);
	bar_wr(c, c->common + 0x1c, 2, 1);
}

static uint32_t negotiate(const struct caps *c, uint64_t features)
{
	bar_wr(c, c->common + 0x14, 1, 0);
	bar_wr(c, c->common + 0x14, 1, 3);
	bar_wr(c, c->common + 0x08, 4, 0);
	bar_wr(c, c->common + 0x0c, 4, (uint32_t)features);
	bar_wr(c, c->common + 0x08, 4, 1);
	bar_wr(c, c->common + 0x0c, 4, features >> 32);
	bar_wr(c, c->common + 0x14, 1, 0xb);
	return bar_rd(c, c->common + 0x14, 1);
}

static void test_common_cfg(const struct caps *c)
{
	is_int(c->found, 0x2e, "common, notify, ISR, PCI cfg capabilities (rng: no device cfg)");
	ok(c->msix != 0, "MSI-X capability found");
	is_int(c->notify_mul, 4, "notify_off_multiplier 4");
	is_int(bar_rd(c, c->common, 4), 0xffffffff, "BAR silent while memory decode is off");
	cfg_wr(SLOT_RNG, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	is_int(bar_rd(c, c->common + 0x12, 2), 1, "num_queues 1");
	bar_wr(c, c->common + 0x00, 4, 1);
	is_int(bar_rd(c, c->common + 0x04, 4), 1, "device_feature[1]: VERSION_1");
	ok(!(negotiate(c, 0) & VIRTIO_STATUS_FEATURES_OK), "FEATURES_OK refused without VERSION_1");
	ok(negotiate(c, 1ull << 32) & VIRTIO_STATUS_FEATURES_OK, "FEATURES_OK with VERSION_1");
	is_int(bar_rd(c, c->common + 0x18, 2), VIRTQ_MAX_SIZE, "queue_size reads the maximum");
	bar_wr(c, c->common + 0x18, 2, 3);
	is_int(bar_rd(c, c->common + 0x18, 2), 0, "non-power-of-two queue size refused");
	is_int(bar_rd(c, c->common + 0x1a, 2), 0xffff, "queue vector NO_VECTOR after reset");
	bar_wr(c, c->common + 0x1a, 2, 77);
	is_int(bar_rd(c, c->common + 0x1a, 2), 0xffff, "out-of-range vector reads NO_VECTOR");
	bar_wr(c, c->common + 0x16, 2, 5);
	is_int(bar_rd(c, c->common + 0x18, 2), 0, "queue 5 does not exist: size 0");
	bar_wr(c, c->common + 0x18, 2, 16); /* ignored */
	rng_queue(c, MEM_GPA + 0x10000);
	is_int(bar_rd(c, c->common + 0x1c, 2), 1, "queue enabled");
	is_int(bar_rd(c, c->common + 0x20, 4), MEM_GPA + 0x10000, "queue_desc low half");
	bar_wr(c, c->common + 0x20, 8, 0x1234);
	is_int(bar_rd(c, c->common + 0x20, 4), MEM_GPA + 0x10000, "addresses fixed while enabled");
	bar_wr(c, c->common + 0x14, 1, 0xf);
}

/* Offer a 64-byte writable buffer on the rng queue at ring and notify it. */
static int rng_request(const struct caps *c, uint64_t ring, uint16_t *avail)
{
	struct virtq_desc *d = gp(ring);
	struct virtq_avail *a = gp(ring + 0x1000);
	struct virtq_used *u = gp(ring + 0x2000);
	struct timespec ts = {0, 1000000};

	d[0] = (struct virtq_desc){ring + 0x4000, 64, VIRTQ_DESC_F_WRITE, 0};
	a->ring[*avail % QSZ] = 0;
	__atomic_store_n(&a->idx, ++*avail, __ATOMIC_RELEASE);
	bar_wr(c, c->notify, 2, 0);
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE) == *avail)
			return u->ring[(uint16_t)(*avail - 1) % QSZ].len;
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int wait_count(int *counter, int above)
{
	struct timespec ts = {0, 1000000};

	for (int i = 0; i < 1000 && __atomic_load_n(counter, __ATOMIC_SEQ_CST) <= above; i++)
		nanosleep(&ts, NULL);
	return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

static void test_interrupts(const struct caps *c, uint64_t ring)
{
	uint16_t avail = 0;
	int before = __atomic_load_n(&irqs, __ATOMIC_SEQ_CST), m;

	is_int(rng_request(c, ring, &avail), 64, "64 random bytes through the notify address");
	ok(wait_count(&irqs, before) > before, "INTx pulsed without MSI-X");
	is_int(bar_rd(c, c->isr, 1), VIRTIO_ISR_QUEUE, "ISR says queue interrupt");
	is_int(bar_rd(c, c->isr, 1), 0, "ISR cleared by reading it");

	/* MSI-X vector 1 for the queue, entry masked first. */
	bar_wr(c, 0x800 + 16 + 0, 4, 0xfee00000);
	bar_wr(c, 0x800 + 16 + 4, 4, 0);
	bar_wr(c, 0x800 + 16 + 8, 4, 0x45);
	bar_wr(c, c->common + 0x16, 2, 0);
	bar_wr(c, c->common + 0x1a, 2, 1);
	is_int(bar_rd(c, c->common + 0x1a, 2), 1, "queue vector 1 set");
	cfg_wr(SLOT_RNG, c->msix + 2, 2, 0x8000);
	is_int(cfg_rd(SLOT_RNG, c->msix + 2, 2), 0x8000 | (VIRTIO_MAX_QUEUES),
	       "MSI-X enabled, table size read-only");
	m = __atomic_load_n(&msis, __ATOMIC_SEQ_CST);
	before = __atomic_load_n(&irqs, __ATOMIC_SEQ_CST);
	is_int(rng_request(c, ring, &avail), 64, "request with MSI-X on");
	usleep(20000);
	is_int(__atomic_load_n(&msis, __ATOMIC_SEQ_CST), m, "masked vector: no message");
	is_int(bar_rd(c, 0xc00, 4), 2, "masked vector: pending bit 1");
	bar_wr(c, 0x800 + 16 + 12, 4, 0);
	is_int(__atomic_load_n(&msis, __ATOMIC_SEQ_CST), m + 1, "unmasking sends the pending one");
	ok(last_msi_addr == 0xfee00000 && last_msi_data == 0x45, "with the entry's address/data");
	is_int(bar_rd(c, 0xc00, 4), 0, "pending bit cleared");
	is_int(rng_request(c, ring, &avail), 64, "another request");
	is_int(wait_count(&msis, m + 1), m + 2, "unmasked vector: one message");
	is_int(__atomic_load_n(&irqs, __ATOMIC_SEQ_CST), before, "no INTx while MSI-X is on");
	cfg_wr(SLOT_RNG, c->msix + 2, 2, 0xc000);
	is_int(rng_request(c, ring, &avail), 64, "request with the function masked");
	usleep(20000);
	is_int(__atomic_load_n(&msis, __ATOMIC_SEQ_CST), m + 2, "function mask holds it");
	cfg_wr(SLOT_RNG, c->msix + 2, 2, 0x8000);
	is_int(__atomic_load_n(&msis, __ATOMIC_SEQ_CST), m + 3, "function unmask sends it");

	bar_wr(c, c->common + 0x14, 1, 0);
	is_int(bar_rd(c, c->common + 0x14, 1), 0, "reset: status 0");
	is_int(bar_rd(c, c->common + 0x1a, 2), 0xffff, "reset: queue vector NO_VECTOR");
	is_int(bar_rd(c, c->common + 0x18, 2), VIRTQ_MAX_SIZE, "reset: queue size maximum");
	is_int(bar_rd(c, c->common + 0x1c, 2), 0, "reset: queue disabled");
}

/* The saved state of slot 1 (device 0) inside a parsed copy of buf, or NULL. */
static struct virtio_pci_state *pci_section(struct snap_reader *r, const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len);
	struct err *err = NULL;
	const struct snap_section *sec;

	memcpy(copy, buf, len);
	if (snap_parse(r, copy, len, &err) < 0) {
		err_free(&err);
		return NULL;
	}
	sec = snap_find(r, SNAP_VIRTIO_PCI, 0);
	return sec && sec->len == sizeof(struct virtio_pci_state) ? (void *)sec->data : NULL;
}

/* A hostile or foreign state: refused, nothing of it applied. */
static void restore_refused(const uint8_t *buf, size_t len, unsigned field, const char *what)
{
	struct snap_reader r;
	struct virtio_pci_state *st = pci_section(&r, buf, len);
	struct err *err = NULL;

	if (!st) {
		ok(0, "%s: no section", what);
		return;
	}
	switch (field) {
	case 0:
		st->queue_vector[0] = 77;
		break;
	case 1:
		st->config_vector = MSIX_VECTORS_TEST;
		break;
	case 2:
		st->pba |= 1ull << 40;
		break;
	case 3:
		st->base += 0x1000;
		break;
	case 4:
		st->cfg[PCI_VENDOR_ID] ^= 1;
		break;
	case 5:
		st->cfg[PCI_INTERRUPT_PIN] = 2;
		break;
	case 6:
		st->slot = 7;
		break;
	case 7:
		st->config_signalled = 2;
		break;
	}
	st->msix[1][2] = 0x99; /* must not land */
	ok(vmm_virtio_restore(VM, &r, &err) < 0, "restore refuses %s: %s", what,
	   err ? err->msg : "accepted");
	err_free(&err);
	snap_reader_free(&r);
}

/*
 * Snapshot/migration state: the MSI-X table, its enable bit and the queue's
 * vector come back after the guest (here: a reset and table writes) changed
 * them, and the next message uses the saved entry.
 */
static void test_save_restore(const struct caps *c, uint64_t ring)
{
	struct snap_writer w;
	struct snap_reader r;
	struct err *err = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	uint16_t avail = 0;
	int m;

	cfg_wr(SLOT_RNG, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ok(negotiate(c, 1ull << 32) & VIRTIO_STATUS_FEATURES_OK, "save: device negotiated");
	rng_queue(c, ring);
	bar_wr(c, c->common + 0x14, 1, 0xf);
	bar_wr(c, 0x800 + 16 + 0, 4, 0xfee01000);
	bar_wr(c, 0x800 + 16 + 8, 4, 0x52);
	bar_wr(c, 0x800 + 16 + 12, 4, 0);
	bar_wr(c, c->common + 0x1a, 2, 1);
	cfg_wr(SLOT_RNG, c->msix + 2, 2, 0x8000);
	snap_writer_init(&w);
	ok(vmm_virtio_save(VM, &w, &err) == 0 && snap_writer_finish(&w, &buf, &len, &err) == 0,
	   "save a PCI VM's devices %s", err ? err->msg : "");
	/* The guest changes everything: reset, another entry, MSI-X off. */
	bar_wr(c, c->common + 0x14, 1, 0);
	bar_wr(c, 0x800 + 16 + 8, 4, 0x77);
	cfg_wr(SLOT_RNG, c->msix + 2, 2, 0);
	for (unsigned f = 0; f < 8; f++) {
		static const char *what[] = {"a queue vector past the table",
					     "a bad config vector",
					     "a pending bit past the table",
					     "another BAR address",
					     "a changed vendor ID",
					     "a changed interrupt pin",
					     "another slot",
					     "a bad config_signalled"};
		restore_refused(buf, len, f, what[f]);
	}
	is_int(bar_rd(c, 0x800 + 16 + 8, 4), 0x77, "refused restores applied nothing");
	ok(pci_section(&r, buf, len) != NULL, "state parses");
	ok(vmm_virtio_restore(VM, &r, &err) == 0, "restore %s", err ? err->msg : "");
	snap_reader_free(&r);
	m = __atomic_load_n(&msis, __ATOMIC_SEQ_CST);
	avail = ((struct virtq_used *)gp(ring + 0x2000))->idx;
	((struct virtq_avail *)gp(ring + 0x1000))->ring[avail % QSZ] = 0;
	__atomic_store_n(&((struct virtq_avail *)gp(ring + 0x1000))->idx, avail + 1,
			 __ATOMIC_RELEASE);
	bar_wr(c, c->notify, 2, 0);
	usleep(20000);
	is_int(((struct virtq_used *)gp(ring + 0x2000))->idx, avail,
	       "restored devices stay paused until the caller lets them go");
	vmm_virtio_pause(VM, false);
	is_int(wait_count(&msis, m), m + 1, "unpaused: the request queued meanwhile is served");
	avail++;
	is_int(bar_rd(c, 0x800 + 16 + 8, 4), 0x52, "MSI-X entry data restored");
	is_int(cfg_rd(SLOT_RNG, c->msix + 2, 2) & 0x8000, 0x8000, "MSI-X enable restored");
	bar_wr(c, c->common + 0x16, 2, 0);
	is_int(bar_rd(c, c->common + 0x1a, 2), 1, "queue vector restored");
	is_int(bar_rd(c, c->common + 0x14, 1), 0xf, "status restored");
	m = __atomic_load_n(&msis, __ATOMIC_SEQ_CST);
	vmm_virtio_notify_all(VM);
	is_int(__atomic_load_n(&msis, __ATOMIC_SEQ_CST), m + 1,
	       "after a restore: one message per live queue, owed or not");
	m = __atomic_load_n(&msis, __ATOMIC_SEQ_CST);
	is_int(rng_request(c, ring, &avail), 64, "the restored queue serves a request");
	is_int(wait_count(&msis, m), m + 1, "one MSI-X message for it");
	ok(last_msi_addr == 0xfee01000 && last_msi_data == 0x52, "with the saved entry");
	bar_wr(c, c->common + 0x14, 1, 0);
	cfg_wr(SLOT_RNG, c->msix + 2, 2, 0);
	free(buf);
}

/* Every width at every offset of the BAR and the config ports: nothing may crash. */
/*
 * Every configuration change reaches the driver (virtio 1.2, 4.1.5.3): under
 * INTx a pulse with the ISR's config bit; under MSI-X a message on the config
 * vector for each new balloon target, not only the first one of the device's
 * life (the ISR's config bit stays set under MSI-X, so it cannot tell whether
 * a change was signalled).
 */
static void test_config_changes(void)
{
	struct caps b = walk_caps(SLOT_BALLOON);
	struct err *err = NULL;
	int before;
	uint8_t gen;

	is_int(cfg_rd(SLOT_BALLOON, 0, 4), 0x1045 << 16 | 0x1af4,
	       "00:02.0 is virtio-balloon 1af4:1045");
	cfg_wr(SLOT_BALLOON, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ok(negotiate(&b, 1ull << 32) & VIRTIO_STATUS_FEATURES_OK, "balloon: FEATURES_OK");
	bar_wr(&b, b.common + 0x14, 1, 0xf);
	gen = bar_rd(&b, b.common + 0x15, 1);
	before = __atomic_load_n(&irqs, __ATOMIC_SEQ_CST);
	ok(vmm_balloon_set_target(VM, 10, &err) == 0, "a balloon target %s", err ? err->msg : "");
	err_free(&err);
	ok(__atomic_load_n(&irqs, __ATOMIC_SEQ_CST) > before, "INTx: pulsed");
	is_int(bar_rd(&b, b.isr, 1), VIRTIO_ISR_CONFIG, "INTx: the ISR says config change");
	is_int(bar_rd(&b, b.common + 0x15, 1), (uint8_t)(gen + 1), "config generation moved");
	is_int(bar_rd(&b, b.device, 4), 10, "num_pages reads the target");

	/* MSI-X: table entry 0 (unmasked) as the config vector. */
	bar_wr(&b, 0x800 + 0, 4, 0xfee02000);
	bar_wr(&b, 0x800 + 4, 4, 0);
	bar_wr(&b, 0x800 + 8, 4, 0x61);
	bar_wr(&b, 0x800 + 12, 4, 0);
	bar_wr(&b, b.common + 0x10, 2, 0);
	is_int(bar_rd(&b, b.common + 0x10, 2), 0, "config vector 0");
	cfg_wr(SLOT_BALLOON, b.msix + 2, 2, 0x8000);
	for (uint32_t t = 11; t <= 13; t++) {
		int m = __atomic_load_n(&msis, __ATOMIC_SEQ_CST);

		vmm_balloon_set_target(VM, t, NULL);
		is_int(__atomic_load_n(&msis, __ATOMIC_SEQ_CST), m + 1,
		       "target %u: one message on the config vector", t);
		ok(last_msi_addr == 0xfee02000 && last_msi_data == 0x61,
		   "target %u: with entry 0's address and data", t);
	}
	is_int(bar_rd(&b, b.common + 0x15, 1), (uint8_t)(gen + 4), "a generation per change");
	is_int(bar_rd(&b, b.device, 4), 13, "num_pages reads the last target");
	cfg_wr(SLOT_BALLOON, b.msix + 2, 2, 0);
	bar_wr(&b, b.common + 0x14, 1, 0);
	is_int(bar_rd(&b, b.common + 0x10, 2), 0xffff, "reset: config vector NO_VECTOR");
}

static void test_hostile(const struct caps *c)
{
	uint64_t v;

	srand(1);
	for (uint64_t off = 0; off < 0x1000; off++)
		for (unsigned len = 1; len <= 8; len++) {
			v = 0;
			bus_access(&mmio_bus, c->bar + off, &v, len, false);
			v = (uint64_t)rand() << 32 | rand();
			if (off != c->common + 0x14) /* keep the status for the check below */
				bus_access(&mmio_bus, c->bar + off, &v, len, true);
		}
	for (unsigned i = 0; i < 20000; i++) {
		uint32_t a = rand() | 0x80000000u, port = 0xcf8 + rand() % 8, len = 1 + rand() % 4;

		a &= ~(0x1fu << 11) | (rand() % 3) << 11; /* slots 0-2 mostly */
		a &= ~0x40u;				  /* leave the BAR/command alone */
		bus_access(&pio_bus, 0xcf8, &a, 4, true);
		v = rand();
		bus_access(&pio_bus, port, &v, len, rand() % 2);
	}
	ok(1, "random accesses of every width and offset survived");
	is_int(cfg_rd(SLOT_RNG, 0, 4), 0x1044 << 16 | 0x1af4, "still enumerates afterwards");
}

/* The MP table names a PCI bus and routes 00:01.0 INTA# to the function's GSI, edge/high. */
static void test_mptable(void)
{
	uint8_t *low = calloc(1, 1 << 20), *e;
	struct guest_mem m = {.regions = {{0, 1 << 20, low}}, .nr = 1};
	struct err *err = NULL;
	bool pci_bus = false, pci_irq = false;
	uint32_t line = cfg_rd(SLOT_RNG, PCI_INTERRUPT_LINE, 1);
	uint16_t count;

	ok(mptable_write(VM, &m, 2, &err) == 0, "MP table with a PCI device");
	memcpy(&count, low + VM_MPTABLE_ADDR + 34, 2);
	e = low + VM_MPTABLE_ADDR + 44;
	for (unsigned i = 0; i < count; e += e[0] == 0 ? 20 : 8, i++) {
		if (e[0] == 1 && e[1] == 1 && !memcmp(e + 2, "PCI   ", 6))
			pci_bus = true;
		if (e[0] == 3 && e[4] == 1 && e[5] == SLOT_RNG << 2 && e[7] == line && e[2] == 5)
			pci_irq = true;
	}
	ok(pci_bus, "PCI bus entry (id 1)");
	ok(pci_irq, "INTA# of slot 1 -> IOAPIC pin %u, edge/active high", line);
	err_free(&err);
	free(low);
}

int main(void)
{
	struct vm_config cfg;
	struct err *err = NULL;
	struct caps c;

	if (fake_vm_init() < 0)
		return 1;
	test_pci_dev();
	vmm_config_init(&cfg);
	cfg.rng = true;
	cfg.balloon = true;
	cfg.virtio_pci = true;
	if (!ok(vmm_virtio_setup(VM, &cfg, &err) == 0, "rng and balloon on the PCI transport %s",
		err ? err->msg : ""))
		return tap_done();
	test_linux_conf1_probe();
	test_enumeration();
	test_mptable();
	c = walk_caps(SLOT_RNG);
	is_int(c.bar, BASE, "BAR 0 at the window the VM gave");
	test_cfg_window(&c);
	test_common_cfg(&c);
	test_interrupts(&c, MEM_GPA + 0x10000);
	test_save_restore(&c, MEM_GPA + 0x10000);
	test_config_changes();
	test_hostile(&c);
	vmm_virtio_teardown(VM);
	vmm_config_free(&cfg);
	fake_vm_fini();
	return tap_done();
}
