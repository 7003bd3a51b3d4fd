/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The runtime of isola's freestanding test guests.  Everything here runs in
 * ring 3 with interrupts enabled: the identity-mapped MMIO windows (LAPIC,
 * IOAPIC, virtio-mmio) are directly usable, port I/O goes through
 * guest_inb() & co., the few privileged operations through guest_sys_*().
 *
 * A guest provides `int main(void)`; its return value becomes the exit code
 * (written to the isa-debug-exit port 0xf4, so the VMM exits with
 * (code << 1) | 1).  Exit codes 64 + N mean "CPU exception N".
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "start-info.h"
#include "x86.h"

#define GUEST_EXIT_PORT	     0xf4
#define GUEST_EXIT_EXCEPTION 64	 /* + vector */
#define GUEST_EXIT_BAD_BOOT  125 /* no usable start_info */
#define GUEST_EXIT_BAD_ARG   126 /* malformed cmdline value */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int main(void);
/* Runs on each application processor in ring 3 (weak default: park). */
void guest_ap_main(unsigned cpu);

/* lib/start.c */
_Noreturn void guest_exit(int code);

/* lib/io.c: port I/O, direct with IOPL=3, else through int3 (PVM). */
extern bool guest_io_direct;
void guest_io_init(void);
uint8_t guest_inb(uint16_t port);
void guest_outb(uint16_t port, uint8_t v);
uint16_t guest_inw(uint16_t port);
void guest_outw(uint16_t port, uint16_t v);
uint32_t guest_inl(uint16_t port);
void guest_outl(uint16_t port, uint32_t v);

/* lib/serial.c: COM1 at 0x3f8, polled. */
void guest_serial_init(void);
void guest_putc(char c);
void guest_write(const char *s, size_t n);

/* lib/printf.c: %s %c %d %u %x %p with l/ll/z, '0' and width. */
int guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* lib/string.c (also the memcpy & co. the compiler may call). */
size_t guest_strnlen(const char *s, size_t max);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* lib/bootinfo.c: what the VMM handed over. */
#define GUEST_MAX_MEMMAP  128
#define GUEST_MAX_CMDLINE 4096
extern uint64_t guest_start_info_pa;
extern char __image_start[], __image_end[], __bss_start[], __bss_end[];
const struct hvm_start_info *guest_start_info(void); /* NULL if the magic is wrong */
const char *guest_cmdline(void);		     /* "" when there is none */
/* The memmap, at most GUEST_MAX_MEMMAP entries; 0 entries when version < 1. */
const struct hvm_memmap_entry *guest_memmap(unsigned *ret_n);
/* Highest RAM address + 1 according to the memmap. */
uint64_t guest_ram_end(void);

/* lib/cmdline.c: whitespace-separated key=value words. */
bool guest_cmdline_has(const char *key);
/* 0 ok, -1 key absent (ret untouched), exits GUEST_EXIT_BAD_ARG on a malformed number. */
int guest_cmdline_u64(const char *key, uint64_t *ret);
uint64_t guest_cmdline_u64_or(const char *key, uint64_t def, uint64_t max);
/* Copies the value (NUL-terminated, truncated to size); -1 when absent. */
int guest_cmdline_str(const char *key, char *buf, size_t size);

/* lib/sys.c: ring-0 services and interrupt bookkeeping. */
void guest_sys_wait(void);
uint64_t guest_sys_rdmsr(uint32_t msr);
void guest_sys_wrmsr(uint32_t msr, uint64_t v);
_Noreturn void guest_sys_halt(void);
void guest_sys_flush_tlb(void);
/* Writes n (<= 4096) bytes to COM1 with one `rep outsb`, no LSR polling. */
void guest_sys_serial_write(const char *buf, size_t n);
/* Interrupts taken per vector (all, and those that interrupted ring 3). */
extern volatile uint64_t guest_irq_count[256];
extern volatile uint64_t guest_irq_user_count[256];
/* Spins in ring 3 until `vector` was taken `n` times in all; false after timeout_us. */
bool guest_irq_wait(uint8_t vector, uint64_t n, uint64_t timeout_us);
/* Non-zero: ring 0 does not EOI this vector, ring 3 must call guest_lapic_eoi(). */
extern volatile uint8_t guest_irq_no_eoi[256];

/* lib/time.c: TSC-based delays (frequency from CPUID, else assumed high). */
uint64_t guest_tsc_khz(void);
uint64_t guest_now_us(void);
void guest_udelay(uint64_t us);

/* lib/apic.c: the local APIC and IOAPIC through their user mappings. */
#define LAPIC_ID	 0x20
#define LAPIC_EOI	 0xb0
#define LAPIC_SVR	 0xf0
#define LAPIC_ICR_LO	 0x300
#define LAPIC_ICR_HI	 0x310
#define LAPIC_LVT_TIMER	 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR	 0x390
#define LAPIC_TIMER_DIV	 0x3e0
uint32_t guest_lapic_read(uint32_t reg);
void guest_lapic_write(uint32_t reg, uint32_t v);
void guest_lapic_enable(void);
unsigned guest_lapic_id(void);
void guest_lapic_eoi(void);
/* Starts a periodic timer on `vector` with the given initial count (divide by 16). */
void guest_lapic_timer_periodic(uint8_t vector, uint32_t count);
void guest_lapic_timer_stop(void);
/* Waits for the ICR delivery-status bit; -1 on timeout. */
int guest_lapic_send_ipi(unsigned apic_id, uint32_t icr_lo);
unsigned guest_ioapic_pins(void);
/* Routes IOAPIC pin `pin` to `vector` on the boot CPU, edge/high, or masks it. */
void guest_ioapic_route(unsigned pin, uint8_t vector, bool level);
void guest_ioapic_mask(unsigned pin);

/* lib/smp.c */
/* APIC IDs of the CPUs from the MADT or MP table (cmdline cpus=N wins); returns the count. */
unsigned guest_cpu_apic_ids(uint32_t *ids, unsigned max, const char **ret_source);
/* Starts every CPU in ids[] except the caller with INIT-SIPI-SIPI. */
int guest_start_aps(const uint32_t *ids, unsigned n);
/* Number of CPUs (boot CPU included) that reached ring 3. */
unsigned guest_cpus_online(void);
