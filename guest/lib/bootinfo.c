/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Access to the PVH start_info, cmdline and memmap, with every size capped. */
#include "guest.h"

const struct hvm_start_info *guest_start_info(void)
{
	const struct hvm_start_info *si = (const void *)guest_start_info_pa;

	if (!si || guest_start_info_pa >= (4ULL << 30) - sizeof(*si))
		return NULL;
	if (si->magic != HVM_START_MAGIC)
		return NULL;
	return si;
}

const char *guest_cmdline(void)
{
	const struct hvm_start_info *si = guest_start_info();

	if (!si || !si->cmdline_paddr || si->cmdline_paddr >= (4ULL << 30) - GUEST_MAX_CMDLINE)
		return "";
	return (const char *)si->cmdline_paddr;
}

const struct hvm_memmap_entry *guest_memmap(unsigned *ret_n)
{
	const struct hvm_start_info *si = guest_start_info();

	*ret_n = 0;
	if (!si || si->version < 1 || !si->memmap_paddr || si->memmap_paddr >= (4ULL << 30) - 4096)
		return NULL;
	*ret_n = si->memmap_entries > GUEST_MAX_MEMMAP ? GUEST_MAX_MEMMAP : si->memmap_entries;
	return (const void *)si->memmap_paddr;
}

uint64_t guest_ram_end(void)
{
	const struct hvm_memmap_entry *m;
	uint64_t end = 0;
	unsigned n;

	m = guest_memmap(&n);
	for (unsigned i = 0; i < n; i++)
		if (m[i].type == E820_RAM && m[i].addr + m[i].size > end)
			end = m[i].addr + m[i].size;
	return end;
}
