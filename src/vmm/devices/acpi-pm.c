/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ACPI fixed hardware the FADT describes (boot/acpi.c), and pvpanic:
 * - PM1a event block: status (write 1 to clear) and enable, 16 bits each;
 * - PM1a control: SCI_EN always reads set (there is no SMI_CMD, the
 *   platform is always in ACPI mode); SLP_EN with SLP_TYP = S5 (the \_S5
 *   value in the DSDT) powers the VM off: it stops with status 0;
 * - RESET_REG: ACPI_RESET_VALUE reboots (vm_request_reboot);
 * - pvpanic (QEMU's ISA device, port 0x505): reads the features it offers,
 *   and a write with bit 0 (PANICKED) stops the VM as a guest panic.
 * Other sleep states are not offered in the DSDT; a request for one is
 * ignored, as a PM1_CNT write without SLP_EN is.
 */
#include <string.h>

#include "../boot/boot.h"
#include "../vm-internal.h"

#define PM1_STS_MASK	   0x8d31 /* WAK, RTC, SLPBTN, PWRBTN, GBL, BM, TMR status bits */
#define PVPANIC_PANICKED   0x01
#define PVPANIC_CRASH_LOAD 0x02

static uint32_t get_val(const void *data, uint32_t len)
{
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	return v;
}

static void put_val(void *data, uint32_t len, uint32_t v)
{
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

/* off 0-1: PM1_STS, 2-3: PM1_EN; byte and word accesses. */
static void pm1_evt_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct vm *vm = opaque;
	uint32_t v = vm->pm1_sts | (uint32_t)vm->pm1_en << 16;

	put_val(data, len, (uint32_t)(((uint64_t)v) >> (8 * off)));
}

static void pm1_evt_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct vm *vm = opaque;
	uint32_t v = get_val(data, len) << (8 * off);
	uint32_t mask = len >= 4 ? 0xffffffffu : ((1u << (8 * len)) - 1) << (8 * off);

	vm->pm1_sts &= ~(uint16_t)(v & mask & PM1_STS_MASK);
	if (mask >> 16)
		vm->pm1_en = (uint16_t)((vm->pm1_en & ~(mask >> 16)) | ((v & mask) >> 16));
}

static void pm1_cnt_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct vm *vm = opaque;

	put_val(data, len, (uint32_t)(vm->pm1_cnt | ACPI_PM1_SCI_EN) >> (8 * off));
}

static void pm1_cnt_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct vm *vm = opaque;
	uint32_t v = get_val(data, len) << (8 * off);
	uint32_t mask = (len >= 2 ? 0xffffu : 0xffu << (8 * off)) & 0xffff;

	v = (vm->pm1_cnt & ~mask) | (v & mask);
	if ((v & ACPI_PM1_SLP_EN) && ACPI_PM1_SLP_TYP(v) == ACPI_SLP_TYP_S5) {
		vm_request_stop(vm, 0, NULL); /* power off */
		return;
	}
	vm->pm1_cnt = (uint16_t)(v & ~ACPI_PM1_SLP_EN); /* SLP_EN is write-only */
}

static void reset_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	if (off == 0 && (get_val(data, len) & 0xff) == ACPI_RESET_VALUE)
		vm_request_reboot(opaque);
}

static void zero_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
}

static void pvpanic_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	put_val(data, len, PVPANIC_PANICKED | PVPANIC_CRASH_LOAD);
}

static void pvpanic_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	/* CRASH_LOADED alone means a kdump kernel takes over: the guest goes on. */
	if (get_val(data, len) & PVPANIC_PANICKED)
		vm_request_stop(opaque, VMM_EXIT_GUEST_PANIC, NULL);
}

static const struct bus_dev_ops pm1_evt_ops = {.read = pm1_evt_read, .write = pm1_evt_write};
static const struct bus_dev_ops pm1_cnt_ops = {.read = pm1_cnt_read, .write = pm1_cnt_write};
static const struct bus_dev_ops reset_ops = {.read = zero_read, .write = reset_write};
static const struct bus_dev_ops pvpanic_ops = {.read = pvpanic_read, .write = pvpanic_write};

int acpi_pm_create(struct vm *vm, struct err **err)
{
	int r;

	r = bus_register(&vm->pio, ACPI_PVPANIC_PORT, 1, &pvpanic_ops, vm, err);
	if (r < 0 || vm->cfg->no_acpi)
		return r;
	r = bus_register(&vm->pio, ACPI_PM1_EVT_PORT, 4, &pm1_evt_ops, vm, err);
	if (r >= 0)
		r = bus_register(&vm->pio, ACPI_PM1_CNT_PORT, 2, &pm1_cnt_ops, vm, err);
	if (r >= 0)
		r = bus_register(&vm->pio, ACPI_RESET_PORT, 1, &reset_ops, vm, err);
	return r;
}
