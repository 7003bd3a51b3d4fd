/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Local APIC and IOAPIC, programmed from ring 3 through the identity map. */
#include "guest.h"

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN    0x10

uint32_t guest_lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

void guest_lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

void guest_lapic_enable(void)
{
	guest_lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
}

unsigned guest_lapic_id(void)
{
	return guest_lapic_read(LAPIC_ID) >> 24;
}

void guest_lapic_eoi(void)
{
	guest_lapic_write(LAPIC_EOI, 0);
}

void guest_lapic_timer_periodic(uint8_t vector, uint32_t count)
{
	guest_lapic_write(LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	guest_lapic_write(LAPIC_LVT_TIMER, (1u << 17) | vector);
	guest_lapic_write(LAPIC_TIMER_INIT, count);
}

void guest_lapic_timer_stop(void)
{
	guest_lapic_write(LAPIC_LVT_TIMER, 1u << 16);
	guest_lapic_write(LAPIC_TIMER_INIT, 0);
}

int guest_lapic_send_ipi(unsigned apic_id, uint32_t icr_lo)
{
	guest_lapic_write(LAPIC_ICR_HI, apic_id << 24);
	guest_lapic_write(LAPIC_ICR_LO, icr_lo);
	for (int i = 0; i < 100000; i++)
		if (!(guest_lapic_read(LAPIC_ICR_LO) & (1u << 12)))
			return 0;
	return -1;
}

static uint32_t ioapic_read(uint32_t reg)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	return mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

unsigned guest_ioapic_pins(void)
{
	return ((ioapic_read(1) >> 16) & 0xff) + 1;
}

void guest_ioapic_route(unsigned pin, uint8_t vector, bool level)
{
	/* Destination: physical, the boot CPU's APIC ID. */
	ioapic_write(0x11 + 2 * pin, guest_lapic_id() << 24);
	ioapic_write(0x10 + 2 * pin, vector | (level ? 1u << 15 : 0));
}

void guest_ioapic_mask(unsigned pin)
{
	ioapic_write(0x10 + 2 * pin, 1u << 16);
}
