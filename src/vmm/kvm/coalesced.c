/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * KVM's coalesced MMIO/PIO ring (KVM API, 4.116 KVM_REGISTER_COALESCED_MMIO).
 *
 * A write to a registered zone does not exit to user space: KVM appends it
 * (address, length, data) to a ring page shared by the VM's vCPUs, mapped
 * at page KVM_CAP_COALESCED_MMIO of every vCPU's kvm_run mapping, and goes
 * on with the guest.  When the ring is full, the write exits as usual.
 *
 * Only writes whose effect nobody sees until the guest's next exit belong in
 * a zone, such as a latch that only an access to the same device can read
 * (the PCI CONFIG_ADDRESS register: virtio/setup.c): the ring is replayed in
 * order before every exit is handled (kvm_coalesced_drain() at the top of
 * handle_exit()), so that access sees the device as if each write had
 * exited.  A write with an effect outside the guest (a console byte) or an
 * interrupt does not: a guest may idle without an exit for as long as it
 * likes (devices/serial.c says why the THR is not coalesced).  The ring is
 * also replayed when a vCPU parks for a snapshot and after the last vCPU
 * stopped.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "../vm-internal.h"

#define RING_PAGE 4096u /* x86's PAGE_SIZE, which the uapi's KVM_COALESCED_MMIO_MAX uses */
#define RING_MAX \
	((RING_PAGE - sizeof(struct kvm_coalesced_mmio_ring)) / sizeof(struct kvm_coalesced_mmio))

void kvm_coalesced_probe(struct vm *vm)
{
	int page = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);

	vm->caps.coalesced_page = 0;
	vm->caps.coalesced_pio = false;
	/* The ring must lie inside the vCPU mapping KVM_GET_VCPU_MMAP_SIZE gave. */
	if (page <= 0 || (long)(page + 1) * RING_PAGE > (long)vm->caps.run_size)
		return;
	vm->caps.coalesced_page = page;
	vm->caps.coalesced_pio = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) > 0;
}

void kvm_coalesced_attach(struct vm *vm, void *vcpu_run)
{
	if (vm->caps.coalesced_page && !vm->coalesced_ring)
		vm->coalesced_ring =
		    (struct kvm_coalesced_mmio_ring *)((char *)vcpu_run +
						       (size_t)vm->caps.coalesced_page * RING_PAGE);
}

int vm_coalesced_zone(struct vm *vm, uint64_t addr, uint32_t size, bool pio, struct err **err)
{
	struct kvm_coalesced_mmio_zone z = {.addr = addr, .size = size};

	if (!vm->caps.coalesced_page || (pio && !vm->caps.coalesced_pio))
		return err_make(err, ENOTSUP, "KVM has no coalesced %s", pio ? "PIO" : "MMIO");
	z.pio = pio;
	if (ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &z) < 0)
		return err_make(err, errno, "KVM_REGISTER_COALESCED_MMIO %s %#llx+%u",
				pio ? "port" : "address", (unsigned long long)addr, size);
	return 0;
}

/*
 * Replay what the ring holds, oldest first, on the buses as the writes they
 * were.  Any vCPU thread may call it; one replays at a time, so the devices
 * see the writes in the guest's order.  The kernel fills the ring; we only
 * move `first`, after the entry is consumed.
 */
void kvm_coalesced_drain(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *ring = vm->coalesced_ring;
	uint32_t first, last;

	if (!ring)
		return;
	first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
	last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
	if (first == last)
		return;
	pthread_mutex_lock(&vm->coalesced_lock);
	for (;;) {
		struct kvm_coalesced_mmio e;

		first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
		last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
		if (first == last || first >= RING_MAX || last >= RING_MAX)
			break;
		e = ring->coalesced_mmio[first];
		if (e.len > sizeof(e.data))
			e.len = sizeof(e.data);
		bus_access(e.pio ? &vm->pio : &vm->mmio, e.phys_addr, e.data, e.len, true);
		__atomic_store_n(&ring->first, (first + 1) % RING_MAX, __ATOMIC_RELEASE);
		vm->coalesced_writes++;
	}
	pthread_mutex_unlock(&vm->coalesced_lock);
}
