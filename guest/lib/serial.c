/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COM1 output.  Every port access is a VM exit (~25 us under PVM), so when
 * the 16550 FIFO is present we poll LSR.THRE once per 16 bytes instead of
 * once per byte.
 */
#include "guest.h"

#define COM1	   0x3f8
#define UART_IER   1
#define UART_FCR   2
#define UART_IIR   2
#define UART_LCR   3
#define UART_LSR   5
#define LSR_THRE   0x20
#define POLL_LIMIT 1000000

static unsigned burst = 1; /* bytes we may write after seeing THRE */
static unsigned budget;

void guest_serial_init(void)
{
	guest_outb(COM1 + UART_IER, 0);
	guest_outb(COM1 + UART_LCR, 0x03); /* 8n1 */
	guest_outb(COM1 + UART_FCR, 0x07); /* enable and clear FIFOs */
	if ((guest_inb(COM1 + UART_IIR) & 0xc0) == 0xc0)
		burst = 16;
}

void guest_putc(char c)
{
	if (budget == 0) {
		/* Bounded: a VMM without a UART must not hang the guest. */
		for (unsigned i = 0; i < POLL_LIMIT; i++)
			if (guest_inb(COM1 + UART_LSR) & LSR_THRE)
				break;
		budget = burst;
	}
	guest_outb(COM1, (uint8_t)c);
	budget--;
}

void guest_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			guest_putc('\r');
		guest_putc(s[i]);
	}
}
