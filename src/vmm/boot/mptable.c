/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Intel MultiProcessor Specification 1.4 tables: one processor entry per
 * vCPU, one ISA bus, the in-kernel IOAPIC with pins 0-23 identity-mapped to
 * ISA IRQs (KVM's default GSI routing), ExtINT on LINT0 and NMI on LINT1.
 * With virtio-pci, also a PCI bus (id 1) and one entry per function routing
 * its INTA# to its IOAPIC pin, flagged edge/active-high because the device
 * pulses the pin (irqfd) rather than holding a level.
 * Placed in the reserved EBDA range, where guests search for "_MP_".
 */
#include <errno.h>
#include <string.h>

#include "../vm-internal.h"
#include "boot.h"
#include "virtio/virtio.h"

#define MP_IOAPIC_PINS 24
#define MP_BUS_ISA     0
#define MP_BUS_PCI     1
#define MP_MAX_PCI     32
#define MP_IRQ_EDGE_HI 0x05 /* polarity 01 active high, trigger 01 edge */

struct __attribute__((packed)) mpf {
	char sig[4];
	uint32_t physptr;
	uint8_t length, specrev, checksum, feature[5];
};

struct __attribute__((packed)) mpc_header {
	char sig[4];
	uint16_t length;
	uint8_t spec, checksum;
	char oem[8], product[12];
	uint32_t oemptr;
	uint16_t oemsize, count;
	uint32_t lapic;
	uint16_t reserved_len;
	uint8_t reserved_sum, reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
};

struct __attribute__((packed)) mpc_small { /* bus, ioapic, intsrc, lintsrc: 8 bytes */
	uint8_t b[8];
};

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return (uint8_t)-s;
}

static struct mpc_small intsrc(uint8_t type, uint8_t irq, uint8_t apic, uint8_t pin)
{
	/* type, irqtype, irqflag(2), srcbus, srcbusirq, dstapic, dstirq */
	return (struct mpc_small){
	    {type, type == 4 && pin == 1 ? 1 : (type == 4 ? 3 : 0), 0, 0, 0, irq, apic, pin}};
}

static unsigned pci_functions(struct vm *vm)
{
	unsigned n = 0, slot;
	uint32_t gsi;

	while (n < MP_MAX_PCI && vm && vmm_virtio_pci_intx(vm, n, &slot, &gsi) == 0)
		n++;
	return n;
}

/* One interrupt source per PCI function's INTA#. */
static uint8_t *write_pci_irqs(struct vm *vm, uint8_t *p, unsigned n, uint8_t ioapic_id)
{
	unsigned slot = 0;
	uint32_t gsi = 0;

	for (unsigned i = 0; i < n; i++, p += 8) {
		vmm_virtio_pci_intx(vm, i, &slot, &gsi);
		memcpy(p,
		       &(struct mpc_small){
			   {3, 0, MP_IRQ_EDGE_HI, 0, MP_BUS_PCI, slot << 2, ioapic_id, gsi}},
		       8);
	}
	return p;
}

int mptable_write(struct vm *vm, struct guest_mem *mem, unsigned nr_cpus, struct err **err)
{
	unsigned n_pci = pci_functions(vm);
	size_t size = sizeof(struct mpc_header) + nr_cpus * sizeof(struct mpc_cpu) +
		      (3 + MP_IOAPIC_PINS) * 8 + (n_pci ? n_pci + 1 : 0) * 8;
	struct mpf *mpf = guest_mem_ptr(mem, VM_EBDA_ADDR, sizeof(*mpf));
	struct mpc_header *h = guest_mem_ptr(mem, VM_MPTABLE_ADDR, size);
	uint8_t ioapic_id = nr_cpus, *p;

	/* The floating pointer where guests scan (last KiB below 640 KiB), the table below it. */
	if (!mpf || !h || size > VM_EBDA_ADDR - VM_MPTABLE_ADDR)
		return err_make(err, ENOSPC, "MP table for %u vCPUs does not fit", nr_cpus);
	p = (uint8_t *)(h + 1);
	for (unsigned i = 0; i < nr_cpus; i++, p += sizeof(struct mpc_cpu)) {
		struct mpc_cpu c = {.type = 0,
				    .apicid = i,
				    .apicver = 0x14,
				    .cpuflag = 1 | (i == 0 ? 2 : 0),
				    .cpufeature = 0x600,
				    .featureflag = 0x201}; /* FPU, APIC */
		memcpy(p, &c, sizeof(c));
	}
	memcpy(p, &(struct mpc_small){{1, MP_BUS_ISA, 'I', 'S', 'A', ' ', ' ', ' '}}, 8);
	p += 8;
	if (n_pci) {
		memcpy(p, &(struct mpc_small){{1, MP_BUS_PCI, 'P', 'C', 'I', ' ', ' ', ' '}}, 8);
		p += 8;
	}
	memcpy(p, &(struct mpc_small){{2, ioapic_id, 0x11, 1, 0, 0, 0xc0, 0xfe}}, 8);
	p += 8; /* IOAPIC at 0xfec00000, little endian */
	for (unsigned i = 0; i < MP_IOAPIC_PINS; i++, p += 8) {
		struct mpc_small e = intsrc(3, i, ioapic_id, i);

		memcpy(p, &e, 8);
	}
	p = write_pci_irqs(vm, p, n_pci, ioapic_id);
	struct mpc_small lint = intsrc(4, 0, 0xff, 0); /* ExtINT to every LAPIC's LINT0 */
	memcpy(p, &lint, 8);
	p += 8;

	memcpy(h->sig, "PCMP", 4);
	h->length = p - (uint8_t *)h;
	h->spec = 4;
	memcpy(h->oem, "ISOLA   ", 8);
	memcpy(h->product, "MICROVM     ", 12);
	h->count = nr_cpus + 2 + MP_IOAPIC_PINS + 1 + (n_pci ? n_pci + 1 : 0);
	h->lapic = VM_LAPIC_ADDR;
	h->checksum = checksum(h, h->length);

	memcpy(mpf->sig, "_MP_", 4);
	mpf->physptr = VM_MPTABLE_ADDR;
	mpf->length = 1;
	mpf->specrev = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return 0;
}
