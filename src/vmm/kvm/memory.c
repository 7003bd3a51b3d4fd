/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest RAM: anonymous private mappings with MAP_NORESERVE, so pages the
 * guest never touches cost nothing.  RAM below the 32-bit MMIO hole is one
 * slot at 0; the rest goes above 4 GiB.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/mman.h>
#include <sys/mman.h>

#include "../vm-internal.h"

static int add_region(struct vm *vm, uint64_t gpa, uint64_t size, struct err **err)
{
	struct guest_mem_region *r = &vm->mem.regions[vm->mem.nr];
	struct kvm_userspace_memory_region kr;
	void *p;

	if (vm->snap_mem_fd >= 0) {
		/* Restore: private and lazy, so restored VMs share the file's pages. */
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE,
			 vm->snap_mem_fd, vm->snap_mem_off);
		vm->snap_mem_off += size;
		if (p == MAP_FAILED)
			return err_make(err, errno, "map %llu MiB of the snapshot's memory",
					(unsigned long long)(size >> 20));
		(void)madvise(p, size, MADV_NOHUGEPAGE);
	} else if (vm->cfg->hugepages) {
		/*
		 * No MAP_NORESERVE here: an unreserved hugetlb page that cannot be
		 * found at fault time is a SIGBUS, so reserve the whole size now.
		 */
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
		if (p == MAP_FAILED)
			return err_make(err, errno,
					"--hugepages: cannot reserve %llu MiB of 2 MiB huge pages "
					"(see /proc/sys/vm/nr_hugepages)",
					(unsigned long long)(size >> 20));
	} else {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return err_make(err, errno, "map %llu MiB of guest memory",
					(unsigned long long)(size >> 20));
		/* Small pages: a micro-VM touches little; a huge page is 2 MiB of RSS at once. */
		(void)madvise(p, size, MADV_NOHUGEPAGE);
	}
	kr = (struct kvm_userspace_memory_region){
	    .slot = vm->mem.nr,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)p,
	};
	*r = (struct guest_mem_region){.gpa = gpa, .size = size, .hva = p};
	vm->mem.nr++;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0)
		return err_make(err, errno, "KVM_SET_USER_MEMORY_REGION");
	return 0;
}

int vm_memory_setup(struct vm *vm, struct err **err)
{
	uint64_t size = vm->cfg->memory, low = size < VM_MMIO_HOLE ? size : VM_MMIO_HOLE;
	int r;

	vm->ram_size = size;
	r = add_region(vm, 0, low, err);
	if (r < 0 || size == low)
		return r;
	return add_region(vm, VM_HIGH_RAM, size - low, err);
}

void vm_memory_teardown(struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem.nr; i++)
		munmap(vm->mem.regions[i].hva, vm->mem.regions[i].size);
	vm->mem.nr = 0;
	guest_mem_track_free(&vm->mem); /* the device threads are gone (torn down before) */
}

/* Live migration: turn KVM's dirty page log on or off for every slot (only the flags change). */
int vm_memory_dirty_log(struct vm *vm, bool on, struct err **err)
{
	for (unsigned i = 0; i < vm->mem.nr; i++) {
		const struct guest_mem_region *rg = &vm->mem.regions[i];
		struct kvm_userspace_memory_region kr = {
		    .slot = i,
		    .flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		    .guest_phys_addr = rg->gpa,
		    .memory_size = rg->size,
		    .userspace_addr = (uint64_t)(uintptr_t)rg->hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0)
			return err_make(err, errno,
					"KVM_SET_USER_MEMORY_REGION slot %u: %s dirty logging", i,
					on ? "enable" : "disable");
	}
	return 0;
}
