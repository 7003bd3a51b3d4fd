/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ACPI tables and the AML emitter without a VM: tables are written into
 * a plain mapping, then found from the RSDP as a guest would, each checked
 * for its signature, length, checksum and content.  When acpica-tools' iasl
 * is installed, every table is also disassembled by it and must not raise
 * an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/aml.h"
#include "boot/boot.h"
#include "tap.h"
#include "vm-internal.h"

#define RAM (2u << 20)

static uint8_t *ram;
static struct guest_mem mem;

static uint8_t sum(const void *p, size_t len)
{
	return (uint8_t)-acpi_checksum(p, len);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The table at gpa if it has signature sig and a valid checksum, else NULL. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t;

	if (gpa < ACPI_AREA_ADDR || gpa + 36 > ACPI_AREA_ADDR + ACPI_AREA_SIZE)
		return NULL;
	t = ram + gpa;
	if (memcmp(t, sig, 4) || get32(t + 4) < 36 || gpa + get32(t + 4) > RAM)
		return NULL;
	return sum(t, get32(t + 4)) == 0 ? t : NULL;
}

/* A guest's search: the first 16-byte aligned "RSD PTR " in 0xe0000-0xfffff. */
static uint64_t find_rsdp(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp(ram + a, "RSD PTR ", 8))
			return a;
	return 0;
}

static int write_tables(const struct acpi_config *c, uint64_t *rsdp)
{
	struct err *err = NULL;
	int r;

	memset(ram, 0, RAM);
	r = acpi_write(&mem, c, rsdp, &err);
	if (err)
		printf("# %s\n", err->msg);
	err_free(&err);
	return r;
}

/* XSDT entry with signature sig. */
static const uint8_t *xsdt_find(const uint8_t *xsdt, const char *sig)
{
	for (uint32_t off = 36; off + 8 <= get32(xsdt + 4); off += 8) {
		const uint8_t *t = table(get64(xsdt + off), sig);

		if (t)
			return t;
	}
	return NULL;
}

static void test_rsdp_xsdt(void)
{
	struct acpi_config c = {.nr_cpus = 1};
	uint64_t rsdp = 0;
	const uint8_t *r, *x;

	ok(write_tables(&c, &rsdp) == 0, "tables written");
	is_int(rsdp, ACPI_AREA_ADDR, "RSDP at 0xe0000");
	is_int(find_rsdp(), rsdp, "found by the BIOS-area scan");
	r = ram + rsdp;
	ok(sum(r, 20) == 0 && sum(r, 36) == 0, "RSDP checksum and extended checksum");
	ok(r[15] == 2 && get32(r + 20) == 36, "RSDP revision 2, length 36");
	x = table(get64(r + 24), "XSDT");
	ok(x != NULL, "XSDT valid");
	ok(x && get32(x + 4) == 36 + 2 * 8, "XSDT lists two tables");
	ok(x && xsdt_find(x, "FACP") && xsdt_find(x, "APIC"), "XSDT -> FADT, MADT");
}

static void test_fadt(void)
{
	struct acpi_config c = {.nr_cpus = 2};
	const uint8_t *f, *x;
	uint64_t rsdp = 0;

	write_tables(&c, &rsdp);
	x = table(get64(ram + rsdp + 24), "XSDT");
	f = x ? xsdt_find(x, "FACP") : NULL;
	ok(f && get32(f + 4) == ACPI_FADT_SIZE && f[8] == 6, "FADT revision 6, 276 bytes");
	if (!f)
		return;
	ok(table(get64(f + 140), "DSDT") && get32(f + 40) == get64(f + 140), "DSDT and X_DSDT");
	ok(get32(f + 36) && !memcmp(ram + get32(f + 36), "FACS", 4) && get32(f + 36) % 64 == 0,
	   "FACS 64-byte aligned");
	is_int(f[46], ACPI_SCI_IRQ, "SCI on IRQ 9");
	is_int(get32(f + 48), 0, "no SMI_CMD: always in ACPI mode");
	is_int(get32(f + 56), ACPI_PM1_EVT_PORT, "PM1a_EVT_BLK");
	is_int(get32(f + 64), ACPI_PM1_CNT_PORT, "PM1a_CNT_BLK");
	ok(f[88] == 4 && f[89] == 2, "PM1 lengths 4 and 2");
	ok(f[148] == 1 && get64(f + 152) == ACPI_PM1_EVT_PORT, "X_PM1a_EVT_BLK in I/O space");
	ok(f[172] == 1 && get64(f + 176) == ACPI_PM1_CNT_PORT, "X_PM1a_CNT_BLK in I/O space");
	ok((get32(f + 112) & (1u << 10)) && !(get32(f + 112) & (1u << 20)),
	   "RESET_REG supported, not hardware-reduced");
	ok(f[116] == 1 && f[117] == 8 && get64(f + 120) == ACPI_RESET_PORT &&
	       f[128] == ACPI_RESET_VALUE,
	   "RESET_REG: byte at the reset port");
	is_int(f[109] | f[110] << 8, 0x6, "IAPC_BOOT_ARCH: an 8042, no VGA");
}

/* The MADT's entries of type t. */
static unsigned madt_count(const uint8_t *m, uint8_t t, const uint8_t **last)
{
	unsigned n = 0;

	for (uint32_t off = 44; off + 2 <= get32(m + 4) && m[off + 1] >= 2; off += m[off + 1])
		if (m[off] == t)
			n++, *last = m + off;
	return n;
}

static void test_madt(void)
{
	static const unsigned cpus[] = {1, 2, 4, 64, ACPI_MAX_CPUS};

	for (unsigned i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		struct acpi_config c = {.nr_cpus = cpus[i], .pic = i % 2 == 0};
		const uint8_t *m, *x, *e = NULL;
		uint64_t rsdp = 0;
		bool ids = true;

		write_tables(&c, &rsdp);
		x = table(get64(ram + rsdp + 24), "XSDT");
		m = x ? xsdt_find(x, "APIC") : NULL;
		ok(m != NULL, "%u vCPUs: MADT valid", cpus[i]);
		if (!m)
			continue;
		ok(get32(m + 36) == VM_LAPIC_ADDR, "LAPIC address");
		is_int(get32(m + 40) & 1, c.pic,
		       "PCAT_COMPAT only with an 8259 (not --irqchip split)");
		is_int(madt_count(m, 0, &e), cpus[i], "one enabled LAPIC per vCPU");
		for (uint32_t off = 44, k = 0; off < get32(m + 4); off += m[off + 1])
			if (m[off] == 0)
				ids &= m[off + 2] == k && m[off + 3] == k && (m[off + 4] & 1), k++;
		ok(ids, "LAPIC UIDs and ids 0..n-1, enabled");
		ok(madt_count(m, 1, &e) == 1 && get32(e + 4) == VM_IOAPIC_ADDR && get32(e + 8) == 0,
		   "one IOAPIC at 0xfec00000, GSI base 0");
		ok(madt_count(m, 2, &e) == 1 && e[3] == 9 && get32(e + 4) == 9 && e[8] == 0x0f,
		   "SCI override: IRQ 9 -> GSI 9, level, active low");
		ok(madt_count(m, 4, &e) == 1 && e[2] == 0xff && e[5] == 1, "LINT1 NMI");
	}
	struct acpi_config c = {.nr_cpus = ACPI_MAX_CPUS + 1};
	uint64_t rsdp = 0;
	ok(write_tables(&c, &rsdp) < 0, "too many vCPUs refused");
	c.nr_cpus = 0;
	ok(write_tables(&c, &rsdp) < 0, "no vCPU refused");
}

static bool contains(const uint8_t *p, size_t len, const void *what, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(p + i, what, n))
			return true;
	return false;
}

static void test_dsdt(void)
{
	struct acpi_config c = {.nr_cpus = 1};
	const uint8_t *x, *f, *d;
	uint64_t rsdp = 0;
	/* Name(\_S5_, Package(4) {5, 5, 0, 0}) */
	static const uint8_t s5[] = {0x08, '\\', '_',  'S',  '5',  '_',	 0x12, 0x08,
				     0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
	static const uint8_t pnp0a08[] = {0x0c, 0x41, 0xd0, 0x0a, 0x08};
	static const uint8_t pnp0303[] = {0x0c, 0x41, 0xd0, 0x03, 0x03};
	static const uint8_t kbd_crs[] = {0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01,
					  0x01, 0x47, 0x01, 0x64, 0x00, 0x64, 0x00,
					  0x01, 0x01, 0x22, 0x02, 0x00, 0x79, 0x00};

	for (int pci = 0; pci < 2; pci++) {
		c.pci = pci;
		c.pci_mmio_base = 0xd0000000;
		c.pci_mmio_end = 0xfdffffff;
		write_tables(&c, &rsdp);
		x = table(get64(ram + rsdp + 24), "XSDT");
		f = x ? xsdt_find(x, "FACP") : NULL;
		d = f ? table(get64(f + 140), "DSDT") : NULL;
		ok(d && d[8] == 2, "pci=%d: DSDT valid, revision 2", pci);
		if (!d)
			continue;
		ok(contains(d, get32(d + 4), s5, sizeof(s5)), "\\_S5_ = {5, 5, 0, 0}");
		ok(contains(d, get32(d + 4), "QEMU0001", 9), "pvpanic device QEMU0001");
		ok(contains(d, get32(d + 4), "\x47\x01\x05\x05\x05\x05\x01\x01", 8),
		   "pvpanic _CRS: port 0x505");
		ok(contains(d, get32(d + 4), pnp0303, sizeof(pnp0303)), "keyboard PNP0303");
		ok(contains(d, get32(d + 4), kbd_crs, sizeof(kbd_crs)),
		   "keyboard _CRS: ports 0x60 and 0x64, IRQ 1");
		is_int(contains(d, get32(d + 4), pnp0a08, sizeof(pnp0a08)), pci,
		       "PCI host bridge PNP0A08 only with virtio-pci");
	}
}

static void test_aml(void)
{
	uint8_t buf[256], pl[4];
	struct aml a;
	size_t m;

	is_int(aml_pkglen_encode(10, pl), 1, "short PkgLength: one byte");
	is_int(pl[0], 11, "counts itself");
	is_int(aml_pkglen_encode(62, pl), 1, "63: still one byte");
	ok(aml_pkglen_encode(63, pl) == 2 && pl[0] == (0x40 | (65 & 0xf)) && pl[1] == 65 >> 4,
	   "64+: two bytes, low nibble first");
	ok(aml_pkglen_encode(5000, pl) == 3 && (pl[0] >> 6) == 2, "three bytes");
	aml_init(&a, buf, sizeof(buf));
	aml_eisaid(&a, "PNP0A03");
	ok(a.len == 5 && !memcmp(buf, "\x0c\x41\xd0\x0a\x03", 5), "EisaId(PNP0A03)");
	aml_init(&a, buf, sizeof(buf));
	aml_int(&a, 0);
	aml_int(&a, 1);
	aml_int(&a, 0x12);
	aml_int(&a, 0x1234);
	aml_int(&a, 0x12345678);
	aml_int(&a, 0x100000000ULL);
	ok(a.len == 1 + 1 + 2 + 3 + 5 + 9 && buf[0] == 0 && buf[1] == 1 && buf[2] == 0x0a &&
	       buf[4] == 0x0b && buf[7] == 0x0c && buf[12] == 0x0e,
	   "integers take the smallest encoding");
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "\\_SB_.PCI0");
	ok(a.len == 10 && !memcmp(buf, "\\\x2e_SB_PCI0", 10), "dual name path");
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "A.B.C");
	ok(a.len == 14 && buf[0] == 0x2f && buf[1] == 3 && !memcmp(buf + 2, "A___", 4),
	   "multi name path, segments padded");
	aml_init(&a, buf, sizeof(buf));
	m = aml_buffer(&a);
	aml_res_end(&a);
	aml_buffer_close(&a, m);
	ok(a.len == 6 && !memcmp(buf, "\x11\x05\x0a\x02\x79\x00", 6),
	   "Buffer: PkgLength, BufferSize, bytes");
	aml_init(&a, buf, sizeof(buf));
	aml_res_irq(&a, 1);
	aml_res_irq(&a, 12);
	ok(a.len == 6 && !memcmp(buf, "\x22\x02\x00\x22\x00\x10", 6), "IRQNoFlags {1}, {12}");
	aml_init(&a, buf, 8);
	m = aml_device(&a, "DEV0");
	aml_string(&a, "a long string that does not fit");
	aml_close(&a, m);
	ok(aml_error(&a) < 0, "overflow reported, not written past the end");
}

/* Each table through acpica-tools' disassembler. */
static void test_iasl(void)
{
	static const char *const sigs[] = {"FACP", "APIC", "DSDT"};
	struct acpi_config c = {
	    .nr_cpus = 4, .pci = true, .pci_mmio_base = 0xd0000000, .pci_mmio_end = 0xfdffffff};
	char dir[] = "/tmp/isola-acpi-XXXXXX", cmd[512];
	const uint8_t *x, *f, *t;
	uint64_t rsdp = 0;

	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		skip("SKIP: iasl (acpica-tools) not installed", "iasl");
		return;
	}
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	write_tables(&c, &rsdp);
	x = table(get64(ram + rsdp + 24), "XSDT");
	f = x ? xsdt_find(x, "FACP") : NULL;
	for (unsigned i = 0; f && i < 3; i++) {
		FILE *out;
		int r;

		t = i == 2 ? table(get64(f + 140), "DSDT") : xsdt_find(x, sigs[i]);
		snprintf(cmd, sizeof(cmd), "%s/%s.dat", dir, sigs[i]);
		out = fopen(cmd, "wb");
		if (!out || !t || fwrite(t, get32(t + 4), 1, out) != 1) {
			ok(0, "write %s", sigs[i]);
			if (out)
				fclose(out);
			continue;
		}
		fclose(out);
		snprintf(cmd, sizeof(cmd),
			 "cd %s && iasl -d %s.dat >%s.log 2>&1 && ! grep -qi 'error' %s.log %s.dsl",
			 dir, sigs[i], sigs[i], sigs[i], sigs[i]);
		r = system(cmd);
		ok(r == 0, "iasl -d %s: no error", sigs[i]);
		if (r != 0) {
			snprintf(cmd, sizeof(cmd), "sed 's/^/# /' %s/%s.log", dir, sigs[i]);
			if (system(cmd) != 0)
				printf("# (no log)\n");
		}
	}
	/* The DSDT recompiles from its disassembly. */
	snprintf(cmd, sizeof(cmd), "cd %s && iasl DSDT.dsl >/dev/null 2>&1", dir);
	ok(system(cmd) == 0, "the DSDT's disassembly compiles again");
	if (getenv("ISOLA_KEEP_ACPI")) { /* for a look at the .dsl files */
		printf("# kept %s\n", dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf --one-file-system %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	ram = calloc(1, RAM);
	if (!ram)
		return 1;
	mem = (struct guest_mem){.regions = {{0, RAM, ram}}, .nr = 1};
	test_aml();
	test_rsdp_xsdt();
	test_fadt();
	test_madt();
	test_dsdt();
	test_iasl();
	free(ram);
	return tap_done();
}
