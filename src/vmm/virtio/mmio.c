/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The virtio-mmio transport, version 2 only (virtio 1.2 section 4.2.2).
 * Registers are 32-bit wide and 32-bit aligned; the device config space at
 * 0x100 takes 8/16/32-bit accesses.  QueueNotify is an ioeventfd when KVM
 * offers one (no exit to user space), else the write exit kicks the worker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "snap-format.h"
#include "cleanup.h"
#include "log.h"
#include "virtio-internal.h"
#include "vm.h"

#define MMIO_SIZE    0x1000
#define MMIO_MAGIC   0x74726976 /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR  0x4c4f5349 /* "ISOL" */
#define MMIO_CONFIG  0x100

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_SHM_LEN_LOW = 0x0b0,
	REG_SHM_LEN_HIGH = 0x0b4,
	REG_SHM_BASE_LOW = 0x0b8,
	REG_SHM_BASE_HIGH = 0x0bc,
	REG_CONFIG_GENERATION = 0x0fc,
};

struct virtio_mmio {
	struct virtio_dev *vdev;
	struct vm *vm;
	uint64_t base;
	uint32_t gsi;
	int irq_fd; /* irqfd, or -1: KVM_IRQ_LINE */
	uint32_t device_features_sel, driver_features_sel, queue_sel;
};

/* One line for both causes: the driver reads InterruptStatus to tell them apart. */
static void mmio_interrupt(struct virtio_dev *vdev, uint32_t bits)
{
	struct virtio_mmio *m = vdev->transport;
	uint64_t one = 1;
	_cleanup_err_ struct err *err = NULL;

	(void)bits;
	if (m->irq_fd >= 0) {
		if (write(m->irq_fd, &one, sizeof(one)) < 0)
			log_warn_ratelimited("virtio-%s: irqfd: %m", vdev->ops->name);
		return;
	}
	/* An edge on the IOAPIC pin, as an irqfd would give. */
	if (vm_set_irq_line(m->vm, m->gsi, true, &err) < 0 ||
	    vm_set_irq_line(m->vm, m->gsi, false, &err) < 0)
		log_warn_ratelimited("virtio-%s: %s", vdev->ops->name, err->msg);
}

static struct virtq *selected_queue(struct virtio_mmio *m)
{
	return m->queue_sel < m->vdev->ops->n_queues ? &m->vdev->vq[m->queue_sel] : NULL;
}

static uint32_t reg_read(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_dev *vdev = m->vdev;
	struct virtq *vq = selected_queue(m);

	switch (off) {
	case REG_MAGIC:
		return MMIO_MAGIC;
	case REG_VERSION:
		return MMIO_VERSION;
	case REG_DEVICE_ID:
		return vdev->ops->device_id;
	case REG_VENDOR_ID:
		return MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		return m->device_features_sel < 2 ? vdev->features >> (32 * m->device_features_sel)
						  : 0;
	case REG_QUEUE_NUM_MAX:
		return vq ? VIRTQ_MAX_SIZE : 0;
	case REG_QUEUE_READY:
		return vq ? vq->ready : 0;
	case REG_INTERRUPT_STATUS:
		return __atomic_load_n(&vdev->isr, __ATOMIC_SEQ_CST);
	case REG_STATUS:
		return __atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST);
	case REG_SHM_LEN_LOW:
	case REG_SHM_LEN_HIGH:
	case REG_SHM_BASE_LOW:
	case REG_SHM_BASE_HIGH:
		return UINT32_MAX; /* no shared memory regions */
	case REG_CONFIG_GENERATION:
		return vdev->config_generation;
	default:
		return 0;
	}
}

static void set_low(uint64_t *v, uint32_t val)
{
	*v = (*v & ~0xffffffffull) | val;
}

static void set_high(uint64_t *v, uint32_t val)
{
	*v = (*v & 0xffffffffull) | (uint64_t)val << 32;
}

/* Queue registers may change only while the selected queue is not ready. */
static void queue_write(struct virtio_mmio *m, struct virtq *vq, uint64_t off, uint32_t val)
{
	if (!vq || vq->ready) {
		if (off != REG_QUEUE_READY || val)
			return;
		if (vq) /* QueueReady 0 on a live queue: stop using it */
			vq->ready = false;
		return;
	}
	switch (off) {
	case REG_QUEUE_NUM:
		vq->size = val > VIRTQ_MAX_SIZE ? 0 : val;
		break;
	case REG_QUEUE_READY:
		if (val && !virtio_dev_queue_enable(m->vdev, m->queue_sel))
			virtio_dev_needs_reset(m->vdev);
		break;
	case REG_QUEUE_DESC_LOW:
		set_low(&vq->desc_gpa, val);
		break;
	case REG_QUEUE_DESC_HIGH:
		set_high(&vq->desc_gpa, val);
		break;
	case REG_QUEUE_DRIVER_LOW:
		set_low(&vq->avail_gpa, val);
		break;
	case REG_QUEUE_DRIVER_HIGH:
		set_high(&vq->avail_gpa, val);
		break;
	case REG_QUEUE_DEVICE_LOW:
		set_low(&vq->used_gpa, val);
		break;
	case REG_QUEUE_DEVICE_HIGH:
		set_high(&vq->used_gpa, val);
		break;
	}
}

/* Device lock held. */
static void reg_write(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	struct virtio_dev *vdev = m->vdev;

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		m->device_features_sel = val;
		break;
	case REG_DRIVER_FEATURES_SEL:
		m->driver_features_sel = val;
		break;
	case REG_DRIVER_FEATURES:
		if (m->driver_features_sel < 2 && !(vdev->status & VIRTIO_STATUS_FEATURES_OK)) {
			if (m->driver_features_sel)
				set_high(&vdev->driver_features, val);
			else
				set_low(&vdev->driver_features, val);
		}
		break;
	case REG_QUEUE_SEL:
		m->queue_sel = val;
		break;
	case REG_STATUS:
		virtio_dev_set_status(vdev, val);
		if (val == 0)
			m->device_features_sel = m->driver_features_sel = m->queue_sel = 0;
		break;
	default:
		queue_write(m, selected_queue(m), off, val);
		break;
	}
}

static void config_access(struct virtio_mmio *m, uint64_t off, void *data, uint32_t len,
			  bool is_write)
{
	struct virtio_dev *vdev = m->vdev;

	if ((len != 1 && len != 2 && len != 4 && len != 8) || off > vdev->config_len ||
	    len > vdev->config_len - off) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write)
		memcpy(data, (const uint8_t *)vdev->config + off, len);
	else if (vdev->ops->config_write)
		vdev->ops->config_write(vdev, off, data, len);
}

static void mmio_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct virtio_mmio *m = opaque;
	uint32_t v;

	if (off >= MMIO_CONFIG) {
		pthread_mutex_lock(&m->vdev->lock);
		config_access(m, off - MMIO_CONFIG, data, len, false);
		pthread_mutex_unlock(&m->vdev->lock);
		return;
	}
	if (len != 4 || off % 4) {
		memset(data, 0, len);
		return;
	}
	if (off == REG_INTERRUPT_STATUS || off == REG_STATUS) {
		v = reg_read(m, off); /* atomics: no lock on the interrupt path */
	} else {
		pthread_mutex_lock(&m->vdev->lock);
		v = reg_read(m, off);
		pthread_mutex_unlock(&m->vdev->lock);
	}
	memcpy(data, &v, 4);
}

static void mmio_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct virtio_mmio *m = opaque;
	uint32_t v;

	if (off >= MMIO_CONFIG) {
		pthread_mutex_lock(&m->vdev->lock);
		config_access(m, off - MMIO_CONFIG, (void *)data, len, true);
		pthread_mutex_unlock(&m->vdev->lock);
		return;
	}
	if (len != 4 || off % 4)
		return;
	memcpy(&v, data, 4);
	if (off == REG_QUEUE_NOTIFY) {
		virtio_dev_kick(m->vdev, v); /* only reached without ioeventfd */
	} else if (off == REG_INTERRUPT_ACK) {
		__atomic_and_fetch(&m->vdev->isr, ~v, __ATOMIC_SEQ_CST);
	} else {
		pthread_mutex_lock(&m->vdev->lock);
		reg_write(m, off, v);
		pthread_mutex_unlock(&m->vdev->lock);
	}
}

static const struct bus_dev_ops mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
};

/* ioeventfd per queue (datamatch on the queue index); false: use the MMIO exit. */
static bool setup_ioeventfds(struct virtio_mmio *m)
{
	struct virtio_dev *vdev = m->vdev;

	for (unsigned q = 0; q < vdev->ops->n_queues; q++) {
		_cleanup_err_ struct err *err = NULL;

		if (vm_ioeventfd(m->vm, m->base + REG_QUEUE_NOTIFY, 4, true, q, vdev->kick_fd[q],
				 &err) < 0) {
			log_debug("virtio-%s: no ioeventfd (%s): notifications by MMIO exit",
				  vdev->ops->name, err->msg);
			return false; /* queues set up so far also still work by exit */
		}
	}
	log_debug("virtio-%s: notifications by ioeventfd", vdev->ops->name);
	return true;
}

static int setup_irq(struct virtio_mmio *m, struct err **err)
{
	_cleanup_err_ struct err *e = NULL;
	_cleanup_close_ int fd = eventfd(0, EFD_CLOEXEC);

	if (fd < 0)
		return err_make(err, errno, "eventfd");
	if (vm_irqfd(m->vm, fd, m->gsi, &e) < 0) {
		log_debug("virtio-%s: no irqfd (%s): interrupts by KVM_IRQ_LINE",
			  m->vdev->ops->name, e->msg);
		return 0;
	}
	log_debug("virtio-%s: interrupts by irqfd on GSI %u", m->vdev->ops->name, m->gsi);
	m->irq_fd = TAKE_FD(fd);
	return 0;
}

int virtio_mmio_attach(struct vm *vm, struct virtio_dev *vdev, struct virtio_mmio **ret,
		       struct err **err)
{
	_cleanup_free_ struct virtio_mmio *m = calloc(1, sizeof(*m));
	char arg[96];
	int r;

	if (!m)
		return err_make(err, ENOMEM, "virtio-%s", vdev->ops->name);
	m->vdev = vdev;
	m->vm = vm;
	m->irq_fd = -1;
	r = vm_alloc_mmio(vm, MMIO_SIZE, &m->base, &m->gsi, err);
	if (r < 0)
		return err_wrap(err, "virtio-%s", vdev->ops->name);
	r = setup_irq(m, err);
	if (r < 0)
		return err_wrap(err, "virtio-%s", vdev->ops->name);
	vdev->transport = m;
	vdev->interrupt = mmio_interrupt;
	snprintf(arg, sizeof(arg), "virtio_mmio.device=4K@%#llx:%u", (unsigned long long)m->base,
		 m->gsi);
	r = bus_register(vm_mmio_bus(vm), m->base, MMIO_SIZE, &mmio_ops, m, err);
	if (r >= 0)
		r = vm_cmdline_append(vm, arg, err);
	if (r < 0) {
		virtio_close_fd(&m->irq_fd);
		return err_wrap(err, "virtio-%s", vdev->ops->name);
	}
	setup_ioeventfds(m);
	*ret = TAKE_PTR(m);
	return 0;
}

void virtio_mmio_detach(struct virtio_mmio *m)
{
	if (!m)
		return;
	virtio_close_fd(&m->irq_fd);
	free(m);
}

/*
 * The transport's snapshot: its selectors, and where it sits (a restore must
 * have laid out the same windows and GSIs).  Interrupts are edges (irqfd or
 * a KVM_IRQ_LINE pulse): one not yet taken is in the irqchip/LAPIC state.
 */
struct mmio_state {
	uint64_t base;
	uint32_t gsi, device_features_sel, driver_features_sel, queue_sel;
};

int virtio_mmio_save(struct virtio_mmio *m, struct snap_writer *w, uint32_t index, struct err **err)
{
	struct mmio_state st = {.base = m->base, .gsi = m->gsi};

	(void)err;
	pthread_mutex_lock(&m->vdev->lock);
	st.device_features_sel = m->device_features_sel;
	st.driver_features_sel = m->driver_features_sel;
	st.queue_sel = m->queue_sel;
	pthread_mutex_unlock(&m->vdev->lock);
	snap_put(w, SNAP_VIRTIO_MMIO, index, &st, sizeof(st));
	return 0;
}

int virtio_mmio_restore(struct virtio_mmio *m, const struct snap_reader *r, uint32_t index,
			struct err **err)
{
	struct mmio_state st;
	int ret = snap_get(r, SNAP_VIRTIO_MMIO, index, &st, sizeof(st), "virtio-mmio", err);

	if (ret < 0)
		return ret;
	if (st.base != m->base || st.gsi != m->gsi)
		return err_make(err, EINVAL,
				"virtio-mmio %u: at %#llx GSI %u, this VM has it at %#llx GSI %u",
				index, (unsigned long long)st.base, st.gsi,
				(unsigned long long)m->base, m->gsi);
	pthread_mutex_lock(&m->vdev->lock);
	m->device_features_sel = st.device_features_sel;
	m->driver_features_sel = st.driver_features_sel;
	m->queue_sel = st.queue_sel; /* any value: selected_queue() checks it */
	pthread_mutex_unlock(&m->vdev->lock);
	return 0;
}

/* After a restore: one interrupt with the queue ISR bit (virtio_pci_notify_all() says why). */
void virtio_mmio_notify_all(struct virtio_mmio *m)
{
	struct virtio_dev *vdev = m->vdev;

	if (!(__atomic_load_n(&vdev->status, __ATOMIC_SEQ_CST) & VIRTIO_STATUS_DRIVER_OK))
		return;
	__atomic_or_fetch(&vdev->isr, VIRTIO_ISR_QUEUE, __ATOMIC_SEQ_CST);
	mmio_interrupt(vdev, VIRTIO_ISR_QUEUE);
}
