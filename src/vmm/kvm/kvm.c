/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Probe /dev/kvm: API version and the capabilities the VMM relies on.  Only
 * KVM itself is asked; cpuinfo vmx/svm flags are not required (PVM has none).
 * And the VM's kvmclock, which snapshots carry (KVM_GET_CLOCK / KVM_SET_CLOCK).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>

#include "../snap-format.h"
#include "../vm-internal.h"

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

int kvm_open(struct vm *vm, struct err **err)
{
	int r;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return err_make(err, errno, "open `/dev/kvm`%s",
				errno == ENOENT ? " (no KVM on this host)" : "");
	vm->caps.api_version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (vm->caps.api_version != KVM_API_VERSION)
		return err_make(err, ENOTSUP, "/dev/kvm: API version %d, expected %d",
				vm->caps.api_version, KVM_API_VERSION);
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0)
			return err_make(err, ENOTSUP, "/dev/kvm lacks %s", required_caps[i].name);

	r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (r <= 0)
		r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	vm->caps.max_vcpus = r > 0 ? r : 4; /* the API doc's default */
	vm->caps.irqfd = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0;
	vm->caps.ioeventfd = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;
	vm->caps.run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->caps.run_size < (int)sizeof(struct kvm_run))
		return err_make(err, errno ? errno : EINVAL, "KVM_GET_VCPU_MMAP_SIZE");
	kvm_coalesced_probe(vm);
	return 0;
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

static const struct vm_state_ops clock_state_ops = {
    .name = "clock",
    .before_vcpus = true,
    .save = clock_save,
    .restore = clock_restore,
};

int kvm_clock_register(struct vm *vm, struct err **err)
{
	return vm_state_register(vm, &clock_state_ops, err);
}

void kvm_clock_unregister(struct vm *vm)
{
	vm_state_unregister(vm, &clock_state_ops);
}
