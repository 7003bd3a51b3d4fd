/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Kernel loaders.  They read from an fd straight into guest memory and do
 * not need a VM, so unit tests run them on a plain mapping.
 */
#include <stdbool.h>
#include <stddef.h>
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
/* A 64-bit ELF vmlinux (no note needed): its segments, entry = e_entry (startup_64). */
int vmlinux_load(int fd, const char *path, struct guest_mem *mem, struct pvh_image *ret,
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
/*
 * The vmlinux ELF in bz's compressed payload, from the unpack cache or
 * decompressed into it (unpack.c): an fd to read it from.  -EOPNOTSUPP
 * without an error when !must and isola does not decompress that format.
 */
int bzimage_unpack(int fd, const char *path, uint64_t file_size, const struct bzimage_info *bz,
		   bool must, struct err **err);
/*
 * A compressed initramfs as the plain cpio inside it, from the cache or
 * unpacked into it: an fd and *ret_size.  -EOPNOTSUPP without an error when
 * !must and the file is not one xz/gzip/zstd stream holding a newc cpio.
 */
int initrd_unpack(int fd, const char *path, uint64_t size, bool must, uint64_t *ret_size,
		  struct err **err);
/* Zero page, e820 and 64-bit identity page tables. */
int bzimage_write_boot_params(struct guest_mem *mem, const struct bzimage_info *bz,
			      uint64_t cmdline_gpa, size_t cmdline_len, uint64_t initrd_gpa,
			      uint64_t initrd_size, struct err **err);

/*
 * ACPI (acpi.c).  The tables go in the BIOS area [ACPI_AREA_ADDR, 1 MiB),
 * reserved in the e820 map; the fixed hardware they describe is
 * devices/acpi-pm.c on these ports.
 */
#define ACPI_AREA_ADDR	    0xe0000ULL
#define ACPI_AREA_SIZE	    0x20000ULL
#define ACPI_MAX_CPUS	    255
#define ACPI_FADT_SIZE	    276
#define ACPI_DSDT_MAX	    4096
#define ACPI_PM1_EVT_PORT   0x600 /* PM1a status (2 bytes) and enable (2 bytes) */
#define ACPI_PM1_CNT_PORT   0x604 /* PM1a control, 2 bytes */
#define ACPI_RESET_PORT	    0x606 /* FADT RESET_REG, 1 byte */
#define ACPI_RESET_VALUE    0x01
#define ACPI_PVPANIC_PORT   0x505 /* QEMU's pvpanic ISA port */
#define ACPI_SCI_IRQ	    9
#define ACPI_SLP_TYP_S5	    5
#define ACPI_PM1_SCI_EN	    0x0001
#define ACPI_PM1_SLP_EN	    0x2000
#define ACPI_PM1_SLP_TYP(v) (((v) >> 10) & 7)

struct acpi_config {
	unsigned nr_cpus;
	bool pci; /* describe the PCI host bridge (virtio-pci) */
	bool pic; /* there is an 8259 pair (the in-kernel irqchip): MADT PCAT_COMPAT */
	uint32_t pci_mmio_base, pci_mmio_end;
};
/* Write RSDP, XSDT, FADT, FACS, DSDT and MADT; *ret_rsdp is the RSDP's address. */
int acpi_write(struct guest_mem *mem, const struct acpi_config *c, uint64_t *ret_rsdp,
	       struct err **err);
/* The byte that makes len bytes at p sum to zero. */
uint8_t acpi_checksum(const void *p, size_t len);
/* Hand the RSDP to the kernel: boot_params.acpi_rsdp_addr / hvm_start_info.rsdp_paddr. */
int bzimage_set_rsdp(struct guest_mem *mem, uint64_t rsdp, struct err **err);
int pvh_set_rsdp(struct guest_mem *mem, uint64_t rsdp, struct err **err);
