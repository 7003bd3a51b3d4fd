/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * timer: interrupts reach ring 3.  The LAPIC timer, periodic every
 * `period_us` (default 1000), must fire `ticks=N` times (default 10) while
 * the CPU spins in ring 3; then the 16550's THR-empty interrupt (IER bit 1),
 * routed IRQ 4 -> IOAPIC pin 4 -> vector 0x24, must arrive; last, 3 more
 * ticks must wake the CPU from HLT (the wait service); and, unless `nopit`,
 * the i8254 PIT (channel 0, ~1 kHz) must tick `ticks` times through the
 * IOAPIC (ISA IRQ 0 arrives on pin 2 behind QEMU's override, on pin 0 with
 * KVM's default routing: both are routed).
 * Exit 0 ok; 2 timer timeout; 3 no tick interrupted ring 3; 4 serial IRQ
 * timeout; 5 no IOAPIC; 6 HLT not woken in time; 7 PIT timeout.
 */
#include "guest.h"

#define VEC_TIMER  0x20
#define VEC_COM1   0x24
#define COM1_IRQ   4
#define COM1	   0x3f8
#define TIMEOUT_US 3000000
#define VEC_PIT	   0x22
#define PIT_HZ	   1193182

static int lapic_timer(uint64_t ticks, uint64_t period_us)
{
	uint64_t t0 = guest_now_us(), t1, got;
	bool ok;

	/* KVM's APIC timer counts at 1 GHz; divided by 16 that is 62.5 per us. */
	guest_lapic_timer_periodic(VEC_TIMER, (uint32_t)(period_us * 1000 / 16));
	ok = guest_irq_wait(VEC_TIMER, ticks, TIMEOUT_US);
	/* The count when the wait ended: ticks that land while the timer is being stopped
	 * (more of them when the host is loaded) say nothing about the timer. */
	got = guest_irq_count[VEC_TIMER];
	t1 = guest_now_us();
	guest_lapic_timer_stop();
	guest_printf("timer: %lu lapic ticks (%lu in ring 3) in %lu us\n", (unsigned long)got,
		     (unsigned long)guest_irq_user_count[VEC_TIMER], (unsigned long)(t1 - t0));
	if (!ok)
		return 2;
	if (!guest_irq_user_count[VEC_TIMER])
		return 3;
	return 0;
}

static int serial_irq(void)
{
	unsigned pins = guest_ioapic_pins();
	bool ok;

	if (pins < 16 || pins > 240) {
		guest_printf("timer: no IOAPIC (%u pins)\n", pins);
		return 5;
	}
	guest_ioapic_route(COM1_IRQ, VEC_COM1, false);
	guest_outb(COM1 + 1, 0x02); /* IER: THR empty; THR is empty, so it fires */
	ok = guest_irq_wait(VEC_COM1, 1, TIMEOUT_US);
	guest_outb(COM1 + 1, 0);
	(void)guest_inb(COM1 + 2); /* reading IIR clears the THRE interrupt */
	guest_ioapic_mask(COM1_IRQ);
	guest_printf("timer: serial irq %s (%lu)\n", ok ? "delivered" : "timed out",
		     (unsigned long)guest_irq_count[VEC_COM1]);
	return ok ? 0 : 4;
}

/* Sleeps in HLT until 3 more ticks arrived (each wake-up is one interrupt). */
static int halted_ticks(uint64_t period_us)
{
	uint64_t want = guest_irq_count[VEC_TIMER] + 3, t0 = guest_now_us(), t1;

	guest_lapic_timer_periodic(VEC_TIMER, (uint32_t)(period_us * 1000 / 16));
	for (int i = 0; i < 100 && guest_irq_count[VEC_TIMER] < want; i++)
		guest_sys_wait();
	t1 = guest_now_us();
	guest_lapic_timer_stop();
	guest_printf("timer: woke from hlt %s in %lu us\n",
		     guest_irq_count[VEC_TIMER] >= want ? "3 times" : "too early",
		     (unsigned long)(t1 - t0));
	return guest_irq_count[VEC_TIMER] >= want ? 0 : 6;
}

static int pit_ticks(uint64_t ticks)
{
	uint16_t div = PIT_HZ / 1000;
	uint64_t t0 = guest_now_us(), t1, got;
	bool ok;

	guest_ioapic_route(0, VEC_PIT, false);
	guest_ioapic_route(2, VEC_PIT, false);
	guest_outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
	guest_outb(0x40, div & 0xff);
	guest_outb(0x40, div >> 8);
	ok = guest_irq_wait(VEC_PIT, ticks, TIMEOUT_US);
	got = guest_irq_count[VEC_PIT]; /* as for the LAPIC: before masking takes its time */
	t1 = guest_now_us();
	guest_ioapic_mask(0);
	guest_ioapic_mask(2);
	guest_outb(0x43, 0x30); /* mode 0 without a count: stops */
	guest_printf("timer: %lu pit ticks in %lu us\n", (unsigned long)got,
		     (unsigned long)(t1 - t0));
	return ok ? 0 : 7;
}

int main(void)
{
	uint64_t ticks = guest_cmdline_u64_or("ticks", 10, 100000);
	uint64_t period = guest_cmdline_u64_or("period_us", 1000, 1000000);
	int r;

	if (period < 10)
		period = 10;
	guest_lapic_enable();
	r = lapic_timer(ticks, period);
	if (!r)
		r = serial_irq();
	if (!r)
		r = halted_ticks(period);
	if (!r && !guest_cmdline_has("nopit"))
		r = pit_ticks(ticks);
	return r;
}
