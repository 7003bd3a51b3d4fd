/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Boot step of the bring-up: pick the loader by the kernel's format (PVH ELF
 * or bzImage), place the initrd and the command line, write the boot GDT,
 * the MP table, the ACPI tables and the loader's own structures, and set
 * vm->boot.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vm-internal.h"
#include "boot.h"
#include "cleanup.h"

#define BOOT_MAX_KERNEL (512ULL << 20)
#define BOOT_MAX_INITRD (1ULL << 30)

static int open_image(const char *what, const char *path, uint64_t max, uint64_t *ret_size,
		      struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return err_make(err, errno, "%s `%s`", what, path);
	if (fstat(fd, &st) < 0)
		return err_make(err, errno, "%s `%s`: stat", what, path);
	if (!S_ISREG(st.st_mode))
		return err_make(err, EINVAL, "%s `%s`: not a regular file", what, path);
	if (st.st_size == 0 || (uint64_t)st.st_size > max)
		return err_make(err, EFBIG, "%s `%s`: size %lld is not within 1 byte..%llu MiB",
				what, path, (long long)st.st_size, (unsigned long long)(max >> 20));
	*ret_size = st.st_size;
	return TAKE_FD(fd);
}

/* Flat boot GDT: null, null, code (0x10), data (0x18), TSS (0x20). */
static int write_gdt(struct vm *vm, bool code64, struct err **err)
{
	uint64_t *gdt = guest_mem_ptr(&vm->mem, VM_GDT_ADDR, 5 * 8);

	if (!gdt)
		return err_make(err, ENOSPC, "guest memory too small for the GDT");
	gdt[0] = gdt[1] = 0;
	gdt[2] = code64 ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL;
	gdt[3] = 0x00cf93000000ffffULL;
	gdt[4] = 0x00008b0000000067ULL;
	return 0;
}

static int load_initrd(struct vm *vm, uint64_t kernel_end, uint64_t addr_max, uint64_t *ret_gpa,
		       uint64_t *ret_size, struct err **err)
{
	const char *path = vm->cfg->initrd;
	_cleanup_close_ int fd = -1;
	uint64_t size = 0, gpa;
	int r;

	*ret_gpa = *ret_size = 0;
	if (!path)
		return 0;
	fd = open_image("initrd", path, BOOT_MAX_INITRD, &size, err);
	if (fd < 0)
		return fd;
	if (vm->cfg->initrd_unpack != VM_UNPACK_GUEST) {
		uint64_t usize = 0;
		int ufd = initrd_unpack(fd, path, size, vm->cfg->initrd_unpack == VM_UNPACK_VMM,
					&usize, err);

		if (ufd < 0 && (ufd != -EOPNOTSUPP || *err))
			return ufd;
		if (ufd >= 0) {
			close(fd);
			fd = ufd;
			size = usize;
		}
	}
	r = boot_place_initrd(size, kernel_end, boot_low_ram_end(&vm->mem), addr_max, &gpa, err);
	if (r >= 0)
		r = boot_read_into(fd, path, &vm->mem, gpa, size, 0, err);
	if (r < 0)
		return err_wrap(err, "initrd `%s`", path);
	*ret_gpa = gpa;
	*ret_size = size;
	return 0;
}

static int write_cmdline(struct vm *vm, struct err **err)
{
	char *dst = guest_mem_ptr(&vm->mem, VM_CMDLINE_ADDR, vm->cmdline_len + 1);

	if (!dst)
		return err_make(err, ENOSPC, "guest memory too small for the command line");
	memcpy(dst, vm->cmdline, vm->cmdline_len + 1);
	return 0;
}

static int boot_pvh(struct vm *vm, int fd, struct err **err)
{
	struct pvh_image img;
	uint64_t igpa, isize;
	int r;

	r = pvh_load(fd, vm->cfg->kernel, &vm->mem, &img, err);
	if (r < 0)
		return r;
	r = load_initrd(vm, img.end, 0xffffffffULL, &igpa, &isize, err);
	if (r >= 0)
		r = pvh_write_start_info(&vm->mem, VM_CMDLINE_ADDR, igpa, isize, err);
	if (r >= 0 && vm->rsdp)
		r = pvh_set_rsdp(&vm->mem, vm->rsdp, err);
	if (r >= 0)
		r = write_gdt(vm, false, err);
	vm->boot = (struct boot_entry){BOOT_PVH32, img.entry, VM_PVH_INFO_ADDR};
	return r;
}

/*
 * The bzImage's kernel unpacked by the VMM (unpack.c), loaded at its link
 * address; *ret_entry: its 64-bit entry, *ret_end: where the initrd may start.
 * -EOPNOTSUPP without an error: boot the bzImage as it is.
 */
static int load_unpacked(struct vm *vm, int fd, uint64_t size, const struct bzimage_info *bz,
			 uint64_t *ret_entry, uint64_t *ret_end, struct err **err)
{
	const char *path = vm->cfg->kernel;
	_cleanup_close_ int efd = -1;
	struct pvh_image img;
	int r;

	if (vm->cfg->kernel_unpack == VM_UNPACK_GUEST)
		return -EOPNOTSUPP;
	efd = bzimage_unpack(fd, path, size, bz, vm->cfg->kernel_unpack == VM_UNPACK_VMM, err);
	if (efd < 0)
		return efd;
	r = vmlinux_load(efd, path, &vm->mem, &img, err);
	if (r < 0)
		return r;
	*ret_entry = img.entry;
	*ret_end = img.end > bzimage_kernel_end(bz) ? img.end : bzimage_kernel_end(bz);
	return 0;
}

static int boot_bzimage(struct vm *vm, int fd, const uint8_t *hdr, size_t len, uint64_t size,
			struct err **err)
{
	const char *path = vm->cfg->kernel;
	uint64_t igpa, isize, entry = 0, end = 0;
	struct bzimage_info bz;
	int r;

	r = bzimage_parse(hdr, len, size, &bz, err);
	if (r == -ENOEXEC && !*err)
		return err_make(err, 0, "kernel `%s`: neither a PVH ELF nor a bzImage", path);
	if (r < 0)
		return err_wrap(err, "kernel `%s`", path);
	r = load_unpacked(vm, fd, size, &bz, &entry, &end, err);
	if (r == -EOPNOTSUPP && !*err) {
		/* The guest decompresses itself: the bzImage's own 64-bit entry. */
		entry = BZIMAGE_LOAD_ADDR + 0x200;
		end = bzimage_kernel_end(&bz);
		r = bzimage_load(fd, path, &vm->mem, &bz, err);
	}
	if (r >= 0)
		r = load_initrd(vm, end, bz.initrd_addr_max, &igpa, &isize, err);
	if (r >= 0)
		r = bzimage_write_boot_params(&vm->mem, &bz, VM_CMDLINE_ADDR, vm->cmdline_len, igpa,
					      isize, err);
	if (r >= 0 && vm->rsdp)
		r = bzimage_set_rsdp(&vm->mem, vm->rsdp, err);
	if (r >= 0)
		r = write_gdt(vm, true, err);
	vm->boot = (struct boot_entry){BOOT_LINUX64, entry, VM_ZERO_PAGE_ADDR};
	return r;
}

/* ACPI tables unless --no-acpi; the PCI host bridge only with virtio-pci. */
static int write_acpi(struct vm *vm, struct err **err)
{
	struct acpi_config c = {
	    .nr_cpus = vm->nr_vcpus,
	    .pci = vm->cfg->virtio_pci,
	    .pic = !vm->cfg->split_irqchip,
	    .pci_mmio_base = VM_VIRTIO_MMIO_BASE,
	    .pci_mmio_end = VM_VIRTIO_MMIO_END - 1,
	};

	vm->rsdp = 0;
	return vm->cfg->no_acpi ? 0 : acpi_write(&vm->mem, &c, &vm->rsdp, err);
}

int boot_load(struct vm *vm, struct err **err)
{
	const char *path = vm->cfg->kernel;
	_cleanup_close_ int fd = -1;
	uint8_t hdr[1024];
	uint64_t size;
	ssize_t n;
	int r;

	fd = open_image("kernel", path, BOOT_MAX_KERNEL, &size, err);
	if (fd < 0)
		return fd;
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (n < 0)
		return err_make(err, errno, "read kernel `%s`", path);
	r = write_acpi(vm, err);
	if (r < 0)
		return r;
	if (n >= 4 && memcmp(hdr, "\177ELF", 4) == 0)
		r = boot_pvh(vm, fd, err);
	else
		r = boot_bzimage(vm, fd, hdr, n, size, err);
	if (r >= 0)
		r = write_cmdline(vm, err);
	if (r >= 0)
		r = mptable_write(vm, &vm->mem, vm->nr_vcpus, err);
	return r;
}
