/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The few legacy PC ports a guest pokes at: the i8042 (only its reset line:
 * 0xfe to port 0x64 is a reboot, handled per --on-reboot),
 * isa-debug-exit at 0xf4 (QEMU's device; the exit status is the value
 * written, not QEMU's (value << 1) | 1),
 * and a CMOS/RTC that reads as zero with a valid, never-updating clock.
 */
#include <string.h>

#include "../vm-internal.h"

#define I8042_DATA	0x60
#define I8042_CMD	0x64
#define I8042_RESET	0xfe
#define DEBUG_EXIT_PORT 0xf4
#define CMOS_PORT	0x70

static void i8042_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len); /* no data, input buffer empty */
}

static void i8042_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	if (*(const uint8_t *)data == I8042_RESET)
		vm_request_reboot(opaque);
}

/* Port 0x61 between the two belongs to the PIT (KVM's, or devices/pit.c). */
static const struct bus_dev_ops i8042_data_ops = {.read = i8042_read};
static const struct bus_dev_ops i8042_cmd_ops = {.read = i8042_read, .write = i8042_write};

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
	int r;

	r = bus_register(&vm->pio, I8042_DATA, 1, &i8042_data_ops, vm, err);
	if (r >= 0)
		r = bus_register(&vm->pio, I8042_CMD, 1, &i8042_cmd_ops, vm, err);
	if (r >= 0)
		r = bus_register(&vm->pio, DEBUG_EXIT_PORT, 4, &debug_exit_ops, vm, err);
	if (r >= 0)
		r = bus_register(&vm->pio, CMOS_PORT, 2, &cmos_ops, vm, err);
	return r;
}
