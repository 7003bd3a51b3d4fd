/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest physical to host virtual address translation. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

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

void guest_mem_mark(const struct guest_mem *m, const void *hva, size_t len)
{
	uintptr_t a = (uintptr_t)hva;

	if (!len || !__atomic_load_n(&m->tracking, __ATOMIC_ACQUIRE))
		return;
	for (unsigned i = 0; i < m->nr; i++) {
		const struct guest_mem_region *r = &m->regions[i];
		uintptr_t base = (uintptr_t)r->hva;
		uint64_t first, last;

		if (a < base || a - base >= r->size || !m->dirty[i])
			continue;
		if (len > r->size - (a - base))
			len = r->size - (a - base);
		first = (a - base) / GUEST_MEM_PAGE;
		last = (a - base + len - 1) / GUEST_MEM_PAGE;
		for (uint64_t p = first; p <= last; p++)
			__atomic_fetch_or(&m->dirty[i][p / 64], 1ull << (p % 64), __ATOMIC_RELEASE);
		return;
	}
}

static size_t words(const struct guest_mem_region *r)
{
	return (r->size / GUEST_MEM_PAGE + 63) / 64;
}

int guest_mem_track(struct guest_mem *m, bool on)
{
	if (!on) {
		__atomic_store_n(&m->tracking, false, __ATOMIC_RELEASE);
		return 0;
	}
	for (unsigned i = 0; i < m->nr; i++) {
		if (!m->dirty[i])
			m->dirty[i] = calloc(words(&m->regions[i]) + 1, sizeof(uint64_t));
		if (!m->dirty[i])
			return -ENOMEM;
		for (size_t w = 0; w < words(&m->regions[i]); w++)
			__atomic_store_n(&m->dirty[i][w], 0, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&m->tracking, true, __ATOMIC_RELEASE);
	return 0;
}

void guest_mem_track_free(struct guest_mem *m)
{
	m->tracking = false;
	for (unsigned i = 0; i < GUEST_MEM_MAX_REGIONS; i++) {
		free(m->dirty[i]);
		m->dirty[i] = NULL;
	}
}

uint64_t guest_mem_harvest(const struct guest_mem *m, unsigned i, uint64_t *bm)
{
	uint64_t n = 0;

	if (i >= m->nr || !m->dirty[i])
		return 0;
	for (size_t w = 0; w < words(&m->regions[i]); w++) {
		uint64_t v;

		if (!__atomic_load_n(&m->dirty[i][w], __ATOMIC_RELAXED))
			continue;
		v = __atomic_exchange_n(&m->dirty[i][w], 0, __ATOMIC_ACQ_REL);
		n += __builtin_popcountll(v);
		bm[w] |= v;
	}
	return n;
}
