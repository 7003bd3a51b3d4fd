/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vCPU state: registers, special registers, XSAVE (or the legacy FPU), XCRs,
 * every MSR of KVM_GET_MSR_INDEX_LIST this vCPU accepts (the TSC among
 * them), LAPIC, pending events and MP state.  Restored in the order the KVM
 * API needs: CPUID (cpuid-state.c), MP state, regs/sregs, XSAVE, XCRS, MSRs,
 * LAPIC, the TSC deadline again, events.  KVM drops a TSC-deadline write
 * while the LAPIC's timer is not in that mode, which it is not until
 * KVM_SET_LAPIC: written only with the other MSRs, a guest ticking on the
 * TSC-deadline timer would come back with its timer disarmed and sleep for
 * good (seen in L1: a restored Linux guest stopped ticking).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cleanup.h"
#include "snapshot.h"

#define MAX_MSRS	      1024
#define MSR_IA32_TSC_DEADLINE 0x6e0

struct msrs_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[MAX_MSRS];
};

/* The MSR indices KVM can save; cached per process. */
static int msr_index_list(int kvm_fd, struct kvm_msr_list **ret, struct err **err)
{
	struct kvm_msr_list probe = {.nmsrs = 0}, *l;

	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return err_make(err, errno, "KVM_GET_MSR_INDEX_LIST");
	if (probe.nmsrs > MAX_MSRS)
		return err_make(err, E2BIG, "KVM lists %u MSRs (at most %d)", probe.nmsrs,
				MAX_MSRS);
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (!l)
		return err_make(err, ENOMEM, "allocate the MSR list");
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return err_make(err, errno, "KVM_GET_MSR_INDEX_LIST");
	}
	*ret = l;
	return 0;
}

/* KVM_GET_MSRS stops at the first MSR it refuses: skip that one and go on. */
static int save_msrs(struct vcpu *v, struct snap_writer *w, struct err **err)
{
	_cleanup_free_ struct kvm_msr_list *list = NULL;
	_cleanup_free_ struct msrs_buf *out = calloc(1, sizeof(*out));
	_cleanup_free_ struct msrs_buf *tmp = calloc(1, sizeof(*tmp));
	uint32_t n = 0;
	int r;

	if (!out || !tmp)
		return err_make(err, ENOMEM, "allocate MSRs");
	r = msr_index_list(v->vm->kvm_fd, &list, err);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < list->nmsrs;) {
		uint32_t want = list->nmsrs - i;
		int got;

		tmp->hdr.nmsrs = want;
		for (uint32_t k = 0; k < want; k++)
			tmp->e[k] = (struct kvm_msr_entry){.index = list->indices[i + k]};
		got = ioctl(v->fd, KVM_GET_MSRS, tmp);
		if (got < 0)
			return err_make(err, errno, "KVM_GET_MSRS");
		for (int k = 0; k < got; k++)
			out->e[n++] = tmp->e[k];
		i += got + ((uint32_t)got < want); /* skip the refused MSR */
	}
	out->hdr.nmsrs = n;
	snap_put(w, SNAP_VCPU_MSRS, v->id, out, sizeof(out->hdr) + n * sizeof(out->e[0]));
	return 0;
}

/* All the saved MSRs, or (@deadline_only, after the LAPIC) just the TSC deadline. */
static int restore_msrs(struct vcpu *v, const struct snap_reader *r, bool deadline_only,
			struct err **err)
{
	const struct snap_section *s = snap_find(r, SNAP_VCPU_MSRS, v->id);
	_cleanup_free_ struct msrs_buf *m = calloc(1, sizeof(*m));
	uint32_t n;
	int set;

	if (!m)
		return err_make(err, ENOMEM, "allocate MSRs");
	if (!s || s->len < sizeof(m->hdr))
		return err_make(err, EINVAL, "MSRs: missing or truncated");
	memcpy(&m->hdr, s->data, sizeof(m->hdr));
	n = m->hdr.nmsrs;
	if (n > MAX_MSRS || s->len != sizeof(m->hdr) + n * sizeof(m->e[0]))
		return err_make(err, EINVAL, "MSRs: %u entries in %u bytes", n, s->len);
	memcpy(m->e, s->data + sizeof(m->hdr), n * sizeof(m->e[0]));
	if (deadline_only) {
		uint32_t k = 0;

		for (uint32_t i = 0; i < n; i++)
			if (m->e[i].index == MSR_IA32_TSC_DEADLINE)
				m->e[k++] = m->e[i];
		m->hdr.nmsrs = n = k;
		if (!n)
			return 0;
	}
	set = ioctl(v->fd, KVM_SET_MSRS, m);
	if (set < 0)
		return err_make(err, errno, "KVM_SET_MSRS");
	if ((uint32_t)set != n)
		return err_make(err, EINVAL, "KVM_SET_MSRS: MSR %#x refused (%d of %u set)",
				m->e[set].index, set, n);
	return 0;
}

static int xsave_size(struct vm *vm)
{
	int n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave) ? n : (int)sizeof(struct kvm_xsave);
}

static bool have_xsave(struct vm *vm)
{
	return ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
}

static bool have_xcrs(struct vm *vm)
{
	return ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
}

/* One fixed-size KVM_GET_* into a section. */
static int save_one(struct vcpu *v, struct snap_writer *w, unsigned long req, uint32_t type,
		    size_t size, const char *name, struct err **err)
{
	_cleanup_free_ void *buf = calloc(1, size);

	if (!buf)
		return err_make(err, ENOMEM, "allocate %s", name);
	if (ioctl(v->fd, req, buf) < 0)
		return err_make(err, errno, "%s", name);
	snap_put(w, type, v->id, buf, size);
	return 0;
}

static int restore_one(struct vcpu *v, const struct snap_reader *r, unsigned long req,
		       uint32_t type, size_t size, const char *name, struct err **err)
{
	_cleanup_free_ void *buf = calloc(1, size);
	int ret;

	if (!buf)
		return err_make(err, ENOMEM, "allocate %s", name);
	ret = snap_get(r, type, v->id, buf, size, name, err);
	if (ret < 0)
		return ret;
	if (ioctl(v->fd, req, buf) < 0)
		return err_make(err, errno, "%s", name);
	return 0;
}

int vcpu_state_save(struct vcpu *v, struct snap_writer *w, struct err **err)
{
	struct vm *vm = v->vm;
	int r;

	r = vcpu_cpuid_save(v, w, err);
	if (r >= 0)
		r = save_one(v, w, KVM_GET_MP_STATE, SNAP_VCPU_MP_STATE,
			     sizeof(struct kvm_mp_state), "KVM_GET_MP_STATE", err);
	if (r >= 0)
		r = save_one(v, w, KVM_GET_REGS, SNAP_VCPU_REGS, sizeof(struct kvm_regs),
			     "KVM_GET_REGS", err);
	if (r >= 0)
		r = save_one(v, w, KVM_GET_SREGS, SNAP_VCPU_SREGS, sizeof(struct kvm_sregs),
			     "KVM_GET_SREGS", err);
	if (r >= 0 && have_xsave(vm) && xsave_size(vm) > (int)sizeof(struct kvm_xsave))
		r = save_one(v, w, KVM_GET_XSAVE2, SNAP_VCPU_XSAVE, xsave_size(vm),
			     "KVM_GET_XSAVE2", err);
	else if (r >= 0 && have_xsave(vm))
		r = save_one(v, w, KVM_GET_XSAVE, SNAP_VCPU_XSAVE, sizeof(struct kvm_xsave),
			     "KVM_GET_XSAVE", err);
	else if (r >= 0)
		r = save_one(v, w, KVM_GET_FPU, SNAP_VCPU_FPU, sizeof(struct kvm_fpu),
			     "KVM_GET_FPU", err);
	if (r >= 0 && have_xcrs(vm))
		r = save_one(v, w, KVM_GET_XCRS, SNAP_VCPU_XCRS, sizeof(struct kvm_xcrs),
			     "KVM_GET_XCRS", err);
	if (r >= 0)
		r = save_msrs(v, w, err);
	if (r >= 0)
		r = save_one(v, w, KVM_GET_LAPIC, SNAP_VCPU_LAPIC, sizeof(struct kvm_lapic_state),
			     "KVM_GET_LAPIC", err);
	if (r >= 0)
		r = save_one(v, w, KVM_GET_VCPU_EVENTS, SNAP_VCPU_EVENTS,
			     sizeof(struct kvm_vcpu_events), "KVM_GET_VCPU_EVENTS", err);
	return r < 0 ? err_wrap(err, "vCPU %u", v->id) : 0;
}

static int restore_events(struct vcpu *v, const struct snap_reader *r, struct err **err)
{
	struct kvm_vcpu_events ev;
	int ret = snap_get(r, SNAP_VCPU_EVENTS, v->id, &ev, sizeof(ev), "vCPU events", err);

	if (ret < 0)
		return ret;
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return err_make(err, errno, "KVM_SET_VCPU_EVENTS");
	return 0;
}

int vcpu_state_restore(struct vcpu *v, const struct snap_reader *r, struct err **err)
{
	struct vm *vm = v->vm;
	const struct snap_section *xs = snap_find(r, SNAP_VCPU_XSAVE, v->id);
	int ret;

	ret = vcpu_cpuid_restore(v, r, err);
	if (ret >= 0)
		ret = restore_one(v, r, KVM_SET_MP_STATE, SNAP_VCPU_MP_STATE,
				  sizeof(struct kvm_mp_state), "KVM_SET_MP_STATE", err);
	if (ret >= 0)
		ret = restore_one(v, r, KVM_SET_REGS, SNAP_VCPU_REGS, sizeof(struct kvm_regs),
				  "KVM_SET_REGS", err);
	if (ret >= 0)
		ret = restore_one(v, r, KVM_SET_SREGS, SNAP_VCPU_SREGS, sizeof(struct kvm_sregs),
				  "KVM_SET_SREGS", err);
	if (ret >= 0 && xs && !have_xsave(vm))
		ret = err_make(err, EOPNOTSUPP, "saved with XSAVE; this host's KVM has none");
	else if (ret >= 0 && xs)
		ret = restore_one(v, r, KVM_SET_XSAVE, SNAP_VCPU_XSAVE, xsave_size(vm),
				  "KVM_SET_XSAVE", err);
	else if (ret >= 0)
		ret = restore_one(v, r, KVM_SET_FPU, SNAP_VCPU_FPU, sizeof(struct kvm_fpu),
				  "KVM_SET_FPU", err);
	if (ret >= 0 && snap_find(r, SNAP_VCPU_XCRS, v->id))
		ret = restore_one(v, r, KVM_SET_XCRS, SNAP_VCPU_XCRS, sizeof(struct kvm_xcrs),
				  "KVM_SET_XCRS", err);
	if (ret >= 0)
		ret = restore_msrs(v, r, false, err);
	if (ret >= 0)
		ret = restore_one(v, r, KVM_SET_LAPIC, SNAP_VCPU_LAPIC,
				  sizeof(struct kvm_lapic_state), "KVM_SET_LAPIC", err);
	if (ret >= 0)
		ret = restore_msrs(v, r, true, err);
	if (ret >= 0)
		ret = restore_events(v, r, err);
	return ret < 0 ? err_wrap(err, "vCPU %u", v->id) : 0;
}
