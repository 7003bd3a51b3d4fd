/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Userspace IOAPIC: IOREGSEL at 0x00, IOWIN at 0x10, EOI at 0x40; indirect
 * registers ID (0), version (1), arbitration (2) and the 24 64-bit
 * redirection entries at 0x10 + 2 * pin.  Edge pins fire on a rising edge;
 * level pins fire while high and not awaiting EOI (Remote IRR).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ioapic.h"

#define REG_SEL	       0x00
#define REG_WIN	       0x10
#define REG_EOI	       0x40
#define RTE_VECTOR     0xffULL
#define RTE_DELIV_MODE (7ULL << 8)
#define RTE_DEST_MODE  (1ULL << 11)
#define RTE_REMOTE_IRR (1ULL << 14)
#define RTE_LEVEL      (1ULL << 15)
#define RTE_MASKED     (1ULL << 16)
#define RTE_RO_BITS    ((1ULL << 12) | RTE_REMOTE_IRR)

struct ioapic {
	pthread_mutex_t lock;
	struct ioapic_cb cb;
	uint32_t sel, id;
	uint64_t rte[IOAPIC_PINS];
	bool line[IOAPIC_PINS];
};

struct ioapic *ioapic_new(const struct ioapic_cb *cb)
{
	struct ioapic *io = calloc(1, sizeof(*io));

	if (!io)
		return NULL;
	pthread_mutex_init(&io->lock, NULL);
	io->cb = *cb;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->rte[i] = RTE_MASKED;
	return io;
}

void ioapic_free(struct ioapic *io)
{
	if (!io)
		return;
	pthread_mutex_destroy(&io->lock);
	free(io);
}

static void rte_to_msi(uint64_t rte, uint64_t *addr, uint32_t *data)
{
	*addr = 0xfee00000ULL | ((rte >> 56) << 12) | (rte & RTE_DEST_MODE ? 1u << 2 : 0);
	*data =
	    (rte & (RTE_VECTOR | RTE_DELIV_MODE)) | (rte & RTE_LEVEL ? (1u << 15) | (1u << 14) : 0);
}

/* Fire pin if its state asks for it; called with the lock held. */
static void service(struct ioapic *io, unsigned pin)
{
	uint64_t *rte = &io->rte[pin], addr;
	uint32_t data;

	if (!io->line[pin] || (*rte & RTE_MASKED))
		return;
	if (*rte & RTE_LEVEL) {
		if (*rte & RTE_REMOTE_IRR)
			return;
		*rte |= RTE_REMOTE_IRR;
	}
	rte_to_msi(*rte, &addr, &data);
	io->cb.msi(io->cb.opaque, addr, data);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
	bool rising;

	if (pin >= IOAPIC_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	rising = level && !io->line[pin];
	io->line[pin] = level;
	if (rising || (level && (io->rte[pin] & RTE_LEVEL)))
		service(io, pin);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	pthread_mutex_lock(&io->lock);
	for (unsigned i = 0; i < IOAPIC_PINS; i++) {
		uint64_t *rte = &io->rte[i];

		if ((*rte & RTE_VECTOR) != vector || !(*rte & RTE_REMOTE_IRR))
			continue;
		*rte &= ~RTE_REMOTE_IRR;
		service(io, i); /* still asserted: deliver again */
	}
	pthread_mutex_unlock(&io->lock);
}

bool ioapic_msi_route(struct ioapic *io, unsigned pin, uint64_t *ret_addr, uint32_t *ret_data)
{
	bool ok = false;

	if (pin >= IOAPIC_PINS)
		return false;
	pthread_mutex_lock(&io->lock);
	if (!(io->rte[pin] & RTE_MASKED)) {
		rte_to_msi(io->rte[pin], ret_addr, ret_data);
		ok = true;
	}
	pthread_mutex_unlock(&io->lock);
	return ok;
}

static uint32_t reg_read(struct ioapic *io)
{
	unsigned idx = io->sel;

	if (idx == 0)
		return io->id;
	if (idx == 1)
		return 0x11 | ((IOAPIC_PINS - 1) << 16);
	if (idx == 2)
		return io->id;
	if (idx >= 0x10 && idx < 0x10 + 2 * IOAPIC_PINS) {
		uint64_t rte = io->rte[(idx - 0x10) / 2];

		return idx & 1 ? rte >> 32 : (uint32_t)rte;
	}
	return 0;
}

/* Returns true when a redirection entry changed. */
static bool reg_write(struct ioapic *io, uint32_t val)
{
	unsigned idx = io->sel, pin;
	uint64_t *rte, old;

	if (idx == 0) {
		io->id = val & (0xfu << 24);
		return false;
	}
	if (idx < 0x10 || idx >= 0x10 + 2 * IOAPIC_PINS)
		return false;
	pin = (idx - 0x10) / 2;
	rte = &io->rte[pin];
	old = *rte;
	if (idx & 1)
		*rte = (*rte & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*rte = (*rte & ~0xffffffffULL) | (val & ~RTE_RO_BITS) | (old & RTE_RO_BITS);
	if (!(*rte & RTE_LEVEL))
		*rte &= ~RTE_REMOTE_IRR;
	service(io, pin); /* an unmasked level pin that is high fires now */
	return *rte != old;
}

static void mmio_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct ioapic *io = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&io->lock);
	if (off == REG_SEL)
		v = io->sel;
	else if (off == REG_WIN)
		v = reg_read(io);
	pthread_mutex_unlock(&io->lock);
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

static void mmio_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct ioapic *io = opaque;
	bool changed = false;
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	if (off == REG_EOI) {
		ioapic_eoi(io, v & 0xff);
		return;
	}
	pthread_mutex_lock(&io->lock);
	if (off == REG_SEL)
		io->sel = v & 0xff;
	else if (off == REG_WIN)
		changed = reg_write(io, v);
	pthread_mutex_unlock(&io->lock);
	if (changed && io->cb.routes_changed)
		io->cb.routes_changed(io->cb.opaque);
}

const struct bus_dev_ops ioapic_mmio_ops = {.read = mmio_read, .write = mmio_write};

void ioapic_get_state(struct ioapic *io, struct ioapic_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&io->lock);
	memcpy(st->rte, io->rte, sizeof(st->rte));
	st->sel = io->sel;
	st->id = io->id;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		st->line[i] = io->line[i];
	pthread_mutex_unlock(&io->lock);
}

int ioapic_set_state(struct ioapic *io, const struct ioapic_state *st)
{
	if (st->sel > 0xff || (st->id & ~(0xfu << 24)))
		return -EINVAL;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		if (st->line[i] > 1)
			return -EINVAL;
	pthread_mutex_lock(&io->lock);
	memcpy(io->rte, st->rte, sizeof(io->rte));
	io->sel = st->sel;
	io->id = st->id;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->line[i] = st->line[i];
	pthread_mutex_unlock(&io->lock);
	if (io->cb.routes_changed)
		io->cb.routes_changed(io->cb.opaque);
	return 0;
}
