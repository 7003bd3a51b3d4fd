/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * An address-range registry: one bus for port I/O and one for MMIO per VM.
 * Devices register [base, base+len) with an ops table; the vCPU loop routes
 * each exit through bus_access().  Ranges are registered before the vCPUs
 * start and never change afterwards, so lookups take no lock.
 */
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct bus_dev_ops {
	void (*read)(void *opaque, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const void *data, uint32_t len);
};

#define BUS_MAX_RANGES 32

struct bus_range {
	uint64_t base, len;
	const struct bus_dev_ops *ops;
	void *opaque;
};

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	unsigned nr;
};

/* Register a range; overlapping an existing range is -EBUSY. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_dev_ops *ops,
		 void *opaque, struct err **err);
/* Route an access; false when no device maps [addr, addr+len). Unmapped reads see 0xff. */
bool bus_access(struct bus *bus, uint64_t addr, void *data, uint32_t len, bool is_write);
