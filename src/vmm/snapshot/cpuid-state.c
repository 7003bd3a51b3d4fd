/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The CPUID a vCPU showed its guest (KVM_GET_CPUID2), saved so that a
 * restore shows the same values: the guest has already looked at them (and
 * chose code paths by the features).  On the host that took the snapshot
 * the table is the one the restore's vCPU already has, and nothing is set;
 * elsewhere the saved table is set with KVM_SET_CPUID2 (before the first
 * KVM_RUN, where KVM still allows a change), once every feature bit it
 * shows is also offered here.  A feature this host lacks is an error naming
 * the leaf and bit: the guest would fault on it after the restore.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cleanup.h"
#include "log.h"
#include "snapshot.h"

#define MAX_ENTRIES 256

struct cpuid_buf {
	struct kvm_cpuid2 hdr;
	struct kvm_cpuid_entry2 e[MAX_ENTRIES];
};

/* Feature words: leaf, subleaf, register (0 eax .. 3 edx), bits that vary at run time. */
static const struct {
	uint32_t function, index;
	unsigned reg;
	uint32_t dynamic;
} features[] = {
    {1, 0, 2, 1u << 27},   /* ECX; OSXSAVE follows CR4 */
    {1, 0, 3, 0},	   /* EDX */
    {7, 0, 1, 0},	   /* EBX */
    {7, 0, 2, 1u << 4},	   /* ECX; OSPKE follows CR4 */
    {7, 0, 3, 0},	   /* EDX */
    {0xd, 1, 0, 0},	   /* XSAVE extensions */
    {0x80000001, 0, 2, 0}, /* ECX */
    {0x80000001, 0, 3, 0}, /* EDX */
};

static const char *const reg_names[] = {"EAX", "EBX", "ECX", "EDX"};

static int get_cpuid(struct vcpu *v, struct cpuid_buf *b, struct err **err)
{
	b->hdr.nent = MAX_ENTRIES;
	if (ioctl(v->fd, KVM_GET_CPUID2, b) < 0)
		return err_make(err, errno, "KVM_GET_CPUID2");
	return 0;
}

int vcpu_cpuid_save(struct vcpu *v, struct snap_writer *w, struct err **err)
{
	_cleanup_free_ struct cpuid_buf *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return err_make(err, ENOMEM, "allocate CPUID");
	r = get_cpuid(v, b, err);
	if (r >= 0)
		snap_put(w, SNAP_VCPU_CPUID, v->id, b,
			 sizeof(b->hdr) + b->hdr.nent * sizeof(b->e[0]));
	return r;
}

static const struct kvm_cpuid_entry2 *find(const struct cpuid_buf *b, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < b->hdr.nent; i++)
		if (b->e[i].function == fn && b->e[i].index == idx)
			return &b->e[i];
	return NULL;
}

static uint32_t reg(const struct kvm_cpuid_entry2 *e, unsigned r)
{
	const uint32_t regs[] = {e->eax, e->ebx, e->ecx, e->edx};

	return regs[r];
}

/* Every feature the saved table shows must be offered by this host's. */
static int check_features(const struct cpuid_buf *saved, const struct cpuid_buf *here,
			  struct err **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(features); i++) {
		const struct kvm_cpuid_entry2 *s =
		    find(saved, features[i].function, features[i].index);
		const struct kvm_cpuid_entry2 *h =
		    find(here, features[i].function, features[i].index);
		uint32_t missing;

		if (!s)
			continue;
		missing = reg(s, features[i].reg) & ~features[i].dynamic &
			  ~(h ? reg(h, features[i].reg) : 0);
		if (missing)
			return err_make(err, EOPNOTSUPP,
					"CPUID %#x.%u %s bit %d: the guest was shown a feature "
					"this host does not offer",
					features[i].function, features[i].index,
					reg_names[features[i].reg], __builtin_ctz(missing));
	}
	return 0;
}

static int read_saved(const struct vcpu *v, const struct snap_reader *r, struct cpuid_buf *b,
		      struct err **err)
{
	const struct snap_section *s = snap_find(r, SNAP_VCPU_CPUID, v->id);

	if (!s || s->len < sizeof(b->hdr))
		return err_make(err, EINVAL, "CPUID: missing or truncated");
	memcpy(&b->hdr, s->data, sizeof(b->hdr));
	if (b->hdr.nent > MAX_ENTRIES || s->len != sizeof(b->hdr) + b->hdr.nent * sizeof(b->e[0]))
		return err_make(err, EINVAL, "CPUID: %u entries in %u bytes", b->hdr.nent, s->len);
	memcpy(b->e, s->data + sizeof(b->hdr), b->hdr.nent * sizeof(b->e[0]));
	return 0;
}

int vcpu_cpuid_restore(struct vcpu *v, const struct snap_reader *r, struct err **err)
{
	_cleanup_free_ struct cpuid_buf *saved = calloc(1, sizeof(*saved));
	_cleanup_free_ struct cpuid_buf *here = calloc(1, sizeof(*here));
	int ret;

	if (!saved || !here)
		return err_make(err, ENOMEM, "allocate CPUID");
	ret = read_saved(v, r, saved, err);
	if (ret >= 0)
		ret = get_cpuid(v, here, err);
	if (ret < 0)
		return ret;
	if (saved->hdr.nent == here->hdr.nent &&
	    !memcmp(saved->e, here->e, saved->hdr.nent * sizeof(saved->e[0])))
		return 0; /* the same host: nothing to change */
	ret = check_features(saved, here, err);
	if (ret < 0)
		return ret;
	log_debug("vCPU %u: setting the saved CPUID (it differs from this host's)", v->id);
	if (ioctl(v->fd, KVM_SET_CPUID2, saved) < 0)
		return err_make(err, errno, "KVM_SET_CPUID2 (the saved CPUID)");
	return 0;
}
