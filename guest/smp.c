/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smp: the boot CPU starts every other CPU (count and APIC IDs from cmdline
 * `cpus=N`, else the ACPI MADT, else the MP table) with INIT-SIPI-SIPI; each
 * AP reaches ring 3 and checks in with its APIC ID.  Prints "smp: N cpus".
 * Exit 0 all arrived; 2 timeout; 3 IPI not accepted; 4 no trampoline page;
 * 5 an AP reported an APIC ID that is not in the list.
 */
#include "guest.h"

#define TIMEOUT_US 2000000

static uint32_t ids[GUEST_MAX_CPUS];
static volatile uint32_t seen[GUEST_MAX_CPUS]; /* APIC ID + 1 per CPU index */

void guest_ap_main(unsigned cpu)
{
	seen[cpu] = guest_lapic_id() + 1;
}

static int check_ids(unsigned n)
{
	for (unsigned cpu = 1; cpu < n; cpu++) {
		bool known = false;

		for (unsigned i = 0; i < n; i++)
			if (seen[cpu] == ids[i] + 1)
				known = true;
		if (!known) {
			guest_printf("smp: cpu %u has unexpected APIC ID %u\n", cpu,
				     (unsigned)seen[cpu] - 1);
			return 5;
		}
	}
	return 0;
}

int main(void)
{
	const char *source;
	unsigned n = guest_cpu_apic_ids(ids, GUEST_MAX_CPUS, &source);
	uint64_t t0 = guest_now_us(), end = t0 + TIMEOUT_US;
	int r;

	guest_printf("smp: %u cpus listed by %s\n", n, source);
	guest_lapic_enable();
	r = guest_start_aps(ids, n);
	if (r == -2)
		return 4;
	if (r < 0)
		return 3;
	while (guest_cpus_online() < n && guest_now_us() < end)
		cpu_relax();
	/* each AP writes seen[] before it increments the count; wait for the stores */
	for (unsigned cpu = 1; cpu < guest_cpus_online() && guest_now_us() < end; cpu++)
		while (!seen[cpu] && guest_now_us() < end)
			cpu_relax();
	guest_printf("smp: %u cpus (%lu us)\n", guest_cpus_online(),
		     (unsigned long)(guest_now_us() - t0));
	if (guest_cpus_online() != n)
		return 2;
	return check_ids(n);
}
