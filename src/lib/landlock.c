/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Landlock without libc wrappers (glibc has none).  The uapi header of the build host may
 * be older than the running kernel: the constants of later ABIs are defined here, and
 * each is used only when landlock_create_ruleset(..., VERSION) says the kernel has it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule	     445
#define __NR_landlock_restrict_self  446
#endif

/* LANDLOCK_RULE_NET_PORT (ABI 4) and its attribute. */
#define LL_RULE_NET_PORT 2
struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

/* landlock_ruleset_attr as of ABI 6; the kernel is told the size its ABI knows. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_SCOPE_ABSTRACT_UNIX (UINT64_C(1) << 0)
#define LL_SCOPE_SIGNAL	       (UINT64_C(1) << 1)

/* Every file right an ABI knows: EXECUTE .. MAKE_SYM (1), REFER (2), TRUNCATE (3), IOCTL_DEV (5).
 */
static uint64_t fs_rights(int abi)
{
	uint64_t r = (UINT64_C(1) << 13) - 1;

	if (abi >= 2)
		r |= UINT64_C(1) << 13;
	if (abi >= 3)
		r |= UINT64_C(1) << 14;
	if (abi >= 5)
		r |= UINT64_C(1) << 15;
	return r;
}

int ll_ruleset_new(struct ll_ruleset *rs)
{
	struct ll_ruleset_attr attr = {0};
	size_t size = sizeof(attr.handled_access_fs);
	long abi;
	int fd;

	*rs = (struct ll_ruleset){.fd = -1};
	abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return errno == ENOSYS || errno == EOPNOTSUPP || abi == 0 ? -EOPNOTSUPP : -errno;
	attr.handled_access_fs = fs_rights((int)abi);
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	fd = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return -errno;
	*rs = (struct ll_ruleset){.fd = fd,
				  .abi = (int)abi,
				  .fs = attr.handled_access_fs,
				  .net = attr.handled_access_net};
	return 0;
}

static int allow_fd(struct ll_ruleset *rs, int fd, uint64_t access)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = access & rs->fs, .parent_fd = fd};

	if (pb.allowed_access &&
	    syscall(__NR_landlock_add_rule, rs->fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		return -errno;
	return 0;
}

/* path opened O_PATH, and what it is: the rule goes on what was opened, never re-resolved. */
static int open_path(const char *path, struct stat *ret_st)
{
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, ret_st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* A file gets its file rights (directory rights on one are EINVAL); file_only: or -EISDIR. */
static int allow(struct ll_ruleset *rs, const char *path, uint64_t access, bool file_only,
		 struct stat *ret_st)
{
	struct stat st = {0};
	int fd = open_path(path, &st), r;

	if (fd < 0)
		return fd;
	if (!S_ISDIR(st.st_mode))
		access &= ~LL_FS_READ_DIR;
	r = file_only && !S_ISREG(st.st_mode) ? -EISDIR : allow_fd(rs, fd, access);
	close(fd);
	if (r == 0 && ret_st)
		*ret_st = st;
	return r;
}

int ll_allow_path(struct ll_ruleset *rs, const char *path, uint64_t access)
{
	return allow(rs, path, access, false, NULL);
}

int ll_allow_file(struct ll_ruleset *rs, const char *path, uint64_t access, struct stat *ret_st)
{
	return allow(rs, path, access, true, ret_st);
}

int ll_allow_port(struct ll_ruleset *rs, uint16_t port, uint64_t access)
{
	struct ll_net_port_attr np = {.allowed_access = access & rs->net, .port = port};

	if (!np.allowed_access)
		return 0;
	if (syscall(__NR_landlock_add_rule, rs->fd, LL_RULE_NET_PORT, &np, 0) < 0)
		return -errno;
	return 0;
}

int ll_restrict(struct ll_ruleset *rs)
{
	int r = 0;

	if (syscall(__NR_landlock_restrict_self, rs->fd, 0) < 0)
		r = -errno;
	ll_ruleset_free(rs);
	return r;
}

void ll_ruleset_free(struct ll_ruleset *rs)
{
	if (rs->fd >= 0)
		close(rs->fd);
	rs->fd = -1;
}
