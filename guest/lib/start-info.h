/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* The PVH boot ABI (Xen public header arch-x86/hvm/start_info.h), facts only. */
#define HVM_START_MAGIC		 0x336ec578
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#ifndef __ASSEMBLER__
#include <stdint.h>

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* version >= 1 */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* E820 types: 1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5 unusable */
	uint32_t reserved;
};

#endif

#define E820_RAM      1
#define E820_RESERVED 2
