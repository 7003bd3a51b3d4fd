/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Guest physical memory: a few host mappings, each registered with KVM as one
 * memory slot.  Devices translate guest addresses through guest_mem_ptr() and
 * never trust a guest address or length.
 */
#include <stdbool.h>
#include <stddef.h>
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
	/*
	 * Software dirty log of what the VMM itself writes into guest RAM (virtio
	 * workers), which KVM's dirty log does not see: one bit per 4 KiB page of
	 * each region, set while `tracking`.  Live migration merges it with KVM's
	 * log each round.  Allocated by guest_mem_track(), freed by
	 * guest_mem_track_free() once no device thread runs.
	 */
	uint64_t *dirty[GUEST_MEM_MAX_REGIONS];
	bool tracking;
};

/* Host address of [gpa, gpa+len) when it lies wholly inside one region, else NULL. Overflow-safe.
 */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

#define GUEST_MEM_PAGE 4096u

/*
 * Record that the VMM wrote [hva, hva+len) (inside guest RAM; anything else is
 * ignored).  Cheap when not tracking; safe from any thread, concurrently with
 * guest_mem_harvest().  Call it after the write, before the guest is told.
 */
void guest_mem_mark(const struct guest_mem *m, const void *hva, size_t len);
/* Start (allocating the bitmaps, all clear) or stop recording. -ENOMEM. */
int guest_mem_track(struct guest_mem *m, bool on);
/* Free the bitmaps: only once no thread can call guest_mem_mark(). */
void guest_mem_track_free(struct guest_mem *m);
/*
 * OR region i's recorded pages into bm (one bit per page) and clear them,
 * word by word atomically, so a mark racing with it lands in this harvest
 * or the next, never in neither.  Returns the number of bits taken.
 */
uint64_t guest_mem_harvest(const struct guest_mem *m, unsigned i, uint64_t *bm);
