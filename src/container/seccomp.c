/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linux.seccomp.  The profile is compiled to classic BPF in the parent with
 * libseccomp and exported; the program is cached under cache_dir, so a
 * repeated profile (podman sends the same default profile every time) is read
 * back without compiling.  An entry "<key>.bpf" holds the text it was compiled
 * from -- the native architecture, the libseccomp version and the profile's
 * canonical JSON (sorted keys, compact) -- followed by the program; it is used
 * only when that text equals ours byte for byte.  So the key, a 64-bit FNV-1a
 * of the text, only has to spread entries: a collision (even a crafted one)
 * costs a compile, never another profile's filter, and no cryptographic hash
 * (libcrypto: ~1.8 MB resident) is needed.  The child loads the raw program
 * with seccomp(2), which needs neither libseccomp nor memory allocation.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "seccomp.h"
#include "state.h"

/* The kernel's own limit on a classic BPF program (BPF_MAXINSNS). */
#define MAX_INSNS	 4096
#define MAX_PROG_BYTES	 (MAX_INSNS * sizeof(struct sock_filter))
#define MAX_SYSCALL_ARGS 6

/* The code of the recorded error; callers may pass err == NULL. */
static int err_or_inval(struct err **err)
{
	return err && *err ? err_code(*err) : -EINVAL;
}

struct ct_seccomp {
	unsigned int flags;
	struct sock_fprog prog;
	bool from_cache;
};

static const struct {
	const char *name;
	unsigned int flag;
} flag_table[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 1U << 5},
};

static const struct {
	const char *name;
	enum scmp_compare op;
} op_table[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* errno_ret is used by SCMP_ACT_ERRNO (default EPERM) and SCMP_ACT_TRACE (default 0). */
static int parse_action(const char *name, json_t *errno_ret, const char *where, uint32_t *ret,
			struct err **err)
{
	json_int_t e = -1;

	if (errno_ret) {
		if (!json_is_integer(errno_ret) || json_integer_value(errno_ret) < 0 ||
		    json_integer_value(errno_ret) > 0xffff)
			return err_make(err, 0, "%s: errnoRet: expected an integer 0..65535",
					where);
		e = json_integer_value(errno_ret);
	}
	if (streq(name, "SCMP_ACT_KILL") || streq(name, "SCMP_ACT_KILL_THREAD"))
		*ret = SCMP_ACT_KILL_THREAD;
	else if (streq(name, "SCMP_ACT_KILL_PROCESS"))
		*ret = SCMP_ACT_KILL_PROCESS;
	else if (streq(name, "SCMP_ACT_TRAP"))
		*ret = SCMP_ACT_TRAP;
	else if (streq(name, "SCMP_ACT_ERRNO"))
		*ret = SCMP_ACT_ERRNO(e >= 0 ? (uint16_t)e : EPERM);
	else if (streq(name, "SCMP_ACT_TRACE"))
		*ret = SCMP_ACT_TRACE(e >= 0 ? (uint16_t)e : 0);
	else if (streq(name, "SCMP_ACT_ALLOW"))
		*ret = SCMP_ACT_ALLOW;
	else if (streq(name, "SCMP_ACT_LOG"))
		*ret = SCMP_ACT_LOG;
	else if (streq(name, "SCMP_ACT_NOTIFY"))
		/* Needs listenerPath and a seccomp agent to hand the fd to. */
		return err_make(err, 0, "%s: SCMP_ACT_NOTIFY is not supported yet", where);
	else
		return err_make(err, 0, "%s: unknown action \"%s\"", where, name);
	return 0;
}

static int parse_flags(json_t *sc, unsigned int *ret, struct err **err)
{
	json_t *flags = NULL, *v;
	unsigned int out = 0;
	size_t i, k;
	int r;

	r = json_get_array(sc, "linux.seccomp", "flags", &flags, err);
	if (r < 0)
		return r;
	json_array_foreach (flags, i, v) {
		const char *name = json_string_value(v);

		for (k = 0; name && k < ARRAY_SIZE(flag_table); k++)
			if (streq(name, flag_table[k].name))
				break;
		if (!name || k == ARRAY_SIZE(flag_table))
			return err_make(err, 0, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i,
					name ? name : "(not a string)");
		out |= flag_table[k].flag;
	}
	*ret = out;
	return 0;
}

static int add_arches(scmp_filter_ctx ctx, json_t *sc, struct err **err)
{
	json_t *arches = NULL, *v;
	size_t i;
	int r;

	r = json_get_array(sc, "linux.seccomp", "architectures", &arches, err);
	if (r < 0)
		return r;
	json_array_foreach (arches, i, v) {
		const char *name = json_string_value(v);
		char lower[32];
		uint32_t arch = 0;
		size_t n;

		if (name && strncmp(name, "SCMP_ARCH_", 10) == 0 &&
		    strlen(name + 10) < sizeof(lower)) {
			for (n = 0; name[10 + n]; n++)
				lower[n] = (char)((name[10 + n] >= 'A' && name[10 + n] <= 'Z')
						      ? name[10 + n] + 32
						      : name[10 + n]);
			lower[n] = '\0';
			arch = seccomp_arch_resolve_name(lower);
		}
		if (!arch)
			return err_make(
			    err, 0, "linux.seccomp.architectures[%zu]: unknown architecture \"%s\"",
			    i, name ? name : "(not a string)");
		r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST)
			return err_make(err, -r, "linux.seccomp.architectures[%zu]: add \"%s\"", i,
					name);
	}
	return 0;
}

static int parse_args(json_t *args, const char *where, struct scmp_arg_cmp *cmp, size_t *ret_n,
		      struct err **err)
{
	json_t *a;
	size_t i, k;

	if (json_array_size(args) > MAX_SYSCALL_ARGS)
		return err_make(err, 0, "%s.args: more than %d comparisons", where,
				MAX_SYSCALL_ARGS);
	json_array_foreach (args, i, a) {
		const char *op = NULL;
		uint64_t index = 0, value = 0, value2 = 0;
		char w[128];

		snprintf(w, sizeof(w), "%s.args[%zu]", where, i);
		if (json_get_u64(a, w, "index", &index, err) < 0 ||
		    json_get_u64(a, w, "value", &value, err) < 0 ||
		    json_get_u64(a, w, "valueTwo", &value2, err) < 0 ||
		    json_get_string(a, w, "op", true, &op, err) < 0)
			return err_or_inval(err);
		if (index >= MAX_SYSCALL_ARGS)
			return err_make(err, 0, "%s.index: %llu is not 0..5", w,
					(unsigned long long)index);
		for (k = 0; k < ARRAY_SIZE(op_table); k++)
			if (streq(op, op_table[k].name))
				break;
		if (k == ARRAY_SIZE(op_table))
			return err_make(err, 0, "%s.op: unknown operator \"%s\"", w, op);
		cmp[i] = (struct scmp_arg_cmp){.arg = (unsigned int)index,
					       .op = op_table[k].op,
					       .datum_a = value,
					       .datum_b = value2};
	}
	*ret_n = i;
	return 0;
}

/*
 * Several comparisons of the same argument cannot share one libseccomp rule;
 * as runc does, each then becomes its own rule (any one matching triggers).
 */
static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, struct scmp_arg_cmp *cmp,
		    size_t n)
{
	bool repeated = false;

	for (size_t i = 0; i < n; i++)
		for (size_t k = i + 1; k < n; k++)
			if (cmp[i].arg == cmp[k].arg)
				repeated = true;
	if (!repeated)
		return seccomp_rule_add_array(ctx, action, nr, (unsigned int)n, cmp);
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

static int add_syscall_entry(scmp_filter_ctx ctx, json_t *entry, size_t idx, uint32_t def,
			     struct err **err)
{
	struct scmp_arg_cmp cmp[MAX_SYSCALL_ARGS];
	json_t *names = NULL, *args = NULL, *v;
	const char *action_name = NULL;
	uint32_t action;
	size_t i, n = 0;
	char w[64], wa[72];
	int r;

	snprintf(w, sizeof(w), "linux.seccomp.syscalls[%zu]", idx);
	if (!json_is_object(entry))
		return err_make(err, 0, "%s: expected an object", w);
	if (json_get_array(entry, w, "names", &names, err) < 0 ||
	    json_get_string(entry, w, "action", true, &action_name, err) < 0 ||
	    json_get_array(entry, w, "args", &args, err) < 0)
		return err_or_inval(err);
	snprintf(wa, sizeof(wa), "%s.action", w);
	r = parse_action(action_name, json_object_get(entry, "errnoRet"), wa, &action, err);
	if (r < 0)
		return r;
	r = parse_args(args, w, cmp, &n, err);
	if (r < 0)
		return r;
	/* libseccomp refuses a rule whose action is the default one; it is a no-op anyway. */
	if (action == def)
		return 0;
	json_array_foreach (names, i, v) {
		const char *name = json_string_value(v);
		int nr;

		if (!name)
			return err_make(err, 0, "%s.names[%zu]: expected a string", w, i);
		nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp/arch: skipped, as runc and crun do
				   */
		r = add_rule(ctx, action, nr, cmp, n);
		if (r < 0)
			return err_make(err, -r, "%s: add rule for \"%s\"", w, name);
	}
	return 0;
}

/* Build the filter and export it as a BPF program (malloc'd, *ret_len bytes). */
static int compile(json_t *sc, void **ret, size_t *ret_len, struct err **err)
{
	const char *def_name = NULL;
	json_t *syscalls = NULL, *v;
	_cleanup_close_ int mfd = -1;
	scmp_filter_ctx ctx;
	uint32_t def;
	size_t i;
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (json_get_string(sc, "linux.seccomp", "defaultAction", true, &def_name, err) < 0 ||
	    json_get_array(sc, "linux.seccomp", "syscalls", &syscalls, err) < 0)
		return err_or_inval(err);
	r = parse_action(def_name, json_object_get(sc, "defaultErrnoRet"),
			 "linux.seccomp.defaultAction", &def, err);
	if (r < 0)
		return r;
	ctx = seccomp_init(def);
	if (!ctx)
		return err_make(err, ENOMEM, "seccomp_init");
	/* We only export: the child sets no_new_privs itself if the config asks. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	r = add_arches(ctx, sc, err);
	for (i = 0; r >= 0 && i < json_array_size(syscalls); i++) {
		v = json_array_get(syscalls, i);
		r = add_syscall_entry(ctx, v, i, def, err);
	}
	if (r < 0)
		goto out;
	mfd = memfd_create("isola-seccomp", MFD_CLOEXEC);
	if (mfd < 0) {
		r = err_make(err, errno, "memfd_create");
		goto out;
	}
	r = seccomp_export_bpf(ctx, mfd);
	if (r < 0) {
		r = err_make(err, -r, "linux.seccomp: export the BPF program");
		goto out;
	}
	if (lseek(mfd, 0, SEEK_SET) < 0 || read_all_fd(mfd, MAX_PROG_BYTES, &buf, &len) < 0) {
		r = err_make(err, 0, "linux.seccomp: the program exceeds %d instructions",
			     MAX_INSNS);
		goto out;
	}
	*ret = buf;
	*ret_len = len;
out:
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}

#define CACHE_MAGIC "isola-bpf-v3\n"
/* config.json is at most 4 MiB, and so is the profile's text. */
#define CACHE_MAX_TEXT (4u << 20)

/* The text a program is compiled from; *ret_key names its cache entry. */
static int cache_text(json_t *sc, char **ret, char ret_key[16 + 5], struct err **err)
{
	_cleanup_free_ char *canon = json_dumps(sc, JSON_SORT_KEYS | JSON_COMPACT);
	const struct scmp_version *ver = seccomp_version();
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
	char *text;

	if (!canon || asprintf(&text, "arch=%u libseccomp=%u.%u.%u\n%s", seccomp_arch_native(),
			       ver->major, ver->minor, ver->micro, canon) < 0)
		return err_make(err, ENOMEM, "linux.seccomp: serialise");
	if (strlen(text) > CACHE_MAX_TEXT) {
		free(text);
		return err_make(err, 0, "linux.seccomp: larger than %u bytes", CACHE_MAX_TEXT);
	}
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		h = (h ^ *c) * 0x100000001b3ULL;
	snprintf(ret_key, 16 + 5, "%016" PRIx64 ".bpf", h);
	*ret = text;
	return 0;
}

/*
 * An entry is CACHE_MAGIC, the text's length (u32, little-endian), the text,
 * then the program.  Anything malformed, or another text, counts as a miss.
 */
static bool cache_read(int dfd, const char *name, const char *text, void **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, tlen = strlen(text), head = sizeof(CACHE_MAGIC) - 1 + 4;
	struct stat st;
	uint32_t stored;
	void *prog;

	/* Only trust an entry that we own and nobody else can write. */
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) ||
	    !S_ISREG(st.st_mode))
		return false;
	if (read_all_fd(fd, head + tlen + MAX_PROG_BYTES, &buf, &len) < 0 || len < head + tlen ||
	    memcmp(buf, CACHE_MAGIC, head - 4) != 0)
		return false;
	memcpy(&stored, buf + head - 4, 4);
	if (le32toh(stored) != tlen || memcmp(buf + head, text, tlen) != 0)
		return false;
	len -= head + tlen;
	if (len == 0 || len % sizeof(struct sock_filter) != 0)
		return false;
	prog = malloc(len);
	if (!prog)
		return false;
	memcpy(prog, buf + head + tlen, len);
	*ret = prog;
	*ret_len = len;
	return true;
}

/* A failed write only costs the next run a compile. */
static void cache_write(int dfd, const char *name, const char *text, const void *prog, size_t len)
{
	size_t tlen = strlen(text), head = sizeof(CACHE_MAGIC) - 1 + 4;
	_cleanup_free_ char *buf = malloc(head + tlen + len);
	uint32_t le = htole32((uint32_t)tlen);
	struct err *ignored = NULL;

	if (!buf)
		return;
	memcpy(buf, CACHE_MAGIC, head - 4);
	memcpy(buf + head - 4, &le, 4);
	memcpy(buf + head, text, tlen);
	memcpy(buf + head + tlen, prog, len);
	write_file_atomic_at(dfd, name, buf, head + tlen + len, 0600, &ignored);
	err_free(&ignored);
}

static int open_cache_dir(const char *cache_dir)
{
	struct err *ignored = NULL;

	if (mkdir_p(cache_dir, 0700, &ignored) < 0) {
		err_free(&ignored);
		return -1;
	}
	return open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int ct_seccomp_prepare(json_t *linux_seccomp, const char *cache_dir, struct ct_seccomp **ret,
		       struct err **err)
{
	_cleanup_free_ struct ct_seccomp *s = NULL;
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *text = NULL;
	char key[16 + 5];
	void *prog = NULL;
	size_t len = 0;
	int r;

	if (!linux_seccomp) {
		*ret = NULL;
		return 0;
	}
	if (!json_is_object(linux_seccomp))
		return err_make(err, 0, "linux.seccomp: expected an object");
	if (json_object_get(linux_seccomp, "listenerPath"))
		return err_make(
		    err, 0,
		    "linux.seccomp.listenerPath: seccomp user notification is not supported yet");
	r = ct_seccomp_lib_load(err);
	if (r < 0)
		return err_wrap(err, "linux.seccomp");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_make(err, ENOMEM, "linux.seccomp");
	r = parse_flags(linux_seccomp, &s->flags, err);
	if (r < 0)
		return err_wrap(err, "config.json");
	r = cache_text(linux_seccomp, &text, key, err);
	if (r < 0)
		return r;
	if (!cache_dir)
		cache_dir = CT_SECCOMP_CACHE_DIR;
	if (cache_dir[0]) {
		dfd = open_cache_dir(cache_dir);
		s->from_cache = dfd >= 0 && cache_read(dfd, key, text, &prog, &len);
	}
	if (!s->from_cache) {
		r = compile(linux_seccomp, &prog, &len, err);
		if (r < 0)
			return err_wrap(err, "config.json");
		if (dfd >= 0)
			cache_write(dfd, key, text, prog, len);
	}
	s->prog.len = (unsigned short)(len / sizeof(struct sock_filter));
	s->prog.filter = prog;
	*ret = TAKE_PTR(s);
	return 0;
}

const void *ct_seccomp_program(const struct ct_seccomp *s, size_t *ret_len, unsigned *ret_flags)
{
	*ret_len = (size_t)s->prog.len * sizeof(struct sock_filter);
	*ret_flags = s->flags;
	return s->prog.filter;
}

bool ct_seccomp_from_cache(const struct ct_seccomp *s)
{
	return s && s->from_cache;
}

int ct_seccomp_load(struct ct_seccomp *s, struct err **err)
{
	if (!s)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->flags, &s->prog) == 0)
		return 0;
	if (errno == ENOSYS && s->flags == 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &s->prog, 0, 0) == 0)
		return 0;
	return err_make(err, errno, "load the seccomp filter");
}

void ct_seccomp_free(struct ct_seccomp *s)
{
	if (!s)
		return;
	free(s->prog.filter);
	free(s);
}

int ct_seccomp_prepare_root(const char *root, json_t *linux_seccomp, struct ct_seccomp **ret,
			    struct err **err)
{
	_cleanup_free_ char *cache = NULL;

	if (!linux_seccomp)
		return ct_seccomp_prepare(NULL, NULL, ret, err);
	if (ct_seccomp_cache_dir(root, &cache) < 0)
		return err_make(err, ENOMEM, "seccomp cache");
	return ct_seccomp_prepare(linux_seccomp, cache, ret, err);
}
