/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-rng test guest: asks the device twice for `bytes=N` (default 64)
 * random bytes and checks they came back, are not all zero and differ.
 * With `irq`, the device's IOAPIC pin is routed to a vector and the used
 * buffer must also raise an interrupt with InterruptStatus bit 0.  With
 * `pci msix`, the queue gets an MSI-X vector instead (no ISR bit needed).
 * `hold=US` waits after the device (and its interrupt) is set up (vdrv_hold).
 * Exit codes: 0 ok, 1 no device, 2 negotiation refused, 3 queue, 4 timeout,
 * 5 short or bad data, 6 no interrupt.
 */
#include "virtio-drv.h"

#define VIRTIO_ID_RNG 4
#define MAX_BYTES     4096

#define VEC_VIRTIO 0x41

static uint8_t buf[2][MAX_BYTES];

/* The used-buffer interrupt arrived and InterruptStatus says so; then ack it. */
static int check_irq(struct vdrv_dev *d)
{
	uint64_t end = guest_now_us() + 2000000;
	uint32_t isr;

	while (!guest_irq_count[VEC_VIRTIO] && guest_now_us() < end)
		cpu_relax();
	isr = vdrv_isr_ack(d);
	guest_ioapic_mask(d->irq);
	guest_printf("virtio-rng: %lu interrupt(s) on vector %#x, InterruptStatus %#x\n",
		     (unsigned long)guest_irq_count[VEC_VIRTIO], VEC_VIRTIO, isr);
	return guest_irq_count[VEC_VIRTIO] && (isr & 1) ? 0 : 6;
}

/*
 * One message per used buffer is sent (2), but two edge messages for one
 * vector coalesce when the second arrives before the first is taken (as on
 * hardware, and likely with an asynchronous irqfd): at least one is required.
 */
static int check_msix(void)
{
	uint64_t end = guest_now_us() + 2000000;

	while (!guest_irq_count[VEC_VIRTIO] && guest_now_us() < end)
		cpu_relax();
	guest_udelay(100000);
	guest_printf("virtio-rng: %lu MSI-X interrupt(s) on vector %#x\n",
		     (unsigned long)guest_irq_count[VEC_VIRTIO], VEC_VIRTIO);
	return guest_irq_count[VEC_VIRTIO] ? 0 : 6;
}

int main(void)
{
	uint64_t n = guest_cmdline_u64_or("bytes", 64, MAX_BYTES);
	bool irq = guest_cmdline_has("irq"), msix = guest_cmdline_has("msix");
	struct vdrv_dev d;
	struct vdrv_queue q;
	int64_t got[2];
	unsigned nonzero = 0;

	if (vdrv_find(VIRTIO_ID_RNG, 0, &d) < 0) {
		guest_printf("virtio-rng: no device (cmdline \"%s\")\n", guest_cmdline());
		return 1;
	}
	guest_printf("virtio-rng: device at %#lx irq %u%s\n",
		     (unsigned long)(d.pci ? d.common : d.base), d.irq,
		     d.pci ? " (virtio-pci)" : "");
	if (msix && !d.pci)
		return 1;
	if (vdrv_init(&d, 0) < 0)
		return 2;
	if (vdrv_queue_setup(&d, 0, &q) < 0)
		return 3;
	vdrv_driver_ok(&d);
	if (irq || msix)
		guest_lapic_enable();
	if (irq)
		guest_ioapic_route(d.irq, VEC_VIRTIO, false);
	if (msix)
		vpci_msix_route(&d, 0, 1, VEC_VIRTIO);
	vdrv_hold("virtio-rng");
	for (unsigned i = 0; i < 2; i++) {
		struct vdrv_buf b = {buf[i], (uint32_t)n, true};

		got[i] = vdrv_submit(&q, &b, 1, 2000000);
		if (got[i] < 0) {
			guest_printf("virtio-rng: timeout\n");
			return 4;
		}
	}
	for (unsigned i = 0; i < n; i++)
		nonzero += buf[0][i] != 0;
	guest_printf("virtio-rng: got %d + %d bytes, %u non-zero\n", (int)got[0], (int)got[1],
		     nonzero);
	if (got[0] != (int64_t)n || got[1] != (int64_t)n || !nonzero || !memcmp(buf[0], buf[1], n))
		return 5;
	if (irq && check_irq(&d))
		return 6;
	if (msix && check_msix())
		return 6;
	guest_printf("virtio-rng: ok\n");
	return 0;
}
