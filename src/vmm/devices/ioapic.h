/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A userspace IOAPIC (82093AA register model, 24 pins) for KVM's split
 * irqchip: the LAPICs stay in the kernel, and this model turns pin changes
 * into MSIs.  It knows nothing of KVM: the owner passes callbacks.
 */
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

#define IOAPIC_PINS	 24
#define IOAPIC_MMIO_SIZE 0x1000

struct ioapic_cb {
	/* Deliver one interrupt message (KVM_SIGNAL_MSI). */
	void (*msi)(void *opaque, uint64_t addr, uint32_t data);
	/* A redirection entry changed: irqfd routes may need rebuilding. */
	void (*routes_changed)(void *opaque);
	void *opaque;
};

struct ioapic;

struct ioapic *ioapic_new(const struct ioapic_cb *cb);
void ioapic_free(struct ioapic *io);
extern const struct bus_dev_ops ioapic_mmio_ops;
/* Drive a pin; out-of-range pins are ignored. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* The local APIC signalled EOI for a level-triggered vector (KVM_EXIT_IOAPIC_EOI). */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
/* The MSI a pin currently maps to; false when masked or out of range. */
bool ioapic_msi_route(struct ioapic *io, unsigned pin, uint64_t *ret_addr, uint32_t *ret_data);

/* The register state, for a snapshot (fixed layout). */
struct ioapic_state {
	uint64_t rte[IOAPIC_PINS];
	uint32_t sel, id;
	uint8_t line[IOAPIC_PINS];
};

void ioapic_get_state(struct ioapic *io, struct ioapic_state *st);
/* Load a state (checked: -EINVAL, nothing changed); then routes_changed() runs. */
int ioapic_set_state(struct ioapic *io, const struct ioapic_state *st);
