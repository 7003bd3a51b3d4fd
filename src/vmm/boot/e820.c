/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guest memory map shared by the PVH start info and Linux boot_params. */
#include <errno.h>
#include <unistd.h>

#include "../vm-internal.h"
#include "boot.h"

uint64_t boot_low_ram_end(const struct guest_mem *mem)
{
	for (unsigned i = 0; i < mem->nr; i++)
		if (mem->regions[i].gpa == 0)
			return mem->regions[i].size;
	return 0;
}

unsigned e820_build(const struct guest_mem *mem, struct e820_entry *out)
{
	uint64_t low = boot_low_ram_end(mem);
	unsigned n = 0;

	out[n++] = (struct e820_entry){0, VM_MPTABLE_ADDR, E820_RAM};
	/* The EBDA (MP table), the VGA hole and the BIOS area holding the ACPI tables. */
	out[n++] =
	    (struct e820_entry){VM_MPTABLE_ADDR, VM_HIMEM_ADDR - VM_MPTABLE_ADDR, E820_RESERVED};
	if (low > VM_HIMEM_ADDR)
		out[n++] = (struct e820_entry){VM_HIMEM_ADDR, low - VM_HIMEM_ADDR, E820_RAM};
	for (unsigned i = 0; i < mem->nr && n < E820_MAX_ENTRIES; i++)
		if (mem->regions[i].gpa >= VM_HIGH_RAM)
			out[n++] = (struct e820_entry){mem->regions[i].gpa, mem->regions[i].size,
						       E820_RAM};
	return n;
}

int boot_read_into(int fd, const char *path, struct guest_mem *mem, uint64_t gpa, uint64_t len,
		   uint64_t off, struct err **err)
{
	uint8_t *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst)
		return err_make(
		    err, ENOSPC,
		    "`%s`: %llu bytes at guest address %#llx do not fit in guest memory", path,
		    (unsigned long long)len, (unsigned long long)gpa);
	while (len > 0) {
		ssize_t n = pread(fd, dst, len > (1u << 30) ? (1u << 30) : len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_make(err, errno, "read `%s`", path);
		if (n == 0)
			return err_make(err, 0, "`%s`: file is truncated", path);
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}
