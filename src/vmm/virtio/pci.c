/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The modern virtio-pci transport (virtio 1.2 section 4.1): one PCI function
 * per device, vendor 0x1af4, device 0x1040 + virtio id, revision 1, and one
 * 4 KiB 64-bit memory BAR holding everything:
 *
 *   0x000 common configuration	    0x400 notify: queue q at 0x400 + 4 * q
 *   0x100 ISR status (read clears)  0x800 MSI-X table (one vector per queue + 1)
 *   0x200 device configuration	    0xc00 MSI-X pending bits
 *
 * Notifications are ioeventfds on the notify addresses when KVM offers them,
 * else the write exit kicks the worker.  Interrupts are MSI-X messages sent
 * through an irqfd per vector on a GSI with an MSI route once the driver
 * enables MSI-X (KVM_SIGNAL_MSI without irqfds), else INTA# as an edge on the
 * device's IOAPIC pin (irqfd or KVM_IRQ_LINE), which the MP table routes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "snap-format.h"
#include "cleanup.h"
#include "log.h"
#include "pci/pci.h"
#include "virtio-internal.h"
#include "vm.h"

#define BAR_SIZE       0x1000
#define COMMON_OFF     0x000
#define COMMON_LEN     0x38
#define ISR_OFF	       0x100
#define DEVCFG_OFF     0x200
#define DEVCFG_MAX     0x200
#define NOTIFY_OFF     0x400
#define NOTIFY_MUL     4
#define MSIX_TABLE_OFF 0x800
#define MSIX_PBA_OFF   0xc00
#define MSIX_VECTORS   (VIRTIO_MAX_QUEUES + 1)
#define NO_VECTOR      0xffff

#define VIRTIO_PCI_VENDOR 0x1af4
#define CAP_COMMON	  1
#define CAP_NOTIFY	  2
#define CAP_ISR		  3
#define CAP_DEVICE	  4
#define CAP_PCI_CFG	  5

#define MSIX_CTRL_ENABLE   0x8000
#define MSIX_CTRL_FUNCMASK 0x4000
#define MSIX_ENTRY_MASKED  1

/* Common configuration fields (section 4.1.4.3). */
enum {
	CC_DFSELECT = 0x00,
	CC_DF = 0x04,
	CC_GFSELECT = 0x08,
	CC_GF = 0x0c,
	CC_MSIX_CONFIG = 0x10,
	CC_NUM_QUEUES = 0x12,
	CC_STATUS = 0x14,
	CC_CFG_GENERATION = 0x15,
	CC_Q_SELECT = 0x16,
	CC_Q_SIZE = 0x18,
	CC_Q_MSIX = 0x1a,
	CC_Q_ENABLE = 0x1c,
	CC_Q_NOFF = 0x1e,
	CC_Q_DESC = 0x20,
	CC_Q_AVAIL = 0x28,
	CC_Q_USED = 0x30,
};

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev *vdev;
	struct vm *vm;
	uint64_t base;
	uint32_t gsi;
	int irq_fd; /* INTx irqfd, or -1: KVM_IRQ_LINE */
	unsigned msix_cap, cfg_cap;
	/* Under the device lock: */
	uint32_t dfselect, gfselect;
	uint16_t queue_sel, config_vector, queue_vector[VIRTIO_MAX_QUEUES];
	uint16_t signalled_used[VIRTIO_MAX_QUEUES];
	bool config_signalled; /* a config message went out (kept for the snapshot format) */
	bool msix_enabled, msix_masked, intx_disabled; /* mirrored from config space */
	bool decode;			/* atomic: BAR 0 live (memory enabled, at its address) */
	uint32_t msix[MSIX_VECTORS][4]; /* addr lo, addr hi, data, control */
	uint64_t pba;
	int msi_fd[MSIX_VECTORS]; /* irqfd per vector, or -1: KVM_SIGNAL_MSI */
	uint32_t msi_gsi[MSIX_VECTORS];
	bool msi_stale[MSIX_VECTORS]; /* entry changed since its route was set */
};

struct __attribute__((packed)) virtio_pci_cap {
	uint8_t id, next, len, cfg_type, bar, cap_id, pad[2];
	uint32_t offset, length;
};

struct __attribute__((packed)) virtio_pci_notify_cap {
	struct virtio_pci_cap cap;
	uint32_t notify_off_multiplier;
};

struct __attribute__((packed)) virtio_pci_cfg_cap {
	struct virtio_pci_cap cap;
	uint8_t data[4]; /* pci_cfg_data: the window onto the BAR */
};

struct __attribute__((packed)) msix_cap {
	uint8_t id, next;
	uint16_t ctrl;
	uint32_t table, pba; /* offset | BAR index 0 */
};

/* Device lock held: send vector v now, or mark it pending while masked. */
static void msix_send(struct virtio_pci *p, uint16_t v)
{
	_cleanup_err_ struct err *err = NULL;
	const uint32_t *e;
	uint64_t one = 1;

	if (v >= MSIX_VECTORS)
		return;
	e = p->msix[v];
	if (p->msix_masked || (e[3] & MSIX_ENTRY_MASKED)) {
		p->pba |= 1ull << v;
		return;
	}
	p->pba &= ~(1ull << v);
	if (p->msi_fd[v] < 0) {
		if (vm_signal_msi(p->vm, e[0] | (uint64_t)e[1] << 32, e[2], &err) < 0)
			log_warn_ratelimited("virtio-%s: %s", p->vdev->ops->name, err->msg);
		return;
	}
	/* Routes change rarely: update on the first message after a table write. */
	if (p->msi_stale[v] &&
	    vm_msi_route_set(p->vm, p->msi_gsi[v], e[0] | (uint64_t)e[1] << 32, e[2], &err) < 0) {
		log_warn_ratelimited("virtio-%s: %s", p->vdev->ops->name, err->msg);
		return;
	}
	p->msi_stale[v] = false;
	if (write(p->msi_fd[v], &one, sizeof(one)) < 0)
		log_warn_ratelimited("virtio-%s: MSI irqfd: %m", p->vdev->ops->name);
}

static void intx_pulse(struct virtio_pci *p)
{
	_cleanup_err_ struct err *err = NULL;
	uint64_t one = 1;

	if (p->intx_disabled)
		return;
	if (p->irq_fd >= 0) {
		if (write(p->irq_fd, &one, sizeof(one)) < 0)
			log_warn_ratelimited("virtio-%s: irqfd: %m", p->vdev->ops->name);
		return;
	}
	if (vm_set_irq_line(p->vm, p->gsi, true, &err) < 0 ||
	    vm_set_irq_line(p->vm, p->gsi, false, &err) < 0)
		log_warn_ratelimited("virtio-%s: %s", p->vdev->ops->name, err->msg);
}

/*
 * The core raised ISR bits (device lock held).  With MSI-X, each queue whose
 * used index moved since its last message gets its own vector, and each
 * config change (a new capacity or balloon target, needs-reset) a message on
 * the config vector: the ISR's config bit stays set under MSI-X (the driver
 * does not read it), so it cannot say whether this change was signalled.
 */
static void pci_interrupt(struct virtio_dev *vdev, uint32_t bits)
{
	struct virtio_pci *p = vdev->transport;

	if (!p->msix_enabled) {
		intx_pulse(p);
		return;
	}
	if (bits & VIRTIO_ISR_CONFIG) {
		p->config_signalled = true;
		msix_send(p, p->config_vector);
	}
	for (unsigned q = 0; q < vdev->ops->n_queues; q++) {
		struct virtq *vq = &vdev->vq[q];

		if (!vq->ready || vq->used_idx == p->signalled_used[q])
			continue;
		p->signalled_used[q] = vq->used_idx;
		msix_send(p, p->queue_vector[q]);
	}
}

static void transport_reset(struct virtio_pci *p)
{
	p->dfselect = p->gfselect = p->queue_sel = 0;
	p->config_vector = NO_VECTOR;
	p->config_signalled = false;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		p->queue_vector[q] = NO_VECTOR;
		p->signalled_used[q] = 0;
		p->vdev->vq[q].size = q < p->vdev->ops->n_queues ? VIRTQ_MAX_SIZE : 0;
	}
}

static struct virtq *selected_queue(struct virtio_pci *p)
{
	return p->queue_sel < p->vdev->ops->n_queues ? &p->vdev->vq[p->queue_sel] : NULL;
}

static void put(uint8_t *r, unsigned off, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		r[off + i] = v >> (8 * i);
}

/* The common configuration as the driver would see it now (device lock held). */
static void common_snapshot(struct virtio_pci *p, uint8_t r[COMMON_LEN])
{
	struct virtio_dev *vdev = p->vdev;
	struct virtq *vq = selected_queue(p);

	memset(r, 0, COMMON_LEN);
	put(r, CC_DFSELECT, p->dfselect, 4);
	put(r, CC_DF, p->dfselect < 2 ? vdev->features >> (32 * p->dfselect) : 0, 4);
	put(r, CC_GFSELECT, p->gfselect, 4);
	put(r, CC_GF, p->gfselect < 2 ? vdev->driver_features >> (32 * p->gfselect) : 0, 4);
	put(r, CC_MSIX_CONFIG, p->config_vector, 2);
	put(r, CC_NUM_QUEUES, vdev->ops->n_queues, 2);
	put(r, CC_STATUS, __atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST), 1);
	put(r, CC_CFG_GENERATION, vdev->config_generation, 1);
	put(r, CC_Q_SELECT, p->queue_sel, 2);
	if (!vq)
		return;
	put(r, CC_Q_SIZE, vq->size, 2);
	put(r, CC_Q_MSIX, p->queue_vector[p->queue_sel], 2);
	put(r, CC_Q_ENABLE, vq->ready, 2);
	put(r, CC_Q_NOFF, p->queue_sel, 2);
	put(r, CC_Q_DESC, vq->desc_gpa, 8);
	put(r, CC_Q_AVAIL, vq->avail_gpa, 8);
	put(r, CC_Q_USED, vq->used_gpa, 8);
}

/* A 32-bit half or the whole of a 64-bit register. */
static void set_part(uint64_t *reg, unsigned off, uint64_t v, unsigned len)
{
	if (len == 8)
		*reg = v;
	else if (off % 8)
		*reg = (*reg & 0xffffffffull) | v << 32;
	else
		*reg = (*reg & ~0xffffffffull) | v;
}

static uint16_t valid_vector(uint64_t v)
{
	return v < MSIX_VECTORS ? v : NO_VECTOR;
}

static void queue_write(struct virtio_pci *p, unsigned off, uint64_t v, unsigned len)
{
	struct virtq *vq = selected_queue(p);

	if (!vq)
		return;
	if (off == CC_Q_MSIX && len == 2) {
		p->queue_vector[p->queue_sel] = valid_vector(v);
		return;
	}
	if (vq->ready) /* only the vector may change on a live queue */
		return;
	if (off == CC_Q_SIZE && len == 2)
		vq->size = v && v <= VIRTQ_MAX_SIZE && !(v & (v - 1)) ? v : 0;
	else if (off == CC_Q_ENABLE && len == 2 && v == 1) {
		if (!virtio_dev_queue_enable(p->vdev, p->queue_sel))
			virtio_dev_needs_reset(p->vdev);
		p->signalled_used[p->queue_sel] = 0;
	} else if (off >= CC_Q_DESC && off < CC_Q_DESC + 8 && (len == 4 || len == 8))
		set_part(&vq->desc_gpa, off, v, len);
	else if (off >= CC_Q_AVAIL && off < CC_Q_AVAIL + 8 && (len == 4 || len == 8))
		set_part(&vq->avail_gpa, off, v, len);
	else if (off >= CC_Q_USED && off < COMMON_LEN && (len == 4 || len == 8))
		set_part(&vq->used_gpa, off, v, len);
}

/* Device lock held; off is naturally aligned for len. */
static void common_write(struct virtio_pci *p, unsigned off, uint64_t v, unsigned len)
{
	struct virtio_dev *vdev = p->vdev;

	if (off == CC_DFSELECT && len == 4) {
		p->dfselect = v;
	} else if (off == CC_GFSELECT && len == 4) {
		p->gfselect = v;
	} else if (off == CC_GF && len == 4) {
		if (p->gfselect < 2 && !(vdev->status & VIRTIO_STATUS_FEATURES_OK))
			set_part(&vdev->driver_features, p->gfselect * 4, v, 4);
	} else if (off == CC_MSIX_CONFIG && len == 2) {
		p->config_vector = valid_vector(v);
	} else if (off == CC_STATUS && len == 1) {
		virtio_dev_set_status(vdev, v);
		if (v == 0)
			transport_reset(p);
	} else if (off == CC_Q_SELECT && len == 2) {
		p->queue_sel = v;
	} else {
		queue_write(p, off, v, len);
	}
}

static bool aligned(uint64_t off, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4 || len == 8) && off % len == 0;
}

static void devcfg_access(struct virtio_dev *vdev, uint64_t off, void *data, uint32_t len,
			  bool is_write)
{
	if (off > vdev->config_len || len > vdev->config_len - off) {
		if (!is_write)
			memset(data, 0, len);
	} else if (!is_write) {
		memcpy(data, (const uint8_t *)vdev->config + off, len);
	} else if (vdev->ops->config_write) {
		vdev->ops->config_write(vdev, off, data, len);
	}
}

/* MSI-X table and PBA, device lock held. */
static void msix_access(struct virtio_pci *p, uint64_t off, void *data, uint32_t len, bool is_write)
{
	unsigned v = (off - MSIX_TABLE_OFF) / 16, word = (off % 16) / 4;

	if (off >= MSIX_PBA_OFF) {
		if (!is_write)
			memcpy(data, (const uint8_t *)&p->pba + (off - MSIX_PBA_OFF), len);
		return;
	}
	if (len != 4 || v >= MSIX_VECTORS)
		return;
	if (!is_write) {
		memcpy(data, &p->msix[v][word], 4);
		return;
	}
	memcpy(&p->msix[v][word], data, 4);
	if (word < 3)
		p->msi_stale[v] = true;
	if (word == 3 && !(p->msix[v][3] & MSIX_ENTRY_MASKED) && (p->pba & (1ull << v)))
		msix_send(p, v); /* unmasked with a message pending */
}

static void bar_access(struct virtio_pci *p, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct virtio_dev *vdev = p->vdev;
	uint8_t snap[COMMON_LEN];
	uint64_t v = 0;

	if (!is_write)
		memset(data, 0, len);
	if (off < COMMON_LEN) {
		if (!is_write) {
			common_snapshot(p, snap);
			memcpy(data, snap + off, len);
			return;
		}
		memcpy(&v, data, len);
		common_write(p, off, v, len);
	} else if (off == ISR_OFF && len == 1 && !is_write) {
		*(uint8_t *)data = __atomic_exchange_n(&vdev->isr, 0, __ATOMIC_SEQ_CST);
	} else if (off >= DEVCFG_OFF && off < DEVCFG_OFF + DEVCFG_MAX) {
		devcfg_access(vdev, off - DEVCFG_OFF, data, len, is_write);
	} else if (off >= MSIX_TABLE_OFF && off < MSIX_PBA_OFF + 8) {
		msix_access(p, off, data, len, is_write);
	}
}

/* An aligned access inside the BAR, from the MMIO bus or the PCI cfg window. */
static void bar_rw(struct virtio_pci *p, uint64_t off, void *data, uint32_t len, bool is_write)
{
	if (is_write && off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_MUL * VIRTIO_MAX_QUEUES) {
		virtio_dev_kick(p->vdev, (off - NOTIFY_OFF) / NOTIFY_MUL); /* no ioeventfd here */
		return;
	}
	pthread_mutex_lock(&p->vdev->lock);
	bar_access(p, off, data, len, is_write);
	pthread_mutex_unlock(&p->vdev->lock);
}

static void pci_bar_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct virtio_pci *p = opaque;

	if (!aligned(off, len) || !__atomic_load_n(&p->decode, __ATOMIC_ACQUIRE))
		memset(data, 0xff, len);
	else
		bar_rw(p, off, data, len, false);
}

static void pci_bar_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct virtio_pci *p = opaque;

	if (aligned(off, len) && __atomic_load_n(&p->decode, __ATOMIC_ACQUIRE))
		bar_rw(p, off, (void *)data, len, true);
}

static const struct bus_dev_ops bar_ops = {
    .read = pci_bar_read,
    .write = pci_bar_write,
};

/*
 * VIRTIO_PCI_CAP_PCI_CFG (section 4.1.4.9): an access to pci_cfg_data is one
 * of cap.length (1, 2 or 4) bytes at cap.offset in cap.bar; anything else is
 * ignored.  Bus lock held; the BAR access takes the device lock as usual.
 */
static void cfg_window(struct virtio_pci *p, uint32_t off, uint32_t len, bool is_write)
{
	struct virtio_pci_cfg_cap c;

	memcpy(&c, p->pci.cfg + p->cfg_cap, sizeof(c));
	if (off >= p->cfg_cap + sizeof(c) || off + len <= p->cfg_cap + sizeof(c.cap) ||
	    c.cap.bar != 0 || (c.cap.length != 1 && c.cap.length != 2 && c.cap.length != 4) ||
	    c.cap.offset % c.cap.length || c.cap.offset >= BAR_SIZE)
		return;
	bar_rw(p, c.cap.offset, p->pci.cfg + p->cfg_cap + sizeof(c.cap), c.cap.length, is_write);
}

static void cfg_read(struct pci_dev *d, uint32_t off, uint32_t len)
{
	cfg_window(d->opaque, off, len, false);
}

/*
 * Config space changed (PCI bus lock held): mirror BAR decoding and the
 * interrupt controls, so the BAR and interrupt paths never read config space.
 */
static void mirror_cfg(struct virtio_pci *p, bool send_pending)
{
	struct pci_dev *d = &p->pci;
	uint16_t ctrl = pci_dev_cfg16(d, p->msix_cap + 2);
	bool was_masked;

	__atomic_store_n(&p->decode, pci_dev_bar_live(d, 0), __ATOMIC_RELEASE);
	pthread_mutex_lock(&p->vdev->lock);
	was_masked = p->msix_masked;
	p->msix_enabled = ctrl & MSIX_CTRL_ENABLE;
	p->msix_masked = ctrl & MSIX_CTRL_FUNCMASK;
	p->intx_disabled = pci_dev_cfg16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
	if (send_pending && was_masked && !p->msix_masked)
		for (unsigned v = 0; v < MSIX_VECTORS; v++)
			if (p->pba & (1ull << v))
				msix_send(p, v);
	pthread_mutex_unlock(&p->vdev->lock);
}

static void cfg_written(struct pci_dev *d, uint32_t off, uint32_t len)
{
	mirror_cfg(d->opaque, true);
	cfg_window(d->opaque, off, len, true);
}

static int add_virtio_cap(struct pci_dev *d, uint8_t type, uint32_t off, uint32_t len)
{
	struct virtio_pci_notify_cap c = {
	    .cap = {.id = PCI_CAP_ID_VNDR, .cfg_type = type, .offset = off, .length = len},
	    .notify_off_multiplier = NOTIFY_MUL,
	};
	uint8_t size = type == CAP_NOTIFY ? sizeof(c) : sizeof(c.cap);

	c.cap.len = size;
	return pci_dev_add_cap(d, &c, size);
}

/* The PCI cfg access capability; bar, offset, length and the data are writable. */
static int add_cfg_window_cap(struct pci_dev *d)
{
	struct virtio_pci_cfg_cap c = {
	    .cap = {.id = PCI_CAP_ID_VNDR, .len = sizeof(c), .cfg_type = CAP_PCI_CFG}};
	int r = pci_dev_add_cap(d, &c, sizeof(c));

	if (r < 0)
		return r;
	d->wmask[r + offsetof(struct virtio_pci_cap, bar)] = 0xff;
	memset(d->wmask + r + offsetof(struct virtio_pci_cap, offset), 0xff, 8);
	memset(d->wmask + r + sizeof(c.cap), 0xff, sizeof(c.data));
	return r;
}

static int build_config_space(struct virtio_pci *p)
{
	struct virtio_dev *vdev = p->vdev;
	struct msix_cap m = {.id = PCI_CAP_ID_MSIX,
			     .ctrl = MSIX_VECTORS - 1,
			     .table = MSIX_TABLE_OFF,
			     .pba = MSIX_PBA_OFF};
	int r;

	/* Class "other" (0xff): Linux binds virtio-pci by vendor and device ID. */
	pci_dev_init(&p->pci, VIRTIO_PCI_VENDOR, 0x1040 + vdev->ops->device_id, 0xff0000, 1);
	p->pci.cfg[PCI_SUBSYSTEM_VENDOR] = VIRTIO_PCI_VENDOR & 0xff;
	p->pci.cfg[PCI_SUBSYSTEM_VENDOR + 1] = VIRTIO_PCI_VENDOR >> 8;
	p->pci.cfg[PCI_SUBSYSTEM_ID] = 0x40; /* >= 0x40: not a transitional device */
	pci_dev_set_bar64(&p->pci, 0, p->base, BAR_SIZE);
	pci_dev_set_intx(&p->pci, p->gsi);
	if (add_virtio_cap(&p->pci, CAP_COMMON, COMMON_OFF, COMMON_LEN) < 0 ||
	    add_virtio_cap(&p->pci, CAP_NOTIFY, NOTIFY_OFF, NOTIFY_MUL * vdev->ops->n_queues) < 0 ||
	    add_virtio_cap(&p->pci, CAP_ISR, ISR_OFF, 1) < 0 ||
	    (vdev->config_len &&
	     add_virtio_cap(&p->pci, CAP_DEVICE, DEVCFG_OFF, vdev->config_len) < 0))
		return -ENOSPC;
	r = pci_dev_add_cap(&p->pci, &m, sizeof(m));
	if (r < 0)
		return r;
	p->msix_cap = r;
	p->pci.wmask[r + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCMASK) >> 8;
	r = add_cfg_window_cap(&p->pci);
	if (r < 0)
		return r;
	p->cfg_cap = r;
	p->pci.cfg_written = cfg_written;
	p->pci.cfg_read = cfg_read;
	p->pci.opaque = p;
	return 0;
}

/* ioeventfd per queue on its notify address (any width); false: the write exit. */
static bool setup_ioeventfds(struct virtio_pci *p)
{
	struct virtio_dev *vdev = p->vdev;

	for (unsigned q = 0; q < vdev->ops->n_queues; q++) {
		_cleanup_err_ struct err *err = NULL;
		uint64_t addr = p->base + NOTIFY_OFF + NOTIFY_MUL * q;

		if (vm_ioeventfd(p->vm, addr, 0, false, 0, vdev->kick_fd[q], &err) < 0) {
			log_debug("virtio-%s: no ioeventfd (%s): notifications by MMIO exit",
				  vdev->ops->name, err->msg);
			return false;
		}
	}
	log_debug("virtio-%s: notifications by ioeventfd", vdev->ops->name);
	return true;
}

static int setup_intx(struct virtio_pci *p, struct err **err)
{
	_cleanup_err_ struct err *e = NULL;
	_cleanup_close_ int fd = eventfd(0, EFD_CLOEXEC);

	if (fd < 0)
		return err_make(err, errno, "eventfd");
	if (vm_irqfd(p->vm, fd, p->gsi, &e) < 0) {
		log_debug("virtio-%s: no irqfd (%s): INTx by KVM_IRQ_LINE", p->vdev->ops->name,
			  e->msg);
		return 0;
	}
	p->irq_fd = TAKE_FD(fd);
	return 0;
}

/* An irqfd on its own MSI-routed GSI per vector; all or none (KVM_SIGNAL_MSI). */
static void setup_msi_irqfds(struct virtio_pci *p)
{
	_cleanup_err_ struct err *err = NULL;
	unsigned v;

	for (v = 0; v < MSIX_VECTORS; v++) {
		p->msi_fd[v] = eventfd(0, EFD_CLOEXEC);
		if (p->msi_fd[v] < 0 || vm_msi_route_alloc(p->vm, &p->msi_gsi[v], &err) < 0 ||
		    vm_irqfd(p->vm, p->msi_fd[v], p->msi_gsi[v], &err) < 0)
			break;
		p->msi_stale[v] = true;
	}
	if (v == MSIX_VECTORS) {
		log_debug("virtio-%s: MSI-X by irqfd on GSIs %u-%u", p->vdev->ops->name,
			  p->msi_gsi[0], p->msi_gsi[MSIX_VECTORS - 1]);
		return;
	}
	log_debug("virtio-%s: MSI-X by KVM_SIGNAL_MSI (%s)", p->vdev->ops->name,
		  err ? err->msg : "eventfd failed");
	for (v = 0; v < MSIX_VECTORS; v++)
		virtio_close_fd(&p->msi_fd[v]);
}

int virtio_pci_attach(struct vm *vm, struct pci_bus *bus, struct virtio_dev *vdev,
		      struct virtio_pci **ret, struct err **err)
{
	_cleanup_free_ struct virtio_pci *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return err_make(err, ENOMEM, "virtio-%s", vdev->ops->name);
	if (vdev->config_len > DEVCFG_MAX || vdev->ops->n_queues > VIRTIO_MAX_QUEUES)
		return err_make(err, E2BIG, "virtio-%s: too big for the PCI BAR layout",
				vdev->ops->name);
	p->vdev = vdev;
	p->vm = vm;
	p->irq_fd = -1;
	for (unsigned v = 0; v < MSIX_VECTORS; v++) {
		p->msix[v][3] = MSIX_ENTRY_MASKED;
		p->msi_fd[v] = -1;
	}
	transport_reset(p);
	r = vm_alloc_mmio(vm, BAR_SIZE, &p->base, &p->gsi, err);
	if (r >= 0 && build_config_space(p) < 0)
		r = err_make(err, ENOSPC, "capabilities do not fit in config space");
	if (r >= 0)
		r = setup_intx(p, err);
	if (r < 0)
		return err_wrap(err, "virtio-%s", vdev->ops->name);
	vdev->transport = p;
	vdev->interrupt = pci_interrupt;
	r = bus_register(vm_mmio_bus(vm), p->base, BAR_SIZE, &bar_ops, p, err);
	if (r >= 0)
		r = pci_bus_add(bus, &p->pci, err);
	if (r < 0) {
		virtio_close_fd(&p->irq_fd);
		return err_wrap(err, "virtio-%s", vdev->ops->name);
	}
	setup_ioeventfds(p);
	setup_msi_irqfds(p);
	log_debug("virtio-%s: PCI 00:%02x.0, BAR0 %#llx, INTA# on GSI %u", vdev->ops->name,
		  p->pci.slot, (unsigned long long)p->base, p->gsi);
	*ret = TAKE_PTR(p);
	return 0;
}

void virtio_pci_intx(const struct virtio_pci *p, unsigned *slot, uint32_t *gsi)
{
	*slot = p->pci.slot;
	*gsi = p->gsi;
}

void virtio_pci_detach(struct virtio_pci *p)
{
	if (!p)
		return;
	virtio_close_fd(&p->irq_fd);
	for (unsigned v = 0; v < MSIX_VECTORS; v++)
		virtio_close_fd(&p->msi_fd[v]);
	free(p);
}

_Static_assert(sizeof(struct virtio_pci_state) == 392, "virtio_pci_state has no padding");
_Static_assert(MSIX_VECTORS == VIRTIO_MAX_QUEUES + 1, "the state's MSI-X table");

/*
 * The function's state.  MSI routes are not saved: they follow from the
 * table, and each vector's route is set again on its first message after a
 * restore (msi_stale), as after a table write.  A message already sent is in
 * the LAPIC state; one held back by a mask is a pending bit.
 */
int virtio_pci_save(struct virtio_pci *p, struct snap_writer *w, uint32_t index, struct err **err)
{
	struct virtio_pci_state st;

	(void)err;
	memset(&st, 0, sizeof(st));
	st.base = p->base;
	st.gsi = p->gsi;
	st.slot = p->pci.slot;
	pthread_mutex_lock(&p->vdev->lock);
	memcpy(st.cfg, p->pci.cfg, sizeof(st.cfg));
	st.dfselect = p->dfselect;
	st.gfselect = p->gfselect;
	st.queue_sel = p->queue_sel;
	st.config_vector = p->config_vector;
	memcpy(st.queue_vector, p->queue_vector, sizeof(st.queue_vector));
	memcpy(st.signalled_used, p->signalled_used, sizeof(st.signalled_used));
	st.config_signalled = p->config_signalled;
	memcpy(st.msix, p->msix, sizeof(st.msix));
	st.pba = p->pba;
	pthread_mutex_unlock(&p->vdev->lock);
	snap_put(w, SNAP_VIRTIO_PCI, index, &st, sizeof(st));
	return 0;
}

static bool vector_ok(uint16_t v)
{
	return v < MSIX_VECTORS || v == NO_VECTOR;
}

/* What the guest could not have written: the place, vectors, pending bits. */
static int check_state(const struct virtio_pci *p, const struct virtio_pci_state *st,
		       struct err **err)
{
	bool ok =
	    vector_ok(st->config_vector) && st->config_signalled <= 1 && !(st->pba >> MSIX_VECTORS);

	if (st->base != p->base || st->gsi != p->gsi || st->slot != p->pci.slot)
		return err_make(err, EINVAL,
				"at 00:%02x.0 BAR %#llx GSI %u, this VM has it at 00:%02x.0 BAR "
				"%#llx GSI %u",
				st->slot, (unsigned long long)st->base, st->gsi, p->pci.slot,
				(unsigned long long)p->base, p->gsi);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		ok = ok && vector_ok(st->queue_vector[q]);
	if (!ok)
		return err_make(err, EINVAL, "MSI-X vector or pending bits out of range");
	return 0;
}

/* Before the vCPUs run: nothing else touches the function meanwhile. */
int virtio_pci_restore(struct virtio_pci *p, const struct snap_reader *r, uint32_t index,
		       struct err **err)
{
	struct virtio_pci_state st;
	unsigned off;
	int ret = snap_get(r, SNAP_VIRTIO_PCI, index, &st, sizeof(st), "virtio-pci", err);

	if (ret >= 0)
		ret = check_state(p, &st, err);
	if (ret >= 0 && pci_dev_load_cfg(&p->pci, st.cfg, &off) < 0)
		ret = err_make(err, EINVAL, "config space byte %#x is read-only and differs", off);
	if (ret < 0)
		return err_wrap(err, "virtio-pci %u (%s)", index, p->vdev->ops->name);
	pthread_mutex_lock(&p->vdev->lock);
	p->dfselect = st.dfselect;
	p->gfselect = st.gfselect;
	p->queue_sel = st.queue_sel; /* any value: selected_queue() checks it */
	p->config_vector = st.config_vector;
	memcpy(p->queue_vector, st.queue_vector, sizeof(p->queue_vector));
	memcpy(p->signalled_used, st.signalled_used, sizeof(p->signalled_used));
	p->config_signalled = st.config_signalled;
	memcpy(p->msix, st.msix, sizeof(p->msix));
	p->pba = st.pba;
	for (unsigned v = 0; v < MSIX_VECTORS; v++)
		p->msi_stale[v] = true;
	pthread_mutex_unlock(&p->vdev->lock);
	mirror_cfg(p, false);
	return 0;
}

/*
 * After a restore: one interrupt per live queue's vector (INTx with the
 * queue ISR bit without MSI-X), whether or not the guest is owed one.  A
 * message the source sent through an irqfd right before the pause may not
 * have reached the saved LAPIC state (irqfd injection can be deferred to a
 * kernel worker); a driver that waits for it would wait for ever.  Drivers
 * take spurious interrupts (they look at the used ring).
 */
void virtio_pci_notify_all(struct virtio_pci *p)
{
	struct virtio_dev *vdev = p->vdev;

	if (!(__atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST) & VIRTIO_STATUS_DRIVER_OK))
		return;
	pthread_mutex_lock(&vdev->lock);
	if (!p->msix_enabled) {
		__atomic_or_fetch(&vdev->isr, VIRTIO_ISR_QUEUE, __ATOMIC_SEQ_CST);
		intx_pulse(p);
	} else {
		for (unsigned q = 0; q < vdev->ops->n_queues; q++)
			if (vdev->vq[q].ready)
				msix_send(p, p->queue_vector[q]);
	}
	pthread_mutex_unlock(&vdev->lock);
}
