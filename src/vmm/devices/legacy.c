/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The few legacy PC ports a guest pokes at: the i8042 keyboard controller
 * (devices/i8042.c: IRQ 1, and its reset line is a reboot, handled per
 * --on-reboot),
 * isa-debug-exit at 0xf4 (QEMU's device; the exit status is the value
 * written, not QEMU's (value << 1) | 1),
 * and a CMOS/RTC that reads as zero with a valid, never-updating clock.
 */
#include <string.h>

#include "../snap-format.h"
#include "../vm-internal.h"
#include "i8042.h"

#define DEBUG_EXIT_PORT 0xf4
#define CMOS_PORT	0x70

/* IRQ 1 is an ISA edge: a pulse, one per keyboard byte. */
static void i8042_irq(void *opaque)
{
	struct vm *vm = opaque;

	vm_set_irq_line(vm, I8042_IRQ, true, NULL);
	vm_set_irq_line(vm, I8042_IRQ, false, NULL);
}

static void i8042_reset(void *opaque)
{
	vm_request_reboot(opaque);
}

static int i8042_save(struct vm *vm, struct snap_writer *w, struct err **err)
{
	struct i8042_state st;

	(void)err;
	i8042_get_state(vm->i8042, &st);
	snap_put(w, SNAP_I8042, 0, &st, sizeof(st));
	return 0;
}

/* A snapshot without the section (isola before the keyboard) keeps the power-on state. */
static int i8042_restore(struct vm *vm, const struct snap_reader *r, struct err **err)
{
	struct i8042_state st;
	int ret;

	if (!snap_find(r, SNAP_I8042, 0))
		return 0;
	ret = snap_get(r, SNAP_I8042, 0, &st, sizeof(st), "i8042", err);

	return ret < 0 ? ret : i8042_set_state(vm->i8042, &st, err);
}

static void i8042_state_kick(struct vm *vm)
{
	i8042_kick(vm->i8042);
}

static const struct vm_state_ops i8042_state_ops = {
    .name = "i8042",
    .save = i8042_save,
    .restore = i8042_restore,
    .kick = i8042_state_kick,
};

int vm_send_ctrl_alt_del(struct vm *vm, struct err **err)
{
	return i8042_ctrl_alt_del(vm->i8042, err);
}

static void debug_exit_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	/* Process exit codes are 8 bits. */
	vm_request_stop(opaque, (int)(v & 0xff), NULL);
}

static const struct bus_dev_ops debug_exit_ops = {.write = debug_exit_write};

static void cmos_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct vm *c = opaque;

	memset(data, 0, len);
	if (off == 1 && (c->cmos_index & 0x7f) == 0x0d)
		*(uint8_t *)data = 0x80; /* register D: valid RAM and time */
	else if (off == 1 && (c->cmos_index & 0x7f) == 0x0b)
		*(uint8_t *)data = 0x02; /* register B: 24-hour mode, BCD */
}

static void cmos_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct vm *c = opaque;

	if (off == 0)
		c->cmos_index = *(const uint8_t *)data;
}

static const struct bus_dev_ops cmos_ops = {.read = cmos_read, .write = cmos_write};

int legacy_devices_create(struct vm *vm, struct err **err)
{
	const struct i8042_hooks hooks = {.opaque = vm, .irq = i8042_irq, .reset = i8042_reset};
	int r = i8042_new(&hooks, &vm->i8042, err);

	/* Port 0x61 between the two belongs to the PIT (KVM's, or devices/pit.c). */
	if (r >= 0)
		r = bus_register(&vm->pio, I8042_DATA_PORT, 1, &i8042_data_ops, vm->i8042, err);
	if (r >= 0)
		r = bus_register(&vm->pio, I8042_CMD_PORT, 1, &i8042_cmd_ops, vm->i8042, err);
	if (r >= 0)
		r = vm_state_register(vm, &i8042_state_ops, err);
	if (r >= 0)
		r = bus_register(&vm->pio, DEBUG_EXIT_PORT, 4, &debug_exit_ops, vm, err);
	if (r >= 0)
		r = bus_register(&vm->pio, CMOS_PORT, 2, &cmos_ops, vm, err);
	return r;
}

void legacy_devices_destroy(struct vm *vm)
{
	vm_state_unregister(vm, &i8042_state_ops);
	i8042_free(vm->i8042);
	vm->i8042 = NULL;
}
