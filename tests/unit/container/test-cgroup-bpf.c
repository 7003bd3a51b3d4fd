/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cgroup v2 device filter: the eBPF instructions generated for a few rule sets. */
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "tap.h"

static struct bpf_insn *gen(const struct cg_device_rule *rules, size_t n, size_t *ret_n)
{
	struct bpf_insn *p = NULL;
	struct err *err = NULL;

	*ret_n = 0;
	if (cg_bpf_devices_prog(rules, n, &p, ret_n, &err) < 0) {
		ok(false, "generate: %s", err->msg);
		err_free(&err);
	}
	return p;
}

static bool is_insn(const struct bpf_insn *i, uint8_t code, uint8_t dst, int16_t off, int32_t imm)
{
	return i->code == code && i->dst_reg == dst && i->off == off && i->imm == imm;
}

#define JNE_K	(BPF_JMP | BPF_JNE | BPF_K)
#define MOV64_K (BPF_ALU64 | BPF_MOV | BPF_K)
#define EXIT	(BPF_JMP | BPF_EXIT)

/* The prologue loads type (r2), access (r3), major (r4), minor (r5) from the context. */
static void test_prologue(const struct bpf_insn *p)
{
	ok(is_insn(&p[0], BPF_LDX | BPF_MEM | BPF_W, 2, 0, 0) && p[0].src_reg == 1,
	   "r2 = ctx->access_type");
	ok(is_insn(&p[1], BPF_ALU | BPF_AND | BPF_K, 2, 0, 0xffff), "r2 &= 0xffff (type)");
	ok(is_insn(&p[3], BPF_ALU | BPF_RSH | BPF_K, 3, 0, 16), "r3 >>= 16 (access)");
	ok(is_insn(&p[4], BPF_LDX | BPF_MEM | BPF_W, 4, 4, 0), "r4 = ctx->major");
	ok(is_insn(&p[5], BPF_LDX | BPF_MEM | BPF_W, 5, 8, 0), "r5 = ctx->minor");
}

static void test_deny_all(void)
{
	const struct cg_device_rule r[] = {{false, 'a', -1, -1, "rwm"}};
	size_t n;
	_cleanup_free_ struct bpf_insn *p = gen(r, 1, &n);

	is_int((int)n, 8, "deny all: prologue + return 0, no unreachable default");
	if (n != 8)
		return;
	test_prologue(p);
	ok(is_insn(&p[6], MOV64_K, 0, 0, 0) && is_insn(&p[7], EXIT, 0, 0, 0), "return 0");
}

static void test_one_device(void)
{
	const struct cg_device_rule r[] = {{true, 'c', 1, 3, "rwm"}};
	size_t n;
	_cleanup_free_ struct bpf_insn *p = gen(r, 1, &n);

	is_int((int)n, 13, "allow c 1:3 rwm: 6 + 5 + default deny");
	if (n != 13)
		return;
	ok(is_insn(&p[6], JNE_K, 2, 4, BPF_DEVCG_DEV_CHAR), "type != char: skip the rule");
	ok(is_insn(&p[7], JNE_K, 4, 3, 1), "major != 1: skip");
	ok(is_insn(&p[8], JNE_K, 5, 2, 3), "minor != 3: skip");
	ok(is_insn(&p[9], MOV64_K, 0, 0, 1) && is_insn(&p[10], EXIT, 0, 0, 0), "match: return 1");
	ok(is_insn(&p[11], MOV64_K, 0, 0, 0) && is_insn(&p[12], EXIT, 0, 0, 0),
	   "no match: return 0");
}

/* Later rules win: the program tests them first. */
static void test_order_and_access(void)
{
	const struct cg_device_rule r[] = {
	    {false, 'a', -1, -1, "rwm"},
	    {true, 'b', -1, -1, "r"},
	    {false, 'c', 10, -1, "w"},
	};
	size_t n;
	_cleanup_free_ struct bpf_insn *p = gen(r, 3, &n);

	/* deny c 10:* w (7), allow b *:* r (6), deny all (2) */
	is_int((int)n, 6 + 7 + 6 + 2, "three rules: last one first");
	if (n != 21)
		return;
	ok(is_insn(&p[6], JNE_K, 2, 6, BPF_DEVCG_DEV_CHAR), "rule 3: char");
	ok(p[7].code == (BPF_ALU | BPF_MOV | BPF_X) && p[7].dst_reg == 0 && p[7].src_reg == 3,
	   "rule 3: r0 = access");
	ok(is_insn(&p[8], BPF_ALU | BPF_AND | BPF_K, 0, 0,
		   BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ),
	   "rule 3: r0 &= access it does not name (m, r)");
	ok(is_insn(&p[9], JNE_K, 0, 3, 0), "rule 3: any of those asked: skip");
	ok(is_insn(&p[10], JNE_K, 4, 2, 10), "rule 3: major != 10: skip");
	ok(is_insn(&p[11], MOV64_K, 0, 0, 0), "rule 3: deny");
	ok(is_insn(&p[13], JNE_K, 2, 5, BPF_DEVCG_DEV_BLOCK), "rule 2: block");
	ok(is_insn(&p[15], BPF_ALU | BPF_AND | BPF_K, 0, 0,
		   BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_WRITE),
	   "rule 2: only read");
	ok(is_insn(&p[16], JNE_K, 0, 2, 0), "rule 2: skip unless only read is asked");
	ok(is_insn(&p[17], MOV64_K, 0, 0, 1), "rule 2: allow");
	ok(is_insn(&p[19], MOV64_K, 0, 0, 0) && is_insn(&p[20], EXIT, 0, 0, 0),
	   "rule 1: deny all ends the program");
}

static void test_limits(void)
{
	struct cg_device_rule *r = calloc(CG_MAX_DEVICE_RULES + 17, sizeof(*r));
	struct bpf_insn *p = NULL;
	struct err *err = NULL;
	size_t n = 0;

	for (size_t i = 0; r && i < CG_MAX_DEVICE_RULES + 16; i++)
		r[i] = (struct cg_device_rule){true, 'c', 1, (int64_t)i, "r"};
	is_int(cg_bpf_devices_prog(r, CG_MAX_DEVICE_RULES + 16, &p, &n, &err), 0,
	       "the most rules fit");
	ok(n == 6 + 8 * (CG_MAX_DEVICE_RULES + 16) + 2, "8 instructions per full rule (%zu)", n);
	free(p);
	p = NULL;
	ok(cg_bpf_devices_prog(r, CG_MAX_DEVICE_RULES + 17, &p, &n, &err) == -E2BIG && !p,
	   "one more is refused");
	err_free(&err);
	free(r);
}

int main(void)
{
	test_deny_all();
	test_one_device();
	test_order_and_access();
	test_limits();
	return tap_done();
}
