/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PVH boot: an ELF (32- or 64-bit) whose note XEN_ELFNOTE_PHYS32_ENTRY (type
 * 18, owner "Xen") holds the 32-bit protected-mode entry point.  The loader
 * copies PT_LOAD segments to their physical addresses; the guest gets an
 * hvm_start_info (Xen's public start_info.h layout) in EBX.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../vm-internal.h"
#include "boot.h"
#include "cleanup.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_MAX_PHDRS		 64
#define PVH_MAX_NOTE_SIZE	 65536
#define HVM_START_MAGIC		 0x336ec578

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static int pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n == (ssize_t)len ? 0 : -EIO;
}

/* Program headers in one 64-bit shape whatever the ELF class. */
static int read_phdrs(int fd, const char *path, const uint8_t *ident, Elf64_Phdr *ph,
		      unsigned *ret_n, struct err **err)
{
	bool is64 = ident[EI_CLASS] == ELFCLASS64;
	uint64_t phoff;
	unsigned n, entsz;

	if (is64) {
		Elf64_Ehdr e;

		if (pread_exact(fd, &e, sizeof(e), 0) < 0)
			return err_make(err, 0, "kernel `%s`: truncated ELF header", path);
		if (e.e_machine != EM_X86_64)
			return err_make(err, 0, "kernel `%s`: ELF for another machine", path);
		phoff = e.e_phoff, n = e.e_phnum, entsz = e.e_phentsize;
	} else {
		Elf32_Ehdr e;

		if (pread_exact(fd, &e, sizeof(e), 0) < 0)
			return err_make(err, 0, "kernel `%s`: truncated ELF header", path);
		if (e.e_machine != EM_386 && e.e_machine != EM_X86_64)
			return err_make(err, 0, "kernel `%s`: ELF for another machine", path);
		phoff = e.e_phoff, n = e.e_phnum, entsz = e.e_phentsize;
	}
	if (n == 0 || n > PVH_MAX_PHDRS ||
	    entsz != (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		return err_make(err, 0, "kernel `%s`: bad ELF program header table", path);
	for (unsigned i = 0; i < n; i++) {
		if (is64) {
			if (pread_exact(fd, &ph[i], sizeof(ph[i]), phoff + (uint64_t)i * entsz) < 0)
				return err_make(err, 0, "kernel `%s`: truncated ELF", path);
			continue;
		}
		Elf32_Phdr p;
		if (pread_exact(fd, &p, sizeof(p), phoff + (uint64_t)i * entsz) < 0)
			return err_make(err, 0, "kernel `%s`: truncated ELF", path);
		ph[i] = (Elf64_Phdr){.p_type = p.p_type,
				     .p_offset = p.p_offset,
				     .p_paddr = p.p_paddr,
				     .p_filesz = p.p_filesz,
				     .p_memsz = p.p_memsz};
	}
	*ret_n = n;
	return 0;
}

/* Scan one PT_NOTE segment for the PVH entry. */
static int find_entry_note(int fd, const Elf64_Phdr *ph, uint64_t *ret_entry)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t len = ph->p_filesz, pos = 0;

	if (len > PVH_MAX_NOTE_SIZE || !(buf = malloc(len ? len : 1)))
		return 0;
	if (pread_exact(fd, buf, len, ph->p_offset) < 0)
		return 0;
	/* pos may pass len by the padding of the last note: test it before len - pos. */
	while (pos <= len && len - pos >= 12) {
		uint32_t nsz, dsz, type;
		uint64_t name_at = pos + 12, desc_at;

		memcpy(&nsz, buf + pos, 4);
		memcpy(&dsz, buf + pos + 4, 4);
		memcpy(&type, buf + pos + 8, 4);
		desc_at = name_at + (((uint64_t)nsz + 3) & ~3ULL);
		if (desc_at > len || dsz > len - desc_at)
			return 0;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && nsz == 4 &&
		    memcmp(buf + name_at, "Xen", 4) == 0 && (dsz == 4 || dsz == 8)) {
			uint64_t v = 0;

			memcpy(&v, buf + desc_at, dsz); /* little endian */
			*ret_entry = v;
			return 1;
		}
		pos = desc_at + (((uint64_t)dsz + 3) & ~3ULL);
	}
	return 0;
}

/* Copy the PT_LOAD segments to their physical addresses; *ret_end: the highest end. */
static int load_segments(int fd, const char *path, struct guest_mem *mem, const Elf64_Phdr *ph,
			 unsigned n, uint64_t *ret_end, struct err **err)
{
	uint64_t end = 0;
	int r;

	for (unsigned i = 0; i < n; i++) {
		const Elf64_Phdr *p = &ph[i];

		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (p->p_filesz > p->p_memsz || p->p_paddr < VM_HIMEM_ADDR ||
		    !guest_mem_ptr(mem, p->p_paddr, p->p_memsz))
			return err_make(
			    err, 0,
			    "kernel `%s`: segment %#llx+%#llx is below 1 MiB or outside "
			    "guest memory",
			    path, (unsigned long long)p->p_paddr, (unsigned long long)p->p_memsz);
		/* Fresh guest memory is zero: only the file part needs writing. */
		r = boot_read_into(fd, path, mem, p->p_paddr, p->p_filesz, p->p_offset, err);
		if (r < 0)
			return r;
		if (p->p_paddr + p->p_memsz > end)
			end = p->p_paddr + p->p_memsz;
	}
	*ret_end = end;
	return 0;
}

int pvh_load(int fd, const char *path, struct guest_mem *mem, struct pvh_image *ret,
	     struct err **err)
{
	Elf64_Phdr ph[PVH_MAX_PHDRS];
	uint8_t ident[EI_NIDENT];
	uint64_t entry = 0, end = 0;
	bool found = false;
	unsigned n = 0;
	int r;

	if (pread_exact(fd, ident, sizeof(ident), 0) < 0 || memcmp(ident, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if ((ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64) ||
	    ident[EI_DATA] != ELFDATA2LSB)
		return err_make(err, 0, "kernel `%s`: not a little-endian x86 ELF", path);
	r = read_phdrs(fd, path, ident, ph, &n, err);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n && !found; i++)
		if (ph[i].p_type == PT_NOTE)
			found = find_entry_note(fd, &ph[i], &entry);
	if (!found)
		return err_make(
		    err, 0, "kernel `%s`: ELF without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)",
		    path);
	r = load_segments(fd, path, mem, ph, n, &end, err);
	if (r < 0)
		return r;
	if (end == 0 || entry >= 0x100000000ULL)
		return err_make(err, 0, "kernel `%s`: no loadable segment or bad entry", path);
	*ret = (struct pvh_image){.entry = entry, .end = end};
	return 0;
}

int pvh_write_start_info(struct guest_mem *mem, uint64_t cmdline_gpa, uint64_t initrd_gpa,
			 uint64_t initrd_size, struct err **err)
{
	struct e820_entry e820[E820_MAX_ENTRIES];
	unsigned n = e820_build(mem, e820);
	struct hvm_start_info *si = guest_mem_ptr(mem, VM_PVH_INFO_ADDR, sizeof(*si));
	struct hvm_memmap_table_entry *mm = guest_mem_ptr(mem, VM_PVH_MEMMAP_ADDR, n * sizeof(*mm));
	struct hvm_modlist_entry *mod = guest_mem_ptr(mem, VM_PVH_MODLIST_ADDR, sizeof(*mod));

	if (!si || !mm || !mod)
		return err_make(err, ENOSPC, "guest memory too small for the PVH start info");
	for (unsigned i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_table_entry){e820[i].addr, e820[i].size, e820[i].type};
	*si = (struct hvm_start_info){
	    .magic = HVM_START_MAGIC,
	    .version = 1,
	    .cmdline_paddr = cmdline_gpa,
	    .memmap_paddr = VM_PVH_MEMMAP_ADDR,
	    .memmap_entries = n,
	};
	if (initrd_size) {
		*mod = (struct hvm_modlist_entry){.paddr = initrd_gpa, .size = initrd_size};
		si->nr_modules = 1;
		si->modlist_paddr = VM_PVH_MODLIST_ADDR;
	}
	return 0;
}

int pvh_set_rsdp(struct guest_mem *mem, uint64_t rsdp, struct err **err)
{
	struct hvm_start_info *si = guest_mem_ptr(mem, VM_PVH_INFO_ADDR, sizeof(*si));

	if (!si)
		return err_make(err, ENOSPC, "guest memory too small for the PVH start info");
	si->rsdp_paddr = rsdp;
	return 0;
}

int vmlinux_load(int fd, const char *path, struct guest_mem *mem, struct pvh_image *ret,
		 struct err **err)
{
	Elf64_Phdr ph[PVH_MAX_PHDRS];
	uint64_t end = 0;
	Elf64_Ehdr e;
	unsigned n = 0;
	int r;

	if (pread_exact(fd, &e, sizeof(e), 0) < 0 || memcmp(e.e_ident, ELFMAG, SELFMAG) ||
	    e.e_ident[EI_CLASS] != ELFCLASS64 || e.e_ident[EI_DATA] != ELFDATA2LSB)
		return err_make(err, 0, "kernel `%s`: the unpacked payload is not a 64-bit ELF",
				path);
	r = read_phdrs(fd, path, e.e_ident, ph, &n, err);
	if (r >= 0)
		r = load_segments(fd, path, mem, ph, n, &end, err);
	if (r < 0)
		return r;
	/* vmlinux's entry is startup_64's physical address: it must lie in what was loaded. */
	if (end == 0 || e.e_entry < VM_HIMEM_ADDR || e.e_entry >= end)
		return err_make(err, 0, "kernel `%s`: unpacked ELF entry %#llx is not in its image",
				path, (unsigned long long)e.e_entry);
	*ret = (struct pvh_image){.entry = e.e_entry, .end = end};
	return 0;
}
