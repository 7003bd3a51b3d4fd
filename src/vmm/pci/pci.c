/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI bus 0, configuration mechanism #1 (PCI Local Bus 3.0, section 3.2.2.3.2):
 * a dword written to 0xcf8 with bit 31 set selects bus/device/function/register,
 * and 0xcfc-0xcff then read or write that dword's bytes.
 */
#include <errno.h>
#include <string.h>

#include "pci.h"

#define CONF1_PORT	 PCI_CONF1_ADDRESS
#define CONF1_LEN	 8
#define CONF1_ENABLE	 0x80000000u
#define FIRST_CAP_OFFSET 0x40

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

uint16_t pci_dev_cfg16(const struct pci_dev *d, uint32_t off)
{
	return off + 2 <= PCI_CFG_SIZE ? d->cfg[off] | d->cfg[off + 1] << 8 : 0;
}

static uint32_t cfg32(const struct pci_dev *d, uint32_t off)
{
	return pci_dev_cfg16(d, off) | (uint32_t)pci_dev_cfg16(d, off + 2) << 16;
}

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
		  uint8_t revision)
{
	memset(d, 0, sizeof(*d));
	put16(d->cfg + PCI_VENDOR_ID, vendor);
	put16(d->cfg + PCI_DEVICE_ID, device);
	put32(d->cfg + PCI_REVISION_ID, class_code << 8 | revision);
	put16(d->wmask + PCI_COMMAND,
	      PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	d->cap_end = FIRST_CAP_OFFSET;
	d->last_next = &d->cfg[PCI_CAPABILITY_LIST];
}

void pci_dev_set_bar64(struct pci_dev *d, unsigned bar, uint64_t addr, uint64_t size)
{
	uint64_t mask = ~(size - 1);

	if (bar + 1 >= PCI_NUM_BARS || size < 16 || (size & (size - 1)) || (addr & (size - 1)))
		return;
	d->bar_addr[bar] = addr;
	put32(d->cfg + PCI_BAR0 + 4 * bar, (uint32_t)addr | PCI_BAR_MEM_TYPE_64);
	put32(d->cfg + PCI_BAR0 + 4 * bar + 4, addr >> 32);
	put32(d->wmask + PCI_BAR0 + 4 * bar, (uint32_t)mask & ~0xfu);
	put32(d->wmask + PCI_BAR0 + 4 * bar + 4, mask >> 32);
}

int pci_dev_add_cap(struct pci_dev *d, const void *cap, uint8_t len)
{
	unsigned off = (d->cap_end + 3) & ~3u;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(d->cfg + off, cap, len);
	d->cfg[off + 1] = 0;
	*d->last_next = off;
	d->last_next = &d->cfg[off + 1];
	d->cap_end = off + len == PCI_CFG_SIZE ? 0xff : off + len;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	return off;
}

void pci_dev_set_intx(struct pci_dev *d, uint8_t line)
{
	d->cfg[PCI_INTERRUPT_LINE] = line;
	d->cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

bool pci_dev_bar_live(const struct pci_dev *d, unsigned bar)
{
	uint64_t addr;

	if (bar + 1 >= PCI_NUM_BARS || !d->bar_addr[bar] ||
	    !(pci_dev_cfg16(d, PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return false;
	addr = (cfg32(d, PCI_BAR0 + 4 * bar) & ~0xfull) | (uint64_t)cfg32(d, PCI_BAR0 + 4 * bar + 4)
							      << 32;
	return addr == d->bar_addr[bar];
}

int pci_dev_load_cfg(struct pci_dev *d, const uint8_t saved[PCI_CFG_SIZE], unsigned *ret_off)
{
	for (unsigned i = 0; i < PCI_CFG_SIZE; i++) {
		if ((saved[i] & ~d->wmask[i]) != (d->cfg[i] & ~d->wmask[i])) {
			*ret_off = i;
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < PCI_CFG_SIZE; i++)
		d->cfg[i] = (d->cfg[i] & ~d->wmask[i]) | (saved[i] & d->wmask[i]);
	return 0;
}

static bool valid(uint32_t off, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && off < PCI_CFG_SIZE &&
	       len <= PCI_CFG_SIZE - off;
}

void pci_cfg_read(struct pci_dev *d, uint32_t off, void *data, uint32_t len)
{
	if (valid(off, len)) {
		if (d->cfg_read)
			d->cfg_read(d, off, len);
		memcpy(data, d->cfg + off, len);
	} else if (len <= 8) {
		memset(data, 0, len);
	}
}

void pci_cfg_write(struct pci_dev *d, uint32_t off, const void *data, uint32_t len)
{
	const uint8_t *v = data;

	if (!valid(off, len))
		return;
	for (uint32_t i = 0; i < len; i++)
		d->cfg[off + i] =
		    (d->cfg[off + i] & ~d->wmask[off + i]) | (v[i] & d->wmask[off + i]);
	if (d->cfg_written)
		d->cfg_written(d, off, len);
}

/* The function 0xcf8 selects on bus 0, or NULL; *off gets the register. */
static struct pci_dev *selected(struct pci_bus *b, uint32_t *off)
{
	uint32_t a = b->addr;
	unsigned slot = (a >> 11) & 0x1f;

	if (!(a & CONF1_ENABLE) || (a >> 16) & 0xff || (a >> 8) & 7)
		return NULL;
	*off = a & 0xfc;
	return slot == 0 ? &b->host : b->slot[slot];
}

static void conf1_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct pci_bus *b = opaque;
	struct pci_dev *d;
	uint32_t reg;

	memset(data, 0xff, len); /* no device: all ones, as on real buses */
	pthread_mutex_lock(&b->lock);
	if (off == 0 && len == 4)
		memcpy(data, &b->addr, 4);
	else if (off >= 4 && off - 4 + len <= 4 && (d = selected(b, &reg)))
		pci_cfg_read(d, reg + off - 4, data, len);
	pthread_mutex_unlock(&b->lock);
}

static void conf1_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct pci_bus *b = opaque;
	struct pci_dev *d;
	uint32_t reg;

	pthread_mutex_lock(&b->lock);
	if (off == 0 && len == 4)
		memcpy(&b->addr, data, 4);
	else if (off >= 4 && off - 4 + len <= 4 && (d = selected(b, &reg)))
		pci_cfg_write(d, reg + off - 4, data, len);
	pthread_mutex_unlock(&b->lock);
}

static const struct bus_dev_ops conf1_ops = {
    .read = conf1_read,
    .write = conf1_write,
};

int pci_bus_init(struct pci_bus *b, struct bus *pio, struct err **err)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	/* No Linux quirk matches this ID; cloud-hypervisor's host bridge has it too. */
	pci_dev_init(&b->host, 0x8086, 0x0d57, PCI_CLASS_BRIDGE_HOST, 0);
	return bus_register(pio, CONF1_PORT, CONF1_LEN, &conf1_ops, b, err);
}

void pci_bus_fini(struct pci_bus *b)
{
	pthread_mutex_destroy(&b->lock);
}

int pci_bus_add(struct pci_bus *b, struct pci_dev *d, struct err **err)
{
	for (unsigned i = 1; i < PCI_MAX_SLOTS; i++) {
		if (b->slot[i])
			continue;
		pthread_mutex_lock(&b->lock);
		b->slot[i] = d;
		d->slot = i;
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	return err_make(err, ENOSPC, "PCI bus 0: all %d slots taken", PCI_MAX_SLOTS - 1);
}

void pci_bus_save(struct pci_bus *b, struct pci_bus_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&b->lock);
	st->addr = b->addr;
	memcpy(st->host_cfg, b->host.cfg, PCI_CFG_SIZE);
	pthread_mutex_unlock(&b->lock);
}

/* Any 0xcf8 value is one the guest could have written; the host bridge is checked. */
int pci_bus_load(struct pci_bus *b, const struct pci_bus_state *st, struct err **err)
{
	unsigned off;
	int r;

	pthread_mutex_lock(&b->lock);
	r = pci_dev_load_cfg(&b->host, st->host_cfg, &off);
	if (r >= 0)
		b->addr = st->addr;
	pthread_mutex_unlock(&b->lock);
	if (r < 0)
		return err_make(err, EINVAL, "PCI host bridge: config byte %#x differs", off);
	return 0;
}
