/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The userspace IOAPIC model: registers, MSI composition, edge, level + EOI, masking. */
#include <string.h>

#include "devices/ioapic.h"
#include "tap.h"

static int n_msi, n_routes;
static uint64_t last_addr;
static uint32_t last_data;

static void msi(void *o, uint64_t addr, uint32_t data)
{
	n_msi++;
	last_addr = addr;
	last_data = data;
}

static void routes(void *o)
{
	n_routes++;
}

static void wr(struct ioapic *io, uint64_t off, uint32_t v)
{
	ioapic_mmio_ops.write(io, off, &v, 4);
}

static uint32_t rd(struct ioapic *io, uint64_t off)
{
	uint32_t v = 0;

	ioapic_mmio_ops.read(io, off, &v, 4);
	return v;
}

static void rte(struct ioapic *io, unsigned pin, uint32_t lo, uint32_t hi)
{
	wr(io, 0x00, 0x11 + 2 * pin);
	wr(io, 0x10, hi);
	wr(io, 0x00, 0x10 + 2 * pin);
	wr(io, 0x10, lo);
}

int main(void)
{
	struct ioapic_cb cb = {msi, routes, NULL};
	struct ioapic *io = ioapic_new(&cb);
	uint64_t addr;
	uint32_t data;

	wr(io, 0x00, 1);
	is_int(rd(io, 0x10), 0x170011, "version: 24 pins, 0x11");
	ioapic_set_irq(io, 4, true);
	is_int(n_msi, 0, "masked at reset: nothing delivered");
	ok(!ioapic_msi_route(io, 4, &addr, &data), "no route while masked");
	ioapic_set_irq(io, 4, false);

	/* edge, vector 0x30, physical destination 1 */
	rte(io, 4, 0x30, 1u << 24);
	ok(n_routes > 0, "reprogramming announces a route change");
	ok(ioapic_msi_route(io, 4, &addr, &data) && addr == 0xfee01000 && data == 0x30,
	   "route: address %#llx data %#x", (unsigned long long)addr, data);
	ioapic_set_irq(io, 4, true);
	ok(n_msi == 1 && last_addr == 0xfee01000 && last_data == 0x30, "rising edge delivers");
	ioapic_set_irq(io, 4, true);
	is_int(n_msi, 1, "no new edge, no new interrupt");
	ioapic_set_irq(io, 4, false);
	ioapic_set_irq(io, 4, true);
	is_int(n_msi, 2, "next edge delivers");
	ioapic_set_irq(io, 4, false);

	/* level-triggered, logical destination, lowest priority */
	n_msi = 0;
	rte(io, 5, 0x41 | (1u << 15) | (1u << 11) | (1u << 8), 0x3u << 24);
	ioapic_set_irq(io, 5, true);
	ok(n_msi == 1 && last_addr == (0xfee03000 | 4) && last_data == (0x141 | 0xc000),
	   "level MSI: addr %#llx data %#x", (unsigned long long)last_addr, last_data);
	wr(io, 0x00, 0x10 + 10);
	ok(rd(io, 0x10) & (1u << 14), "Remote IRR set");
	ioapic_set_irq(io, 5, true);
	is_int(n_msi, 1, "no redelivery before EOI");
	ioapic_eoi(io, 0x41);
	is_int(n_msi, 2, "EOI with the line high redelivers");
	ioapic_set_irq(io, 5, false);
	ioapic_eoi(io, 0x41);
	is_int(n_msi, 2, "EOI with the line low does not");
	wr(io, 0x00, 0x10 + 10);
	ok(!(rd(io, 0x10) & (1u << 14)), "Remote IRR clear");
	ioapic_set_irq(io, 5, true);
	is_int(n_msi, 3, "level raised again delivers");
	wr(io, 0x40, 0x41); /* the IOAPIC's own EOI register */
	is_int(n_msi, 4, "EOI register works too");

	/* unmasking a pending level pin fires; guest noise is harmless */
	n_msi = 0;
	rte(io, 6, 0x50 | (1u << 15) | (1u << 16), 0);
	ioapic_set_irq(io, 6, true);
	is_int(n_msi, 0, "masked level pin held");
	rte(io, 6, 0x50 | (1u << 15), 0);
	is_int(n_msi, 1, "unmasking delivers the pending level");
	ioapic_set_irq(io, 99, true);
	wr(io, 0x00, 0xff);
	wr(io, 0x10, 0xffffffff);
	is_int(rd(io, 0x10), 0, "out-of-range register reads 0");
	ok(!ioapic_msi_route(io, 24, &addr, &data), "pin 24 does not exist");
	uint8_t b = 0x12;
	ioapic_mmio_ops.write(io, 0x00, &b, 1);
	is_int(rd(io, 0x00), 0x12, "byte write to IOREGSEL");
	ioapic_free(io);
	return tap_done();
}
