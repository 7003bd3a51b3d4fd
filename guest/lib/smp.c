/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Application processors: find them (cmdline cpus=N, the ACPI MADT, or the
 * MP table), and start them with INIT-SIPI-SIPI through a real-mode
 * trampoline copied below 1 MiB.  Every table is read from ring 3 through the
 * identity map with its lengths checked against hard caps.
 */
#include "guest.h"

#define MAX_TABLE_LEN 65536
#define ICR_INIT      0x4500  /* INIT, level assert */
#define ICR_SIPI      0x4600  /* start-up, level assert */
#define SIPI_LOW      0x10000 /* trampoline page search range */
#define SIPI_HIGH     0x9f000

extern volatile unsigned guest_online;
extern const char ap_trampoline[], ap_trampoline_end[];

unsigned guest_cpus_online(void)
{
	return __atomic_load_n(&guest_online, __ATOMIC_SEQ_CST);
}

static bool add_id(uint32_t *ids, unsigned *n, unsigned max, uint32_t id)
{
	for (unsigned i = 0; i < *n; i++)
		if (ids[i] == id)
			return true;
	if (*n >= max)
		return false;
	ids[(*n)++] = id;
	return true;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* Finds `sig` (4 bytes, 16-byte aligned) in [start, end). */
static const uint8_t *scan(uint64_t start, uint64_t end, const char *sig)
{
	for (uint64_t a = start; a + 16 <= end; a += 16)
		if (!memcmp((const void *)a, sig, 4))
			return (const uint8_t *)a;
	return NULL;
}

static const uint8_t *find_rsdp(void)
{
	const struct hvm_start_info *si = guest_start_info();
	const uint8_t *p;

	if (si->rsdp_paddr && si->rsdp_paddr < (4ULL << 30) - 36)
		return (const uint8_t *)si->rsdp_paddr;
	for (p = scan(0xe0000, 0x100000, "RSD "); p; p = scan((uint64_t)p + 16, 0x100000, "RSD "))
		if (!memcmp(p + 4, "PTR ", 4) && sum8(p, 20) == 0)
			return p;
	return NULL;
}

static const uint8_t *acpi_table(uint64_t addr, const char *sig)
{
	const uint8_t *t = (const uint8_t *)addr;
	uint32_t len;

	if (!addr || addr >= (4ULL << 30) - MAX_TABLE_LEN || memcmp(t, sig, 4))
		return NULL;
	memcpy(&len, t + 4, 4);
	return len >= 36 && len <= MAX_TABLE_LEN ? t : NULL;
}

static const uint8_t *find_madt(void)
{
	const uint8_t *rsdp = find_rsdp(), *root;
	uint32_t len, rsdt;
	uint64_t xsdt = 0, e;
	unsigned esz;

	if (!rsdp || memcmp(rsdp, "RSD PTR ", 8))
		return NULL;
	memcpy(&rsdt, rsdp + 16, 4);
	if (rsdp[15] >= 2)
		memcpy(&xsdt, rsdp + 24, 8);
	root = xsdt ? acpi_table(xsdt, "XSDT") : acpi_table(rsdt, "RSDT");
	if (!root)
		return NULL;
	esz = xsdt ? 8 : 4;
	memcpy(&len, root + 4, 4);
	for (uint32_t off = 36; off + esz <= len; off += esz) {
		const uint8_t *t;

		e = 0;
		memcpy(&e, root + off, esz);
		t = acpi_table(e, "APIC");
		if (t)
			return t;
	}
	return NULL;
}

static unsigned madt_ids(uint32_t *ids, unsigned max)
{
	const uint8_t *t = find_madt();
	uint32_t len, flags, id;
	unsigned n = 0;

	if (!t)
		return 0;
	memcpy(&len, t + 4, 4);
	for (uint32_t off = 44; off + 2 <= len && t[off + 1] >= 2; off += t[off + 1]) {
		if (off + t[off + 1] > len)
			break;
		if (t[off] == 0 && t[off + 1] >= 8) { /* processor local APIC */
			memcpy(&flags, t + off + 4, 4);
			if ((flags & 1) && !add_id(ids, &n, max, t[off + 3]))
				break;
		} else if (t[off] == 9 && t[off + 1] >= 16) { /* x2APIC */
			memcpy(&id, t + off + 4, 4);
			memcpy(&flags, t + off + 8, 4);
			if ((flags & 1) && !add_id(ids, &n, max, id))
				break;
		}
	}
	return n;
}

static const uint8_t *find_mpf(void)
{
	uint16_t ebda_seg;
	const uint8_t *p = NULL;

	memcpy(&ebda_seg, (const void *)0x40e, 2);
	if (ebda_seg)
		p = scan((uint64_t)ebda_seg << 4, ((uint64_t)ebda_seg << 4) + 1024, "_MP_");
	if (!p)
		p = scan(0x9fc00, 0xa0000, "_MP_");
	if (!p)
		p = scan(0xf0000, 0x100000, "_MP_");
	return p && sum8(p, 16) == 0 ? p : NULL;
}

static unsigned mptable_ids(uint32_t *ids, unsigned max)
{
	const uint8_t *mpf = find_mpf(), *t;
	uint32_t addr;
	uint16_t len, count;
	unsigned n = 0;

	if (!mpf)
		return 0;
	memcpy(&addr, mpf + 4, 4);
	t = (const uint8_t *)(uint64_t)addr;
	if (!addr || addr >= (4U << 30) - MAX_TABLE_LEN || memcmp(t, "PCMP", 4))
		return 0;
	memcpy(&len, t + 4, 2);
	memcpy(&count, t + 34, 2);
	for (uint32_t off = 44, i = 0; i < count && off < len; i++) {
		if (t[off] == 0) { /* processor: 20 bytes, [1] APIC ID, [3] flags */
			if (off + 20 > len)
				break;
			if ((t[off + 3] & 1) && !add_id(ids, &n, max, t[off + 1]))
				break;
			off += 20;
		} else {
			off += 8;
		}
	}
	return n;
}

unsigned guest_cpu_apic_ids(uint32_t *ids, unsigned max, const char **ret_source)
{
	uint64_t cpus;
	unsigned n;

	if (guest_cmdline_u64("cpus", &cpus) == 0) {
		*ret_source = "cmdline";
		n = cpus > max ? max : (unsigned)cpus;
		for (unsigned i = 0; i < n; i++)
			ids[i] = i;
		return n;
	}
	n = madt_ids(ids, max);
	*ret_source = "madt";
	if (!n) {
		n = mptable_ids(ids, max);
		*ret_source = "mptable";
	}
	if (!n) {
		ids[0] = guest_lapic_id();
		*ret_source = "none";
		n = 1;
	}
	return n;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* A RAM page below 1 MiB that holds none of the boot data; 0 if none. */
static uint64_t trampoline_page(void)
{
	const struct hvm_start_info *si = guest_start_info();
	const struct hvm_memmap_entry *m;
	uint64_t cmd_len = guest_strnlen(guest_cmdline(), GUEST_MAX_CMDLINE) + 1;
	unsigned n;

	m = guest_memmap(&n);
	for (uint64_t p = SIPI_LOW; p <= SIPI_HIGH; p += 4096) {
		bool ram = false;

		for (unsigned i = 0; i < n; i++)
			if (m[i].type == E820_RAM && p >= m[i].addr &&
			    p + 4096 <= m[i].addr + m[i].size)
				ram = true;
		if (!ram || overlaps(p, 4096, guest_start_info_pa, sizeof(*si)) ||
		    overlaps(p, 4096, si->cmdline_paddr, cmd_len) ||
		    overlaps(p, 4096, si->memmap_paddr, n * sizeof(*m)) ||
		    overlaps(p, 4096, si->modlist_paddr, si->nr_modules * 32ULL))
			continue;
		return p;
	}
	return 0;
}

/* INIT to all, 10 ms, SIPI to all, 200 us, SIPI again if someone is missing. */
int guest_start_aps(const uint32_t *ids, unsigned n)
{
	uint64_t page = trampoline_page();
	unsigned self = guest_lapic_id(), online = guest_cpus_online();

	if (!page)
		return -2;
	memcpy((void *)page, ap_trampoline, ap_trampoline_end - ap_trampoline);
	for (unsigned i = 0; i < n; i++)
		if (ids[i] != self && guest_lapic_send_ipi(ids[i], ICR_INIT) < 0)
			return -1;
	guest_udelay(10000);
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < n; i++)
			if (ids[i] != self &&
			    guest_lapic_send_ipi(ids[i], ICR_SIPI | (uint32_t)(page >> 12)) < 0)
				return -1;
		guest_udelay(200);
		if (guest_cpus_online() - online >= n - 1)
			break;
	}
	return 0;
}
