/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cgroup v2 device filter: linux.resources.devices (and the default
 * devices every container gets) compiled to a BPF_PROG_TYPE_CGROUP_DEVICE
 * program with raw bpf(2), attached to the container's cgroup2 directory with
 * BPF_F_ALLOW_MULTI.
 *
 * The rules apply in order with the last match winning (as v1's devices.allow
 * and devices.deny do), so the program tests them from the last to the first
 * and returns at the first match; no match denies.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cleanup.h"

/* Registers after the prologue. */
enum { R_CTX = 1, R_TYPE = 2, R_ACCESS = 3, R_MAJOR = 4, R_MINOR = 5 };

#define CG_BPF_MAX_INSNS (8 * (CG_MAX_DEVICE_RULES + 16) + 16)

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){
	    .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static struct bpf_insn ldx_w(uint8_t dst, uint8_t src, int16_t off)
{
	return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}

static struct bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm)
{
	return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}

static struct bpf_insn mov32_reg(uint8_t dst, uint8_t src)
{
	return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}

static struct bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t off)
{
	return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}

static struct bpf_insn exit_insn(void)
{
	return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int access_bits(const char *access)
{
	return (strchr(access, 'm') ? BPF_DEVCG_ACC_MKNOD : 0) |
	       (strchr(access, 'r') ? BPF_DEVCG_ACC_READ : 0) |
	       (strchr(access, 'w') ? BPF_DEVCG_ACC_WRITE : 0);
}

/* One rule: skip to the next rule unless it matches, else return its verdict. */
static size_t emit_rule(const struct cg_device_rule *d, struct bpf_insn *p)
{
	int acc = access_bits(d->access);
	size_t n = 0, len = 2; /* mov r0, verdict; exit */

	len += d->type != 'a';
	len += acc != 7 ? 3 : 0;
	len += d->major >= 0;
	len += d->minor >= 0;
	/* Each test jumps over the rest of this rule's instructions. */
	if (d->type != 'a') {
		n++;
		p[n - 1] =
		    jne_imm(R_TYPE, d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
			    (int16_t)(len - n));
	}
	if (acc != 7) {
		/* Any requested access the rule does not name: no match. */
		p[n++] = mov32_reg(0, R_ACCESS);
		p[n++] = alu32_imm(BPF_AND, 0, ~acc & 7);
		n++;
		p[n - 1] = jne_imm(0, 0, (int16_t)(len - n));
	}
	if (d->major >= 0) {
		n++;
		p[n - 1] = jne_imm(R_MAJOR, (int32_t)d->major, (int16_t)(len - n));
	}
	if (d->minor >= 0) {
		n++;
		p[n - 1] = jne_imm(R_MINOR, (int32_t)d->minor, (int16_t)(len - n));
	}
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, d->allow ? 1 : 0);
	p[n++] = exit_insn();
	return n;
}

static bool is_catch_all(const struct cg_device_rule *d)
{
	return d->type == 'a' && access_bits(d->access) == 7 && d->major < 0 && d->minor < 0;
}

int cg_bpf_devices_prog(const struct cg_device_rule *rules, size_t n_rules, struct bpf_insn **ret,
			size_t *ret_n, struct err **err)
{
	_cleanup_free_ struct bpf_insn *p = NULL;
	size_t n = 0;

	if (n_rules > CG_MAX_DEVICE_RULES + 16)
		return err_make(err, E2BIG, "linux.resources.devices: too many rules");
	p = calloc(CG_BPF_MAX_INSNS, sizeof(*p));
	if (!p)
		return err_make(err, ENOMEM, "device filter");
	/* ctx: u32 access_type = (access << 16) | type, u32 major, u32 minor */
	p[n++] = ldx_w(R_TYPE, R_CTX, 0);
	p[n++] = alu32_imm(BPF_AND, R_TYPE, 0xffff);
	p[n++] = ldx_w(R_ACCESS, R_CTX, 0);
	p[n++] = alu32_imm(BPF_RSH, R_ACCESS, 16);
	p[n++] = ldx_w(R_MAJOR, R_CTX, 4);
	p[n++] = ldx_w(R_MINOR, R_CTX, 8);
	for (size_t i = n_rules; i-- > 0;) {
		n += emit_rule(&rules[i], p + n);
		/* A rule for every device and access decides alone: what follows is
		 * unreachable, and the verifier refuses unreachable code. */
		if (is_catch_all(&rules[i]))
			goto done;
	}
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
	p[n++] = exit_insn();
done:
	*ret = TAKE_PTR(p);
	*ret_n = n;
	return 0;
}

static int bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int load_prog(const struct bpf_insn *insns, size_t n, char *log, size_t log_size)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	if (log) {
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = (uint32_t)log_size;
		attr.log_level = 1;
	}
	return bpf(BPF_PROG_LOAD, &attr);
}

/* Load quietly; on failure load again with the verifier's log for the message. */
static int load(const struct bpf_insn *insns, size_t n, int *ret_fd, struct err **err)
{
	_cleanup_free_ char *log = NULL;
	int fd = load_prog(insns, n, NULL, 0), e;
	const char *last;

	if (fd >= 0) {
		*ret_fd = fd;
		return 0;
	}
	e = errno;
	log = calloc(1, 1 << 16);
	if (log && load_prog(insns, n, log, 1 << 16) < 0)
		log[(1 << 16) - 1] = '\0';
	/* The verifier's verdict is on the last non-empty line. */
	while (log && log[0] && log[strlen(log) - 1] == '\n')
		log[strlen(log) - 1] = '\0';
	last = log ? strrchr(log, '\n') : NULL;
	return err_make(err, e, "load the device filter (BPF_PROG_LOAD)%s%.200s",
			log && log[0] ? ": " : "",
			last  ? last + 1
			: log ? log
			      : "");
}

int cg_bpf_devices_attach(const char *dir, const struct cg_device_rule *rules, size_t n_rules,
			  struct err **err)
{
	_cleanup_free_ struct bpf_insn *insns = NULL;
	_cleanup_close_ int prog = -1, dfd = -1;
	union bpf_attr attr;
	size_t n = 0;
	int r;

	r = cg_bpf_devices_prog(rules, n_rules, &insns, &n, err);
	if (r >= 0)
		r = load(insns, n, &prog, err);
	if (r < 0)
		return r;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_make(err, errno, "open `%s`", dir);
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)dfd;
	attr.attach_bpf_fd = (uint32_t)prog;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (bpf(BPF_PROG_ATTACH, &attr) < 0)
		return err_make(err, errno, "attach the device filter to `%s`", dir);
	/* The cgroup holds the program now; our fds can go. */
	return 0;
}
