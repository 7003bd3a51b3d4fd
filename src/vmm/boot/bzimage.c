/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit entry:
 * the protected-mode kernel goes to 1 MiB, boot_params (the "zero page")
 * carries the setup header, e820 map, command line and initrd, and the vCPU
 * starts in long mode at load address + 0x200 with RSI = boot_params.
 */
#include <errno.h>
#include <string.h>

#include "../vm-internal.h"
#include "boot.h"

#define HDR_SETUP_SECTS	    0x1f1
#define HDR_VID_MODE	    0x1fa
#define HDR_BOOT_FLAG	    0x1fe
#define HDR_JUMP	    0x200
#define HDR_MAGIC	    0x202
#define HDR_VERSION	    0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS	    0x211
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_HEAP_END_PTR    0x224
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_XLOADFLAGS	    0x236
#define HDR_CMDLINE_SIZE    0x238
#define HDR_PREF_ADDRESS    0x258
#define HDR_INIT_SIZE	    0x260
#define BP_E820_ENTRIES	    0x1e8
#define BP_E820_TABLE	    0x2d0
#define BP_E820_MAX	    128

#define LOADED_HIGH   0x01
#define CAN_USE_HEAP  0x80
#define XLF_KERNEL_64 0x01

static uint32_t get32(const uint8_t *b, unsigned off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

static uint16_t get16(const uint8_t *b, unsigned off)
{
	uint16_t v;

	memcpy(&v, b + off, 2);
	return v;
}

int bzimage_parse(const uint8_t *buf, uint64_t len, uint64_t file_size, struct bzimage_info *ret,
		  struct err **err)
{
	struct bzimage_info bz = {0};

	if (len < 0x268 || get16(buf, HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(buf + HDR_MAGIC, "HdrS", 4))
		return -ENOEXEC;
	bz.version = get16(buf, HDR_VERSION);
	if (bz.version < 0x20c)
		return err_make(err, 0, "boot protocol %u.%u is older than 2.12", bz.version >> 8,
				bz.version & 0xff);
	bz.setup_sects = buf[HDR_SETUP_SECTS] ? buf[HDR_SETUP_SECTS] : 4;
	bz.loadflags = buf[HDR_LOADFLAGS];
	bz.xloadflags = get16(buf, HDR_XLOADFLAGS);
	if (!(bz.loadflags & LOADED_HIGH) || !(bz.xloadflags & XLF_KERNEL_64))
		return err_make(err, 0, "not a 64-bit bzImage (no XLF_KERNEL_64)");
	bz.initrd_addr_max = get32(buf, HDR_INITRD_ADDR_MAX);
	bz.cmdline_size = get32(buf, HDR_CMDLINE_SIZE);
	bz.init_size = get32(buf, HDR_INIT_SIZE);
	memcpy(&bz.pref_address, buf + HDR_PREF_ADDRESS, 8);
	bz.kernel_offset = (bz.setup_sects + 1ULL) * 512;
	if (bz.kernel_offset >= file_size)
		return err_make(err, 0, "setup_sects %u points past the end of the file",
				bz.setup_sects);
	bz.kernel_size = file_size - bz.kernel_offset;
	/* The header ends where the jump at 0x200 lands. */
	bz.hdr_len = 0x202 + buf[HDR_JUMP + 1];
	if (bz.hdr_len > sizeof(bz.hdr) || bz.hdr_len > len)
		bz.hdr_len = len < sizeof(bz.hdr) ? len : sizeof(bz.hdr);
	memcpy(bz.hdr, buf, bz.hdr_len);
	*ret = bz;
	return 0;
}

uint64_t bzimage_kernel_end(const struct bzimage_info *bz)
{
	/* A relocatable kernel decompresses at pref_address at the lowest. */
	uint64_t base = bz->pref_address > BZIMAGE_LOAD_ADDR ? bz->pref_address : BZIMAGE_LOAD_ADDR;
	uint64_t need = bz->init_size > bz->kernel_size ? bz->init_size : bz->kernel_size;

	return base + need;
}

int boot_place_initrd(uint64_t initrd_size, uint64_t kernel_end, uint64_t ram_top,
		      uint64_t addr_max, uint64_t *ret, struct err **err)
{
	uint64_t top = ram_top < addr_max + 1 ? ram_top : addr_max + 1, addr;

	if (initrd_size > top)
		goto too_big;
	addr = (top - initrd_size) & ~0xfffULL;
	if (addr < kernel_end)
		goto too_big;
	*ret = addr;
	return 0;
too_big:
	return err_make(err, ENOSPC,
			"initrd of %llu KiB does not fit between the kernel (ends at %llu MiB) "
			"and %llu MiB",
			(unsigned long long)(initrd_size >> 10),
			(unsigned long long)(kernel_end >> 20), (unsigned long long)(top >> 20));
}

int bzimage_load(int fd, const char *path, struct guest_mem *mem, const struct bzimage_info *bz,
		 struct err **err)
{
	uint64_t low = boot_low_ram_end(mem);

	if (bzimage_kernel_end(bz) > low)
		return err_make(err, ENOSPC,
				"kernel `%s` needs %llu MiB of low memory, the VM has %llu MiB",
				path, (unsigned long long)(bzimage_kernel_end(bz) >> 20) + 1,
				(unsigned long long)(low >> 20));
	return boot_read_into(fd, path, mem, BZIMAGE_LOAD_ADDR, bz->kernel_size, bz->kernel_offset,
			      err);
}

static void put32(uint8_t *b, unsigned off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static int write_page_tables(struct guest_mem *mem, struct err **err)
{
	uint64_t *pml4 = guest_mem_ptr(mem, VM_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_mem_ptr(mem, VM_PDPT_ADDR, 4096);
	uint64_t *pd = guest_mem_ptr(mem, VM_PD_ADDR, 4096);

	if (!pml4 || !pdpt || !pd)
		return err_make(err, ENOSPC, "guest memory too small for page tables");
	pml4[0] = VM_PDPT_ADDR | 0x3; /* present, writable */
	pdpt[0] = VM_PD_ADDR | 0x3;
	for (uint64_t i = 0; i < 512; i++) /* identity map the first GiB, 2 MiB pages */
		pd[i] = (i << 21) | 0x83;
	return 0;
}

int bzimage_write_boot_params(struct guest_mem *mem, const struct bzimage_info *bz,
			      uint64_t cmdline_gpa, size_t cmdline_len, uint64_t initrd_gpa,
			      uint64_t initrd_size, struct err **err)
{
	uint8_t *zp = guest_mem_ptr(mem, VM_ZERO_PAGE_ADDR, 4096);
	struct e820_entry e820[E820_MAX_ENTRIES];
	unsigned n = e820_build(mem, e820);

	if (!zp)
		return err_make(err, ENOSPC, "guest memory too small for boot_params");
	if (bz->cmdline_size && cmdline_len > bz->cmdline_size)
		return err_make(err, E2BIG,
				"kernel command line is longer than the kernel's %u bytes",
				bz->cmdline_size);
	memcpy(zp + HDR_SETUP_SECTS, bz->hdr + HDR_SETUP_SECTS, bz->hdr_len - HDR_SETUP_SECTS);
	zp[HDR_VID_MODE] = 0xff;
	zp[HDR_VID_MODE + 1] = 0xff;
	zp[HDR_TYPE_OF_LOADER] = 0xff;
	zp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	put32(zp, HDR_HEAP_END_PTR, 0xfe00); /* 16 bits, followed by ext_loader fields */
	put32(zp, HDR_CMD_LINE_PTR, cmdline_gpa);
	put32(zp, HDR_RAMDISK_IMAGE, initrd_gpa);
	put32(zp, HDR_RAMDISK_SIZE, initrd_size);
	zp[BP_E820_ENTRIES] = n;
	for (unsigned i = 0; i < n && i < BP_E820_MAX; i++) {
		uint8_t *e = zp + BP_E820_TABLE + 20 * i;

		memcpy(e, &e820[i].addr, 8);
		memcpy(e + 8, &e820[i].size, 8);
		memcpy(e + 16, &e820[i].type, 4);
	}
	return write_page_tables(mem, err);
}

#define BP_ACPI_RSDP_ADDR 0x070 /* boot_params.acpi_rsdp_addr, boot protocol 2.14 */

int bzimage_set_rsdp(struct guest_mem *mem, uint64_t rsdp, struct err **err)
{
	uint8_t *zp = guest_mem_ptr(mem, VM_ZERO_PAGE_ADDR, 4096);

	if (!zp)
		return err_make(err, ENOSPC, "guest memory too small for boot_params");
	memcpy(zp + BP_ACPI_RSDP_ADDR, &rsdp, 8);
	return 0;
}
