/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The 16550A model against a VM shell without KVM (interrupt line changes
 * then fail quietly): transmit to the console fd, divisor latch, IER/IIR,
 * the receive FIFO and its cap, loopback, and register noise; and the replay
 * of KVM's coalesced PIO ring (kvm/coalesced.c), filled here as KVM fills
 * it, onto this port: the one device whose writes a test can read back in
 * order (the VMM coalesces only CONFIG_ADDRESS writes, virtio/setup.c).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "vm-internal.h"

static struct vm vm;

static void out(uint16_t port, uint8_t v)
{
	bus_access(&vm.pio, port, &v, 1, true);
}

static uint8_t in(uint16_t port)
{
	uint8_t v = 0;

	bus_access(&vm.pio, port, &v, 1, false);
	return v;
}

/* Append a one-byte port write to the ring, as KVM does. */
static void ring_put(struct kvm_coalesced_mmio_ring *ring, unsigned max, uint16_t port, uint8_t v)
{
	struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->last];

	memset(e, 0, sizeof(*e));
	e->phys_addr = port;
	e->len = 1;
	e->pio = 1;
	e->data[0] = v;
	ring->last = (ring->last + 1) % max;
}

static void ring_tests(int rfd)
{
	static _Alignas(4096) uint8_t page[4096];
	struct kvm_coalesced_mmio_ring *ring = (struct kvm_coalesced_mmio_ring *)page;
	unsigned max = (sizeof(page) - sizeof(*ring)) / sizeof(ring->coalesced_mmio[0]);
	uint8_t buf[64];

	vm.coalesced_ring = ring;
	ring->first = ring->last = max - 2; /* the writes wrap around the ring's end */
	for (const char *c = "hello"; *c; c++)
		ring_put(ring, max, 0x3f8, (uint8_t)*c);
	kvm_coalesced_drain(&vm);
	ok(read(rfd, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5),
	   "ring: the writes reach the console in order, across the wrap");
	ok(ring->first == ring->last && ring->first == 3, "ring: consumed up to `last`");
	is_int((int)vm.coalesced_writes, 5, "ring: five writes replayed");

	out(0x3fb, 0x80); /* DLAB: a coalesced write to 0x3f8 is then the divisor's low byte */
	ring_put(ring, max, 0x3f8, 0x30);
	kvm_coalesced_drain(&vm);
	out(0x3fb, 0x03);
	out(0x3fb, 0x80);
	ok(in(0x3f8) == 0x30, "ring: a write replayed under DLAB sets the divisor");
	out(0x3fb, 0x03);
	ok(read(rfd, buf, sizeof(buf)) < 0, "ring: nor is it output");

	ring->coalesced_mmio[ring->last].len = 200; /* longer than the entry's data */
	ring->coalesced_mmio[ring->last].phys_addr = 0x3f8;
	ring->coalesced_mmio[ring->last].pio = 1;
	ring->coalesced_mmio[ring->last].data[0] = 'w';
	ring->last = (ring->last + 1) % max;
	kvm_coalesced_drain(&vm);
	ok(read(rfd, buf, sizeof(buf)) == 1 && buf[0] == 'w', "ring: a length is capped at 8");

	ring->first = max + 7; /* indexes out of the ring are not followed */
	ring->last = 1;
	kvm_coalesced_drain(&vm);
	ok(read(rfd, buf, sizeof(buf)) < 0, "ring: an index past the ring replays nothing");
	vm.coalesced_ring = NULL;
}

int main(void)
{
	struct err *err = NULL;
	uint8_t buf[128];
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return 1;
	vm.vm_fd = -1;
	vm.console_fd = p[1];
	ok(serial_create(&vm, &err) == 0, "COM1 registered");

	ok(in(0x3fd) & 0x60, "LSR: transmitter empty");
	out(0x3f8, 'x');
	ok(read(p[0], buf, sizeof(buf)) == 1 && buf[0] == 'x', "THR reaches the console");

	out(0x3fb, 0x80); /* DLAB */
	out(0x3f8, 0x0c);
	out(0x3f9, 0x01);
	ok(in(0x3f8) == 0x0c && in(0x3f9) == 0x01, "divisor latch");
	ok(read(p[0], buf, sizeof(buf)) < 0, "divisor writes are not output");
	out(0x3fb, 0x03);

	is_int(in(0x3fa) & 0x0f, 0x01, "IIR: nothing pending");
	out(0x3f9, 0x02); /* THRI */
	is_int(in(0x3fa) & 0x0f, 0x02, "IIR: THR empty after enabling THRI");
	is_int(in(0x3fa) & 0x0f, 0x01, "reading IIR clears THRI");

	out(0x3f9, 0x01); /* RDI */
	is_int(serial_input(vm.serial, (const uint8_t *)"ab", 2), 2, "two bytes in");
	ok(in(0x3fd) & 0x01, "LSR: data ready");
	is_int(in(0x3fa) & 0x0f, 0x04, "IIR: receive data");
	ok(in(0x3f8) == 'a' && in(0x3f8) == 'b', "bytes in order");
	ok(!(in(0x3fd) & 0x01), "FIFO empty");
	is_int(in(0x3f8), 0, "reading an empty FIFO gives 0");

	memset(buf, 'z', sizeof(buf));
	is_int(serial_input(vm.serial, buf, sizeof(buf)), 64, "FIFO capped at 64 bytes");
	is_int(serial_rx_space(vm.serial), 0, "no space left");
	out(0x3fa, 0x02); /* FCR: clear receive FIFO */
	is_int(serial_rx_space(vm.serial), 64, "FCR clears the FIFO");

	out(0x3fc, 0x10); /* loopback */
	out(0x3f8, 'L');
	ok(in(0x3f8) == 'L', "loopback returns the byte");
	ok(read(p[0], buf, sizeof(buf)) < 0, "loopback bytes are not output");
	out(0x3fc, 0x00);

	out(0x3ff, 0x5a);
	is_int(in(0x3ff), 0x5a, "scratch register");
	uint32_t wide = 0xffffffff;
	ok(bus_access(&vm.pio, 0x3f8, &wide, 4, false), "a 4-byte read is answered");
	ok(!bus_access(&vm.pio, 0x3ff, &wide, 2, false), "a read crossing the end is unmapped");

	ring_tests(p[0]);

	serial_destroy(&vm);
	close(p[0]);
	close(p[1]);
	return tap_done();
}
