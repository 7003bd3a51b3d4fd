/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * An i8042 keyboard controller with an AT keyboard behind it and no AUX
 * (mouse) port: ports 0x60 (data) and 0x64 (status/command), IRQ 1.  Enough
 * for Linux's i8042 and atkbd drivers to bind without a probe timeout, for
 * the control API's SendCtrlAltDel to type Ctrl+Alt+Delete, and for the
 * reset line (0xfe to port 0x64, or bit 0 of the output port cleared).
 * No KVM in here: the VM wires the interrupt and the reset (devices/legacy.c),
 * and a unit test drives the ports directly.
 */
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "err.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT	0x64
#define I8042_IRQ	1
#define I8042_BUF_SIZE	16

/* Both hooks are called with the device's lock held: they must not call back into it. */
struct i8042_hooks {
	void *opaque;
	/* An edge on IRQ 1: a keyboard byte is at the head of the output buffer. */
	void (*irq)(void *opaque);
	/* The guest pulsed the CPU reset line. */
	void (*reset)(void *opaque);
};

struct i8042;

int i8042_new(const struct i8042_hooks *hooks, struct i8042 **ret, struct err **err);
void i8042_free(struct i8042 *k);
extern const struct bus_dev_ops i8042_data_ops; /* port 0x60, opaque: the i8042 */
extern const struct bus_dev_ops i8042_cmd_ops;	/* port 0x64 */

/*
 * Press and release Left Ctrl, Left Alt and Delete, in the scan code set the
 * guest reads (set 2, or set 1 when it turned the controller's translation
 * on).  -EAGAIN unless the guest's driver has enabled the keyboard and its
 * interrupt (not before its probe, nor without a driver), -EBUSY when the
 * output buffer has no room for the whole sequence (the guest stopped
 * reading its keyboard): nothing is queued then.
 */
int i8042_ctrl_alt_del(struct i8042 *k, struct err **err);
/* After a restore: re-raise IRQ 1 if a keyboard byte waits (the edge may be lost). */
void i8042_kick(struct i8042 *k);

/* Snapshot state: every field a byte, checked by i8042_set_state (pad must be 0). */
struct i8042_state {
	uint8_t ctr, outp, cmd, last_cmd_port, kbd_cmd, kbd_enabled, last_read, last_kbd, head,
	    count, pad[6];
	uint8_t buf[I8042_BUF_SIZE], src[I8042_BUF_SIZE];
};
_Static_assert(sizeof(struct i8042_state) == 48, "i8042_state is a snapshot section");

void i8042_get_state(struct i8042 *k, struct i8042_state *st);
/* Load a state (-EINVAL with nothing changed when a field is out of range). */
int i8042_set_state(struct i8042 *k, const struct i8042_state *st, struct err **err);
