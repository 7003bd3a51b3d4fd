/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * virtio devices of a micro-VM.  Called from the VMM's ordered bring-up table
 * after guest memory and the irqchip exist and before the vCPUs start;
 * vmm_virtio_teardown() undoes it (safe after a partial setup, and twice).
 */
#include <stdbool.h>

#include "err.h"

struct vm;
struct vm_config;
struct snap_writer;
struct snap_reader;

int vmm_virtio_setup(struct vm *vm, const struct vm_config *cfg, struct err **err);
void vmm_virtio_teardown(struct vm *vm);

/* Snapshot (snapshot/snapshot.c): quiesce the workers; save/restore every device. */
void vmm_virtio_pause(struct vm *vm, bool paused);
int vmm_virtio_save(struct vm *vm, struct snap_writer *w, struct err **err);
int vmm_virtio_restore(struct vm *vm, const struct snap_reader *r, struct err **err);
