/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Classic-BPF seccomp programs written out by hand (the VMM's deny-list, the DNS
 * responder's allow-list): fixed at build time, as Firecracker compiles its filters
 * ahead of time, with no library mapped to build them.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>

#define SECCOMP_ARG_LO(n)    (offsetof(struct seccomp_data, args) + 8 * (n)) /* little endian */
#define SECCOMP_RET(action)  BPF_STMT(BPF_RET | BPF_K, (action))
#define SECCOMP_LOAD(offset) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (offset))
/* if (A == k) goto next + t; else goto next + f */
#define SECCOMP_JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define SECCOMP_DENY(e)	     SECCOMP_RET(SECCOMP_RET_ERRNO | (e))
#define SECCOMP_ALLOW	     SECCOMP_RET(SECCOMP_RET_ALLOW)

/*
 * Every program starts so: x86-64 only (another ABI's numbers mean other calls), no
 * x32 number (bit 30), then the call's number in A.
 */
#define SECCOMP_HEAD_X86_64                                                                      \
	SECCOMP_LOAD(offsetof(struct seccomp_data, arch)), SECCOMP_JEQ(AUDIT_ARCH_X86_64, 1, 0), \
	    SECCOMP_RET(SECCOMP_RET_KILL_PROCESS),                                               \
	    SECCOMP_LOAD(offsetof(struct seccomp_data, nr)),                                     \
	    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),                              \
	    SECCOMP_RET(SECCOMP_RET_KILL_PROCESS)
