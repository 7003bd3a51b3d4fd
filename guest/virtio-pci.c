/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-pci half of the ring-3 test driver: configuration mechanism #1
 * on ports 0xcf8/0xcfc, the virtio vendor capabilities (virtio 1.2 section
 * 4.1.4) and MSI-X.  BARs are used where the VMM or firmware placed them
 * (the guest's identity mapping covers the device window), with memory
 * decoding enabled; the structures may sit in any BAR (QEMU uses BAR 4), so
 * vdrv_dev holds their absolute addresses and a base of 0.
 */
#include "virtio-drv.h"

#define PCI_VENDOR_VIRTIO 0x1af4
#define CAP_VNDR	  0x09
#define CAP_MSIX	  0x11
#define CMD_MEMORY	  0x2
#define CMD_MASTER	  0x4
#define MSIX_ENABLE	  0x8000

static uint32_t cfg_read32(unsigned slot, unsigned off)
{
	guest_outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	return guest_inl(0xcfc);
}

static void cfg_write32(unsigned slot, unsigned off, uint32_t v)
{
	guest_outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	guest_outl(0xcfc, v);
}

static uint8_t cfg_read8(unsigned slot, unsigned off)
{
	return cfg_read32(slot, off) >> (8 * (off & 3));
}

static uint64_t bar_addr(unsigned slot, unsigned bar)
{
	uint32_t lo = cfg_read32(slot, 0x10 + 4 * bar);

	if (bar > 5 || (lo & 1))
		return 0; /* I/O BAR */
	if ((lo & 6) == 4 && bar < 5)
		return (lo & ~0xfull) | (uint64_t)cfg_read32(slot, 0x14 + 4 * bar) << 32;
	return lo & ~0xfull;
}

/* Fill the addresses of the virtio structures; -1 if one is missing. */
static int walk_caps(struct vdrv_dev *d)
{
	unsigned found = 0, n = 0;

	for (unsigned off = cfg_read8(d->slot, 0x34); off && n < 48;
	     off = cfg_read8(d->slot, off + 1), n++) {
		uint8_t id = cfg_read8(d->slot, off), type = cfg_read8(d->slot, off + 3);
		uint64_t where = bar_addr(d->slot, cfg_read8(d->slot, off + 4));

		if (id == CAP_MSIX)
			d->msix_cap = off;
		if (id != CAP_VNDR || !where)
			continue;
		where += cfg_read32(d->slot, off + 8);
		found |= 1u << type;
		if (type == 1)
			d->common = where;
		else if (type == 2)
			d->notify = where, d->notify_mul = cfg_read32(d->slot, off + 16);
		else if (type == 3)
			d->isr = where;
		else if (type == 4)
			d->devcfg = where;
	}
	return (found & 0xe) == 0xe ? 0 : -1;
}

int vpci_find(uint32_t device_id, unsigned nth, struct vdrv_dev *ret)
{
	for (unsigned slot = 0; slot < 32; slot++) {
		uint32_t id = cfg_read32(slot, 0);
		struct vdrv_dev d = {.pci = true, .slot = slot};

		if ((id & 0xffff) != PCI_VENDOR_VIRTIO || (id >> 16) != 0x1040 + device_id ||
		    nth-- != 0)
			continue;
		d.device_id = device_id;
		d.irq = cfg_read8(slot, 0x3c);
		if (walk_caps(&d) < 0)
			return -1;
		cfg_write32(slot, 0x04, CMD_MEMORY | CMD_MASTER);
		*ret = d;
		return 0;
	}
	return -1;
}

void vpci_msix_route(struct vdrv_dev *d, unsigned q, unsigned entry, uint8_t vector)
{
	uint32_t table = cfg_read32(d->slot, d->msix_cap + 4);
	uint64_t e = bar_addr(d->slot, table & 7) + (table & ~7u) + 16 * entry;
	uint32_t ctrl = cfg_read32(d->slot, d->msix_cap);

	mmio_write32(e, 0xfee00000u | guest_lapic_id() << 12);
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, vector);
	mmio_write32(e + 12, 0); /* unmasked */
	cfg_write32(d->slot, d->msix_cap, ctrl | (uint32_t)MSIX_ENABLE << 16);
	*(volatile uint16_t *)(d->common + 0x16) = q;
	*(volatile uint16_t *)(d->common + 0x1a) = entry;
}
