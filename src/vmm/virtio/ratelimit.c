/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Token buckets for device rate limits (see ratelimit.h). */
#include <errno.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ratelimit.h"

static void bucket_init(struct virtio_bucket *b, const struct vm_rate_cfg *cfg, uint64_t now_ns)
{
	*b = (struct virtio_bucket){0};
	if (!cfg || !cfg->size || !cfg->refill_ms)
		return;
	b->size = cfg->size;
	b->refill_ns = cfg->refill_ms * 1000000;
	b->burst = cfg->one_time_burst;
	b->budget = (int64_t)cfg->size;
	b->last_ns = now_ns;
}

void virtio_rl_init(struct virtio_ratelimit *rl, const struct vm_rate_cfg *bytes,
		    const struct vm_rate_cfg *ops, uint64_t now_ns)
{
	bucket_init(&rl->bytes, bytes, now_ns);
	bucket_init(&rl->ops, ops, now_ns);
}

void virtio_rl_set(struct virtio_ratelimit *rl, const struct vm_rate_cfg *bytes,
		   const struct vm_rate_cfg *ops, uint64_t now_ns)
{
	if (bytes)
		bucket_init(&rl->bytes, bytes, now_ns);
	if (ops)
		bucket_init(&rl->ops, ops, now_ns);
}

bool virtio_rl_active(const struct virtio_ratelimit *rl)
{
	return rl->bytes.size || rl->ops.size;
}

/*
 * Credit the tokens earned since last_ns.  last_ns moves only by the time
 * the credited whole tokens took, so no fraction of a token is lost to
 * frequent calls; a full bucket does not save up time.
 */
static void refill(struct virtio_bucket *b, uint64_t now_ns)
{
	unsigned __int128 add;
	uint64_t need;

	if (!b->size || now_ns <= b->last_ns)
		return;
	if (b->budget >= (int64_t)b->size) {
		b->last_ns = now_ns;
		return;
	}
	need = (uint64_t)((int64_t)b->size - b->budget);
	add = (unsigned __int128)(now_ns - b->last_ns) * b->size / b->refill_ns;
	if (add >= need) {
		b->budget = (int64_t)b->size;
		b->last_ns = now_ns;
		return;
	}
	b->budget += (int64_t)add;
	b->last_ns += (uint64_t)(add * b->refill_ns / b->size);
}

/*
 * Nanoseconds until `cost` tokens can be taken (an oversized cost needs a
 * full bucket), counting the time since last_ns already earned.
 */
static uint64_t wait_ns(const struct virtio_bucket *b, uint64_t cost, uint64_t now_ns)
{
	int64_t want = (int64_t)(cost < b->size ? cost : b->size);
	int64_t have = b->budget + (int64_t)b->burst;
	unsigned __int128 ns;
	uint64_t earned = now_ns > b->last_ns ? now_ns - b->last_ns : 0;

	if (!b->size || have >= want)
		return 0;
	ns = ((unsigned __int128)(want - have) * b->refill_ns + b->size - 1) / b->size;
	return ns > earned ? (uint64_t)(ns - earned) : 1;
}

static void consume(struct virtio_bucket *b, uint64_t cost)
{
	uint64_t from_burst = cost < b->burst ? cost : b->burst;

	if (!b->size)
		return;
	b->burst -= from_burst;
	b->budget -= (int64_t)(cost - from_burst);
}

uint64_t virtio_rl_take(struct virtio_ratelimit *rl, uint64_t bytes, uint64_t now_ns)
{
	uint64_t wb, wo;

	refill(&rl->bytes, now_ns);
	refill(&rl->ops, now_ns);
	wb = wait_ns(&rl->bytes, bytes, now_ns);
	wo = wait_ns(&rl->ops, 1, now_ns);
	if (wb || wo)
		return wb > wo ? wb : wo;
	consume(&rl->bytes, bytes);
	consume(&rl->ops, 1);
	return 0;
}

uint64_t virtio_rl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int virtio_rl_arm(int timer, uint64_t wait_ns)
{
	struct itimerspec cur, its = {0};
	uint64_t ticks;

	if (timerfd_gettime(timer, &cur) < 0)
		return -errno;
	if (cur.it_value.tv_sec || cur.it_value.tv_nsec) {
		if ((uint64_t)cur.it_value.tv_sec * 1000000000 + cur.it_value.tv_nsec <= wait_ns)
			return 0;
	} else if (read(timer, &ticks, sizeof(ticks)) == sizeof(ticks)) {
		wait_ns = 1; /* fired, not yet served: keep it due */
	}
	its.it_value.tv_sec = wait_ns / 1000000000;
	its.it_value.tv_nsec = wait_ns % 1000000000;
	return timerfd_settime(timer, 0, &its, NULL) < 0 ? -errno : 0;
}

bool virtio_rl_hold(struct virtio_ratelimit *rl, uint64_t bytes, int timer, const char *dev)
{
	uint64_t wait;
	int r;

	if (!virtio_rl_active(rl))
		return false;
	wait = virtio_rl_take(rl, bytes, virtio_rl_now());
	if (!wait)
		return false;
	r = virtio_rl_arm(timer, wait);
	if (r < 0) {
		errno = -r;
		log_warn_ratelimited("%s: arm rate-limit timer: %m", dev);
		return false;
	}
	return true;
}

void virtio_rl_disarm(int timer)
{
	struct itimerspec off = {0};

	if (timer >= 0)
		timerfd_settime(timer, 0, &off, NULL);
}
