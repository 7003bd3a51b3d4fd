/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The snapshot state file: a header, length-prefixed sections and a CRC-32.
 *
 *   "ISOLAVM\0"  u32 version  u32 nr_sections
 *   nr_sections x { u32 type  u32 index  u32 len  u8 data[len] }
 *   u32 crc32 (IEEE) of every byte before it
 *
 * Little-endian.  Every length is capped and checked before use; a file that
 * fails any check is rejected as a whole before anything is restored.
 * Pure code (no KVM): unit-tested and fuzzed on its own.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SNAP_MAGIC	  "ISOLAVM"
#define SNAP_VERSION	  3 /* 2: devices, virtio, split irqchip; 3: typed device fields */
#define SNAP_MAX_FILE	  (64u << 20)
#define SNAP_MAX_SECTION  (1u << 20)
#define SNAP_MAX_SECTIONS 4096u
#define SNAP_HEADER_SIZE  16u
#define SNAP_SECTION_HDR  12u

enum snap_type {
	SNAP_CONFIG = 1,
	SNAP_IRQCHIP = 2, /* index: KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC */
	SNAP_PIT = 3,
	SNAP_CLOCK = 4,
	SNAP_SERIAL = 5,
	SNAP_DEVCFG = 6,  /* the devices to recreate: typed "field\0value\0" pairs (devcfg.c) */
	SNAP_IOAPIC = 7,  /* --irqchip split: the userspace IOAPIC */
	SNAP_UPIT = 8,	  /* --irqchip split: the userspace PIT */
	SNAP_PCI_BUS = 9, /* --virtio-transport pci: 0xcf8 and the host bridge */
	SNAP_I8042 = 10,  /* the keyboard controller (absent before it existed) */
	/* Per vCPU, index = vCPU id. */
	SNAP_VCPU_REGS = 16,
	SNAP_VCPU_SREGS = 17,
	SNAP_VCPU_XSAVE = 18,
	SNAP_VCPU_XCRS = 19,
	SNAP_VCPU_MSRS = 20,
	SNAP_VCPU_LAPIC = 21,
	SNAP_VCPU_EVENTS = 22,
	SNAP_VCPU_MP_STATE = 23,
	SNAP_VCPU_FPU = 24,
	SNAP_VCPU_CPUID = 25,
	/* Per virtio device, index = its number in bring-up order. */
	SNAP_VIRTIO = 32,      /* generic: features, status, queues */
	SNAP_VIRTIO_MMIO = 33, /* transport registers */
	SNAP_VIRTIO_DEV = 34,  /* the device's own (ops->save) */
	SNAP_VIRTIO_PCI = 35,  /* virtio-pci: config space, common cfg selectors, MSI-X */
};

struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nr;
	int error; /* first allocation or cap failure, -errno */
};

struct snap_section {
	uint32_t type, index, len;
	const uint8_t *data;
};

struct snap_reader {
	uint8_t *buf;
	size_t len;
	struct snap_section *secs;
	uint32_t nr;
	bool start_paused; /* set by the restore, not from the file: run only once resumed */
	uint64_t t0_us;	   /* when the restore began (CLOCK_MONOTONIC): --debug timings */
};

uint32_t snap_crc32(const void *data, size_t len);

void snap_writer_init(struct snap_writer *w);
void snap_put(struct snap_writer *w, uint32_t type, uint32_t index, const void *data, size_t len);
/* Seal (count, CRC) and return the bytes; the writer is emptied. */
int snap_writer_finish(struct snap_writer *w, uint8_t **ret, size_t *ret_len, struct err **err);
void snap_writer_free(struct snap_writer *w);

/* Parse buf (taken over, freed by snap_reader_free even on failure). */
int snap_parse(struct snap_reader *r, uint8_t *buf, size_t len, struct err **err);
int snap_load(struct snap_reader *r, const char *path, struct err **err);
void snap_reader_free(struct snap_reader *r);
const struct snap_section *snap_find(const struct snap_reader *r, uint32_t type, uint32_t index);
/* Copy a section that must exist with exactly len bytes. */
int snap_get(const struct snap_reader *r, uint32_t type, uint32_t index, void *out, size_t len,
	     const char *what, struct err **err);
