/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * virtio devices of a micro-VM.  Called from the VMM's ordered bring-up table
 * after guest memory and the irqchip exist and before the vCPUs start;
 * vmm_virtio_teardown() undoes it (safe after a partial setup, and twice).
 */
#include <stdint.h>

#include "err.h"

struct vm;
struct vm_config;

int vmm_virtio_setup(struct vm *vm, const struct vm_config *cfg, struct err **err);
void vmm_virtio_teardown(struct vm *vm);
/*
 * The ith virtio-pci function's slot on bus 0 and the GSI its INTA# pulses,
 * for the MP table; -ENOENT past the last (always with the mmio transport).
 */
int vmm_virtio_pci_intx(unsigned i, unsigned *slot, uint32_t *gsi);
