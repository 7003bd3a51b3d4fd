/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Kernel loaders.  They read from an fd straight into guest memory and do
 * not need a VM, so unit tests run them on a plain mapping.
 */
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "guest-mem.h"

#define E820_RAM	 1
#define E820_RESERVED	 2
#define E820_MAX_ENTRIES 8

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/* The memory map of mem (RAM at 0 and maybe above 4 GiB); returns the entry count. */
unsigned e820_build(const struct guest_mem *mem, struct e820_entry *out);

/* Top of RAM below 4 GiB. */
uint64_t boot_low_ram_end(const struct guest_mem *mem);

/* Read exactly len bytes at off into guest memory at gpa. */
int boot_read_into(int fd, const char *path, struct guest_mem *mem, uint64_t gpa, uint64_t len,
		   uint64_t off, struct err **err);

/* PVH ELF: load PT_LOAD segments and find XEN_ELFNOTE_PHYS32_ENTRY. -ENOEXEC: not ELF. */
struct pvh_image {
	uint64_t entry;
	uint64_t end; /* highest loaded guest address + 1 */
};
int pvh_load(int fd, const char *path, struct guest_mem *mem, struct pvh_image *ret,
	     struct err **err);
/* Write hvm_start_info, its memory map and (when initrd_size) one module. */
int pvh_write_start_info(struct guest_mem *mem, uint64_t cmdline_gpa, uint64_t initrd_gpa,
			 uint64_t initrd_size, struct err **err);

/* bzImage: the setup header, checked. */
struct bzimage_info {
	uint16_t version;
	uint8_t setup_sects;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t init_size;
	uint64_t pref_address;
	uint64_t kernel_offset; /* file offset of the protected-mode kernel */
	uint64_t kernel_size;
	uint8_t hdr[0x290]; /* the first bytes of the file, for boot_params */
	uint32_t hdr_len;
};
#define BZIMAGE_LOAD_ADDR 0x100000ULL
int bzimage_parse(const uint8_t *buf, uint64_t len, uint64_t file_size, struct bzimage_info *ret,
		  struct err **err);
/* Lowest guest address the decompressed kernel may use up to, from pref_address/init_size. */
uint64_t bzimage_kernel_end(const struct bzimage_info *bz);
/*
 * Where the initrd goes: page aligned, as high as possible below both the
 * top of low RAM and initrd_addr_max, and above kernel_end.
 */
int boot_place_initrd(uint64_t initrd_size, uint64_t kernel_end, uint64_t ram_top,
		      uint64_t addr_max, uint64_t *ret, struct err **err);
int bzimage_load(int fd, const char *path, struct guest_mem *mem, const struct bzimage_info *bz,
		 struct err **err);
/* Zero page, e820 and 64-bit identity page tables. */
int bzimage_write_boot_params(struct guest_mem *mem, const struct bzimage_info *bz,
			      uint64_t cmdline_gpa, size_t cmdline_len, uint64_t initrd_gpa,
			      uint64_t initrd_size, struct err **err);
