/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest physical to host virtual address translation. */
#include <stddef.h>

#include "guest-mem.h"

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->nr; i++) {
		const struct guest_mem_region *r = &m->regions[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		/* gpa - r->gpa < size, so the subtraction below cannot wrap. */
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->hva + (gpa - r->gpa);
	}
	return NULL;
}
