/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Setting a process's capability sets (caps-sys.h): libc only. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps-sys.h"

int ct_caps_last(void)
{
	static int cached = -1;
	char buf[16] = "";
	int fd, n;

	if (cached >= 0)
		return cached;
	cached = CAP_LAST_CAP;
	fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cached;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && buf[0] >= '0' && buf[0] <= '9') {
		int v = 0;

		for (int i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
			v = v * 10 + (buf[i] - '0');
		if (v > 0 && v < 64)
			cached = v;
	}
	return cached;
}

int ct_caps_sys_drop_bounding(const struct ct_caps *c, int *ret_cap)
{
	int last = ct_caps_last();

	for (int cap = 0; cap <= last; cap++) {
		if (c->bounding & (UINT64_C(1) << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			*ret_cap = cap;
			return -errno;
		}
	}
	return 0;
}

int ct_caps_sys_apply(const struct ct_caps *c, const char **ret_what, int *ret_cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};
	int last = ct_caps_last();
	uint64_t known = last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
	uint64_t eff = c->effective & known, perm = c->permitted & known;
	uint64_t inh = c->inheritable & known, amb = c->ambient & known;

	*ret_cap = -1;
	data[0].effective = (uint32_t)eff;
	data[1].effective = (uint32_t)(eff >> 32);
	data[0].permitted = (uint32_t)perm;
	data[1].permitted = (uint32_t)(perm >> 32);
	data[0].inheritable = (uint32_t)inh;
	data[1].inheritable = (uint32_t)(inh >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return *ret_what = "capset", -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return *ret_what = "clear the ambient capabilities", -errno;
	/*
	 * The kernel only lets a capability into the ambient set if it is both
	 * permitted and inheritable; like crun and runc, others are skipped
	 * (runtime-spec configs often list ambient without inheritable).
	 */
	amb &= perm & inh;
	for (int cap = 0; cap < 64; cap++) {
		if (!(amb & (UINT64_C(1) << cap)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
			*ret_cap = cap;
			return *ret_what = "raise ambient", -errno;
		}
	}
	return 0;
}
