/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A 16550A UART on COM1 (0x3f8, IRQ 4): transmit goes straight to the
 * console fd, receive is a 64-byte FIFO fed by the main thread from stdin.
 * The interrupt line follows the pending sources (THR empty, data ready).
 *
 * THR writes are not coalesced (kvm/coalesced.c), though a polled console
 * write is two exits a byte: a coalesced write reaches the console only at
 * the guest's next exit, and a polled driver that writes its last bytes
 * without polling after them (isola's own test guests, Linux's earlyprintk)
 * and then idles with the LAPIC timer and HLT in the kernel could leave them
 * unseen for as long as it idles.  Only a periodic flush would bound that.
 *
 * A console that is a regular file (run --vm's console.log, `--console
 * FILE`) is the guest's to fill: past SERIAL_FILE_MAX bytes (8 MiB) it starts
 * over with the last 1/128th of that (64 KiB, kept in memory: the fd may be
 * write-only), so the newest output stays and the disk does not fill.  What
 * the file held before the VM started is left as it is.  A
 * terminal, pipe or socket is never limited: someone reads it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vm-internal.h"
#include "fdutil.h"
#include "snap-format.h"

#define COM1_BASE 0x3f8
#define FIFO_SIZE 64

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define IER_RDI	    0x01
#define IER_THRI    0x02
#define IIR_NONE    0x01
#define IIR_THRI    0x02
#define IIR_RDI	    0x04
#define IIR_FIFO    0xc0
#define LCR_DLAB    0x80
#define LSR_DR	    0x01
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define MCR_LOOP    0x10
#define MSR_DEFAULT 0xb0 /* DCD, DSR, CTS */

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_irq; /* THR-empty interrupt pending until IIR is read or THR written */
	bool irq_level;
	uint8_t fifo[FIFO_SIZE];
	unsigned head, count;
	/* A regular-file console only (keep is NULL otherwise): */
	uint64_t file_max;  /* the cap on what we write to it */
	uint64_t file_base; /* its length before us: never cut */
	uint64_t file_len;  /* what we wrote after that */
	uint8_t *keep;	    /* our last keep_size bytes, a ring; the next goes at keep_at */
	size_t keep_size, keep_at;
	bool keep_full; /* the ring wrapped: all of it is output */
};

static uint8_t iir(struct serial *s)
{
	uint8_t fifo = s->fcr & 1 ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->count)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thr_irq)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

static void update_irq(struct serial *s)
{
	bool level = !(iir(s) & IIR_NONE);

	if (level != s->irq_level) {
		struct err *e = NULL;

		s->irq_level = level;
		vm_set_irq_line(s->vm, VM_SERIAL_GSI, level, &e);
		err_free(&e);
	}
}

/* A full console file starts over with the last bytes we wrote (up to keep_size). */
static void file_restart(struct serial *s, int fd)
{
	if (ftruncate(fd, (off_t)s->file_base) < 0 ||
	    lseek(fd, (off_t)s->file_base, SEEK_SET) < 0) {
		/* Not ours to police (it grows on), nor to retry at every byte. */
		free(s->keep);
		s->keep = NULL;
		return;
	}
	if (s->keep_full)
		(void)write_all(fd, s->keep + s->keep_at, s->keep_size - s->keep_at);
	(void)write_all(fd, s->keep, s->keep_at);
	s->file_len = s->keep_full ? s->keep_size : s->keep_at;
}

static void console_out(struct serial *s, uint8_t c)
{
	int fd = s->vm->console_fd;

	if (s->keep && s->file_len >= s->file_max)
		file_restart(s, fd);
	if (write_all(fd, &c, 1) < 0 || !s->keep)
		return;
	s->file_len++;
	s->keep[s->keep_at++] = c;
	if (s->keep_at == s->keep_size) {
		s->keep_at = 0;
		s->keep_full = true;
	}
}

static void tx(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		if (s->count < FIFO_SIZE)
			s->fifo[(s->head + s->count++) % FIFO_SIZE] = c;
	} else if (s->vm->console_fd >= 0) {
		console_out(s, c);
	}
	s->thr_irq = true;
}

static uint8_t reg_read(struct serial *s, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (!s->count)
			return 0;
		v = s->fifo[s->head];
		s->head = (s->head + 1) % FIFO_SIZE;
		s->count--;
		return v;
	case IER:
		return s->lcr & LCR_DLAB ? s->dlm : s->ier;
	case IIR_FCR:
		v = iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_irq = false; /* reading IIR clears a THRE interrupt */
		return v;
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		return LSR_THRE | LSR_TEMT | (s->count ? LSR_DR : 0);
	case MSR:
		return MSR_DEFAULT;
	default:
		return s->scr;
	}
}

static void reg_write(struct serial *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			tx(s, v);
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling THRI with an empty THR raises it at once. */
			if (!(s->ier & IER_THRI) && (v & IER_THRI))
				s->thr_irq = true;
			s->ier = v & 0x0f;
		}
		break;
	case IIR_FCR:
		s->fcr = v;
		if (v & 0x02)
			s->count = 0; /* clear receive FIFO */
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v;
		break;
	case SCR:
		s->scr = v;
		break;
	}
}

static void serial_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct serial *s = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	*(uint8_t *)data = reg_read(s, off);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	reg_write(s, off, *(const uint8_t *)data);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_dev_ops serial_ops = {.read = serial_read, .write = serial_write};

size_t serial_rx_space(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = FIFO_SIZE - s->count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (; n < len && s->count < FIFO_SIZE; n++)
		s->fifo[(s->head + s->count++) % FIFO_SIZE] = buf[n];
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

static int state_save(struct vm *vm, struct snap_writer *w, struct err **err)
{
	return serial_save(vm->serial, w, err);
}

static int state_restore(struct vm *vm, const struct snap_reader *r, struct err **err)
{
	return serial_restore(vm->serial, r, err);
}

static const struct vm_state_ops serial_state_ops = {
    .name = "serial",
    .save = state_save,
    .restore = state_restore,
};

int serial_create(struct vm *vm, struct err **err)
{
	struct serial *s = calloc(1, sizeof(*s));
	struct stat st;
	int r;

	if (!s)
		return err_make(err, ENOMEM, "allocate the serial port");
	s->vm = vm;
	if (vm->console_fd >= 0 && fstat(vm->console_fd, &st) == 0 && S_ISREG(st.st_mode)) {
		s->file_max = vm->console_file_max ? vm->console_file_max : SERIAL_FILE_MAX;
		s->file_base = (uint64_t)st.st_size;
		s->keep_size = s->file_max / 128 ? s->file_max / 128 : 1;
		s->keep = malloc(s->keep_size);
		if (!s->keep) {
			free(s);
			return err_make(err, ENOMEM, "allocate the serial port's console ring");
		}
	}
	pthread_mutex_init(&s->lock, NULL);
	vm->serial = s;
	r = bus_register(&vm->pio, COM1_BASE, 8, &serial_ops, s, err);
	return r < 0 ? r : vm_state_register(vm, &serial_state_ops, err);
}

void serial_destroy(struct vm *vm)
{
	vm_state_unregister(vm, &serial_state_ops);
	if (!vm->serial)
		return;
	pthread_mutex_destroy(&vm->serial->lock);
	free(vm->serial->keep);
	free(vm->serial);
	vm->serial = NULL;
}

/* Snapshot: the registers and the receive FIFO, as bytes. */
struct serial_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, thr_irq, irq_level, head, count, pad;
	uint8_t fifo[FIFO_SIZE];
};

int serial_save(struct serial *s, struct snap_writer *w, struct err **err)
{
	struct serial_state st = {0};

	(void)err;
	pthread_mutex_lock(&s->lock);
	st = (struct serial_state){s->ier, s->lcr,     s->mcr,	     s->scr,  s->dll,  s->dlm,
				   s->fcr, s->thr_irq, s->irq_level, s->head, s->count};
	memcpy(st.fifo, s->fifo, FIFO_SIZE);
	pthread_mutex_unlock(&s->lock);
	snap_put(w, SNAP_SERIAL, 0, &st, sizeof(st));
	return 0;
}

int serial_restore(struct serial *s, const struct snap_reader *r, struct err **err)
{
	struct serial_state st;
	int ret = snap_get(r, SNAP_SERIAL, 0, &st, sizeof(st), "serial", err);

	if (ret < 0)
		return ret;
	if (st.head >= FIFO_SIZE || st.count > FIFO_SIZE || st.thr_irq > 1 || st.irq_level > 1)
		return err_make(err, EINVAL, "serial: FIFO head %u count %u out of range", st.head,
				st.count);
	pthread_mutex_lock(&s->lock);
	s->ier = st.ier & 0x0f;
	s->lcr = st.lcr;
	s->mcr = st.mcr;
	s->scr = st.scr;
	s->dll = st.dll;
	s->dlm = st.dlm;
	s->fcr = st.fcr;
	s->thr_irq = st.thr_irq;
	s->irq_level = st.irq_level; /* the irqchip state restored the line itself */
	s->head = st.head;
	s->count = st.count;
	memcpy(s->fifo, st.fifo, FIFO_SIZE);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
