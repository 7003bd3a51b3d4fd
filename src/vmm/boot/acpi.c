/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ACPI tables (ACPI 6.5) written by the host into the BIOS area at 0xe0000,
 * where Linux also scans for "RSD PTR " when the boot protocol does not pass
 * the RSDP.  A full (not hardware-reduced) FADT: the guest has a PIC, an
 * IOAPIC, a PIT and an RTC, and stock kernels handle that platform through
 * the PM1 fixed registers with an SCI; power-off is SLP_TYP=S5 | SLP_EN in
 * PM1a_CNT and reboot the RESET_REG, both ports of devices/acpi-pm.c.
 *
 *   RSDP -> XSDT -> FADT -> FACS, DSDT
 *                -> MADT (one LAPIC per vCPU, the IOAPIC, SCI override, LINT1 NMI;
 *                         PCAT_COMPAT unless --irqchip split, which has no 8259)
 *
 * One function per table, each returning the table's guest address; the
 * checksum is set last so each table sums to zero.
 */
#include <errno.h>
#include <string.h>

#include "../vm-internal.h"
#include "aml.h"
#include "boot.h"

struct __attribute__((packed)) acpi_header {
	char sig[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
};

struct __attribute__((packed)) acpi_rsdp {
	char sig[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum, reserved[3];
};

/* Generic Address Structure. */
struct __attribute__((packed)) acpi_gas {
	uint8_t space, bit_width, bit_offset, access_size;
	uint64_t address;
};

struct __attribute__((packed)) acpi_fadt {
	struct acpi_header h;
	uint32_t facs, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr, gpe0, gpe1;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_len, gpe1_len, gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_facs, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt, x_pm2_cnt, x_pm_tmr, x_gpe0,
	    x_gpe1, sleep_control, sleep_status;
	uint64_t hypervisor_id;
};

struct __attribute__((packed)) acpi_facs {
	char sig[4];
	uint32_t length, hw_signature, waking_vector, global_lock, flags;
	uint64_t x_waking_vector;
	uint8_t version, reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
};

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_fadt) == ACPI_FADT_SIZE, "FADT (ACPI 6.5)");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");

#define FADT_WBINVD	   (1u << 0)
#define FADT_PROC_C1	   (1u << 2)
#define FADT_SLP_BUTTON	   (1u << 5) /* no sleep button */
#define FADT_RESET_REG_SUP (1u << 10)
#define BOOT_ARCH_8042	   (1u << 1)
#define BOOT_ARCH_NO_VGA   (1u << 2)
#define MADT_PCAT_COMPAT   1u
#define MADT_ENABLED	   1u
#define MADT_SCI_FLAGS	   0x000f /* active low, level triggered */
#define GAS_SYSTEM_IO	   1
#define GAS_ACCESS_BYTE	   1
#define GAS_ACCESS_WORD	   2
#define GAS_ACCESS_DWORD   3

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return (uint8_t)-s;
}

/* A bump allocator over the ACPI area of guest memory. */
struct acpi_area {
	struct guest_mem *mem;
	uint64_t next, end;
};

static void *area_alloc(struct acpi_area *a, size_t len, size_t align, uint64_t *ret_gpa)
{
	uint64_t at = (a->next + align - 1) & ~(uint64_t)(align - 1);
	void *p;

	if (at + len > a->end || !(p = guest_mem_ptr(a->mem, at, len)))
		return NULL;
	memset(p, 0, len);
	a->next = at + len;
	*ret_gpa = at;
	return p;
}

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->sig, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, "ISOLA ", 6);
	memcpy(h->oem_table_id, "ISOLAVM ", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "ISLA", 4);
	h->creator_revision = 1;
}

static void finish(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

static int facs_write(struct acpi_area *a, uint64_t *ret)
{
	struct acpi_facs *f = area_alloc(a, sizeof(*f), 64, ret);

	if (!f)
		return -ENOSPC;
	memcpy(f->sig, "FACS", 4);
	f->length = sizeof(*f);
	f->version = 2;
	return 0;
}

/* The DSDT's body: \_S5 for power-off, the PCI host bridge, the pvpanic device. */
static void dsdt_body(struct aml *m, const struct acpi_config *c)
{
	size_t scope, dev, pkg, buf;

	aml_name(m, "\\_S5_");
	pkg = aml_package(m, 4); /* SLP_TYPa, SLP_TYPb, reserved, reserved */
	aml_int(m, ACPI_SLP_TYP_S5);
	aml_int(m, ACPI_SLP_TYP_S5);
	aml_int(m, 0);
	aml_int(m, 0);
	aml_close(m, pkg);

	scope = aml_scope(m, "\\_SB_");
	if (c->pci) {
		/* Linux scans PCI only below a host bridge it finds in the namespace. */
		dev = aml_device(m, "PCI0");
		aml_name(m, "_HID");
		aml_eisaid(m, "PNP0A08");
		aml_name(m, "_CID");
		aml_eisaid(m, "PNP0A03");
		aml_name(m, "_SEG");
		aml_int(m, 0);
		aml_name(m, "_BBN");
		aml_int(m, 0);
		aml_name(m, "_UID");
		aml_int(m, 0);
		aml_name(m, "_CRS");
		buf = aml_buffer(m);
		aml_res_word_bus(m, 0, 0);
		aml_res_io(m, 0xcf8, 8);
		aml_res_word_io(m, 0x0000, 0x0cf7);
		aml_res_word_io(m, 0x0d00, 0xffff);
		aml_res_dword_mem(m, c->pci_mmio_base, c->pci_mmio_end);
		aml_res_end(m);
		aml_buffer_close(m, buf);
		aml_close(m, dev);
	}
	/*
	 * The i8042's keyboard (devices/i8042.c): Linux finds it through PNP0303 and skips the
	 * AUX port, which has no PNP0F13 here.
	 */
	dev = aml_device(m, "KBD_");
	aml_name(m, "_HID");
	aml_eisaid(m, "PNP0303");
	aml_name(m, "_CRS");
	buf = aml_buffer(m);
	aml_res_io(m, 0x60, 1);
	aml_res_io(m, 0x64, 1);
	aml_res_irq(m, 1);
	aml_res_end(m);
	aml_buffer_close(m, buf);
	aml_close(m, dev);
	/* QEMU's pvpanic ISA device: Linux's pvpanic driver binds QEMU0001. */
	dev = aml_device(m, "PEVT");
	aml_name(m, "_HID");
	aml_string(m, "QEMU0001");
	aml_name(m, "_CRS");
	buf = aml_buffer(m);
	aml_res_io(m, ACPI_PVPANIC_PORT, 1);
	aml_res_end(m);
	aml_buffer_close(m, buf);
	aml_close(m, dev);
	aml_close(m, scope);
}

static int dsdt_write(struct acpi_area *a, const struct acpi_config *c, uint64_t *ret)
{
	uint8_t body[ACPI_DSDT_MAX];
	struct acpi_header *h;
	struct aml m;

	aml_init(&m, body, sizeof(body));
	dsdt_body(&m, c);
	if (aml_error(&m) < 0)
		return -ENOSPC;
	h = area_alloc(a, sizeof(*h) + m.len, 16, ret);
	if (!h)
		return -ENOSPC;
	header(h, "DSDT", sizeof(*h) + m.len, 2); /* revision 2: 64-bit integers */
	memcpy(h + 1, body, m.len);
	finish(h);
	return 0;
}

static struct acpi_gas io_gas(uint16_t port, uint8_t bits, uint8_t access)
{
	return (struct acpi_gas){
	    .space = GAS_SYSTEM_IO, .bit_width = bits, .access_size = access, .address = port};
}

static int fadt_write(struct acpi_area *a, uint64_t facs, uint64_t dsdt, uint64_t *ret)
{
	struct acpi_fadt *f = area_alloc(a, sizeof(*f), 16, ret);

	if (!f)
		return -ENOSPC;
	header(&f->h, "FACP", sizeof(*f), 6);
	f->minor_version = 5;
	f->facs = facs;
	f->dsdt = dsdt;
	f->x_dsdt = dsdt;
	f->sci_int = ACPI_SCI_IRQ;
	/* SMI_CMD 0: the platform is always in ACPI mode, SCI_EN reads as set. */
	f->pm1a_evt = ACPI_PM1_EVT_PORT;
	f->pm1a_cnt = ACPI_PM1_CNT_PORT;
	f->pm1_evt_len = 4;
	f->pm1_cnt_len = 2;
	f->x_pm1a_evt = io_gas(ACPI_PM1_EVT_PORT, 32, GAS_ACCESS_WORD);
	f->x_pm1a_cnt = io_gas(ACPI_PM1_CNT_PORT, 16, GAS_ACCESS_WORD);
	f->p_lvl2_lat = 101;  /* > 100: no C2 */
	f->p_lvl3_lat = 1001; /* > 1000: no C3 */
	f->century = 0x32;
	f->iapc_boot_arch = BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA;
	f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP;
	f->reset_reg = io_gas(ACPI_RESET_PORT, 8, GAS_ACCESS_BYTE);
	f->reset_value = ACPI_RESET_VALUE;
	memcpy(&f->hypervisor_id, "ISOLA\0\0\0", 8);
	finish(&f->h);
	return 0;
}

static int madt_write(struct acpi_area *a, const struct acpi_config *c, uint64_t *ret)
{
	uint32_t len = sizeof(struct acpi_header) + 8 + 8 * c->nr_cpus + 12 + 10 + 6;
	struct acpi_header *h = area_alloc(a, len, 16, ret);
	uint8_t *p;
	uint32_t v;

	if (!h)
		return -ENOSPC;
	header(h, "APIC", len, 5);
	p = (uint8_t *)(h + 1);
	v = VM_LAPIC_ADDR;
	memcpy(p, &v, 4);
	v = c->pic ? MADT_PCAT_COMPAT : 0;
	memcpy(p + 4, &v, 4);
	p += 8;
	for (unsigned i = 0; i < c->nr_cpus; i++, p += 8) {
		/* Processor Local APIC: type 0, length 8, UID, APIC id, flags. */
		uint8_t e[8] = {0, 8, (uint8_t)i, (uint8_t)i, MADT_ENABLED, 0, 0, 0};

		memcpy(p, e, 8);
	}
	/* I/O APIC: type 1, length 12, id (after the LAPICs, as in the MP table), address, GSI 0.
	 */
	uint8_t io[12] = {1, 12, (uint8_t)c->nr_cpus, 0};
	v = VM_IOAPIC_ADDR;
	memcpy(io + 4, &v, 4);
	memcpy(p, io, 12);
	p += 12;
	/*
	 * Interrupt source override: the SCI (ISA IRQ 9 -> GSI 9) is level,
	 * active low.  ISA IRQ 0 stays on pin 0, where KVM's default routing
	 * and our PIT wire it, so it needs no override.
	 */
	uint8_t iso[10] = {2, 10, 0, ACPI_SCI_IRQ, ACPI_SCI_IRQ, 0, 0, 0, MADT_SCI_FLAGS, 0};
	memcpy(p, iso, 10);
	p += 10;
	/* Local APIC NMI: every processor (UID 0xff), LINT1. */
	uint8_t nmi[6] = {4, 6, 0xff, 0, 0, 1};
	memcpy(p, nmi, 6);
	finish(h);
	return 0;
}

static int xsdt_write(struct acpi_area *a, const uint64_t *tables, unsigned n, uint64_t *ret)
{
	uint32_t len = sizeof(struct acpi_header) + 8 * n;
	struct acpi_header *h = area_alloc(a, len, 16, ret);

	if (!h)
		return -ENOSPC;
	header(h, "XSDT", len, 1);
	memcpy(h + 1, tables, 8 * n);
	finish(h);
	return 0;
}

static int rsdp_write(struct acpi_area *a, uint64_t xsdt, uint64_t *ret)
{
	struct acpi_rsdp *r = area_alloc(a, sizeof(*r), 16, ret);

	if (!r)
		return -ENOSPC;
	memcpy(r->sig, "RSD PTR ", 8);
	memcpy(r->oem_id, "ISOLA ", 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt = xsdt;
	r->checksum = acpi_checksum(r, 20); /* the ACPI 1.0 part */
	r->ext_checksum = acpi_checksum(r, sizeof(*r));
	return 0;
}

int acpi_write(struct guest_mem *mem, const struct acpi_config *c, uint64_t *ret_rsdp,
	       struct err **err)
{
	struct acpi_area a = {mem, ACPI_AREA_ADDR + 64, ACPI_AREA_ADDR + ACPI_AREA_SIZE};
	struct acpi_area rsdp_area = {mem, ACPI_AREA_ADDR, ACPI_AREA_ADDR + 64};
	uint64_t facs, dsdt, tables[2], xsdt, rsdp;
	int r;

	if (c->nr_cpus == 0 || c->nr_cpus > ACPI_MAX_CPUS)
		return err_make(err, EINVAL, "ACPI: %u vCPUs is not within 1..%d", c->nr_cpus,
				ACPI_MAX_CPUS);
	r = facs_write(&a, &facs);
	if (r >= 0)
		r = dsdt_write(&a, c, &dsdt);
	if (r >= 0)
		r = fadt_write(&a, facs, dsdt, &tables[0]);
	if (r >= 0)
		r = madt_write(&a, c, &tables[1]);
	if (r >= 0)
		r = xsdt_write(&a, tables, 2, &xsdt);
	/* The RSDP first in the area, on the 16-byte boundary guests scan. */
	if (r >= 0)
		r = rsdp_write(&rsdp_area, xsdt, &rsdp);
	if (r < 0)
		return err_make(err, -r, "ACPI tables do not fit in guest memory at %#llx",
				(unsigned long long)ACPI_AREA_ADDR);
	*ret_rsdp = rsdp;
	return 0;
}
