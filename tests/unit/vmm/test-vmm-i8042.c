/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The i8042 and its keyboard (src/vmm/devices/i8042.c) through its two ports,
 * as Linux's i8042 and atkbd drivers drive it: the controller's probe, the
 * AUX check that must give the port up (there is none), the keyboard's
 * commands with one IRQ 1 edge per byte, Ctrl+Alt+Delete in scan code sets 2
 * and 1, the reset line, the snapshot state and every byte on both ports.
 */
#include <errno.h>
#include <string.h>

#include "devices/i8042.h"
#include "tap.h"

static struct i8042 *k;
static unsigned irqs, resets;

static void on_irq(void *opaque)
{
	(void)opaque;
	irqs++;
}

static void on_reset(void *opaque)
{
	(void)opaque;
	resets++;
}

static void out(uint16_t port, uint8_t v)
{
	const struct bus_dev_ops *ops = port == I8042_CMD_PORT ? &i8042_cmd_ops : &i8042_data_ops;

	ops->write(k, 0, &v, 1);
}

static uint8_t in(uint16_t port)
{
	const struct bus_dev_ops *ops = port == I8042_CMD_PORT ? &i8042_cmd_ops : &i8042_data_ops;
	uint8_t v = 0;

	ops->read(k, 0, &v, 1);
	return v;
}

static uint8_t status(void)
{
	return in(I8042_CMD_PORT);
}

/* A controller command with an optional data byte; returns the reply or -1 if none. */
static int command(uint8_t cmd, int data)
{
	out(I8042_CMD_PORT, cmd);
	if (data >= 0)
		out(I8042_DATA_PORT, (uint8_t)data);
	return status() & 1 ? in(I8042_DATA_PORT) : -1;
}

/* Read everything the output buffer holds into buf; returns how many bytes. */
static unsigned drain(uint8_t *buf, unsigned cap)
{
	unsigned n = 0;

	while ((status() & 1) && n < cap)
		buf[n++] = in(I8042_DATA_PORT);
	return n;
}

static void fresh(void)
{
	const struct i8042_hooks hooks = {.irq = on_irq, .reset = on_reset};
	struct err *e = NULL;

	i8042_free(k);
	k = NULL;
	if (i8042_new(&hooks, &k, &e) < 0) {
		printf("Bail out! i8042_new: %s\n", e->msg);
		exit(1);
	}
	irqs = resets = 0;
}

static void test_controller(void)
{
	uint8_t st;
	int ctr;

	fresh();
	st = status();
	ok(!(st & 0x01) && (st & 0x04) && (st & 0x10) && !(st & 0x02),
	   "power-on status: empty, input buffer ready, SYS, not locked");
	ctr = command(0x20, -1);
	is_int(ctr, 0x35,
	       "command byte: keyboard interrupt, SYS, keyboard and AUX disabled, no translation");
	ok(status() & 0x08, "status bit 3: the last write went to port 0x64");
	is_int(command(0xaa, -1), 0x55, "self test passes");
	is_int(command(0xab, -1), 0x00, "keyboard interface test passes");
	is_int(irqs, 0, "controller replies raise no IRQ (the guest polls them)");
	is_int(command(0x60, 0x74), -1, "write command byte: no reply");
	ok(!(status() & 0x08), "the data byte went to port 0x60");
	is_int(command(0x20, -1), 0x74 | 0x20, "command byte written (AUX stays disabled)");
	is_int(command(0xd0, -1), 0x03, "output port: no reset, A20 on");
	is_int(command(0xad, -1), -1, "disable keyboard");
	ok(command(0x20, -1) & 0x10, "keyboard disabled in the command byte");
	command(0xae, -1);
	ok(!(command(0x20, -1) & 0x10), "keyboard enabled again");

	/* Linux's i8042_check_aux(): the loopback works, the port never enables. */
	out(I8042_CMD_PORT, 0xd3);
	out(I8042_DATA_PORT, 0x5a);
	st = status();
	ok((st & 0x01) && (st & 0x20), "AUX loopback: the byte is back, flagged as AUX data");
	is_int(in(I8042_DATA_PORT), 0x5a, "AUX loopback: the same byte");
	ok(!(status() & 0x20), "AUX data flag gone with the byte");
	command(0xa7, -1);
	command(0xa8, -1);
	ok(command(0x20, -1) & 0x20, "enable AUX: still disabled (there is no AUX port)");
	out(I8042_CMD_PORT, 0xd4);
	out(I8042_DATA_PORT, 0xf2);
	is_int(status() & 0x61, 0x61,
	       "a byte for the AUX device: an answer flagged AUX and timeout");
	is_int(in(I8042_DATA_PORT), 0xfe, "and the answer is a NAK");
	is_int(command(0xc0, -1), 0x80, "input port: keyboard not inhibited");
	is_int(command(0x21, -1), 0x00, "other controller RAM bytes read 0");
	is_int(command(0x61, 0xff), -1, "a RAM write takes its data byte");
	is_int(status() & 1, 0, "which never reaches the keyboard (no reset answer)");
	is_int(resets, 0, "no reset so far");
}

static void test_keyboard(void)
{
	uint8_t b[32];
	unsigned n;

	fresh();
	out(I8042_DATA_PORT, 0xf2);
	is_int(irqs, 1, "get id: an edge for the first byte");
	n = drain(b, sizeof(b));
	ok(n == 3 && b[0] == 0xfa && b[1] == 0xab && b[2] == 0x83, "get id: ACK, ab 83");
	is_int(irqs, 3, "one edge per byte, as each reaches the head");
	ok(!(status() & 0x20), "keyboard bytes are not AUX data");

	out(I8042_DATA_PORT, 0xff);
	n = drain(b, sizeof(b));
	ok(n == 2 && b[0] == 0xfa && b[1] == 0xaa, "reset: ACK, self test passed");
	out(I8042_DATA_PORT, 0xed);
	out(I8042_DATA_PORT, 0x07);
	out(I8042_DATA_PORT, 0xf0);
	out(I8042_DATA_PORT, 0x00);
	out(I8042_DATA_PORT, 0xee);
	n = drain(b, sizeof(b));
	ok(n == 6 && !memcmp(b, "\xfa\xfa\xfa\xfa\x02\xee", 6),
	   "LEDs and their parameter ACKed, set 2 reported, echo");
	is_int(in(I8042_DATA_PORT), 0xee, "an empty buffer reads the last byte again");

	/* Interrupts disabled in the command byte: bytes wait, no edge. */
	command(0x60, 0x24);
	irqs = 0;
	out(I8042_DATA_PORT, 0xf4);
	is_int(irqs, 0, "KBDINT clear: no edge");
	command(0x60, 0x25);
	is_int(irqs, 1, "KBDINT set with a keyboard byte waiting: the edge comes");
	is_int(in(I8042_DATA_PORT), 0xfa, "and the byte is the ACK");

	/* With the translation on, the id and the set read as translated. */
	command(0x60, 0x65);
	out(I8042_DATA_PORT, 0xf2);
	n = drain(b, sizeof(b));
	ok(n == 3 && b[2] == 0x41, "translated: id ab 41");
	out(I8042_DATA_PORT, 0xf0);
	out(I8042_DATA_PORT, 0x00);
	n = drain(b, sizeof(b));
	ok(n == 3 && b[2] == 0x41, "translated: set 2 reads 0x41");

	/* What the keyboard does not offer fails at once. */
	out(I8042_DATA_PORT, 0xe8);
	n = drain(b, sizeof(b));
	ok(n == 1 && b[0] == 0xfe, "an unknown command: NAK");
	out(I8042_DATA_PORT, 0xf0);
	out(I8042_DATA_PORT, 0x03);
	n = drain(b, sizeof(b));
	ok(n == 2 && b[0] == 0xfa && b[1] == 0xfe, "set 3: the command ACKed, the set refused");
	out(I8042_DATA_PORT, 0xf0);
	out(I8042_DATA_PORT, 0x02);
	n = drain(b, sizeof(b));
	ok(n == 2 && b[0] == 0xfa && b[1] == 0xfa, "set 2: accepted");
	out(I8042_DATA_PORT, 0xed);
	out(I8042_DATA_PORT, 0xff);
	n = drain(b, sizeof(b));
	ok(n == 3 && !memcmp(b, "\xfa\xfa\xaa", 3),
	   "a command where a parameter was due is a command (reset: ACK, aa)");
	out(I8042_DATA_PORT, 0xfe);
	n = drain(b, sizeof(b));
	ok(n == 1 && b[0] == 0xaa, "resend: the last byte again");
}

static void test_ctrl_alt_del(void)
{
	static const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
				       0x71, 0xf0, 0x11, 0xf0, 0x14};
	static const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
	struct err *e = NULL;
	uint8_t b[32];
	unsigned n;

	fresh();
	ok(i8042_ctrl_alt_del(k, &e) == -EAGAIN && e && strstr(e->msg, "not enabled"),
	   "power-on (keyboard disabled in the command byte): refused");
	err_free(&e);
	command(0x60, 0x34);
	ok(i8042_ctrl_alt_del(k, &e) == -EAGAIN, "keyboard enabled, its interrupt not: refused");
	err_free(&e);
	is_int(status() & 1, 0, "nothing queued");
	command(0x60, 0x25); /* what Linux's i8042 leaves: KBDINT, SYS, AUX disabled */
	irqs = 0;
	ok(i8042_ctrl_alt_del(k, &e) == 0, "Ctrl+Alt+Del queued");
	n = drain(b, sizeof(b));
	ok(n == sizeof(set2) && !memcmp(b, set2, n),
	   "set 2: Ctrl, Alt, Delete pressed, then released in reverse");
	is_int(irqs, sizeof(set2), "an edge for each byte");

	command(0x60, 0x65);
	ok(i8042_ctrl_alt_del(k, &e) == 0, "queued again, with the translation on");
	n = drain(b, sizeof(b));
	ok(n == sizeof(set1) && !memcmp(b, set1, n), "set 1 codes when the controller translates");

	/* A guest that never reads: the second sequence does not fit. */
	command(0x60, 0x25);
	ok(i8042_ctrl_alt_del(k, &e) == 0, "first sequence, not read");
	ok(i8042_ctrl_alt_del(k, &e) == -EBUSY && e && strstr(e->msg, "buffer is full"),
	   "second: refused, buffer full");
	err_free(&e);
	n = drain(b, sizeof(b));
	is_int(n, sizeof(set2), "nothing of the refused sequence was queued");

	out(I8042_DATA_PORT, 0xf5);
	drain(b, sizeof(b));
	ok(i8042_ctrl_alt_del(k, &e) == -EAGAIN, "scanning disabled by the driver (F5): refused");
	err_free(&e);
	is_int(status() & 1, 0, "nothing queued");
	out(I8042_DATA_PORT, 0xf4);
	drain(b, sizeof(b));
	ok(i8042_ctrl_alt_del(k, &e) == 0, "enabled again: queued");
}

static void test_reset(void)
{
	fresh();
	command(0xd1, 0xdf); /* Linux's A20 gate on: bit 0 set */
	is_int(resets, 0, "output port with bit 0 set: no reset");
	is_int(command(0xd0, -1), 0xdf, "output port reads back");
	command(0xff, -1);
	is_int(resets, 0, "pulse command 0xff touches no line");
	command(0xfe, -1);
	is_int(resets, 1, "0xfe pulses the reset line");
	command(0xd1, 0xde);
	is_int(resets, 2, "output port bit 0 cleared: reset");
}

static void test_state(void)
{
	struct i8042_state st, bad, back;
	struct err *e = NULL;

	fresh();
	command(0x60, 0x65);
	out(I8042_DATA_PORT, 0xed); /* a keyboard command waiting for its parameter */
	out(I8042_CMD_PORT, 0xd1);  /* a controller command waiting for its data */
	i8042_get_state(k, &st);
	fresh();
	ok(i8042_set_state(k, &st, &e) == 0, "state restored");
	i8042_get_state(k, &back);
	ok(!memcmp(&st, &back, sizeof(st)), "the same state back");
	out(I8042_DATA_PORT, 0xdf);
	is_int(in(I8042_DATA_PORT), 0xfa, "the LEDs' ACK, from before the snapshot");
	is_int(command(0xd0, -1), 0xdf, "the pending controller command took its data");
	out(I8042_DATA_PORT, 0x01);
	ok(status() & 1, "the keyboard's parameter is ACKed after the restore");

	i8042_get_state(k, &st);
	bad = st;
	bad.count = 17;
	ok(i8042_set_state(k, &bad, &e) == -EINVAL, "count 17 refused");
	err_free(&e);
	bad = st;
	bad.head = 16;
	ok(i8042_set_state(k, &bad, &e) == -EINVAL, "head 16 refused");
	err_free(&e);
	bad = st;
	bad.src[5] = 4;
	ok(i8042_set_state(k, &bad, &e) == -EINVAL, "unknown byte source refused");
	err_free(&e);
	bad = st;
	bad.cmd = 0xaa;
	ok(i8042_set_state(k, &bad, &e) == -EINVAL,
	   "a command that takes no data cannot be pending");
	err_free(&e);
	bad = st;
	bad.pad[2] = 1;
	ok(i8042_set_state(k, &bad, &e) == -EINVAL, "a non-zero reserved byte refused");
	err_free(&e);
	bad = st;
	bad.kbd_cmd = 0xf2;
	ok(i8042_set_state(k, &bad, &e) == -EINVAL, "unknown pending keyboard command refused");
	err_free(&e);
	i8042_get_state(k, &back);
	ok(!memcmp(&st, &back, sizeof(st)), "refused states changed nothing");

	/* A buffer that wraps: bytes 15, 0, 1 of the ring. */
	memset(&st, 0, sizeof(st));
	st.ctr = 0x25;
	st.outp = 0x03;
	st.kbd_enabled = 1;
	st.head = 15;
	st.count = 3;
	st.buf[15] = 0x11, st.buf[0] = 0x22, st.buf[1] = 0x33;
	st.src[15] = st.src[0] = st.src[1] = 1; /* keyboard */
	ok(i8042_set_state(k, &st, &e) == 0, "a wrapping buffer restored");
	irqs = 0;
	i8042_kick(k);
	is_int(irqs, 1, "kick: the waiting keyboard byte gets its edge again");
	ok(in(I8042_DATA_PORT) == 0x11 && in(I8042_DATA_PORT) == 0x22 &&
	       in(I8042_DATA_PORT) == 0x33 && !(status() & 1),
	   "read in order across the wrap, then empty");
}

/*
 * Every command byte, each with data bytes across the range: every state the
 * guest reaches is one a snapshot can carry (set_state takes it back).
 */
static void test_noise(void)
{
	struct i8042_state st;
	struct err *e = NULL;
	unsigned bad = 0;

	fresh();
	for (unsigned c = 0; c < 256; c++) {
		for (unsigned d = 0; d < 256; d += 17) {
			out(I8042_CMD_PORT, (uint8_t)c);
			out(I8042_DATA_PORT, (uint8_t)d);
			out(I8042_DATA_PORT, (uint8_t)d);
			i8042_get_state(k, &st);
			if (i8042_set_state(k, &st, &e) < 0) {
				if (!bad++)
					printf("# after %#x %#x: %s\n", c, d, e->msg);
				err_free(&e);
			}
			if ((c & 7) == 0)
				(void)in(I8042_DATA_PORT);
		}
	}
	is_int(bad, 0, "every state reached is a valid snapshot state");
	ok(resets > 0, "the reset commands were among them (%u resets)", resets);
}

int main(void)
{
	test_controller();
	test_keyboard();
	test_ctrl_alt_del();
	test_reset();
	test_state();
	test_noise();
	i8042_free(k);
	return tap_done();
}
