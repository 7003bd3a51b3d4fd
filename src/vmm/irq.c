/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Interrupt controllers.  By default KVM's in-kernel PIC + IOAPIC + PIT
 * (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2).  With --irqchip split, only the
 * LAPICs are in the kernel (KVM_CAP_SPLIT_IRQCHIP); the IOAPIC is
 * devices/ioapic.c and its pins become MSIs, both for KVM_IRQ_LINE-style
 * calls (KVM_SIGNAL_MSI) and for irqfds (GSI routes rebuilt whenever the
 * guest reprograms a redirection entry, which also tells KVM which vectors
 * are level-triggered and need KVM_EXIT_IOAPIC_EOI), and the PIT is
 * devices/pit.c on GSI 0.  There is no PIC in that mode.  Either way the
 * irqchip is a stateful component (vm_state_ops, before the vCPUs): the
 * in-kernel PICs, IOAPIC and PIT, or the userspace IOAPIC and PIT.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "cleanup.h"
#include "devices/ioapic.h"
#include "devices/pit.h"
#include "log.h"
#include "snap-format.h"
#include "vm-internal.h"

/* Both irqchip modes: the in-kernel LAPICs take the message directly. */
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data, struct err **err)
{
	struct kvm_msi msi = {.address_lo = (uint32_t)addr, .address_hi = addr >> 32, .data = data};

	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return err_make(err, errno, "KVM_SIGNAL_MSI %#llx/%#x", (unsigned long long)addr,
				data);
	return 0;
}

static void split_msi(void *opaque, uint64_t addr, uint32_t data)
{
	_cleanup_err_ struct err *err = NULL;

	if (vm_signal_msi(opaque, addr, data, &err) < 0)
		log_warn_ratelimited("%s", err->msg);
}

/*
 * Device MSI routes (MSI-X vectors as irqfd GSIs, vm->msi) sit above the
 * IOAPIC pins.  KVM_SET_GSI_ROUTING replaces the whole table, so every
 * rebuild writes the irqchip part (KVM's default pin routes, or in split mode
 * one MSI route per unmasked IOAPIC pin) and then these, under vm->route_lock.
 */
#define MSI_GSI_BASE 32

struct routing {
	struct kvm_irq_routing hdr;
	struct kvm_irq_routing_entry e[IOAPIC_PINS + 16 + VM_MSI_ROUTES];
};

static void add_msi(struct routing *rt, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry *e = &rt->e[rt->hdr.nr++];

	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = addr >> 32;
	e->u.msi.data = data;
}

static void add_irqchip(struct routing *rt, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &rt->e[rt->hdr.nr++];

	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* Route lock held. */
static int rebuild_routes(struct vm *vm)
{
	struct routing *rt = calloc(1, sizeof(*rt));
	uint64_t addr;
	uint32_t data;
	int r;

	if (!rt)
		return -ENOMEM;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		if (!vm->ioapic) { /* KVM's default: PIC pins 0-15 and IOAPIC pins, GSI = pin */
			if (pin < 16)
				add_irqchip(rt, pin,
					    pin < 8 ? KVM_IRQCHIP_PIC_MASTER
						    : KVM_IRQCHIP_PIC_SLAVE,
					    pin % 8);
			add_irqchip(rt, pin, KVM_IRQCHIP_IOAPIC, pin);
		} else if (ioapic_msi_route(vm->ioapic, pin, &addr, &data)) {
			add_msi(rt, pin, addr, data);
		}
	}
	for (unsigned i = 0; i < vm->n_msi; i++)
		if (vm->msi[i].valid)
			add_msi(rt, MSI_GSI_BASE + i, vm->msi[i].addr, vm->msi[i].data);
	r = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, rt) < 0 ? -errno : 0;
	free(rt);
	return r;
}

int vm_msi_route_alloc(struct vm *vm, uint32_t *ret_gsi, struct err **err)
{
	int r = 0;

	pthread_mutex_lock(&vm->route_lock);
	if (vm->n_msi == VM_MSI_ROUTES)
		r = err_make(err, ENOSPC, "more than %d MSI routes", VM_MSI_ROUTES);
	if (r >= 0) {
		vm->msi[vm->n_msi] = (struct vm_msi_route){0};
		*ret_gsi = MSI_GSI_BASE + vm->n_msi++;
	}
	pthread_mutex_unlock(&vm->route_lock);
	return r;
}

int vm_msi_route_set(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data, struct err **err)
{
	unsigned i = gsi - MSI_GSI_BASE;
	int r = 0;

	pthread_mutex_lock(&vm->route_lock);
	if (gsi < MSI_GSI_BASE || i >= vm->n_msi) {
		pthread_mutex_unlock(&vm->route_lock);
		return err_make(err, EINVAL, "GSI %u is not an MSI route", gsi);
	}
	vm->msi[i] = (struct vm_msi_route){true, addr, data};
	r = rebuild_routes(vm);
	pthread_mutex_unlock(&vm->route_lock);
	if (r < 0)
		return err_make(err, -r, "KVM_SET_GSI_ROUTING");
	return 0;
}

static void split_routes_changed(void *opaque)
{
	struct vm *vm = opaque;

	pthread_mutex_lock(&vm->route_lock);
	if (rebuild_routes(vm) < 0)
		log_warn_ratelimited("KVM_SET_GSI_ROUTING: %m");
	pthread_mutex_unlock(&vm->route_lock);
}

static const uint32_t kernel_chips[] = {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
					KVM_IRQCHIP_IOAPIC};

static int kernel_save(struct vm *vm, struct snap_writer *w, struct err **err)
{
	struct kvm_pit_state2 pit;

	for (unsigned i = 0; i < ARRAY_SIZE(kernel_chips); i++) {
		struct kvm_irqchip chip = {.chip_id = kernel_chips[i]};

		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			return err_make(err, errno, "KVM_GET_IRQCHIP %u", kernel_chips[i]);
		snap_put(w, SNAP_IRQCHIP, kernel_chips[i], &chip, sizeof(chip));
	}
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0)
		return err_make(err, errno, "KVM_GET_PIT2");
	snap_put(w, SNAP_PIT, 0, &pit, sizeof(pit));
	return 0;
}

static int kernel_restore(struct vm *vm, const struct snap_reader *r, struct err **err)
{
	struct kvm_pit_state2 pit;
	int ret;

	for (unsigned i = 0; i < ARRAY_SIZE(kernel_chips); i++) {
		struct kvm_irqchip chip;

		ret =
		    snap_get(r, SNAP_IRQCHIP, kernel_chips[i], &chip, sizeof(chip), "irqchip", err);
		if (ret < 0)
			return ret;
		if (chip.chip_id != kernel_chips[i])
			return err_make(err, EINVAL, "irqchip %u: chip_id %u", kernel_chips[i],
					chip.chip_id);
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return err_make(err, errno, "KVM_SET_IRQCHIP %u", kernel_chips[i]);
	}
	ret = snap_get(r, SNAP_PIT, 0, &pit, sizeof(pit), "PIT", err);
	if (ret < 0)
		return ret;
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return err_make(err, errno, "KVM_SET_PIT2");
	return 0;
}

static int split_save(struct vm *vm, struct snap_writer *w, struct err **err)
{
	struct ioapic_state io;
	struct pit_state pit;

	(void)err;
	ioapic_get_state(vm->ioapic, &io);
	snap_put(w, SNAP_IOAPIC, 0, &io, sizeof(io));
	pit_get_state(vm->pit, &pit);
	snap_put(w, SNAP_UPIT, 0, &pit, sizeof(pit));
	return 0;
}

static int split_restore(struct vm *vm, const struct snap_reader *r, struct err **err)
{
	struct ioapic_state io;
	struct pit_state pit;
	int ret = snap_get(r, SNAP_IOAPIC, 0, &io, sizeof(io), "IOAPIC", err);

	if (ret >= 0 && ioapic_set_state(vm->ioapic, &io) < 0)
		ret = err_make(err, EINVAL, "IOAPIC: register state out of range");
	if (ret >= 0)
		ret = snap_get(r, SNAP_UPIT, 0, &pit, sizeof(pit), "PIT", err);
	if (ret >= 0 && pit_set_state(vm->pit, &pit) < 0)
		ret = err_make(err, EINVAL, "PIT: channel state out of range");
	return ret;
}

static const struct vm_state_ops kernel_state_ops = {
    .name = "irqchip",
    .before_vcpus = true,
    .save = kernel_save,
    .restore = kernel_restore,
};

static const struct vm_state_ops split_state_ops = {
    .name = "irqchip",
    .before_vcpus = true,
    .save = split_save,
    .restore = split_restore,
};

static int split_setup(struct vm *vm, struct err **err)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {IOAPIC_PINS}};
	struct ioapic_cb cb = {split_msi, split_routes_changed, vm};
	int r;

	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return err_make(err, errno, "--irqchip split: KVM_CAP_SPLIT_IRQCHIP");
	vm->ioapic = ioapic_new(&cb);
	if (!vm->ioapic)
		return err_make(err, ENOMEM, "allocate the IOAPIC");
	r = bus_register(&vm->mmio, VM_IOAPIC_ADDR, IOAPIC_MMIO_SIZE, &ioapic_mmio_ops, vm->ioapic,
			 err);
	if (r >= 0)
		r = pit_new(vm, &vm->pit, err);
	if (r >= 0)
		r = bus_register(&vm->pio, 0x40, 4, &pit_ops, vm->pit, err);
	if (r >= 0)
		r = bus_register(&vm->pio, 0x61, 1, &pit_61_ops, vm->pit, err);
	return r < 0 ? r : vm_state_register(vm, &split_state_ops, err);
}

int vm_irqchip_setup(struct vm *vm, struct err **err)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};

	if (vm->cfg->split_irqchip)
		return split_setup(vm, err);
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_make(err, errno, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return err_make(err, errno, "KVM_CREATE_PIT2");
	return vm_state_register(vm, &kernel_state_ops, err);
}

void vm_irqchip_teardown(struct vm *vm)
{
	vm_state_unregister(vm, &kernel_state_ops);
	vm_state_unregister(vm, &split_state_ops);
	vm->n_msi = 0;
	pit_free(vm->pit);
	vm->pit = NULL;
	ioapic_free(vm->ioapic);
	vm->ioapic = NULL;
}

void vm_irqchip_eoi(struct vm *vm, uint8_t vector)
{
	if (vm->ioapic)
		ioapic_eoi(vm->ioapic, vector);
}

int vm_set_irq_line(struct vm *vm, uint32_t gsi, bool level, struct err **err)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = level};

	if (vm->ioapic) {
		if (gsi >= IOAPIC_PINS)
			return err_make(err, EINVAL, "GSI %u is not an IOAPIC pin", gsi);
		ioapic_set_irq(vm->ioapic, gsi, level);
		return 0;
	}
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return err_make(err, errno, "KVM_IRQ_LINE gsi %u", gsi);
	return 0;
}

int vm_irqfd(struct vm *vm, int efd, uint32_t gsi, struct err **err)
{
	struct kvm_irqfd irqfd = {.fd = efd, .gsi = gsi};

	if (!vm->caps.irqfd)
		return err_make(err, EOPNOTSUPP, "KVM_IRQFD is not supported by /dev/kvm");
	/* Split mode: the GSI's MSI route appears once the guest unmasks the pin. */
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return err_make(err, errno, "KVM_IRQFD gsi %u", gsi);
	return 0;
}
