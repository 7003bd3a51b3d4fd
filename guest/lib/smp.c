/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "guest.h"
extern volatile unsigned guest_online;
unsigned guest_cpus_online(void)
{
	return __atomic_load_n(&guest_online, __ATOMIC_SEQ_CST);
}
