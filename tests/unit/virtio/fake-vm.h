/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A fake VM for device tests: malloc'ed guest memory, an MMIO bus, no KVM
 * (vm_irqfd and vm_ioeventfd fail, so the fallbacks run), and a minimal
 * virtio-mmio driver that talks to the devices through the bus.
 */
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "virtio-internal.h"
#include "vm.h"

#define MEM_GPA	 0x100000ull
#define MEM_SIZE (1u << 20)
#define BASE	 0xd0000000ull
#define QSZ	 16

extern struct guest_mem mem;
extern uint8_t *ram;
extern struct bus mmio_bus;
extern struct bus pio_bus; /* the PCI transport's 0xcf8 ports */
extern int msis;	   /* KVM_SIGNAL_MSI calls, and the last message */
extern uint64_t last_msi_addr;
extern uint32_t last_msi_data;
extern char cmdline[1024];
extern int irqs;
extern int fake_vm;
#define VM ((struct vm *)&fake_vm)

struct drv {
	uint64_t base;
	uint64_t ring; /* gpa of this device's rings and buffers: queue q at ring + q * 0x8000 */
	uint16_t avail_idx[VIRTIO_MAX_QUEUES];
};

#define DESCQ(d, q)   ((struct virtq_desc *)gp((d)->ring + (q)*0x8000))
#define AVAILQ(d, q)  ((struct virtq_avail *)gp((d)->ring + (q)*0x8000 + 0x1000))
#define USEDQ(d, q)   ((struct virtq_used *)gp((d)->ring + (q)*0x8000 + 0x2000))
#define BUFQ(d, q, i) ((d)->ring + (q)*0x8000 + 0x4000 + (i)*0x1000)
#define DESC(d)	      DESCQ(d, 0)
#define AVAIL(d)      AVAILQ(d, 0)
#define USED(d)	      USEDQ(d, 0)
#define BUF(d, i)     BUFQ(d, 0, i)

int fake_vm_init(void);
void fake_vm_fini(void);
void *gp(uint64_t gpa);
uint32_t rd(struct drv *d, uint64_t off);
void wr(struct drv *d, uint64_t off, uint32_t v);
uint32_t drv_init(struct drv *d, uint64_t features);
void drv_queues(struct drv *d, unsigned n);
/* Offer head on queue q and notify; wait for it to come back: used length or -1. */
int drv_submit_q(struct drv *d, unsigned q, uint16_t head);
/* Wait for the device to return one more buffer of queue q (no new offer). */
int drv_wait_q(struct drv *d, unsigned q);
void desc_q(struct drv *d, unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
	    uint16_t next);
#define drv_queue(d)	 drv_queues(d, 1)
#define drv_submit(d, h) drv_submit_q(d, 0, h)
#define desc(d, ...)	 desc_q(d, 0, __VA_ARGS__)
