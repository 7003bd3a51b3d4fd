/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Ring-3 start: entered by iretq from entry.S on every CPU. */
#include "guest.h"

void guest_user_start(unsigned cpu);
volatile unsigned guest_online = 1; /* the boot CPU */

__attribute__((weak)) void guest_ap_main(unsigned cpu)
{
}

void guest_user_start(unsigned cpu)
{
	guest_io_init();
	if (cpu != 0) {
		__atomic_fetch_add(&guest_online, 1, __ATOMIC_SEQ_CST);
		guest_ap_main(cpu);
		guest_sys_halt();
	}
	guest_serial_init();
	if (!guest_start_info()) {
		guest_printf("guest: bad start_info at %#lx\n", (unsigned long)guest_start_info_pa);
		guest_exit(GUEST_EXIT_BAD_BOOT);
	}
	guest_exit(main());
}

/* The verdict: print it, then write it to the isa-debug-exit port. */
_Noreturn void guest_exit(int code)
{
	guest_printf("guest: exit %d\n", code);
	guest_outl(GUEST_EXIT_PORT, (uint32_t)code);
	/* No exit device: stop this CPU. */
	guest_sys_halt();
}
