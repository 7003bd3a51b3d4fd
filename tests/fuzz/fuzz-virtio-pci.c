/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the input is a guest's sequence of PCI configuration
 * cycles (ports 0xcf8-0xcff) and BAR accesses of any width and offset to a
 * virtio-pci function, with guest memory the queues may point into.  The
 * device is a stub with two queues and a config space; queue notifications
 * are served inline, so ring parsing runs too.  ASan/UBSan catch the rest.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "guest-mem.h"
#include "pci/pci.h"
#include "virtio-internal.h"
#include "vm.h"

#define BAR_BASE 0xd0000000ull
#define MEM_GPA	 0x100000ull
#define MEM_SIZE 0x10000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bus pio, mmio;
static struct guest_mem mem;

/* The VM side: no KVM, so every fallback path runs. */
struct bus *vm_mmio_bus(struct vm *vm)
{
	return &mmio;
}
struct bus *vm_pio_bus(struct vm *vm)
{
	return &pio;
}
int vm_set_irq_line(struct vm *vm, uint32_t gsi, bool level, struct err **err)
{
	return 0;
}
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data, struct err **err)
{
	return 0;
}

int vm_irqfd(struct vm *vm, int efd, uint32_t gsi, struct err **err)
{
	return err_make(err, EOPNOTSUPP, "no irqfd");
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, bool datamatch, uint64_t data, int efd,
		 struct err **err)
{
	return err_make(err, EOPNOTSUPP, "no ioeventfd");
}

int vm_msi_route_alloc(struct vm *vm, uint32_t *ret_gsi, struct err **err)
{
	return err_make(err, EOPNOTSUPP, "no routes");
}

int vm_msi_route_set(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data, struct err **err)
{
	return err_make(err, EOPNOTSUPP, "no routes");
}

int vm_alloc_mmio(struct vm *vm, uint64_t len, uint64_t *ret_base, uint32_t *ret_gsi,
		  struct err **err)
{
	*ret_base = BAR_BASE;
	*ret_gsi = 5;
	return 0;
}

static uint32_t stub_handle(struct virtio_dev *vdev, unsigned q, struct virtq_req *req)
{
	return req->in_len > 16 ? 16 : req->in_len;
}

static void stub_destroy(struct virtio_dev *vdev)
{
	free(vdev);
}

static const uint8_t stub_config[24];
static const struct virtio_dev_ops stub_ops = {
    .name = "fuzz",
    .device_id = 1,
    .n_queues = 2,
    .handle = stub_handle,
    .destroy = stub_destroy,
};

/* One op: kind, offset (2), length, value (8): 12 bytes. */
static void run_op(struct virtio_dev *vdev, const uint8_t *op)
{
	uint64_t v, off = op[1] | op[2] << 8;
	uint32_t len = op[3] % 8 + 1;

	memcpy(&v, op + 4, 8);
	switch (op[0] % 5) {
	case 0: /* address register, as a driver writes it */
		v = 0x80000000u | (v & 0x0000fffc);
		bus_access(&pio, 0xcf8, &v, 4, true);
		break;
	case 1:
		bus_access(&pio, 0xcf8 + off % 8, &v, len, op[0] & 0x80);
		break;
	case 2:
		bus_access(&mmio, BAR_BASE + off % 0x1000, &v, len, false);
		break;
	case 3:
		bus_access(&mmio, BAR_BASE + off % 0x1000, &v, len, true);
		break;
	case 4: /* what the worker would do after a kick */
		pthread_mutex_lock(&vdev->lock);
		if ((vdev->status & VIRTIO_STATUS_DRIVER_OK) && vdev->vq[op[1] % 2].ready)
			virtio_dev_service_queue(vdev, op[1] % 2);
		pthread_mutex_unlock(&vdev->lock);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	struct virtio_dev *vdev = calloc(1, sizeof(*vdev));
	struct virtio_pci *p = NULL;
	struct pci_bus bus;
	struct err *err = NULL;

	if (!ram)
		ram = calloc(1, MEM_SIZE);
	mem = (struct guest_mem){.nr = 1};
	mem.regions[0] = (struct guest_mem_region){MEM_GPA, MEM_SIZE, ram};
	memset(&pio, 0, sizeof(pio));
	memset(&mmio, 0, sizeof(mmio));
	if (!vdev || virtio_dev_init(vdev, &stub_ops, &mem, &err) < 0)
		abort();
	vdev->config = stub_config;
	vdev->config_len = sizeof(stub_config);
	if (pci_bus_init(&bus, &pio, &err) < 0 ||
	    virtio_pci_attach((struct vm *)&mem, &bus, vdev, &p, &err) < 0)
		abort();
	/* The rest of the input is guest memory contents first, then ops. */
	if (size > 0) {
		size_t n = data[0] * 64u > size - 1 ? size - 1 : data[0] * 64u;

		memcpy(ram, data + 1, n);
		data += 1 + n;
		size -= 1 + n;
	}
	for (; size >= 12; data += 12, size -= 12)
		run_op(vdev, data);
	virtio_dev_destroy(vdev);
	virtio_pci_detach(p);
	pci_bus_fini(&bus);
	return 0;
}
