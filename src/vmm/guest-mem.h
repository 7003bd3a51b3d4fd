/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Guest physical memory: a few host mappings, each registered with KVM as one
 * memory slot.  Devices translate guest addresses through guest_mem_ptr() and
 * never trust a guest address or length.
 */
#include <stdint.h>

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

#define GUEST_MEM_MAX_REGIONS 8

struct guest_mem {
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned nr;
};

/* Host address of [gpa, gpa+len) when it lies wholly inside one region, else NULL. Overflow-safe.
 */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
