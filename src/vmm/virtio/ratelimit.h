/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Token buckets for device rate limits, in Firecracker's shape: a bucket
 * holds at most `size` tokens and refills from empty to full in
 * `refill_ms`; `one_time_burst` extra tokens are spent first and never come
 * back.  A limiter is two buckets, bytes and operations; a request passes
 * when both allow it.  Time is passed in (CLOCK_MONOTONIC nanoseconds) so
 * the arithmetic is testable; nothing here sleeps.
 */
#include <stdbool.h>
#include <stdint.h>

#include "vm-config.h"

struct virtio_bucket {
	uint64_t size, refill_ns; /* size 0: no limit */
	uint64_t burst;		  /* what is left of one_time_burst */
	int64_t budget;		  /* tokens now; negative after an oversized request */
	uint64_t last_ns;	  /* time up to which refill has been credited */
};

struct virtio_ratelimit {
	struct virtio_bucket bytes, ops;
};

/* Start full at now_ns; a zero size or refill time leaves that bucket unlimited. */
void virtio_rl_init(struct virtio_ratelimit *rl, const struct vm_rate_cfg *bytes,
		    const struct vm_rate_cfg *ops, uint64_t now_ns);
/* Replace the buckets given (NULL: that one stays as it is, tokens and burst too). */
void virtio_rl_set(struct virtio_ratelimit *rl, const struct vm_rate_cfg *bytes,
		   const struct vm_rate_cfg *ops, uint64_t now_ns);
bool virtio_rl_active(const struct virtio_ratelimit *rl);
/*
 * Take `bytes` and one operation when both buckets allow it and return 0;
 * otherwise take nothing and return how many nanoseconds to wait before
 * asking again (always > 0).  A request larger than a bucket passes once the
 * bucket is full and leaves it in debt, so the long-run rate still holds.
 */
uint64_t virtio_rl_take(struct virtio_ratelimit *rl, uint64_t bytes, uint64_t now_ns);

/* CLOCK_MONOTONIC in nanoseconds, the time the functions above take. */
uint64_t virtio_rl_now(void);
/*
 * Arm the timerfd `timer` to fire in wait_ns, unless it is armed to fire sooner already
 * (one timer serving two limits), or has fired and not been read yet: that wakeup is
 * another waiter's, and is kept (due at once again), since arming would reset it.  So
 * the timer's handler must retry every waiter, whatever its read returns.  -errno when
 * it cannot be armed.
 */
int virtio_rl_arm(int timer, uint64_t wait_ns);
/*
 * Does rl hold back a request of `bytes`?  Takes its tokens and says no, or arms `timer`
 * for the wait and says yes.  A timer that cannot be armed says no (serve it rather than
 * stall the device), with a warning naming `dev`.
 */
bool virtio_rl_hold(struct virtio_ratelimit *rl, uint64_t bytes, int timer, const char *dev);
/* Disarm it (timer < 0: nothing). */
void virtio_rl_disarm(int timer);
