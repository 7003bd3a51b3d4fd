/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * i8254 PIT in userspace: the control word (channel, access lo/hi/lohi,
 * mode), counter latch, counts read back from elapsed CLOCK_MONOTONIC time,
 * channel 2 gated by port 0x61 bit 0 with its output on bit 5 (what Linux
 * uses to calibrate the TSC), and channel 0 driving GSI 0 from a timerfd:
 * periodic in modes 2 and 3, one-shot otherwise.  Read-back commands and
 * BCD counting are not supported (ignored).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../vm-internal.h"
#include "pit.h"

struct pit_channel {
	uint8_t mode, access;
	uint32_t reload; /* 1..65536 */
	uint64_t start_ns;
	bool armed, latched, read_hi, write_hi;
	uint16_t latch;
	uint8_t write_lo;
};

struct pit {
	struct vm *vm;
	pthread_mutex_t lock;
	struct pit_channel ch[3];
	bool gate2, speaker;
	unsigned refresh; /* port 0x61 bit 4 toggles on each read (under lock) */
	int tfd;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t ticks_since(const struct pit_channel *c, uint64_t now)
{
	uint64_t ns = now > c->start_ns ? now - c->start_ns : 0;

	return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000ULL);
}

static uint16_t count_at(const struct pit_channel *c, uint64_t now)
{
	uint64_t t;

	if (!c->armed)
		return (uint16_t)c->reload;
	t = ticks_since(c, now);
	if (c->mode == 2 || c->mode == 3)
		return (uint16_t)(c->reload - t % c->reload);
	return (uint16_t)(c->reload - t); /* mode 0 and others: count down and wrap */
}

static bool out_at(const struct pit_channel *c, uint64_t now)
{
	uint64_t t = ticks_since(c, now);

	if (!c->armed)
		return c->mode != 0;
	if (c->mode == 0)
		return t >= c->reload;
	if (c->mode == 3)
		return t % c->reload < (c->reload + 1) / 2;
	return t % c->reload != c->reload - 1;
}

uint16_t pit_count_at(struct pit *p, unsigned ch, uint64_t now)
{
	return ch < 3 ? count_at(&p->ch[ch], now) : 0;
}

static void arm_timer(struct pit *p)
{
	struct pit_channel *c = &p->ch[0];
	uint64_t ns = c->reload * 1000000000ULL / PIT_HZ;
	struct itimerspec its = {0};

	if (c->armed) {
		its.it_value.tv_sec = ns / 1000000000ULL;
		its.it_value.tv_nsec = (ns % 1000000000ULL) ?: 1;
		if (c->mode == 2 || c->mode == 3)
			its.it_interval = its.it_value;
	}
	timerfd_settime(p->tfd, 0, &its, NULL);
}

static void write_control(struct pit *p, uint8_t v)
{
	unsigned ch = v >> 6;
	struct pit_channel *c;

	if (ch == 3)
		return; /* read-back: not supported */
	c = &p->ch[ch];
	if (((v >> 4) & 3) == 0) { /* counter latch */
		if (!c->latched) {
			c->latch = count_at(c, now_ns());
			c->latched = true;
			c->read_hi = false;
		}
		return;
	}
	c->access = (v >> 4) & 3;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4; /* 6, 7 alias 2, 3 */
	c->armed = false;
	c->latched = c->read_hi = c->write_hi = false;
	if (ch == 0)
		arm_timer(p);
}

static void write_count(struct pit *p, unsigned ch, uint8_t v)
{
	struct pit_channel *c = &p->ch[ch];
	uint32_t n;

	if (c->access == 3 && !c->write_hi) {
		c->write_lo = v;
		c->write_hi = true;
		return;
	}
	if (c->access == 3)
		n = c->write_lo | (v << 8);
	else
		n = c->access == 1 ? v : (uint32_t)v << 8;
	c->write_hi = false;
	c->reload = n ? n : 65536;
	c->start_ns = now_ns();
	c->armed = ch != 2 || p->gate2;
	if (ch == 0)
		arm_timer(p);
}

static uint8_t read_count(struct pit_channel *c)
{
	uint16_t v = c->latched ? c->latch : count_at(c, now_ns());
	bool hi = c->access == 2 || (c->access == 3 && c->read_hi);

	if (c->access == 3)
		c->read_hi = !c->read_hi;
	if (c->latched && (c->access != 3 || !c->read_hi))
		c->latched = false; /* fully read */
	return hi ? v >> 8 : v & 0xff;
}

static void pit_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct pit *p = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&p->lock);
	if (off < 3)
		*(uint8_t *)data = read_count(&p->ch[off]);
	pthread_mutex_unlock(&p->lock);
}

static void pit_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct pit *p = opaque;
	uint8_t v = *(const uint8_t *)data;

	pthread_mutex_lock(&p->lock);
	if (off == 3)
		write_control(p, v);
	else
		write_count(p, off, v);
	pthread_mutex_unlock(&p->lock);
}

const struct bus_dev_ops pit_ops = {.read = pit_read, .write = pit_write};

static void port61_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct pit *p = opaque;
	uint8_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&p->lock);
	v = p->gate2 | (p->speaker << 1) | ((p->refresh++ & 1) << 4) |
	    (out_at(&p->ch[2], now_ns()) << 5);
	pthread_mutex_unlock(&p->lock);
	*(uint8_t *)data = v;
}

static void port61_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct pit *p = opaque;
	uint8_t v = *(const uint8_t *)data;
	bool gate = v & 1;

	pthread_mutex_lock(&p->lock);
	if (gate && !p->gate2 && p->ch[2].reload) { /* rising gate restarts channel 2 */
		p->ch[2].start_ns = now_ns();
		p->ch[2].armed = true;
	}
	p->gate2 = gate;
	p->speaker = v & 2;
	pthread_mutex_unlock(&p->lock);
}

const struct bus_dev_ops pit_61_ops = {.read = port61_read, .write = port61_write};

int pit_new(struct vm *vm, struct pit **ret, struct err **err)
{
	struct pit *p = calloc(1, sizeof(*p));

	if (!p)
		return err_make(err, ENOMEM, "allocate the PIT");
	p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->tfd < 0) {
		free(p);
		return err_make(err, errno, "timerfd_create");
	}
	p->vm = vm;
	pthread_mutex_init(&p->lock, NULL);
	for (unsigned i = 0; i < 3; i++)
		p->ch[i].reload = 65536;
	*ret = p;
	return 0;
}

void pit_free(struct pit *p)
{
	if (!p)
		return;
	close(p->tfd);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int pit_fd(struct pit *p)
{
	return p->tfd;
}

void pit_expired(struct pit *p)
{
	struct err *e = NULL;
	uint64_t n;

	if (read(p->tfd, &n, sizeof(n)) != sizeof(n))
		return;
	/* One edge however many periods passed: a late tick is merged, as on hardware. */
	vm_set_irq_line(p->vm, 0, true, &e);
	err_free(&e);
	vm_set_irq_line(p->vm, 0, false, &e);
	err_free(&e);
}

void pit_get_state(struct pit *p, struct pit_state *st)
{
	uint64_t now = now_ns();

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < 3; i++) {
		const struct pit_channel *c = &p->ch[i];

		st->ch[i] = (struct pit_channel_state){
		    .elapsed_ns = now > c->start_ns ? now - c->start_ns : 0,
		    .reload = c->reload,
		    .latch = c->latch,
		    .mode = c->mode,
		    .access = c->access,
		    .armed = c->armed,
		    .latched = c->latched,
		    .read_hi = c->read_hi,
		    .write_hi = c->write_hi,
		    .write_lo = c->write_lo};
	}
	st->gate2 = p->gate2;
	st->speaker = p->speaker;
	pthread_mutex_unlock(&p->lock);
}

static bool channel_state_ok(const struct pit_channel_state *c)
{
	return c->reload >= 1 && c->reload <= 65536 && c->mode <= 5 && c->access <= 3 &&
	       c->armed <= 1 && c->latched <= 1 && c->read_hi <= 1 && c->write_hi <= 1 &&
	       c->elapsed_ns < (1ULL << 62);
}

int pit_set_state(struct pit *p, const struct pit_state *st)
{
	uint64_t now = now_ns();

	for (unsigned i = 0; i < 3; i++)
		if (!channel_state_ok(&st->ch[i]))
			return -EINVAL;
	if (st->gate2 > 1 || st->speaker > 1)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < 3; i++) {
		const struct pit_channel_state *s = &st->ch[i];

		p->ch[i] =
		    (struct pit_channel){.mode = s->mode,
					 .access = s->access,
					 .reload = s->reload,
					 .start_ns = now > s->elapsed_ns ? now - s->elapsed_ns : 0,
					 .armed = s->armed,
					 .latched = s->latched,
					 .read_hi = s->read_hi,
					 .write_hi = s->write_hi,
					 .latch = s->latch,
					 .write_lo = s->write_lo};
	}
	p->gate2 = st->gate2;
	p->speaker = st->speaker;
	arm_timer(p);
	pthread_mutex_unlock(&p->lock);
	return 0;
}
