/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PIO / MMIO range registry. */
#include <errno.h>
#include <string.h>

#include "bus.h"

static bool overlaps(const struct bus_range *r, uint64_t base, uint64_t len)
{
	return base < r->base + r->len && r->base < base + len;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_dev_ops *ops,
		 void *opaque, struct err **err)
{
	if (len == 0 || base + len < base)
		return err_make(err, EINVAL, "bus range %#llx+%#llx is invalid",
				(unsigned long long)base, (unsigned long long)len);
	if (bus->nr >= BUS_MAX_RANGES)
		return err_make(err, ENOSPC, "bus: more than %d device ranges", BUS_MAX_RANGES);
	for (unsigned i = 0; i < bus->nr; i++)
		if (overlaps(&bus->ranges[i], base, len))
			return err_make(err, EBUSY, "bus range %#llx+%#llx overlaps %#llx+%#llx",
					(unsigned long long)base, (unsigned long long)len,
					(unsigned long long)bus->ranges[i].base,
					(unsigned long long)bus->ranges[i].len);
	bus->ranges[bus->nr++] = (struct bus_range){base, len, ops, opaque};
	return 0;
}

bool bus_access(struct bus *bus, uint64_t addr, void *data, uint32_t len, bool is_write)
{
	for (unsigned i = 0; i < bus->nr; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (addr < r->base || addr - r->base >= r->len || len > r->len - (addr - r->base))
			continue;
		if (is_write) {
			if (r->ops->write)
				r->ops->write(r->opaque, addr - r->base, data, len);
		} else if (r->ops->read) {
			r->ops->read(r->opaque, addr - r->base, data, len);
		} else {
			memset(data, 0, len);
		}
		return true;
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
