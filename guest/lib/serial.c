/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COM1 output.  Every port access is a VM exit, and under PVM also a ring-0
 * service, so bytes go out in bursts: one LSR.THRE poll, then up to 16
 * bytes (the 16550 FIFO; 1 without it) in one `rep outsb` service call.
 */
#include "guest.h"

#define COM1	   0x3f8
#define UART_IER   1
#define UART_FCR   2
#define UART_IIR   2
#define UART_LCR   3
#define UART_LSR   5
#define LSR_THRE   0x20
#define POLL_LIMIT 100000
#define FIFO_SIZE  16

static unsigned burst = 1; /* bytes we may write after seeing THRE */

void guest_serial_init(void)
{
	guest_outb(COM1 + UART_IER, 0);
	guest_outb(COM1 + UART_LCR, 0x03); /* 8n1 */
	guest_outb(COM1 + UART_FCR, 0x07); /* enable and clear FIFOs */
	if ((guest_inb(COM1 + UART_IIR) & 0xc0) == 0xc0)
		burst = FIFO_SIZE;
}

static void flush(const char *buf, size_t n)
{
	/* Bounded: a VMM without a UART must not hang the guest. */
	for (unsigned i = 0; i < POLL_LIMIT; i++)
		if (guest_inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	if (!guest_io_direct) {
		guest_sys_serial_write(buf, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		outb(COM1, (uint8_t)buf[i]);
}

void guest_write(const char *s, size_t n)
{
	char buf[FIFO_SIZE];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			buf[k++] = '\r';
			if (k == burst) {
				flush(buf, k);
				k = 0;
			}
		}
		buf[k++] = s[i];
		if (k == burst) {
			flush(buf, k);
			k = 0;
		}
	}
	if (k)
		flush(buf, k);
}

void guest_putc(char c)
{
	guest_write(&c, 1);
}
