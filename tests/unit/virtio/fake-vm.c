/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fake VM and minimal driver of fake-vm.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "fake-vm.h"

struct guest_mem mem;
uint8_t *ram;
struct bus mmio_bus;
struct bus pio_bus;
int msis;
uint64_t last_msi_addr;
uint32_t last_msi_data;
char cmdline[1024];
int irqs;
int fake_vm;
static uint64_t next_base = BASE;
static uint32_t next_gsi = 5;

int fake_vm_init(void)
{
	/* Like the VMM's guest RAM: an anonymous private mapping. */
	ram = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return -ENOMEM;
	mem.regions[0] = (struct guest_mem_region){MEM_GPA, MEM_SIZE, ram};
	mem.nr = 1;
	return 0;
}

void fake_vm_fini(void)
{
	munmap(ram, MEM_SIZE);
}

struct guest_mem *vm_guest_mem(struct vm *vm)
{
	return &mem;
}

static struct vm_virtio *fake_virtio;

const struct vmm_launch *vm_get_launch(struct vm *vm)
{
	return NULL;
}

/* The tests call the virtio hooks themselves. */
int vm_state_register(struct vm *vm, const struct vm_state_ops *ops, struct err **err)
{
	return 0;
}

void vm_state_unregister(struct vm *vm, const struct vm_state_ops *ops)
{
}

struct vm_virtio *vm_virtio(struct vm *vm)
{
	return fake_virtio;
}

void vm_set_virtio(struct vm *vm, struct vm_virtio *v)
{
	fake_virtio = v;
}

struct bus *vm_mmio_bus(struct vm *vm)
{
	return &mmio_bus;
}

struct bus *vm_pio_bus(struct vm *vm)
{
	return &pio_bus;
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data, struct err **err)
{
	last_msi_addr = addr;
	last_msi_data = data;
	__atomic_add_fetch(&msis, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int vm_msi_route_alloc(struct vm *vm, uint32_t *ret_gsi, struct err **err)
{
	*ret_gsi = 32;
	return 0;
}

int vm_msi_route_set(struct vm *vm, uint32_t gsi, uint64_t addr, uint32_t data, struct err **err)
{
	return err_make(err, EOPNOTSUPP, "no GSI routing in the unit test");
}

int vm_set_irq_line(struct vm *vm, uint32_t gsi, bool level, struct err **err)
{
	if (level)
		__atomic_add_fetch(&irqs, 1, __ATOMIC_SEQ_CST);
	return 0;
}

int vm_irqfd(struct vm *vm, int efd, uint32_t gsi, struct err **err)
{
	return err_make(err, EOPNOTSUPP, "no irqfd in the unit test");
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, bool datamatch, uint64_t data, int efd,
		 struct err **err)
{
	return err_make(err, EOPNOTSUPP, "no ioeventfd in the unit test");
}

int vm_coalesced_zone(struct vm *vm, uint64_t addr, uint32_t size, bool pio, struct err **err)
{
	return err_make(err, ENOTSUP, "no coalesced writes in the unit test");
}

int vm_alloc_mmio(struct vm *vm, uint64_t len, uint64_t *ret_base, uint32_t *ret_gsi,
		  struct err **err)
{
	*ret_base = next_base;
	*ret_gsi = next_gsi++;
	next_base += len;
	return 0;
}

int vm_cmdline_append(struct vm *vm, const char *s, struct err **err)
{
	if (strlen(cmdline) + strlen(s) + 2 > sizeof(cmdline))
		return err_make(err, E2BIG, "command line too long");
	if (cmdline[0])
		strcat(cmdline, " ");
	strcat(cmdline, s);
	return 0;
}

void *gp(uint64_t gpa)
{
	return ram + (gpa - MEM_GPA);
}

uint32_t rd(struct drv *d, uint64_t off)
{
	uint32_t v = 0;

	bus_access(&mmio_bus, d->base + off, &v, 4, false);
	return v;
}

void wr(struct drv *d, uint64_t off, uint32_t v)
{
	bus_access(&mmio_bus, d->base + off, &v, 4, true);
}

uint32_t drv_init(struct drv *d, uint64_t features)
{
	wr(d, 0x70, 0);
	wr(d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(d, 0x24, 0);
	wr(d, 0x20, features);
	wr(d, 0x24, 1);
	wr(d, 0x20, features >> 32);
	wr(d, 0x70, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return rd(d, 0x70);
}

void drv_queues(struct drv *d, unsigned n)
{
	for (unsigned q = 0; q < n; q++) {
		uint64_t r = d->ring + q * 0x8000;

		memset(gp(r), 0, 0x4000);
		d->avail_idx[q] = 0;
		wr(d, 0x30, q);
		wr(d, 0x38, QSZ);
		wr(d, 0x80, r);
		wr(d, 0x84, 0);
		wr(d, 0x90, r + 0x1000);
		wr(d, 0xa0, r + 0x2000);
		wr(d, 0x44, 1);
	}
	wr(d, 0x70, rd(d, 0x70) | VIRTIO_STATUS_DRIVER_OK);
}

int drv_wait_q(struct drv *d, unsigned q)
{
	struct timespec ts = {0, 1000000};
	uint16_t want = d->avail_idx[q];

	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(&USEDQ(d, q)->idx, __ATOMIC_ACQUIRE) == want)
			return USEDQ(d, q)->ring[(uint16_t)(want - 1) % QSZ].len;
		nanosleep(&ts, NULL);
	}
	return -1;
}

int drv_submit_q(struct drv *d, unsigned q, uint16_t head)
{
	AVAILQ(d, q)->ring[d->avail_idx[q] % QSZ] = head;
	__atomic_store_n(&AVAILQ(d, q)->idx, ++d->avail_idx[q], __ATOMIC_RELEASE);
	wr(d, 0x50, q);
	return drv_wait_q(d, q);
}

void desc_q(struct drv *d, unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
	    uint16_t next)
{
	DESCQ(d, q)[i] = (struct virtq_desc){addr, len, flags, next};
}
