/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VM-wide state of the in-kernel irqchip: PIC master, PIC slave and IOAPIC
 * (KVM_GET_IRQCHIP), the i8254 PIT (KVM_GET_PIT2) and the kvmclock
 * (KVM_GET_CLOCK).  With --irqchip split, the userspace IOAPIC and PIT of
 * devices/ instead (the LAPICs are per vCPU either way).  Restored before
 * the vCPUs.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "cleanup.h"
#include "devices/ioapic.h"
#include "devices/pit.h"
#include "snapshot.h"

static const uint32_t chips[] = {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC};

static void split_save(struct vm *vm, struct snap_writer *w)
{
	struct ioapic_state io;
	struct pit_state pit;

	ioapic_get_state(vm->ioapic, &io);
	snap_put(w, SNAP_IOAPIC, 0, &io, sizeof(io));
	pit_get_state(vm->pit, &pit);
	snap_put(w, SNAP_UPIT, 0, &pit, sizeof(pit));
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

static int clock_save(struct vm *vm, struct snap_writer *w, struct err **err)
{
	struct kvm_clock_data clock = {0};

	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return err_make(err, errno, "KVM_GET_CLOCK");
	snap_put(w, SNAP_CLOCK, 0, &clock, sizeof(clock));
	return 0;
}

static int clock_restore(struct vm *vm, const struct snap_reader *r, struct err **err)
{
	struct kvm_clock_data clock;
	int ret = snap_get(r, SNAP_CLOCK, 0, &clock, sizeof(clock), "clock", err);

	if (ret < 0)
		return ret;
	/* Only the clock value: the realtime/host-TSC pairing is this host's. */
	clock.flags = 0;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return err_make(err, errno, "KVM_SET_CLOCK");
	return 0;
}

int vm_state_save(struct vm *vm, struct snap_writer *w, struct err **err)
{
	struct kvm_pit_state2 pit;

	if (vm->ioapic) {
		split_save(vm, w);
		return clock_save(vm, w, err);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(chips); i++) {
		struct kvm_irqchip chip = {.chip_id = chips[i]};

		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			return err_make(err, errno, "KVM_GET_IRQCHIP %u", chips[i]);
		snap_put(w, SNAP_IRQCHIP, chips[i], &chip, sizeof(chip));
	}
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0)
		return err_make(err, errno, "KVM_GET_PIT2");
	snap_put(w, SNAP_PIT, 0, &pit, sizeof(pit));
	return clock_save(vm, w, err);
}

int vm_state_restore(struct vm *vm, const struct snap_reader *r, struct err **err)
{
	struct kvm_pit_state2 pit;
	int ret;

	if (vm->ioapic) {
		ret = split_restore(vm, r, err);
		return ret < 0 ? ret : clock_restore(vm, r, err);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(chips); i++) {
		struct kvm_irqchip chip;

		ret = snap_get(r, SNAP_IRQCHIP, chips[i], &chip, sizeof(chip), "irqchip", err);
		if (ret < 0)
			return ret;
		if (chip.chip_id != chips[i])
			return err_make(err, EINVAL, "irqchip %u: chip_id %u", chips[i],
					chip.chip_id);
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return err_make(err, errno, "KVM_SET_IRQCHIP %u", chips[i]);
	}
	ret = snap_get(r, SNAP_PIT, 0, &pit, sizeof(pit), "PIT", err);
	if (ret < 0)
		return ret;
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0)
		return err_make(err, errno, "KVM_SET_PIT2");
	return clock_restore(vm, r, err);
}
