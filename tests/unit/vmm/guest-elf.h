/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Build a minimal 32-bit PVH ELF in memory (as tests/integration/vm-helpers.bash does). */
#include <elf.h>
#include <stdint.h>
#include <string.h>

#define TEST_GUEST_ENTRY    0x100000u
#define TEST_GUEST_CODE_OFF 0x100u

/* Returns the file size; buf must hold 0x100 + code_len + 20 bytes. */
static inline size_t test_guest_elf(uint8_t *buf, const uint8_t *code, uint32_t code_len,
				    uint32_t bss)
{
	Elf32_Ehdr eh = {.e_type = ET_EXEC,
			 .e_machine = EM_386,
			 .e_version = 1,
			 .e_entry = TEST_GUEST_ENTRY,
			 .e_phoff = sizeof(Elf32_Ehdr),
			 .e_ehsize = sizeof(Elf32_Ehdr),
			 .e_phentsize = sizeof(Elf32_Phdr),
			 .e_phnum = 2};
	Elf32_Phdr load = {.p_type = PT_LOAD,
			   .p_offset = TEST_GUEST_CODE_OFF,
			   .p_vaddr = TEST_GUEST_ENTRY,
			   .p_paddr = TEST_GUEST_ENTRY,
			   .p_filesz = code_len,
			   .p_memsz = code_len + bss,
			   .p_flags = 7};
	Elf32_Phdr note = {.p_type = PT_NOTE,
			   .p_offset = TEST_GUEST_CODE_OFF + code_len,
			   .p_filesz = 20,
			   .p_memsz = 20,
			   .p_align = 4};
	uint32_t n[5] = {4, 4, 18, 0, TEST_GUEST_ENTRY};

	memcpy(&n[3], "Xen", 4);
	memset(buf, 0, TEST_GUEST_CODE_OFF);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &load, sizeof(load));
	memcpy(buf + sizeof(eh) + sizeof(load), &note, sizeof(note));
	memcpy(buf + TEST_GUEST_CODE_OFF, code, code_len);
	memcpy(buf + TEST_GUEST_CODE_OFF + code_len, n, sizeof(n));
	return TEST_GUEST_CODE_OFF + code_len + sizeof(n);
}
