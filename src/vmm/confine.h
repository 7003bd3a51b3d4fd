/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The VMM confines itself before it reads anything a guest or an API client
 * sends (vm run, vm restore, vm receive; the VMM of run --vm is a vm run):
 *
 * - capabilities: every set is cut to what the VMM's own work needs
 *   (VMM_CONFINE_CAPS: open and create its files and the shared directories'
 *   files, TAP devices, low ports for migration, rlimits);
 * - no_new_privs, and a seccomp filter that refuses (EPERM) the system calls
 *   a VMM never makes but an attacker who took it over would: exec, ptrace
 *   and process_vm_*, mount and namespaces (setns, unshare, clone with a
 *   CLONE_NEW* flag), module and kexec loading, bpf, perf, keyrings, uid and
 *   gid changes, io_uring, userfaultfd, handle-based opens, clock and reboot;
 *   sockets other than unix, inet, inet6 and netlink; TIOCSTI/TIOCLINUX on
 *   any fd (typing into the terminal of the user who started it).  Any
 *   system call of another ABI (i386 int 0x80, x32) kills the process.
 *
 * It is a deny list, not Firecracker's per-thread allow list: the VMM's
 * system calls vary with its devices, API and migration, and a missed one in
 * an allow list stops a guest in the field.  An allow list is the next step.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Capability numbers the VMM keeps (see confine.c for why each). */
extern const uint64_t vmm_confine_caps;

struct vmm_confine_opts {
	/* --on-reboot restart execs isola again: exec stays allowed. */
	bool allow_exec;
	/*
	 * This process is that exec, by a confined VMM: it inherited the filter,
	 * so it adds none (filters stack, and the kernel caps their total size).
	 */
	bool restarted;
};

/* The numbers refused whatever their arguments (exec aside), for the tests. */
const int *vmm_confine_denied(size_t *ret_n);

/* Confine the calling process (every thread, TSYNC); no undo. */
int vmm_confine(const struct vmm_confine_opts *o, struct err **err);
