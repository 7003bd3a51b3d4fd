/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The token buckets of the device rate limiter, with time passed in. */
#include <poll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ratelimit.h"
#include "tap.h"

#define MS 1000000ull
#define S  1000000000ull

static void unlimited(void)
{
	struct virtio_ratelimit rl;

	virtio_rl_init(&rl, NULL, &(struct vm_rate_cfg){0}, 0);
	ok(!virtio_rl_active(&rl), "no sizes: not active");
	is_int(virtio_rl_take(&rl, 1 << 30, 5), 0, "no sizes: everything passes");
}

static void ops_bucket(void)
{
	struct vm_rate_cfg ops = {.size = 10, .refill_ms = 1000};
	struct virtio_ratelimit rl;
	unsigned passed = 0;

	virtio_rl_init(&rl, NULL, &ops, 0);
	ok(virtio_rl_active(&rl), "ops limit: active");
	while (virtio_rl_take(&rl, 4096, 0) == 0)
		passed++;
	is_int(passed, 10, "a full bucket lets exactly `size` operations through");
	is_int(virtio_rl_take(&rl, 0, 0), 100 * MS, "the next one waits one refill step");
	is_int(virtio_rl_take(&rl, 0, 99 * MS), 1 * MS, "and not earlier");
	is_int(virtio_rl_take(&rl, 0, 100 * MS), 0, "after 100 ms one more passes");
	/* Many small steps must not lose fractions of a token. */
	passed = 0;
	for (uint64_t t = 100 * MS; t <= 1100 * MS; t += 8 * MS)
		passed += virtio_rl_take(&rl, 0, t) == 0;
	is_int(passed, 10, "1 s in 8 ms steps refills 10 operations");
	/* Idle time beyond a full bucket does not accumulate. */
	passed = 0;
	while (virtio_rl_take(&rl, 0, 100 * S) == 0)
		passed++;
	is_int(passed, 10, "a long idle period fills the bucket only to `size`");
}

static void bytes_bucket(void)
{
	struct vm_rate_cfg bw = {.size = 1 << 20, .one_time_burst = 1 << 20, .refill_ms = 1000};
	struct virtio_ratelimit rl;

	virtio_rl_init(&rl, &bw, NULL, 0);
	is_int(virtio_rl_take(&rl, 1 << 20, 0), 0, "the one-time burst is spent first");
	is_int(virtio_rl_take(&rl, 1 << 20, 0), 0, "then the bucket");
	is_int(virtio_rl_take(&rl, 1 << 19, 0), 500 * MS, "then half a MiB waits half a second");
	is_int(virtio_rl_take(&rl, 1 << 19, 500 * MS), 0, "and passes after it");
	/* Larger than the bucket: passes once full, then the debt is paid. */
	is_int(virtio_rl_take(&rl, 4 << 20, 1500 * MS), 0, "an oversized request passes when full");
	/* 3 MiB of debt plus the byte asked for: 3 s + 1e9/2^20 ns, rounded up. */
	is_int(virtio_rl_take(&rl, 1, 1500 * MS), 3 * S + 954, "and leaves the bucket in debt");
	is_int(virtio_rl_take(&rl, 1, 2500 * MS), 2 * S + 954, "paid back at the rate");
	is_int(virtio_rl_take(&rl, 1, 4500 * MS + 954), 0, "until the next request fits");
}

static void both_buckets(void)
{
	struct vm_rate_cfg bw = {.size = 1000, .refill_ms = 1000};
	struct vm_rate_cfg ops = {.size = 2, .refill_ms = 1000};
	struct virtio_ratelimit rl;

	virtio_rl_init(&rl, &bw, &ops, 0);
	is_int(virtio_rl_take(&rl, 100, 0), 0, "both allow: passes");
	is_int(virtio_rl_take(&rl, 100, 0), 0, "both allow: passes");
	ok(virtio_rl_take(&rl, 100, 0) == 500 * MS, "ops empty: waits for ops");
	is_int(virtio_rl_take(&rl, 0, 500 * MS), 0, "ops refilled: passes");
	/* A refused request takes nothing from the other bucket. */
	is_int(virtio_rl_take(&rl, 900, 500 * MS), 500 * MS, "ops empty again: waits");
	is_int(virtio_rl_take(&rl, 900, 1000 * MS), 0, "and its bytes were not taken meanwhile");
}

/* One bucket replaced, the other left with its tokens and burst (PATCH of one bucket). */
static void set_one(void)
{
	struct virtio_ratelimit rl;

	virtio_rl_init(&rl, &(struct vm_rate_cfg){.size = 1000, .refill_ms = 1000},
		       &(struct vm_rate_cfg){.size = 2, .one_time_burst = 1, .refill_ms = 1000}, 0);
	is_int(virtio_rl_take(&rl, 1000, 0), 0, "the bytes drained, one op (of the burst) taken");
	virtio_rl_set(&rl, NULL, &(struct vm_rate_cfg){.size = 5, .refill_ms = 1000}, 0);
	ok(virtio_rl_take(&rl, 1, 0) > 0, "the bytes bucket kept its (empty) state");
	virtio_rl_set(&rl, &(struct vm_rate_cfg){0}, NULL, 0);
	is_int(virtio_rl_take(&rl, 1 << 20, 0), 0, "bytes lifted; ops (new, full) allow it");
}

/*
 * One timer for two waiters: arming it for a later wait must not drop a wakeup that
 * fired for the other and was not read yet (it would wait for the later one instead).
 */
static void arm_keeps_fired(void)
{
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct pollfd p = {.fd = t, .events = POLLIN};

	is_int(virtio_rl_arm(t, 1 * MS), 0, "armed for 1 ms");
	ok(poll(&p, 1, 2000) == 1, "it fires");
	is_int(virtio_rl_arm(t, 3 * S), 0, "then armed for 3 s by the other waiter, unread");
	ok(poll(&p, 1, 1000) == 1, "the fired wakeup is still due now, not in 3 s");
	virtio_rl_disarm(t);
	is_int(virtio_rl_arm(t, 100 * MS), 0, "armed for 100 ms");
	is_int(virtio_rl_arm(t, 3 * S), 0, "a later wait keeps the sooner");
	ok(poll(&p, 1, 2000) == 1, "it fires at the sooner");
	close(t);
}

int main(void)
{
	unlimited();
	set_one();
	arm_keeps_fired();
	ops_bucket();
	bytes_bucket();
	both_buckets();
	return tap_done();
}
