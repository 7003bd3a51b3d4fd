/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The loaders without running anything: PVH on generated ELFs (and on the
 * guests' hello.elf when built), bzImage on synthetic headers and on the real
 * Debian cloud vmlinuz when it has been fetched (ISOLA_TEST_VMLINUZ or
 * /var/tmp/isola-kernel/boot/vmlinuz-*).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "guest-elf.h"
#include "tap.h"
#include "vm-internal.h"

#define RAM (16u << 20)

static struct guest_mem mem;

static int memfd_with(const void *buf, size_t len)
{
	int fd = memfd_create("guest", MFD_CLOEXEC);

	if (fd >= 0 && write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

static int load_elf(uint8_t *elf, size_t len, struct pvh_image *img, const char *want)
{
	struct err *err = NULL;
	int fd = memfd_with(elf, len), r;

	r = pvh_load(fd, "t.elf", &mem, img, &err);
	close(fd);
	if (err)
		printf("# %s\n", err->msg);
	if (want)
		r = r < 0 && err && strstr(err->msg, want);
	else
		r = r == 0;
	err_free(&err);
	return r;
}

static void test_pvh(void)
{
	static const uint8_t code[] = {0xf4, 0xeb, 0xfd};
	uint8_t elf[512] __attribute__((aligned(8)));
	size_t len = test_guest_elf(elf, code, sizeof(code), 8192);
	struct pvh_image img = {0};
	struct err *err = NULL;

	ok(load_elf(elf, len, &img, NULL), "PVH ELF loads");
	is_int(img.entry, TEST_GUEST_ENTRY, "entry from XEN_ELFNOTE_PHYS32_ENTRY");
	is_int(img.end, TEST_GUEST_ENTRY + sizeof(code) + 8192, "end includes bss");
	ok(!memcmp(mem.regions[0].hva + TEST_GUEST_ENTRY, code, sizeof(code)), "code in place");
	ok(pvh_write_start_info(&mem, VM_CMDLINE_ADDR, 0, 0, &err) == 0, "start info");
	uint32_t *si = (uint32_t *)(mem.regions[0].hva + VM_PVH_INFO_ADDR);
	ok(si[0] == 0x336ec578 && si[1] == 1 && si[3] == 0, "magic, version 1, no modules");

	uint8_t bad[512] __attribute__((aligned(8)));
	uint32_t huge = 0x7fffffff;
	memcpy(bad, elf, len);
	bad[len - 12] = 17; /* note type 18 -> 17 */
	ok(load_elf(bad, len, &img, "PVH entry note"), "no PVH note refused");
	memcpy(bad, elf, len);
	Elf32_Phdr *ph = (Elf32_Phdr *)(bad + sizeof(Elf32_Ehdr));
	ph->p_paddr = 0x1000;
	ok(load_elf(bad, len, &img, "below 1 MiB"), "segment below 1 MiB refused");
	ph->p_paddr = RAM - 1;
	ok(load_elf(bad, len, &img, "outside guest memory"), "segment past RAM refused");
	ph->p_paddr = 0xfffff000;
	ph->p_memsz = 0x2000;
	ok(load_elf(bad, len, &img, "outside guest memory"), "segment wrapping 4 GiB refused");
	memcpy(bad, elf, len);
	((Elf32_Ehdr *)bad)->e_phnum = 1000;
	ok(load_elf(bad, len, &img, "program header"), "too many program headers refused");
	memcpy(bad, elf, len);
	ph->p_filesz = 4096; /* past the end of the file */
	ok(load_elf(bad, len, &img, "truncated"), "truncated segment refused");
	ok(load_elf(bad, 30, &img, "truncated ELF header"), "truncated header refused");
	memcpy(bad, elf, len);
	memcpy(bad + len - 20 + 4, &huge, 4); /* descsz past the segment */
	ok(load_elf(bad, len, &img, "PVH entry note"), "oversized note descriptor refused");
	/*
	 * A 13-byte note segment: one note with no name and a 1-byte descriptor,
	 * whose padding takes the scan to offset 16, past the segment (found by
	 * fuzz-vmm-loaders; the ASan unit run caught the read past the buffer).
	 */
	memcpy(bad, elf, len);
	Elf32_Phdr *note = (Elf32_Phdr *)(bad + sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr));
	uint32_t sizes[2] = {0, 1};
	note->p_filesz = 13;
	memcpy(bad + len - 20, sizes, sizeof(sizes));
	ok(load_elf(bad, len, &img, "PVH entry note"), "note padding past the segment refused");
}

static void test_pvh_guest_file(void)
{
	const char *dir = getenv("ISOLA_GUEST_DIR");
	char path[4096];
	struct pvh_image img;
	struct err *err = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/hello.elf", dir ? dir : "guest");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		skip("guest/hello.elf not built");
		return;
	}
	memset(mem.regions[0].hva, 0, RAM);
	ok(pvh_load(fd, path, &mem, &img, &err) == 0 && img.entry >= 0x100000,
	   "guest/hello.elf loads, entry %#llx", (unsigned long long)img.entry);
	err_free(&err);
	close(fd);
}

static void synth_bzimage(uint8_t *b, uint16_t version, uint16_t xlf)
{
	memset(b, 0, 1024);
	b[0x1f1] = 4;
	b[0x1fe] = 0x55;
	b[0x1ff] = 0xaa;
	b[0x201] = 0x66; /* jump: header ends at 0x268 */
	memcpy(b + 0x202, "HdrS", 4);
	memcpy(b + 0x206, &version, 2);
	b[0x211] = 1;
	memcpy(b + 0x236, &xlf, 2);
	uint32_t init = 8 << 20, max = 0x7fffffff, cl = 2047;
	uint64_t pref = 1 << 24;
	memcpy(b + 0x260, &init, 4);
	memcpy(b + 0x22c, &max, 4);
	memcpy(b + 0x238, &cl, 4);
	memcpy(b + 0x258, &pref, 8);
}

static void test_bzimage_synthetic(void)
{
	struct bzimage_info bz;
	struct err *err = NULL;
	uint8_t b[1024];

	synth_bzimage(b, 0x20f, 1);
	ok(bzimage_parse(b, sizeof(b), 1 << 20, &bz, &err) == 0, "synthetic 2.15 bzImage");
	is_int(bz.kernel_offset, 5 * 512, "kernel after 4 setup sectors + boot sector");
	is_int(bzimage_kernel_end(&bz), (16 << 20) + (8 << 20), "kernel end = pref + init_size");
	synth_bzimage(b, 0x20b, 1);
	ok(bzimage_parse(b, sizeof(b), 1 << 20, &bz, &err) < 0 && strstr(err->msg, "2.12"),
	   "protocol 2.11 refused");
	err_free(&err);
	synth_bzimage(b, 0x20f, 0);
	ok(bzimage_parse(b, sizeof(b), 1 << 20, &bz, &err) < 0, "no 64-bit entry refused");
	err_free(&err);
	synth_bzimage(b, 0x20f, 1);
	ok(bzimage_parse(b, sizeof(b), 2000, &bz, &err) < 0, "setup past the end refused");
	err_free(&err);
	memcpy(b + 0x202, "HdrX", 4);
	ok(bzimage_parse(b, sizeof(b), 1 << 20, &bz, &err) == -ENOEXEC && !err, "not a bzImage");
}

/* The RSDP reaches the kernel: boot_params.acpi_rsdp_addr (0x70), start_info.rsdp_paddr (32). */
static void test_rsdp_handover(void)
{
	struct err *err = NULL;
	uint64_t v = 0;

	ok(bzimage_set_rsdp(&mem, 0xe0000, &err) == 0, "bzImage RSDP set");
	memcpy(&v, mem.regions[0].hva + VM_ZERO_PAGE_ADDR + 0x70, 8);
	is_int(v, 0xe0000, "boot_params.acpi_rsdp_addr");
	ok(pvh_write_start_info(&mem, VM_CMDLINE_ADDR, 0, 0, &err) == 0 &&
	       pvh_set_rsdp(&mem, 0xe0000, &err) == 0,
	   "PVH RSDP set");
	memcpy(&v, mem.regions[0].hva + VM_PVH_INFO_ADDR + 32, 8);
	is_int(v, 0xe0000, "hvm_start_info.rsdp_paddr");
	err_free(&err);
}

static const char *find_vmlinuz(char *buf, size_t len)
{
	const char *env = getenv("ISOLA_TEST_VMLINUZ");
	glob_t g;

	if (env)
		return env;
	if (glob("/var/tmp/isola-kernel/boot/vmlinuz-*", 0, NULL, &g) != 0)
		return NULL;
	snprintf(buf, len, "%s", g.gl_pathv[0]);
	globfree(&g);
	return buf;
}

/*
 * Debian's vmlinux (vm_extract_vmlinux in vm-helpers.bash unpacks it next to
 * the fetched vmlinuz) through the PVH loader: the entry from its
 * XEN_ELFNOTE_PHYS32_ENTRY note (an 8-byte descriptor), segments at their
 * physical addresses (one has virtual address 0: the per-CPU area), and
 * the start info with the command line, the initrd module and the memmap.
 */
static void test_pvh_vmlinux_real(void)
{
	const char *path = getenv("ISOLA_TEST_VMLINUX");
	const size_t ram = 256u << 20;
	struct guest_mem big = {.nr = 1};
	struct pvh_image img = {0};
	struct err *err = NULL;
	uint64_t initrd = 0;
	int fd;

	path = path ? path : "/var/tmp/isola-kernel/vmlinux";
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		skip("no vmlinux (tests/integration/vm-helpers.bash: vm_fetch_kernel)");
		return;
	}
	big.regions[0] =
	    (struct guest_mem_region){0, ram,
				      mmap(NULL, ram, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)};
	ok(pvh_load(fd, path, &big, &img, &err) == 0, "%s loads as PVH", path);
	if (err)
		printf("# %s\n", err->msg);
	ok(img.entry > 0x1000000 && img.entry < img.end, "entry %#llx from the note, in the image",
	   (unsigned long long)img.entry);
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint8_t text[64];
	ok(pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) &&
	       pread(fd, &ph, sizeof(ph), eh.e_phoff) == sizeof(ph) && ph.p_type == PT_LOAD &&
	       pread(fd, text, sizeof(text), ph.p_offset) == sizeof(text) &&
	       ph.p_paddr + sizeof(text) <= ram &&
	       !memcmp(big.regions[0].hva + ph.p_paddr, text, sizeof(text)),
	   "first segment at its physical address %#llx", (unsigned long long)ph.p_paddr);
	ok(boot_place_initrd(4 << 20, img.end, ram, 0xffffffffULL, &initrd, &err) == 0 &&
	       initrd >= img.end,
	   "initrd above the kernel");
	ok(pvh_write_start_info(&big, VM_CMDLINE_ADDR, initrd, 4 << 20, &err) == 0 &&
	       pvh_set_rsdp(&big, 0xe0000, &err) == 0,
	   "start info written");
	uint8_t *si = big.regions[0].hva + VM_PVH_INFO_ADDR;
	uint64_t modlist, cmdline, rsdp, memmap, paddr, size;
	uint32_t nmods, nmap;
	memcpy(&nmods, si + 12, 4);
	memcpy(&modlist, si + 16, 8);
	memcpy(&cmdline, si + 24, 8);
	memcpy(&rsdp, si + 32, 8);
	memcpy(&memmap, si + 40, 8);
	memcpy(&nmap, si + 48, 4);
	memcpy(&paddr, big.regions[0].hva + modlist, 8);
	memcpy(&size, big.regions[0].hva + modlist + 8, 8);
	ok(nmods == 1 && paddr == initrd && size == 4 << 20, "one module: the initrd");
	ok(cmdline == VM_CMDLINE_ADDR && rsdp == 0xe0000, "cmdline and rsdp_paddr");
	ok(memmap == VM_PVH_MEMMAP_ADDR && nmap == 3, "memmap: %u entries", nmap);
	err_free(&err);
	munmap(big.regions[0].hva, ram);
	close(fd);
}

static void test_bzimage_real(void)
{
	char pbuf[4096];
	const char *path = find_vmlinuz(pbuf, sizeof(pbuf));
	uint8_t hdr[1024];
	struct bzimage_info bz;
	struct err *err = NULL;
	struct stat st;
	uint64_t initrd = 0, end;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	if (fd < 0 || fstat(fd, &st) < 0 || pread(fd, hdr, sizeof(hdr), 0) != sizeof(hdr)) {
		skip("no vmlinuz fetched (tests/integration/vm-helpers.bash: vm_fetch_kernel)");
		if (fd >= 0)
			close(fd);
		return;
	}
	ok(bzimage_parse(hdr, sizeof(hdr), st.st_size, &bz, &err) == 0, "%s parses", path);
	ok(bz.version >= 0x20c, "boot protocol %#x >= 2.12", bz.version);
	ok(bz.kernel_offset + bz.kernel_size == (uint64_t)st.st_size, "kernel spans the file");
	end = bzimage_kernel_end(&bz);
	ok(end > (16 << 20) && end < (256 << 20), "kernel end %llu MiB",
	   (unsigned long long)end >> 20);
	ok(boot_place_initrd(4 << 20, end, 256 << 20, bz.initrd_addr_max, &initrd, &err) == 0 &&
	       initrd >= end && initrd + (4 << 20) <= 256 << 20,
	   "4 MiB initrd in a 256 MiB VM lands at %#llx", (unsigned long long)initrd);
	ok(bzimage_load(fd, path, &mem, &bz, &err) == -ENOSPC, "refused in a 16 MiB VM: %s",
	   err ? err->msg : "");
	err_free(&err);
	close(fd);
}

int main(void)
{
	uint8_t *ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	mem = (struct guest_mem){.regions = {{0, RAM, ram}}, .nr = 1};
	test_pvh();
	test_pvh_guest_file();
	test_bzimage_synthetic();
	test_rsdp_handover();
	test_pvh_vmlinux_real();
	test_bzimage_real();
	munmap(ram, RAM);
	return tap_done();
}
