/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The 16550A model against a VM shell without KVM (interrupt line changes
 * then fail quietly): transmit to the console fd, divisor latch, IER/IIR,
 * the receive FIFO and its cap, loopback, and register noise; and the replay
 * of KVM's coalesced PIO ring (kvm/coalesced.c), filled here as KVM fills
 * it, onto this port: the one device whose writes a test can read back in
 * order (the VMM coalesces only CONFIG_ADDRESS writes, virtio/setup.c).
 * And a guest's flood of a console: a regular file keeps under its cap with
 * the newest bytes, a pipe takes them all.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdutil.h"
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

#define FLOOD_MAX (64u << 10) /* the cap these tests set (SERIAL_FILE_MAX is 8 MiB) */
#define FLOOD	  (3 * FLOOD_MAX + 1000)

/* The guest's output: text lines whose bytes all differ from their neighbours' places. */
static uint8_t flood_byte(size_t i)
{
	return i % 61 == 60 ? '\n' : (uint8_t)('!' + (i * 7 + i / 61) % 90);
}

/* FLOOD bytes from a guest, a byte a THR write, on a VM of its own whose console is @fd. */
static void flood(struct vm *v, int fd)
{
	struct err *err = NULL;

	v->vm_fd = -1;
	v->console_fd = fd;
	v->console_file_max = FLOOD_MAX;
	if (serial_create(v, &err) < 0)
		abort();
	for (size_t i = 0; i < FLOOD; i++) {
		uint8_t c = flood_byte(i);

		bus_access(&v->pio, 0x3f8, &c, 1, true);
	}
	serial_destroy(v);
}

static void file_cap_tests(void)
{
	static struct vm v;
	static uint8_t got[2 * FLOOD_MAX];
	char path[] = "/tmp/test-vmm-serial-XXXXXX";
	int fd = mkstemp(path), rfd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;
	size_t tail;
	bool same = true;

	/* Opened as run --vm opens console.log (write-only), with a line already in it. */
	if (fd < 0 || rfd < 0 || write(fd, "before\n", 7) != 7)
		abort();
	flood(&v, fd);
	n = pread(rfd, got, sizeof(got), 0);
	if (fstat(fd, &st) < 0)
		abort();
	ok(st.st_size == n && n <= 7 + FLOOD_MAX,
	   "file: %lld bytes after %u from the guest, cap %u", (long long)st.st_size, FLOOD,
	   FLOOD_MAX);
	tail = n > 7 ? (size_t)n - 7 : 0;
	ok(tail >= FLOOD_MAX / 128, "file: at least the ring's %u bytes kept", FLOOD_MAX / 128);
	ok(!memcmp(got, "before\n", 7), "file: what it held before the VM is kept");
	for (size_t i = 0; i < tail && same; i++)
		same = got[7 + i] == flood_byte(FLOOD - tail + i);
	ok(same, "file: it ends with the guest's newest %zu bytes, in order", tail);
	close(fd);
	close(rfd);
	unlink(path);
}

static void pipe_tests(void)
{
	static struct vm v;
	static uint8_t buf[65536];
	int p[2], cnt[2];
	size_t total = 0, bad = 0, have = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || pipe2(cnt, O_CLOEXEC) < 0)
		abort();
	pid = fork();
	if (pid == 0) { /* the reader: counts the bytes and those out of place */
		ssize_t n;

		close(p[1]);
		while ((n = read(p[0], buf, sizeof(buf))) > 0)
			for (ssize_t i = 0; i < n; i++, total++)
				bad += buf[i] != flood_byte(total);
		write_all(cnt[1], &total, sizeof(total));
		write_all(cnt[1], &bad, sizeof(bad));
		_exit(0);
	}
	close(p[0]);
	close(cnt[1]);
	flood(&v, p[1]);
	close(p[1]);
	have = read(cnt[0], &total, sizeof(total)) == sizeof(total) &&
	       read(cnt[0], &bad, sizeof(bad)) == sizeof(bad);
	waitpid(pid, NULL, 0);
	close(cnt[0]);
	ok(have && total == FLOOD && !bad, "pipe: all %zu bytes, in order: never capped", total);
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
	file_cap_tests();
	pipe_tests();

	serial_destroy(&vm);
	close(p[0]);
	close(p[1]);
	return tap_done();
}
