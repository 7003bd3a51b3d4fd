/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A PCI bus 0 with a host bridge at 00:00.0 and single-function devices at
 * 00:01.0 onwards, reached through configuration mechanism #1 (the address
 * port 0xcf8 and the data ports 0xcfc-0xcff), which Linux probes without ACPI.
 *
 * A device is 256 bytes of type-0 configuration space plus a write mask:
 * the guest changes only the bits the mask allows, everything else reads
 * back as the device set it (0 where nothing is).  Memory BARs are 64-bit,
 * placed by the VMM; sizing works through the mask (all-ones reads back
 * ~(size - 1)).  A device decodes its BAR only while the memory-enable bit
 * is set and the BAR still holds the address the VMM gave it: the MMIO bus
 * cannot move a range, so a BAR moved by the guest stops decoding.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "err.h"

#define PCI_CFG_SIZE  256
#define PCI_MAX_SLOTS 32
#define PCI_NUM_BARS  6

#define PCI_VENDOR_ID	     0x00
#define PCI_DEVICE_ID	     0x02
#define PCI_COMMAND	     0x04
#define PCI_STATUS	     0x06
#define PCI_REVISION_ID	     0x08
#define PCI_HEADER_TYPE	     0x0e
#define PCI_BAR0	     0x10
#define PCI_SUBSYSTEM_VENDOR 0x2c
#define PCI_SUBSYSTEM_ID     0x2e
#define PCI_CAPABILITY_LIST  0x34
#define PCI_INTERRUPT_LINE   0x3c
#define PCI_INTERRUPT_PIN    0x3d

#define PCI_COMMAND_MEMORY	 0x2
#define PCI_COMMAND_MASTER	 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_CAP_LIST	 0x10
#define PCI_BAR_MEM_TYPE_64	 0x4
#define PCI_CAP_ID_MSIX		 0x11
#define PCI_CAP_ID_VNDR		 0x09

#define PCI_CLASS_BRIDGE_HOST 0x060000

struct pci_dev;

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	uint64_t bar_addr[PCI_NUM_BARS]; /* where the VMM put it; 0: unused */
	uint8_t cap_end;		 /* next free byte for a capability */
	uint8_t *last_next;		 /* the "next" byte to link the next capability */
	/* Optional: the guest wrote [off, off+len) (bus lock held). */
	void (*cfg_written)(struct pci_dev *d, uint32_t off, uint32_t len);
	/* Optional: the guest is about to read [off, off+len) (bus lock held). */
	void (*cfg_read)(struct pci_dev *d, uint32_t off, uint32_t len);
	void *opaque;
	unsigned slot;
};

struct pci_bus {
	struct pci_dev host;
	struct pci_dev *slot[PCI_MAX_SLOTS];
	uint32_t addr; /* the 0xcf8 register */
	pthread_mutex_t lock;
};

/* A type-0 function: IDs, class (base << 16 | sub << 8 | prog-if), revision. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
		  uint8_t revision);
/* A 64-bit memory BAR (taking bar and bar + 1); size a power of two, addr aligned to it. */
void pci_dev_set_bar64(struct pci_dev *d, unsigned bar, uint64_t addr, uint64_t size);
/* Append a capability (cap[0] = id, cap[1] is the link, filled here); its offset, or -ENOSPC. */
int pci_dev_add_cap(struct pci_dev *d, const void *cap, uint8_t len);
/* INTA# on the given interrupt line (the GSI the MP table routes it to). */
void pci_dev_set_intx(struct pci_dev *d, uint8_t line);
/* Does the device decode BAR `bar` at its assigned address right now? */
bool pci_dev_bar_live(const struct pci_dev *d, unsigned bar);
uint16_t pci_dev_cfg16(const struct pci_dev *d, uint32_t off);

/*
 * Load a saved configuration space (snapshot, migration): the bytes the guest
 * may write (the write mask) are taken from saved, every other byte must equal
 * this device's (the same function at the same place); -EINVAL names nothing,
 * *ret_off gets the first differing offset.  No callback runs.
 */
int pci_dev_load_cfg(struct pci_dev *d, const uint8_t saved[PCI_CFG_SIZE], unsigned *ret_off);

/* Bounds-checked configuration accesses (1, 2 or 4 bytes inside the space, else 0/ignored). */
void pci_cfg_read(struct pci_dev *d, uint32_t off, void *data, uint32_t len);
void pci_cfg_write(struct pci_dev *d, uint32_t off, const void *data, uint32_t len);

/* CONFIG_ADDRESS: a write only latches the function and register the data port then reaches. */
#define PCI_CONF1_ADDRESS 0xcf8
/* The bus with its host bridge; registers 0xcf8-0xcff on pio. */
int pci_bus_init(struct pci_bus *b, struct bus *pio, struct err **err);
void pci_bus_fini(struct pci_bus *b);
/* Put d in the next free slot (1..31); -ENOSPC when full. */
int pci_bus_add(struct pci_bus *b, struct pci_dev *d, struct err **err);

/* The bus's own state (the 0xcf8 register, the host bridge's config space). */
struct pci_bus_state {
	uint32_t addr, pad;
	uint8_t host_cfg[PCI_CFG_SIZE];
};
void pci_bus_save(struct pci_bus *b, struct pci_bus_state *st);
int pci_bus_load(struct pci_bus *b, const struct pci_bus_state *st, struct err **err);
