/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The userspace i8254: counting, latching, channel 2 gate/output, channel 0 timer. */
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "devices/pit.h"
#include "tap.h"
#include "vm-internal.h"

static struct pit *pit;

static void out(const struct bus_dev_ops *ops, uint64_t off, uint8_t v)
{
	ops->write(pit, off, &v, 1);
}

static uint8_t in(const struct bus_dev_ops *ops, uint64_t off)
{
	uint8_t v = 0;

	ops->read(pit, off, &v, 1);
	return v;
}

static uint16_t read16(unsigned ch)
{
	uint8_t lo = in(&pit_ops, ch);

	return lo | in(&pit_ops, ch) << 8;
}

int main(void)
{
	struct vm vm = {.vm_fd = -1};
	struct err *err = NULL;
	struct pollfd pfd;
	uint16_t a, b;

	ok(pit_new(&vm, &pit, &err) == 0, "PIT created");

	/* channel 2, lobyte/hibyte, mode 0, gated off */
	out(&pit_ops, 3, 0xb0);
	out(&pit_ops, 2, 0xff);
	out(&pit_ops, 2, 0xff);
	ok(!(in(&pit_61_ops, 0) & 0x20), "OUT2 low while counting");
	out(&pit_61_ops, 0, 0x01); /* gate on: starts counting */
	a = read16(2);
	usleep(2000);
	b = read16(2);
	ok(a > b && a - b > 1000 && a - b < 60000, "channel 2 counts down: %u -> %u", a, b);

	/* latch holds the value across time */
	out(&pit_ops, 3, 0x80); /* latch channel 2 */
	usleep(1000);
	a = read16(2);
	out(&pit_ops, 3, 0x80);
	b = read16(2);
	ok(a >= b && a - b > 500, "latched read %u is older than a fresh latch %u", a, b);

	/* mode 0 with a 1 ms count raises OUT2 */
	out(&pit_61_ops, 0, 0x00);
	out(&pit_ops, 3, 0xb0);
	out(&pit_ops, 2, 1193 & 0xff);
	out(&pit_ops, 2, 1193 >> 8);
	out(&pit_61_ops, 0, 0x01);
	usleep(3000);
	ok(in(&pit_61_ops, 0) & 0x20, "OUT2 high after the count");
	ok(in(&pit_61_ops, 0) & 0x01, "gate bit reads back");

	/* channel 0, mode 2, 1 ms period: the timerfd fires */
	out(&pit_ops, 3, 0x34);
	out(&pit_ops, 0, 1193 & 0xff);
	out(&pit_ops, 0, 1193 >> 8);
	pfd = (struct pollfd){.fd = pit_fd(pit), .events = POLLIN};
	ok(poll(&pfd, 1, 200) == 1, "channel 0 timer fires");
	pit_expired(pit); /* no KVM behind this VM: the IRQ line call fails quietly */
	ok(poll(&pfd, 1, 200) == 1, "and fires again (periodic)");
	pit_expired(pit);
	a = pit_count_at(pit, 0, 0);
	ok(a <= 1193, "rate generator counts within its period (%u)", a);
	out(&pit_ops, 3, 0x30); /* mode 0 without a count: stopped */
	usleep(3000);
	pit_expired(pit); /* drains nothing: non-blocking */
	ok(poll(&pfd, 1, 20) == 0, "reprogramming stops the timer");

	/* noise */
	out(&pit_ops, 3, 0xc2); /* read-back: ignored */
	uint32_t wide = 0xffffffff;
	pit_ops.read(pit, 3, &wide, 4);
	is_int(wide, 0, "control port reads 0");
	out(&pit_ops, 3, 0x10); /* channel 0 lobyte only */
	out(&pit_ops, 0, 0);	/* count 0 means 65536 */
	ok(pit_count_at(pit, 0, 0) == 0, "count 0 is 65536 (reads as 0 at start)");
	pit_free(pit);
	return tap_done();
}
