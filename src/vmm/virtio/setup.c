/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bring-up of the configured virtio devices, each on its own virtio-mmio
 * window or, with --virtio-transport pci, as a function on PCI bus 0, and
 * their teardown in reverse order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "snap-format.h"
#include "log.h"
#include "pci/pci.h"
#include "virtio-internal.h"
#include "virtio.h"
#include "vm-config.h"
#include "vm.h"

#define MAX_DEVICES (VM_MAX_DISKS + VM_MAX_NETS + VM_MAX_FS + 3)

struct attached {
	struct virtio_dev *vdev;
	struct virtio_mmio *mmio;
	struct virtio_pci *pci;
};

/*
 * A VM's virtio devices and PCI bus, owned by its struct vm (vm_virtio()).
 * `lock` orders the control API's use of the balloon against its teardown.
 */
struct vm_virtio {
	struct attached dev[MAX_DEVICES];
	unsigned n;
	struct pci_bus pci_bus;
	bool has_pci;
	pthread_mutex_t lock;
	struct virtio_dev *balloon; /* under lock; at most one */
};

static int attach(struct vm *vm, struct vm_virtio *devices, struct virtio_dev *vdev,
		  struct err **err)
{
	struct attached *a = &devices->dev[devices->n];
	int r;

	if (devices->has_pci)
		r = virtio_pci_attach(vm, &devices->pci_bus, vdev, &a->pci, err);
	else
		r = virtio_mmio_attach(vm, vdev, &a->mmio, err);
	if (r >= 0)
		r = virtio_dev_start(vdev, err);
	if (r < 0) {
		virtio_dev_destroy(vdev);
		virtio_mmio_detach(a->mmio);
		virtio_pci_detach(a->pci);
		*a = (struct attached){0};
		return r;
	}
	a->vdev = vdev;
	devices->n++;
	return 0;
}

/* The VM's device set, created on first use; NULL only when out of memory. */
static struct vm_virtio *devices_of(struct vm *vm)
{
	struct vm_virtio *v = vm_virtio(vm);

	if (v)
		return v;
	v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	pthread_mutex_init(&v->lock, NULL);
	vm_set_virtio(vm, v);
	return v;
}

/* What snapshots and migrations call (vm_state_ops), all defined below. */
static const struct vm_state_ops virtio_state_ops = {
    .name = "virtio",
    .save = vmm_virtio_save,
    .restore = vmm_virtio_restore,
    .pause = vmm_virtio_pause,
    .kick = vmm_virtio_notify_all,
    .lock = vmm_virtio_lock,
    .can_save = vmm_virtio_can_save,
};

/*
 * A guest's PCI config access through the ports is two exits: the
 * CONFIG_ADDRESS write, then the data port's read or write.  A write to
 * 0xcf8-0xcfb only latches an address (or is ignored), and the only way to
 * see the latch is an access to 0xcf8-0xcff, which exits and so replays the
 * coalesced writes first: they may wait in KVM's ring.  That halves a PCI
 * scan's exits (a Debian kernel makes ~16k config reads at boot).
 */
static void coalesce_conf1(struct vm *vm)
{
	_cleanup_err_ struct err *e = NULL;

	if (vm_coalesced_zone(vm, PCI_CONF1_ADDRESS, 4, true, &e) < 0)
		log_debug("pci: %s; every CONFIG_ADDRESS write exits", e->msg);
}

int vmm_virtio_setup(struct vm *vm, const struct vm_config *cfg, struct err **err)
{
	const struct guest_mem *mem = vm_guest_mem(vm);
	const struct vmm_launch *launch = vm_get_launch(vm);
	bool defer_locks = launch && launch->defer_disk_locks;
	struct vm_virtio *devices;
	struct virtio_dev *vdev;
	int r = 0;

	if (cfg->n_disks > VM_MAX_DISKS || cfg->n_nets > VM_MAX_NETS || cfg->n_fs > VM_MAX_FS)
		return err_make(err, E2BIG, "at most %d disks, %d nets and %d shares", VM_MAX_DISKS,
				VM_MAX_NETS, VM_MAX_FS);
	devices = devices_of(vm);
	if (!devices)
		return err_make(err, ENOMEM, "virtio devices");
	if (devices->n)
		return err_make(err, EBUSY, "virtio: the VM has its devices already");
	if (cfg->virtio_pci && !devices->has_pci) {
		r = pci_bus_init(&devices->pci_bus, vm_pio_bus(vm), err);
		if (r < 0) {
			vmm_virtio_teardown(vm);
			return err_wrap(err, "--virtio-transport pci");
		}
		devices->has_pci = true;
		coalesce_conf1(vm);
	}

	for (unsigned i = 0; r >= 0 && i < cfg->n_disks; i++) {
		r = virtio_blk_create(mem, &cfg->disks[i], defer_locks, &vdev, err);
		if (r >= 0)
			r = attach(vm, devices, vdev, err);
	}
	for (unsigned i = 0; r >= 0 && i < cfg->n_nets; i++) {
		r = virtio_net_create(mem, &cfg->nets[i], &vdev, err);
		if (r >= 0)
			r = attach(vm, devices, vdev, err);
	}
	for (unsigned i = 0; r >= 0 && i < cfg->n_fs; i++) {
		r = virtio_fs_create(mem, &cfg->fs[i], &vdev, err);
		if (r >= 0)
			r = attach(vm, devices, vdev, err);
	}
	if (r >= 0 && cfg->rng) {
		r = virtio_rng_create(mem, &vdev, err);
		if (r >= 0)
			r = attach(vm, devices, vdev, err);
	}
	if (r >= 0 && cfg->has_vsock) {
		r = virtio_vsock_create(mem, cfg->vsock_cid, cfg->vsock_uds, &vdev, err);
		if (r >= 0)
			r = attach(vm, devices, vdev, err);
	}
	if (r >= 0 && cfg->balloon) {
		r = virtio_balloon_create(mem, cfg, &vdev, err);
		if (r >= 0)
			r = attach(vm, devices, vdev, err);
		if (r >= 0) {
			pthread_mutex_lock(&devices->lock);
			devices->balloon = vdev;
			pthread_mutex_unlock(&devices->lock);
		}
	}
	if (r >= 0)
		r = vm_state_register(vm, &virtio_state_ops, err);
	if (r < 0) {
		vmm_virtio_teardown(vm);
		return r;
	}
	log_debug("virtio: %u device(s) attached", devices->n);
	return 0;
}

/*
 * Runs when the VM is going away (vCPUs stopped): the bus has no way to drop
 * a range, so the MMIO windows stay registered but are never reached again.
 */
unsigned vmm_virtio_stats(struct vm *vm, struct vmm_virtio_stat *out, unsigned max)
{
	const struct vm_virtio *devices = vm_virtio(vm);
	unsigned n = devices ? devices->n : 0;

	for (unsigned i = 0; i < n && i < max; i++) {
		const struct virtio_dev *d = devices->dev[i].vdev;

		out[i] = (struct vmm_virtio_stat){.name = d->ops->name};
		for (unsigned q = 0; q < d->ops->n_queues && q < VIRTIO_MAX_QUEUES; q++) {
			out[i].completed +=
			    __atomic_load_n(&d->vq[q].stat_completed, __ATOMIC_RELAXED);
			out[i].bytes += __atomic_load_n(&d->vq[q].stat_bytes, __ATOMIC_RELAXED);
		}
	}
	return n;
}

void vmm_virtio_teardown(struct vm *vm)
{
	struct vm_virtio *devices = vm_virtio(vm);

	vm_state_unregister(vm, &virtio_state_ops);
	if (!devices)
		return;
	pthread_mutex_lock(&devices->lock);
	devices->balloon = NULL;
	pthread_mutex_unlock(&devices->lock);
	while (devices->n) {
		struct attached *a = &devices->dev[--devices->n];

		virtio_dev_destroy(a->vdev);
		virtio_mmio_detach(a->mmio);
		virtio_pci_detach(a->pci);
		*a = (struct attached){0};
	}
	if (devices->has_pci)
		pci_bus_fini(&devices->pci_bus);
	pthread_mutex_destroy(&devices->lock);
	vm_set_virtio(vm, NULL);
	free(devices);
}

int vmm_virtio_pci_intx(struct vm *vm, unsigned i, unsigned *slot, uint32_t *gsi)
{
	const struct vm_virtio *devices = vm_virtio(vm);

	for (unsigned k = 0; devices && k < devices->n; k++) {
		if (!devices->dev[k].pci || i--)
			continue;
		virtio_pci_intx(devices->dev[k].pci, slot, gsi);
		return 0;
	}
	return -ENOENT;
}

int vmm_virtio_with_balloon(struct vm *vm, int (*fn)(struct virtio_dev *vdev, void *arg), void *arg)
{
	struct vm_virtio *devices = vm ? vm_virtio(vm) : NULL;
	int r = -ENODEV;

	if (!devices)
		return r;
	pthread_mutex_lock(&devices->lock);
	if (devices->balloon)
		r = fn(devices->balloon, arg);
	pthread_mutex_unlock(&devices->lock);
	return r;
}

int vmm_virtio_disk_update(struct vm *vm, unsigned disk, int fd, const struct vm_disk_cfg *d,
			   unsigned rate, struct err **err)
{
	struct vm_virtio *devices = vm ? vm_virtio(vm) : NULL;
	struct virtio_dev *vdev = NULL;
	unsigned k = 0;
	int r;

	if (!devices) {
		virtio_close_fd(&fd);
		return err_make(err, ENODEV, "the VM has no virtio devices");
	}
	pthread_mutex_lock(&devices->lock);
	for (unsigned i = 0; !vdev && i < devices->n; i++)
		if (devices->dev[i].vdev->ops->device_id == VIRTIO_ID_BLOCK && k++ == disk)
			vdev = devices->dev[i].vdev;
	if (vdev)
		r = virtio_blk_update(vdev, fd, d, rate, err);
	else
		r = err_make(err, ENODEV, "the VM has no disk %u", disk);
	pthread_mutex_unlock(&devices->lock);
	if (!vdev)
		virtio_close_fd(&fd);
	return r;
}

int vmm_virtio_net_update(struct vm *vm, unsigned nic, const struct vm_net_cfg *n, unsigned which,
			  struct err **err)
{
	struct vm_virtio *devices = vm ? vm_virtio(vm) : NULL;
	struct virtio_dev *vdev = NULL;
	unsigned k = 0;
	int r;

	if (!devices)
		return err_make(err, ENODEV, "the VM has no virtio devices");
	pthread_mutex_lock(&devices->lock);
	for (unsigned i = 0; !vdev && i < devices->n; i++)
		if (devices->dev[i].vdev->ops->device_id == VIRTIO_ID_NET && k++ == nic)
			vdev = devices->dev[i].vdev;
	r = vdev ? virtio_net_update(vdev, n, which, err)
		 : err_make(err, ENODEV, "the VM has no network interface %u", nic);
	pthread_mutex_unlock(&devices->lock);
	return r;
}

/*
 * After a restore, once the devices run: one interrupt per live queue, in
 * case the last one the source sent did not make it into the saved state;
 * and each device's resumed() (a NIC announces the guest on its new link).
 */
void vmm_virtio_notify_all(struct vm *vm)
{
	struct vm_virtio *devices = vm_virtio(vm);

	if (!devices)
		return;
	for (unsigned i = 0; i < devices->n; i++) {
		struct virtio_dev *vdev = devices->dev[i].vdev;

		if (vdev->ops->resumed)
			vdev->ops->resumed(vdev);
		if (devices->dev[i].pci)
			virtio_pci_notify_all(devices->dev[i].pci);
		else
			virtio_mmio_notify_all(devices->dev[i].mmio);
	}
}

/* Snapshot: quiesce every device's worker, or let them go again. */
void vmm_virtio_pause(struct vm *vm, bool paused)
{
	struct vm_virtio *devices = vm_virtio(vm);

	if (!devices)
		return;
	for (unsigned i = 0; i < devices->n; i++)
		virtio_dev_pause(devices->dev[i].vdev, paused);
}

int vmm_virtio_lock(struct vm *vm, bool on, struct err **err)
{
	struct vm_virtio *devices = vm_virtio(vm);
	int ret = 0;

	if (!devices)
		return 0;
	for (unsigned i = 0; i < devices->n; i++) {
		struct virtio_dev *vdev = devices->dev[i].vdev;
		int r = vdev->ops->lock ? vdev->ops->lock(vdev, on) : 0;

		if (r < 0 && ret == 0)
			ret = err_make(err, -r, "virtio-%s (device %u): %s its backend's lock",
				       vdev->ops->name, i, on ? "take" : "drop");
	}
	return ret;
}

int vmm_virtio_can_save(struct vm *vm, struct err **err)
{
	struct vm_virtio *devices = vm_virtio(vm);
	int r = 0;

	for (unsigned i = 0; devices && r >= 0 && i < devices->n; i++) {
		struct virtio_dev *vdev = devices->dev[i].vdev;

		if (vdev->ops->can_save)
			r = vdev->ops->can_save(vdev, err);
	}
	return r;
}

/* Each device's transport and device state, index = its bring-up number. */
int vmm_virtio_save(struct vm *vm, struct snap_writer *w, struct err **err)
{
	struct vm_virtio *devices = vm_virtio(vm);
	int r = 0;

	if (!devices)
		return 0;
	if (devices->has_pci) {
		struct pci_bus_state st;

		pci_bus_save(&devices->pci_bus, &st);
		snap_put(w, SNAP_PCI_BUS, 0, &st, sizeof(st));
	}
	for (unsigned i = 0; r >= 0 && i < devices->n; i++) {
		if (devices->dev[i].pci)
			r = virtio_pci_save(devices->dev[i].pci, w, i, err);
		else
			r = virtio_mmio_save(devices->dev[i].mmio, w, i, err);
		if (r >= 0)
			r = virtio_dev_save(devices->dev[i].vdev, w, i, err);
	}
	return r;
}

/* The bus of a PCI VM; a snapshot's bus with no bus here (or none there) is refused. */
static int restore_pci_bus(struct vm_virtio *devices, const struct snap_reader *r, struct err **err)
{
	struct pci_bus_state st;

	if (!devices->has_pci)
		return err_make(err, EINVAL,
				"the snapshot has a PCI bus, this VM has --virtio-transport mmio");
	if (snap_get(r, SNAP_PCI_BUS, 0, &st, sizeof(st), "PCI bus", err) < 0)
		return err_code(*err);
	return pci_bus_load(&devices->pci_bus, &st, err);
}

int vmm_virtio_restore(struct vm *vm, const struct snap_reader *r, struct err **err)
{
	struct vm_virtio *devices = vm_virtio(vm);
	int ret = 0;

	if (!devices)
		return 0;
	/* Nothing runs until the caller says so (vmm_virtio_pause(vm, false)). */
	vmm_virtio_pause(vm, true);
	if (devices->has_pci || snap_find(r, SNAP_PCI_BUS, 0))
		ret = restore_pci_bus(devices, r, err);
	for (unsigned i = 0; ret >= 0 && i < devices->n; i++) {
		if (devices->dev[i].pci)
			ret = virtio_pci_restore(devices->dev[i].pci, r, i, err);
		else
			ret = virtio_mmio_restore(devices->dev[i].mmio, r, i, err);
		if (ret >= 0)
			ret = virtio_dev_restore(devices->dev[i].vdev, r, i, err);
	}
	/* A snapshot with more devices than this VM has would lose them silently. */
	if (ret >= 0 && snap_find(r, SNAP_VIRTIO, devices->n))
		ret = err_make(err, EINVAL, "virtio: the snapshot has more than %u devices",
			       devices->n);
	return ret;
}
