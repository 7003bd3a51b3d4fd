/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The i8042 and its AT keyboard (see i8042.h).
 *
 * The controller answers at once: its input buffer is never full, and every
 * reply is in the output buffer when the guest next reads the status.  The
 * output buffer is a FIFO of up to 16 bytes, each tagged with its source:
 * the controller (a command's reply, polled by the guest), the keyboard
 * (IRQ 1 when it reaches the head and the command byte enables it) or the AUX
 * loopback (status bit AUXDATA).
 *
 * No AUX device: the loopback command works (it never leaves the
 * controller), but "enable AUX" leaves the command byte's AUX-disabled bit
 * set.  That is how Linux's AUX check (run when it probes without ACPI's
 * PNP0303, which implies no AUX) tells a controller without the port: it
 * polls the command byte a while (~5 ms, no timeout) and gives up, instead
 * of waiting out a mouse nobody answers for.  A byte sent to the AUX device
 * anyway is answered as a real controller does with nothing attached: 0xfe
 * with the timeout bit.
 *
 * The keyboard powers up disabled in the command byte, as a BIOS leaves it:
 * Ctrl+Alt+Delete is refused until the guest's driver has enabled both the
 * keyboard and its interrupt, so that no key lands in the middle of the
 * driver's probe (which flushes the buffer and reads the command byte
 * twice) or waits for a driver that never comes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "i8042.h"

/* Status register. */
#define STR_OBF	    0x01
#define STR_SYS	    0x04
#define STR_CMD	    0x08 /* the last write went to port 0x64 */
#define STR_UNLOCK  0x10 /* keylock off */
#define STR_AUXDATA 0x20
#define STR_TIMEOUT 0x40

/* Command byte (controller RAM byte 0). */
#define CTR_KBDINT  0x01
#define CTR_SYS	    0x04
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40
#define CTR_INITIAL (CTR_KBDINT | CTR_SYS | CTR_KBDDIS | CTR_AUXDIS)

/* Output port: bit 0 is the CPU reset line (0 = reset), bit 1 the A20 gate. */
#define OUTP_NORESET 0x01
#define OUTP_INITIAL 0x03

/* Controller commands. */
#define CMD_READ_CTR   0x20
#define CMD_WRITE_CTR  0x60
#define CMD_AUX_DIS    0xa7
#define CMD_AUX_EN     0xa8
#define CMD_AUX_TEST   0xa9
#define CMD_SELF_TEST  0xaa
#define CMD_KBD_TEST   0xab
#define CMD_KBD_DIS    0xad
#define CMD_KBD_EN     0xae
#define CMD_READ_IN    0xc0
#define CMD_READ_OUTP  0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_KBD_LOOP   0xd2
#define CMD_AUX_LOOP   0xd3
#define CMD_AUX_SEND   0xd4

/* Keyboard commands and replies. */
#define KBD_SET_LEDS  0xed
#define KBD_ECHO      0xee
#define KBD_SCANSET   0xf0
#define KBD_GET_ID    0xf2
#define KBD_TYPEMATIC 0xf3
#define KBD_ENABLE    0xf4
#define KBD_DISABLE   0xf5
#define KBD_SET_DEF   0xf6
#define KBD_RESEND    0xfe
#define KBD_RESET     0xff
#define KBD_ACK	      0xfa
#define KBD_NAK	      0xfe
#define KBD_BAT_OK    0xaa

/* Where a byte of the output buffer came from; SRC_AUX_ERR: no AUX device answered. */
enum src { SRC_CTL, SRC_KBD, SRC_AUX, SRC_AUX_ERR };

struct i8042 {
	pthread_mutex_t lock; /* vCPU threads (ports), the API thread (Ctrl+Alt+Del) */
	struct i8042_hooks hooks;
	uint8_t ctr, outp;
	uint8_t cmd;	       /* a controller command waiting for its data byte, or 0 */
	uint8_t last_cmd_port; /* status bit 3 */
	uint8_t kbd_cmd;       /* a keyboard command waiting for its parameter, or 0 */
	uint8_t kbd_enabled;   /* the keyboard scans (F4 / F5) */
	uint8_t last_read;     /* what port 0x60 reads once the buffer is empty */
	uint8_t last_kbd;      /* the keyboard's last byte, for its resend command */
	uint8_t head, count;
	uint8_t buf[I8042_BUF_SIZE], src[I8042_BUF_SIZE];
};

/* IRQ 1 while a keyboard byte heads the buffer and the command byte lets it through. */
static void maybe_irq(struct i8042 *k)
{
	if (k->count && k->src[k->head] == SRC_KBD && (k->ctr & CTR_KBDINT) && k->hooks.irq)
		k->hooks.irq(k->hooks.opaque);
}

static bool push(struct i8042 *k, uint8_t byte, enum src src)
{
	if (k->count == I8042_BUF_SIZE)
		return false; /* a real controller drops it too */
	k->buf[(k->head + k->count) % I8042_BUF_SIZE] = byte;
	k->src[(k->head + k->count) % I8042_BUF_SIZE] = (uint8_t)src;
	if (k->count++ == 0)
		maybe_irq(k);
	return true;
}

static uint8_t pop(struct i8042 *k)
{
	if (!k->count)
		return k->last_read;
	k->last_read = k->buf[k->head];
	k->head = (k->head + 1) % I8042_BUF_SIZE;
	k->count--;
	maybe_irq(k); /* the next keyboard byte needs an edge of its own */
	return k->last_read;
}

static void kbd_reply(struct i8042 *k, const uint8_t *bytes, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (push(k, bytes[i], SRC_KBD))
			k->last_kbd = bytes[i];
}

static void kbd_byte(struct i8042 *k, uint8_t b)
{
	kbd_reply(k, &b, 1);
}

/* The parameter of LEDs, typematic rate or scan code set. */
static void kbd_param(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	if (cmd != KBD_SCANSET) {
		kbd_byte(k, KBD_ACK);
	} else if (v == 0) { /* which set: 2, which reads 0x41 through the translation */
		uint8_t set[] = {KBD_ACK, k->ctr & CTR_XLATE ? 0x41 : 0x02};

		kbd_reply(k, set, sizeof(set));
	} else {
		kbd_byte(k, v == 2 ? KBD_ACK : KBD_NAK); /* sets 1 and 3 are not offered */
	}
}

/*
 * A byte the guest sent to the keyboard (port 0x60 with no controller
 * command pending): an MF2 keyboard in scan code set 2.  A command it does not
 * know gets a NAK, as from a real one, so a driver asking for more (set 3,
 * its key types) fails at once rather than waiting for bytes never sent.
 */
static void kbd_write(struct i8042 *k, uint8_t v)
{
	/* A byte of 0x80 or more is a new command, even where a parameter was due. */
	if (k->kbd_cmd && v < 0x80) {
		uint8_t cmd = k->kbd_cmd;

		k->kbd_cmd = 0;
		kbd_param(k, cmd, v);
		return;
	}
	k->kbd_cmd = 0;
	switch (v) {
	case KBD_RESET: {
		static const uint8_t bat[] = {KBD_ACK, KBD_BAT_OK};

		k->kbd_enabled = 1;
		kbd_reply(k, bat, sizeof(bat));
		return;
	}
	case KBD_GET_ID: { /* an MF2 keyboard; through the translation its id reads 0x41 */
		uint8_t id[] = {KBD_ACK, 0xab, k->ctr & CTR_XLATE ? 0x41 : 0x83};

		kbd_reply(k, id, sizeof(id));
		return;
	}
	case KBD_ECHO:
		kbd_byte(k, KBD_ECHO);
		return;
	case KBD_RESEND:
		kbd_byte(k, k->last_kbd);
		return;
	case KBD_SET_LEDS:
	case KBD_TYPEMATIC:
	case KBD_SCANSET:
		k->kbd_cmd = v;
		break;
	case KBD_ENABLE:
		k->kbd_enabled = 1;
		break;
	case KBD_DISABLE:
		k->kbd_enabled = 0;
		break;
	default:
		/* Set defaults and set-3 key types (0xf6-0xfd) are ACKed; nothing else is known. */
		if (v < KBD_SET_DEF) {
			kbd_byte(k, KBD_NAK);
			return;
		}
		break;
	}
	kbd_byte(k, KBD_ACK);
}

static void reset_line(struct i8042 *k)
{
	if (k->hooks.reset)
		k->hooks.reset(k->hooks.opaque);
}

/* Commands 0x20-0x3f read, 0x60-0x7f write a byte of the controller's RAM: only byte 0 is kept. */
static bool ram_read(uint8_t c)
{
	return (c & 0xe0) == CMD_READ_CTR;
}

static bool ram_write(uint8_t c)
{
	return (c & 0xe0) == CMD_WRITE_CTR;
}

/* The data byte of a controller command. */
static void cmd_data(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	switch (cmd) {
	case CMD_WRITE_CTR:
		/* No AUX port to enable. */
		k->ctr = v | CTR_AUXDIS;
		maybe_irq(k);
		break;
	case CMD_WRITE_OUTP:
		k->outp = v;
		if (!(v & OUTP_NORESET))
			reset_line(k);
		break;
	case CMD_KBD_LOOP:
		kbd_byte(k, v);
		break;
	case CMD_AUX_LOOP:
		push(k, v, SRC_AUX);
		break;
	case CMD_AUX_SEND: /* no device on the AUX port: a NAK with the timeout bit */
		push(k, KBD_NAK, SRC_AUX_ERR);
		break;
	default: /* the other RAM bytes */
		break;
	}
}

static void cmd_write(struct i8042 *k, uint8_t v)
{
	k->cmd = 0;
	if (ram_read(v)) {
		push(k, v == CMD_READ_CTR ? k->ctr : 0, SRC_CTL);
		return;
	}
	if (ram_write(v)) {
		k->cmd = v;
		return;
	}
	switch (v) {
	case CMD_WRITE_OUTP:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		k->cmd = v;
		break;
	case CMD_AUX_DIS:
	case CMD_AUX_EN: /* the bit stays set: there is no AUX port */
		k->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		push(k, 0x00, SRC_CTL); /* no clock or data line stuck */
		break;
	case CMD_SELF_TEST:
		push(k, 0x55, SRC_CTL);
		break;
	case CMD_KBD_DIS:
		k->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_EN:
		k->ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case CMD_READ_IN:
		push(k, 0x80, SRC_CTL); /* bit 7: the keyboard is not inhibited (no keylock) */
		break;
	case CMD_READ_OUTP:
		push(k, k->outp, SRC_CTL);
		break;
	default:
		/* 0xf0-0xff pulse output port bits for 6 us; a clear bit 0 is the reset line. */
		if ((v & 0xf0) == 0xf0 && !(v & OUTP_NORESET))
			reset_line(k);
		break;
	}
}

static void data_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct i8042 *k = opaque;

	(void)off;
	memset(data, 0xff, len);
	pthread_mutex_lock(&k->lock);
	*(uint8_t *)data = pop(k);
	pthread_mutex_unlock(&k->lock);
}

static void data_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct i8042 *k = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)off;
	(void)len;
	pthread_mutex_lock(&k->lock);
	k->last_cmd_port = 0;
	if (k->cmd) {
		uint8_t cmd = k->cmd;

		k->cmd = 0;
		cmd_data(k, cmd, v);
	} else {
		kbd_write(k, v);
	}
	pthread_mutex_unlock(&k->lock);
}

static void status_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct i8042 *k = opaque;
	uint8_t st = STR_UNLOCK;

	(void)off;
	memset(data, 0xff, len);
	pthread_mutex_lock(&k->lock);
	if (k->count)
		st |= STR_OBF;
	if (k->count && k->src[k->head] == SRC_AUX)
		st |= STR_AUXDATA;
	if (k->count && k->src[k->head] == SRC_AUX_ERR)
		st |= STR_AUXDATA | STR_TIMEOUT;
	if (k->ctr & CTR_SYS)
		st |= STR_SYS;
	if (k->last_cmd_port)
		st |= STR_CMD;
	pthread_mutex_unlock(&k->lock);
	*(uint8_t *)data = st;
}

static void cmd_port_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct i8042 *k = opaque;

	(void)off;
	(void)len;
	pthread_mutex_lock(&k->lock);
	k->last_cmd_port = 1;
	cmd_write(k, *(const uint8_t *)data);
	pthread_mutex_unlock(&k->lock);
}

const struct bus_dev_ops i8042_data_ops = {.read = data_read, .write = data_write};
const struct bus_dev_ops i8042_cmd_ops = {.read = status_read, .write = cmd_port_write};

int i8042_ctrl_alt_del(struct i8042 *k, struct err **err)
{
	/* Make codes, then break codes in the reverse order. */
	static const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
				       0x71, 0xf0, 0x11, 0xf0, 0x14};
	static const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
	const uint8_t *seq;
	unsigned n;
	int r = 0;

	pthread_mutex_lock(&k->lock);
	seq = k->ctr & CTR_XLATE ? set1 : set2;
	n = k->ctr & CTR_XLATE ? sizeof(set1) : sizeof(set2);
	if (!k->kbd_enabled || !(k->ctr & CTR_KBDINT) || (k->ctr & CTR_KBDDIS))
		r = err_make(err, EAGAIN,
			     "the guest's keyboard is not enabled (no i8042/atkbd driver, not "
			     "probed yet, or disabled by it)");
	else if (k->count + n > I8042_BUF_SIZE)
		r = err_make(err, EBUSY,
			     "the keyboard's buffer is full: the guest does not read its keyboard "
			     "(no i8042/atkbd driver?)");
	else
		kbd_reply(k, seq, n);
	pthread_mutex_unlock(&k->lock);
	return r;
}

void i8042_kick(struct i8042 *k)
{
	pthread_mutex_lock(&k->lock);
	maybe_irq(k);
	pthread_mutex_unlock(&k->lock);
}

void i8042_get_state(struct i8042 *k, struct i8042_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&k->lock);
	st->ctr = k->ctr;
	st->outp = k->outp;
	st->cmd = k->cmd;
	st->last_cmd_port = k->last_cmd_port;
	st->kbd_cmd = k->kbd_cmd;
	st->kbd_enabled = k->kbd_enabled;
	st->last_read = k->last_read;
	st->last_kbd = k->last_kbd;
	st->head = k->head;
	st->count = k->count;
	memcpy(st->buf, k->buf, sizeof(st->buf));
	memcpy(st->src, k->src, sizeof(st->src));
	pthread_mutex_unlock(&k->lock);
}

static bool pending_cmd_valid(uint8_t c)
{
	return c == 0 || ram_write(c) || c == CMD_WRITE_OUTP || c == CMD_KBD_LOOP ||
	       c == CMD_AUX_LOOP || c == CMD_AUX_SEND;
}

int i8042_set_state(struct i8042 *k, const struct i8042_state *st, struct err **err)
{
	if (st->head >= I8042_BUF_SIZE || st->count > I8042_BUF_SIZE)
		return err_make(err, EINVAL, "i8042: buffer head %u count %u out of range",
				st->head, st->count);
	if (!pending_cmd_valid(st->cmd) || st->last_cmd_port > 1 || st->kbd_enabled > 1 ||
	    (st->kbd_cmd && st->kbd_cmd != KBD_SET_LEDS && st->kbd_cmd != KBD_TYPEMATIC &&
	     st->kbd_cmd != KBD_SCANSET))
		return err_make(err, EINVAL, "i8042: pending command or flag out of range");
	for (unsigned i = 0; i < sizeof(st->pad); i++)
		if (st->pad[i])
			return err_make(err, EINVAL, "i8042: reserved byte %u is not 0", i);
	for (unsigned i = 0; i < I8042_BUF_SIZE; i++)
		if (st->src[i] > (uint8_t)SRC_AUX_ERR)
			return err_make(err, EINVAL, "i8042: byte %u has an unknown source %u", i,
					st->src[i]);
	pthread_mutex_lock(&k->lock);
	k->ctr = st->ctr | CTR_AUXDIS;
	k->outp = st->outp;
	k->cmd = st->cmd;
	k->last_cmd_port = st->last_cmd_port;
	k->kbd_cmd = st->kbd_cmd;
	k->kbd_enabled = st->kbd_enabled;
	k->last_read = st->last_read;
	k->last_kbd = st->last_kbd;
	k->head = st->head;
	k->count = st->count;
	memcpy(k->buf, st->buf, sizeof(k->buf));
	memcpy(k->src, st->src, sizeof(k->src));
	pthread_mutex_unlock(&k->lock);
	return 0;
}

int i8042_new(const struct i8042_hooks *hooks, struct i8042 **ret, struct err **err)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return err_make(err, ENOMEM, "allocate the i8042");
	pthread_mutex_init(&k->lock, NULL);
	k->hooks = *hooks;
	k->ctr = CTR_INITIAL;
	k->outp = OUTP_INITIAL;
	k->kbd_enabled = 1;
	*ret = k;
	return 0;
}

void i8042_free(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}
