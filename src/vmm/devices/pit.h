/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A userspace i8254 PIT for the split irqchip (KVM's PIT needs the in-kernel
 * PIC/IOAPIC): ports 0x40-0x43 and the channel-2 gate/output bits of port
 * 0x61.  Channel 0 interrupts come from a timerfd that the main thread polls.
 */
#include <stdint.h>

#include "bus.h"
#include "err.h"

#define PIT_HZ 1193182ULL

struct pit;
struct vm;

int pit_new(struct vm *vm, struct pit **ret, struct err **err);
void pit_free(struct pit *p);
/* The timerfd to poll for channel 0; call pit_expired() when it is readable. */
int pit_fd(struct pit *p);
void pit_expired(struct pit *p);
/* Counter value of a channel at time now_ns (exposed for tests). */
uint16_t pit_count_at(struct pit *p, unsigned ch, uint64_t now_ns);
extern const struct bus_dev_ops pit_ops;    /* 0x40-0x43 */
extern const struct bus_dev_ops pit_61_ops; /* 0x61 */

/* The state, for a snapshot; times are relative (elapsed since the count was loaded). */
struct pit_channel_state {
	uint64_t elapsed_ns;
	uint32_t reload;
	uint16_t latch;
	uint8_t mode, access, armed, latched, read_hi, write_hi, write_lo, pad[3];
};

struct pit_state {
	struct pit_channel_state ch[3];
	uint8_t gate2, speaker, pad[6];
};

void pit_get_state(struct pit *p, struct pit_state *st);
/* Load a state (checked: -EINVAL, nothing changed) and re-arm channel 0. */
int pit_set_state(struct pit *p, const struct pit_state *st);
