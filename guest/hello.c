/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hello: one line on COM1, then exit with cmdline `code=N` (default 0). */
#include "guest.h"

int main(void)
{
	uint64_t code = guest_cmdline_u64_or("code", 0, 127);

	guest_printf("hello from isola guest\n");
	return (int)code;
}
