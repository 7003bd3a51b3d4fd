/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The OCI mode of VM containers: which containers run in a VM (isola-vm, the
 * run.isola.vm annotations), and create (docs/vm-containers.md).  create
 * builds the root disk and initramfs, forks the monitor (monitor.c) and waits
 * until the guest agent has connected; then it writes vm.json and state.json
 * and lets the monitor go.  start, kill and delete are in oci-ctl.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "cleanup.h"
#include "config.h"
#include "fdutil.h"
#include "init.h"
#include "jsonutil.h"
#include "oci-internal.h"
#include "oci.h"
#include "parse.h"
#include "seccomp.h"
#include "spawn.h"
#include "spec.h"
#include "state.h"
#include "strv.h"
#include "vmct.h"

#define DEFAULT_MEMORY (256ull << 20)
#define MEMORY_MIN     (64ull << 20)
#define MEMORY_MAX     (256ull << 30)
#define CPUS_MAX       64
#define BOOT_TIMEOUT   600
#define PREFIX	       VMCT_OCI_ANNOTATION "."
#define STATUS_ABORT   125
#define STOP_WAIT_MS   10000
/* What the VMM itself takes beside the guest's RAM, under a memory limit. */
#define VMM_OVERHEAD (64ull << 20)

/* An absolute path without NULs (a JSON string may hold \u0000). */
static bool abs_path(json_t *v)
{
	const char *s = json_string_value(v);

	return s && s[0] == '/' && strlen(s) == json_string_length(v) && strlen(s) < PATH_MAX;
}

static int select_one(bool by_name, const char *key, json_t *v, struct vmct_oci_sel *s,
		      struct err **err)
{
	const char *val = json_string_value(v), *sub = key + strlen(PREFIX);
	int n;

	if (!val)
		return err_make(err, 0, "annotation `%s`: not a string", key);
	if (streq(key, VMCT_OCI_ANNOTATION)) {
		if (!streq(val, "true") && !streq(val, "false"))
			return err_make(err, 0, "annotation `%s`: `%s`: expected true or false",
					key, val);
		if (by_name && streq(val, "false"))
			return err_make(err, 0,
					"annotation `%s`: false: " VMCT_OCI_NAME
					" always runs containers in VMs",
					key);
		s->vm = s->vm || streq(val, "true");
	} else if (streq(sub, "kernel") || streq(sub, "modules")) {
		if (!abs_path(v))
			return err_make(err, 0, "annotation `%s`: `%s`: expected an absolute path",
					key, val);
		*(streq(sub, "kernel") ? &s->kernel : &s->modules) = val;
	} else if (streq(sub, "memory")) {
		if (parse_size(val, &s->memory) < 0 || s->memory < MEMORY_MIN ||
		    s->memory > MEMORY_MAX)
			return err_make(err, 0, "annotation `%s`: `%s`: expected a size, 64M..256G",
					key, val);
	} else if (streq(sub, "cpus")) {
		if (parse_int(val, &n) < 0 || n < 1 || n > CPUS_MAX)
			return err_make(err, 0, "annotation `%s`: `%s`: expected 1..%d", key, val,
					CPUS_MAX);
		s->cpus = n;
	} else if (streq(sub, "init")) {
		if (!streq(val, "true") && !streq(val, "false"))
			return err_make(err, 0, "annotation `%s`: `%s`: expected true or false",
					key, val);
		s->init = streq(val, "true");
	} else {
		return err_make(err, 0,
				"annotation `%s`: unknown (known: " VMCT_OCI_ANNOTATION ", " PREFIX
				"kernel, .modules, .memory, .cpus, .init)",
				key);
	}
	return 0;
}

int vmct_oci_select(bool by_name, json_t *annotations, struct vmct_oci_sel *ret, struct err **err)
{
	struct vmct_oci_sel s = {.vm = by_name};
	const char *key;
	json_t *v;
	int r;

	if (annotations && !json_is_object(annotations))
		return err_make(err, 0, "annotations: not an object");
	json_object_foreach (annotations, key, v) {
		if (!streq(key, VMCT_OCI_ANNOTATION) && strncmp(key, PREFIX, strlen(PREFIX)) != 0)
			continue;
		r = select_one(by_name, key, v, &s, err);
		if (r < 0)
			return r;
	}
	*ret = s;
	return 0;
}

int vmct_oci_wanted(bool by_name, const char *bundle, struct err **err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_json_ json_t *spec = NULL;
	struct vmct_oci_sel s;
	json_error_t jerr;
	size_t len = 0;
	int r;

	if (asprintf(&path, "%s/config.json", bundle ? bundle : ".") < 0)
		return err_make(err, ENOMEM, "config.json");
	/* Unreadable: create says why.  (A key spelt with JSON escapes is missed
	 * here: that is the author's choice of a plain container, not isola-vm's.) */
	if (read_file_at(AT_FDCWD, path, CT_CONFIG_MAX, &text, &len, NULL) < 0)
		return by_name;
	if (!by_name && !memmem(text, len, VMCT_OCI_ANNOTATION, strlen(VMCT_OCI_ANNOTATION)))
		return 0;
	spec = json_loadb_u64(text, len, 0, &jerr);
	if (!spec)
		return by_name;
	r = vmct_oci_select(by_name, json_object_get(spec, "annotations"), &s, err);
	if (r < 0)
		return err_wrap(err, "`%s`", path);
	return s.vm;
}

/*
 * The privileges isola's own parser (ct_process_parse, as for a plain
 * container) found in process: capabilities (absent: none, as a plain
 * container of the same config.json gets, and crun), noNewPrivileges,
 * user.additionalGids and umask, rlimits, oomScoreAdj, ioPriority; for the
 * agent to apply.
 */
static int load_privileges(const struct ct_process *p, struct vmct_config *c, struct err **err)
{
	int r;

	r = ct_caps_parse(p->capabilities, "process.capabilities", &c->caps, err);
	c->has_caps = r >= 0;
	if (r >= 0 && p->n_additional_gids > VMCT_GROUPS_MAX)
		r = err_make(err, 0, "process.user.additionalGids: more than %u groups",
			     VMCT_GROUPS_MAX);
	for (size_t i = 0; r >= 0 && i < p->n_additional_gids; i++)
		c->groups[c->n_groups++] = p->additional_gids[i];
	/* One entry per resource: RLIM_NLIMITS of them at most. */
	for (size_t i = 0; r >= 0 && i < p->n_rlimits; i++) {
		const struct ct_rlimit *l = &p->rlimits[i];

		if (l->soft > l->hard)
			r = err_make(err, 0,
				     "process.rlimits[%zu]: soft %" PRIu64 " over hard %" PRIu64, i,
				     l->soft, l->hard);
		for (uint32_t k = 0; r >= 0 && k < c->n_rlimits; k++)
			if (c->rlimits[k].resource == (uint32_t)l->resource)
				r = err_make(err, 0, "process.rlimits[%zu]: its type given twice",
					     i);
		if (r >= 0 && c->n_rlimits == VMCT_RLIMITS_MAX)
			r = err_make(err, 0, "process.rlimits: more than %u", VMCT_RLIMITS_MAX);
		if (r >= 0)
			c->rlimits[c->n_rlimits++] = (struct vmct_rlimit){
			    .resource = (uint32_t)l->resource, .soft = l->soft, .hard = l->hard};
	}
	if (r >= 0 && p->has_umask && p->umask > 0777)
		r = err_make(err, 0, "process.user.umask: %#o is not a mode", p->umask);
	c->has_umask = p->has_umask;
	c->umask = p->umask;
	c->has_oom = p->has_oom_score_adj;
	c->oom_score_adj = p->oom_score_adj;
	c->no_new_privs = p->no_new_privileges;
	c->ioprio = (uint32_t)p->io_priority;
	return r;
}

/*
 * @proc is checked by ct_process_parse, once; c->argv and c->env are arrays
 * of @proc's own strings (json's: they live as long as @proc does).
 */
int vmct_oci_load_process(json_t *proc, struct vmct_config *c, struct err **err)
{
	json_t *args = json_object_get(proc, "args"), *env = json_object_get(proc, "env"), *v;
	struct ct_process p;
	size_t i;
	int r;

	r = ct_process_parse(proc, "process", &p, err);
	if (r >= 0 &&
	    (json_array_size(args) >= VMCT_ARGS_MAX || json_array_size(env) >= VMCT_ARGS_MAX))
		r = err_make(err, E2BIG, "process: more than %u args or env entries",
			     VMCT_ARGS_MAX - 1);
	if (r >= 0) {
		c->argv = calloc(json_array_size(args) + 1, sizeof(char *));
		c->env = calloc(json_array_size(env) + 1, sizeof(char *));
		if (!c->argv || !c->env)
			r = err_make(err, ENOMEM, "config");
	}
	if (r >= 0) {
		json_array_foreach (args, i, v)
			c->argv[i] = (char *)json_string_value(v);
		json_array_foreach (env, i, v)
			if (!strchr((c->env[i] = (char *)json_string_value(v)), '=') && r >= 0)
				r = err_make(err, 0, "process.env[%zu]: `%.64s` is not K=V", i,
					     c->env[i]);
	}
	if (r >= 0) {
		c->tty = p.terminal;
		c->cwd = (char *)p.cwd;
		c->uid = p.uid;
		c->gid = p.gid;
		r = load_privileges(&p, c, err);
	}
	ct_process_clear(&p);
	return r;
}

int vmct_oci_load_paths(json_t *spec, struct vmct_config *c, struct err **err)
{
	static const char *const keys[] = {"maskedPaths", "readonlyPaths"};
	json_t *lx = json_object_get(spec, "linux"), *v;
	char e[VMCT_MOUNT_STR + 2];
	size_t i, n = 0;

	for (size_t k = 0; k < 2; k++) {
		json_t *arr = json_object_get(lx, keys[k]);

		if (arr && !json_is_array(arr))
			return err_make(err, 0, "linux.%s: not an array", keys[k]);
		json_array_foreach (arr, i, v) {
			const char *p = json_string_value(v);

			snprintf(e, sizeof(e), "%c %s", k ? 'R' : 'M', p ? p : "");
			if (!p || strlen(p) != json_string_length(v) || !vmct_path_ok(e))
				return err_make(err, 0,
						"linux.%s[%zu]: `%.64s`: not an absolute path a "
						"VM's agent takes (no blank, `.` or `..`, under "
						"256 bytes)",
						keys[k], i, p ? p : "");
			if (++n > VMCT_PATHS_MAX)
				return err_make(err, 0, "linux.%s: more than %u paths in all",
						keys[k], VMCT_PATHS_MAX);
			if (strv_push(&c->paths, e) < 0)
				return err_make(err, ENOMEM, "paths");
		}
	}
	return 0;
}

int vmct_oci_load_sysctls(json_t *spec, struct vmct_config *c, struct err **err)
{
	json_t *obj = json_object_get(json_object_get(spec, "linux"), "sysctl"), *v;
	const char *k;
	size_t n = 0;

	if (obj && !json_is_object(obj))
		return err_make(err, 0, "linux.sysctl: not an object");
	json_object_foreach (obj, k, v) {
		const char *val = json_string_value(v);
		_cleanup_free_ char *e = NULL;

		if (!val || strlen(val) != json_string_length(v))
			return err_make(err, 0, "linux.sysctl.%.64s: expected a string", k);
		if (ct_sysctl_namespace(k) < 0)
			return err_make(err, EPERM,
					"linux.sysctl.%.64s: not a namespaced sysctl: not taken "
					"in a VM either",
					k);
		if (asprintf(&e, "%s %s", k, val) < 0)
			return err_make(err, ENOMEM, "sysctl");
		if (!vmct_sysctl_ok(e))
			return err_make(err, 0,
					"linux.sysctl.%.64s: `%.64s`: not a sysctl a VM's agent "
					"takes (key of [a-z0-9_.-], a printable value, under %u "
					"bytes)",
					k, val, VMCT_SYSCTL_STR);
		if (++n > VMCT_SYSCTLS_MAX)
			return err_make(err, 0, "linux.sysctl: more than %u keys",
					VMCT_SYSCTLS_MAX);
		if (strv_push(&c->sysctls, e) < 0)
			return err_make(err, ENOMEM, "sysctl");
	}
	return 0;
}

int vmct_oci_load_seccomp(json_t *spec, struct ct_seccomp **ret, struct vmct_config *c,
			  struct err **err)
{
	json_t *sc = json_object_get(json_object_get(spec, "linux"), "seccomp");
	size_t len;
	unsigned flags;
	int r;

	*ret = NULL;
	if (!sc)
		return 0;
	r = ct_seccomp_prepare(sc, NULL, ret, err);
	if (r < 0 || !*ret)
		return r;
	c->seccomp = ct_seccomp_program(*ret, &len, &flags);
	if (len / VMCT_BPF_INSN > VMCT_BPF_MAX || (flags & ~VMCT_SECCOMP_FLAGS))
		return err_make(err, 0,
				"linux.seccomp: a filter of %zu instructions with flags %#x "
				"cannot be given to a VM's agent",
				len / VMCT_BPF_INSN, flags);
	c->seccomp_len = (uint32_t)len;
	c->seccomp_flags = flags;
	return 0;
}

/* Hooks would run on the host around a guest they cannot see: refused, not skipped. */
static int check_unsupported(json_t *spec, const struct vmct_oci_create_opts *o, struct err **err)
{
	const char *k;
	json_t *v;

	json_object_foreach (json_object_get(spec, "hooks"), k, v)
		if (json_array_size(v))
			return err_make(err, 0, "hooks.%s: not supported in a VM container", k);
	return 0;
}

/* process.terminal: the pty's slave becomes our stdio (process.consoleSize: its first size). */
static int console_setup(const char *console_socket, json_t *proc, struct err **err)
{
	json_t *size = json_object_get(proc, "consoleSize");
	json_int_t h = json_integer_value(json_object_get(size, "height")),
		   w = json_integer_value(json_object_get(size, "width"));
	_cleanup_close_ int slave = -1;
	int r;

	if (h < 0 || h > UINT16_MAX || w < 0 || w > UINT16_MAX)
		h = w = 0;
	r = vmct_oci_console(console_socket, h, w, &slave, err);
	if (r < 0)
		return r;
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return err_make(err, errno, "the pty as stdio");
	return 0;
}

/*
 * linux.resources.memory.limit bounds the monitor and VMM, guest RAM
 * included: without run.isola.vm.memory the guest gets the limit less
 * VMM_OVERHEAD; an annotated size must fit in it with that overhead.
 */
static int size_by_limit(json_t *spec, struct vmct_oci_sel *sel, struct err **err)
{
	json_t *mem =
	    json_object_get(json_object_get(json_object_get(spec, "linux"), "resources"), "memory");
	json_int_t limit = json_integer_value(json_object_get(mem, "limit"));

	if (limit <= 0)
		return 0;
	if (sel->memory && sel->memory + VMM_OVERHEAD > (uint64_t)limit)
		return err_make(err, 0,
				"annotation `" PREFIX "memory`: %llu bytes and the VMM's %lluM do "
				"not fit in linux.resources.memory.limit (%lld)",
				(unsigned long long)sel->memory, VMM_OVERHEAD >> 20,
				(long long)limit);
	if (sel->memory)
		return 0;
	if ((uint64_t)limit < MEMORY_MIN + VMM_OVERHEAD)
		return err_make(err, 0,
				"linux.resources.memory.limit: %lld is below the %lluM a VM "
				"container needs (a %lluM guest and %lluM for the VMM)",
				(long long)limit, (MEMORY_MIN + VMM_OVERHEAD) >> 20,
				MEMORY_MIN >> 20, VMM_OVERHEAD >> 20);
	sel->memory = ((uint64_t)limit - VMM_OVERHEAD) & ~((1ull << 20) - 1);
	if (sel->memory > MEMORY_MAX)
		sel->memory = MEMORY_MAX;
	return 0;
}

/* $ISOLA_AGENT, else isola-agent beside isola or in the build tree, else libexecdir. */
char *vmct_find_agent(void)
{
	_cleanup_free_ char *self = realpath("/proc/self/exe", NULL);
	const char *env = getenv("ISOLA_AGENT"), *rel[] = {"isola-agent", "../vmct/isola-agent"};
	char p[PATH_MAX], *slash;

	if (env && *env)
		return strdup(env);
	for (size_t i = 0; self && i < ARRAY_SIZE(rel); i++) {
		snprintf(p, sizeof(p), "%s", self);
		slash = strrchr(p, '/');
		if (!slash)
			break;
		snprintf(slash + 1, sizeof(p) - (slash + 1 - p), "%s", rel[i]);
		if (access(p, X_OK) == 0)
			return strdup(p);
	}
	snprintf(p, sizeof(p), "%s/isola-agent", ISOLA_LIBEXECDIR);
	return access(p, X_OK) == 0 ? strdup(p) : NULL;
}

/* Everything create needs, resolved before the state dir exists. */
struct plan {
	json_t *spec;
	struct ct_cgroup *cg; /* the monitor's and VMM's (not run --vm -d's) */
	bool cg_made;
	struct vmct_oci_mounts mounts;
	struct vmct_oci_sel sel;
	struct vmct_config proc;
	struct ct_seccomp *seccomp; /* proc.seccomp points into it */
	char *self, *agent, *moddir, *rootfs, *root, *dir;
	const char *kernel;
	char *kernel_real; /* an annotation's kernel, resolved (p->kernel points here) */
	char *initrd, *disk;
	char *warm_cache;		/* NULL: boot cold */
	const struct vmct_oci_nic *nic; /* NULL: the guest has no NIC */
	struct vmct_oci_netns netns;	/* the OCI mode's: the engine's netns */
};

static void plan_free(struct plan *p)
{
	free(p->proc.argv);
	free(p->proc.env);
	strv_free(p->proc.paths);
	strv_free(p->proc.sysctls);
	ct_seccomp_free(p->seccomp);
	free(p->self);
	free(p->agent);
	free(p->moddir);
	free(p->kernel_real);
	free(p->rootfs);
	free(p->root);
	free(p->dir);
	free(p->initrd);
	free(p->disk);
	free(p->warm_cache);
	vmct_oci_mounts_free(&p->mounts);
	vmct_oci_netns_free(&p->netns);
	ct_cgroup_free(p->cg);
	json_decref(p->spec);
}

/*
 * A kernel or module dir named by an annotation: where an engine passes a pod's
 * annotations on (containerd's pod_annotations, CRI-O's allowed_annotations),
 * its author names them.  Only a path that no one but root (or the caller)
 * can change is taken: the file or dir and every directory above it owned so
 * and not writable by group or others -- a sticky directory excepted, where
 * others cannot replace its owner's entries.  A kernel a user wrote on a
 * hostPath is refused; which of the host's kernels a pod may pick is the
 * engine's annotation list's to decide.
 */
static int check_one(const char *key, const char *path, const char *prefix, bool last,
		     struct err **err)
{
	struct stat st;

	if (lstat(prefix, &st) < 0)
		return err_make(err, errno, "annotation `%s`: `%s`: `%s`", key, path, prefix);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return err_make(err, EPERM, "annotation `%s`: `%s`: `%s` is owned by uid %u", key,
				path, prefix, (unsigned)st.st_uid);
	/* A sticky dir above is fine; as the module dir itself (/tmp) it is anyone's. */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    (last || !S_ISDIR(st.st_mode) || !(st.st_mode & S_ISVTX)))
		return err_make(err, EPERM, "annotation `%s`: `%s`: `%s` is writable by others",
				key, path, prefix);
	return 0;
}

static __thread const char *tree_key, *tree_path;
static __thread struct err **tree_err;
static __thread size_t tree_seen;

static int tree_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
	if (++tree_seen > (1u << 17))
		return err_make(tree_err, E2BIG, "annotation `%s`: `%s`: more than %u entries",
				tree_key, tree_path, 1u << 17);
	/* Symlinks are not followed (nor taken as modules) by the walk that uses the tree. */
	if (type == FTW_SL)
		return 0;
	return check_one(tree_key, tree_path, p, true, tree_err) < 0 ? -1 : 0;
}

/*
 * @path after symlinks, and every directory above it; with @tree, everything
 * below it too (on its file system), as the module walk reads it.
 */
static int check_trusted(const char *key, const char *path, bool tree, struct err **err)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	size_t n;
	int r;

	if (!real)
		return err_make(err, errno, "annotation `%s`: `%s`", key, path);
	n = strlen(real);
	r = check_one(key, path, "/", n == 1, err);
	for (size_t i = 1; r >= 0 && i <= n; i++) {
		if (i < n && real[i] != '/')
			continue;
		real[i] = '\0';
		r = check_one(key, path, real, i == n, err);
		if (i < n)
			real[i] = '/';
	}
	if (r >= 0 && tree) {
		tree_key = key, tree_path = path, tree_err = err, tree_seen = 0;
		if (nftw(real, tree_cb, 16, FTW_PHYS | FTW_MOUNT) != 0)
			r = err && *err ? -1
					: err_make(err, errno, "annotation `%s`: `%s`", key, path);
	}
	return r;
}

static int plan_make(const struct vmct_oci_create_opts *o, struct plan *p, struct err **err)
{
	_cleanup_free_ char *cfg = NULL;
	const char *root, *env;
	int r;

	if (asprintf(&cfg, "%s/config.json", o->bundle) < 0)
		return err_make(err, ENOMEM, "config");
	r = json_load_file_capped(AT_FDCWD, cfg, CT_CONFIG_MAX, &p->spec, err);
	if (r >= 0 && o->image) {
		p->sel = o->image->sel;
		p->nic = o->image->nic;
	} else if (r >= 0)
		r = vmct_oci_select(o->by_name, json_object_get(p->spec, "annotations"), &p->sel,
				    err);
	if (r >= 0 && !o->image)
		r = size_by_limit(p->spec, &p->sel, err);
	if (r >= 0)
		r = vmct_oci_load_process(json_object_get(p->spec, "process"), &p->proc, err);
	p->proc.init = p->sel.init;
	if (r >= 0)
		r = vmct_oci_load_seccomp(p->spec, &p->seccomp, &p->proc, err);
	if (r >= 0)
		r = vmct_oci_load_paths(p->spec, &p->proc, err);
	if (r >= 0)
		r = vmct_oci_load_sysctls(p->spec, &p->proc, err);
	if (r >= 0)
		r = check_unsupported(p->spec, o, err);
	if (r >= 0)
		r = vmct_oci_check_tty(
		    json_is_true(json_object_get(json_object_get(p->spec, "process"), "terminal")),
		    true, o->console_socket, err); /* create always detaches */
	if (r < 0)
		return err_wrap(err, "`%s`", cfg);
	root = json_string_value(json_object_get(json_object_get(p->spec, "root"), "path"));
	if (!root || !*root)
		return err_make(err, 0, "`%s`: root.path: missing", cfg);
	if (root[0] == '/' ? !(p->rootfs = strdup(root))
			   : asprintf(&p->rootfs, "%s/%s", o->bundle, root) < 0)
		return err_make(err, ENOMEM, "rootfs");
	/* run --vm -d too: its file binds are refused in prepare() (the image's disk is shared). */
	r = vmct_oci_mounts_plan(json_object_get(p->spec, "mounts"), o->bundle, &p->mounts, err);
	p->proc.mounts = p->mounts.guest;
	if (r >= 0 && !o->image)
		r = vmct_oci_netns_open(p->spec, &p->netns, err);
	if (r < 0)
		return err_wrap(err, "`%s`", cfg);
	p->kernel = p->sel.kernel ? p->sel.kernel : getenv("ISOLA_VM_KERNEL");
	if (!p->kernel || !*p->kernel)
		p->kernel = ISOLA_VM_KERNEL_DEFAULT;
	if (access(p->kernel, R_OK) < 0)
		return err_make(err, errno,
				"guest kernel `%s` (set run.isola.vm.kernel or $ISOLA_VM_KERNEL)",
				p->kernel);
	/* An annotation's kernel is checked, then used, by the path it resolves to. */
	if (!o->image && p->sel.kernel) {
		if (check_trusted(VMCT_OCI_ANNOTATION ".kernel", p->sel.kernel, false, err) < 0)
			return -1;
		p->kernel_real = realpath(p->sel.kernel, NULL);
		if (!p->kernel_real)
			return err_make(err, errno, "guest kernel `%s`", p->sel.kernel);
		p->kernel = p->kernel_real;
	}
	env = getenv("ISOLA_VM_MODULES");
	p->moddir = p->sel.modules ? strdup(p->sel.modules)
		    : env && *env  ? strdup(env)
				   : vmct_moddir_for(p->kernel);
	/* The module dir an annotation named, or found beside an annotation's kernel. */
	if (!o->image && p->moddir && (p->sel.modules || (p->sel.kernel && !(env && *env))) &&
	    check_trusted(VMCT_OCI_ANNOTATION ".modules", p->moddir, true, err) < 0)
		return -1;
	p->agent = vmct_find_agent();
	/* $ISOLA_VMM: what runs `vm run` (tests put a fake VMM there), else this binary. */
	env = getenv("ISOLA_VMM");
	p->self = env && *env ? strdup(env) : realpath("/proc/self/exe", NULL);
	if (!p->agent || !p->self)
		return err_make(err, ENOENT, "isola-agent (or /proc/self/exe) not found");
	return 0;
}

/* Does @res (linux.resources less devices) ask for any limit? */
static bool limits_asked(json_t *res)
{
	const char *key;
	json_t *v;

	json_object_foreach (res, key, v)
		if (!json_is_null(v) && !(json_is_object(v) && json_object_size(v) == 0))
			return true;
	return false;
}

/*
 * The monitor's and VMM's cgroup: cgroupsPath as for a plain container, and
 * linux.resources but its device rules (those are the guest's: the VMM needs
 * /dev/kvm, which a container's rules would deny).
 */
static int make_cgroup(const char *id, struct plan *p, int dirfd, struct err **err)
{
	_cleanup_json_ json_t *rec = NULL;
	_cleanup_free_ char *text = NULL;
	json_t *lnx = json_object_get(p->spec, "linux"), *res = json_object_get(lnx, "resources");
	_cleanup_json_ json_t *copy = res ? json_deep_copy(res) : NULL;
	int r;

	if (res && !copy)
		return err_make(err, ENOMEM, "linux.resources");
	if (copy)
		json_object_del(copy, "devices");
	r = ct_cgroup_prepare(json_string_value(json_object_get(lnx, "cgroupsPath")), id, false,
			      &p->cg, err);
	if (r >= 0)
		r = ct_cgroup_realize(p->cg, copy, err);
	/*
	 * No cgroup file system (a bare L1): without limits to apply, none is made.
	 * Not for a cgroupsPath refused (EINVAL) or another container's cgroup
	 * (EBUSY): the VM would run outside any cgroup.
	 */
	if (r < 0 && !limits_asked(copy) && err_code(*err) != -EINVAL && err_code(*err) != -EBUSY) {
		err_free(err);
		ct_cgroup_free(p->cg);
		p->cg = NULL;
		return 0;
	}
	if (r < 0)
		return err_wrap(err, "the VM's cgroup");
	p->cg_made = true;
	/* Recorded at once: a create that dies now leaves delete --force what to remove. */
	rec = ct_cgroup_to_json(p->cg);
	text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	if (!text)
		return err_make(err, ENOMEM, "the VM's cgroup");
	return write_file_atomic_at(dirfd, CT_STATE_CGROUP_FILE, text, strlen(text), 0600, err);
}

/* The files: state dir (locked, *dirfd), initramfs (cached) and root disk. */
static int prepare(const struct vmct_oci_create_opts *o, struct plan *p, int *dirfd,
		   struct err **err)
{
	_cleanup_free_ char *cache = NULL;
	int r;

	r = ct_state_create_dir(o->root, o->id, dirfd, err);
	if (r < 0)
		return r;
	p->root = realpath(o->root, NULL);
	if (!p->root || asprintf(&p->dir, "%s/%s", p->root, o->id) < 0 ||
	    asprintf(&cache, "%s/.vm-cache", p->root) < 0)
		return err_make(err, ENOMEM, "paths");
	/*
	 * Warm starts (warm.c): run --vm -d restores run --vm's templates; the
	 * runtime's are kept with its initramfs (the key: docs/vm-containers.md),
	 * one per number of shared directories as well.
	 */
	if (vmct_warm_wanted() &&
	    !(p->warm_cache = strdup(o->image && o->image->cache ? o->image->cache : cache)))
		return err_make(err, ENOMEM, "paths");
	/* run --vm -d: its cached files (no per-container mkfs: the image's disk is shared). */
	if (o->image && o->image->initrd && o->image->disk) {
		const char *left = vmct_oci_mounts_file_left(
		    &p->mounts, o->image->etc_hosts != NULL, o->image->etc_resolv != NULL,
		    o->image->etc_hostname != NULL);

		if (left)
			return err_make(err, 0,
					"a bind of the file `%s`: the image's shared disk cannot "
					"hold a copy (run --vm shares directories only)",
					left);
		p->initrd = strdup(o->image->initrd);
		p->disk = strdup(o->image->disk);
		return p->initrd && p->disk ? 0 : err_make(err, ENOMEM, "paths");
	}
	r = make_cgroup(o->id, p, *dirfd, err);
	if (r >= 0)
		r = vmct_initramfs_get(cache, p->agent, p->moddir, &p->initrd, err);
	if (r >= 0)
		r = vmct_rootfs_get(p->dir, "ct", p->rootfs, &p->disk, NULL, err);
	if (r >= 0)
		r = vmct_oci_mounts_copy(&p->mounts, *dirfd, p->disk, err);
	/* Last: the engine's netns is touched only once everything else is ready. */
	if (r >= 0)
		r = vmct_oci_netns_link(&p->netns, *dirfd, err);
	if (r >= 0 && p->netns.linked)
		p->nic = &p->netns.nic;
	return r;
}

/* The monitor: the child of create, in the state dir, stdio kept, all else closed. */
static __attribute__((noreturn)) void monitor_main(const struct vmct_oci_create_opts *o,
						   struct plan *p, int dirfd, int sync_fd,
						   pid_t parent)
{
	struct vmct_monitor m = {
	    .sync_fd = 3,
	    .ctl_fd = 4,
	    .client = -1,
	    .ready_wait = 60,
	    .proc = &p->proc,
	    .warm_cache = p->warm_cache,
	};
	_cleanup_err_ struct err *err = NULL;
	struct vmct_run_opts ro = {
	    .vmm = p->self,
	    .kernel = p->kernel,
	    .initrd = p->initrd,
	    .disk = p->disk,
	    .memory = p->sel.memory ? p->sel.memory : DEFAULT_MEMORY,
	    .cpus = p->sel.cpus ? p->sel.cpus : 1,
	    .proc = &p->proc,
	    .in_fd = STDIN_FILENO,
	    .out_fd = STDOUT_FILENO,
	    .err_fd = STDERR_FILENO,
	    .boot_timeout_s = o->boot_timeout_s ? o->boot_timeout_s : BOOT_TIMEOUT,
	    .shares = p->mounts.shares,
	    .n_shares = (unsigned)p->mounts.n_shares,
	};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int ctl, s, c;

	/* run --vm -d: the log is our stdout and stderr; exec finds the VM by the note. */
	for (int i = 0; o->image && i < 3; i++)
		if (o->image->stdio[i] != i && dup2(o->image->stdio[i], i) < 0)
			_exit(STATUS_ABORT);
	ro.vsock_note = o->image ? o->image->vsock_note : NULL;
	if (o->image) {
		p->proc.hostname = (char *)o->image->hostname;
		p->proc.etc_hosts = (char *)o->image->etc_hosts;
		p->proc.etc_resolv = (char *)o->image->etc_resolv;
		p->proc.etc_hostname = (char *)o->image->etc_hostname;
	}
	/* A NIC: the VMM in the netns with the TAP; a warm clone's NIC is remapped onto it. */
	if (p->nic) {
		ro.netns = p->nic->netns;
		ro.net = p->nic->vmm_net;
		ro.tap = p->nic->tap;
		p->proc.net = p->nic->cfg;
	}
	/* Until create says "G", create's death is ours (and the VMM's, by its own PDEATHSIG). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(STATUS_ABORT);
	signal(SIGPIPE, SIG_IGN);
	setsid();
	/* Before the chdir: the console socket's path may be relative. */
	if (p->proc.tty &&
	    console_setup(o->console_socket, json_object_get(p->spec, "process"), &err) < 0) {
		dprintf(sync_fd, "E %s", err->msg);
		_exit(STATUS_ABORT);
	}
	if (p->proc.tty)
		vmct_term_size(STDIN_FILENO, &p->proc.rows, &p->proc.cols);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", VMCT_OCI_CTL);
	ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fchdir(dirfd) < 0 || ctl < 0 || bind(ctl, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ctl, 4) < 0 || (s = fcntl(sync_fd, F_DUPFD_CLOEXEC, 64)) < 0 ||
	    (c = fcntl(ctl, F_DUPFD_CLOEXEC, 64)) < 0 || dup2(s, 3) < 0 || dup2(c, 4) < 0) {
		dprintf(sync_fd, "E the monitor's control socket: %s", strerror(errno));
		_exit(STATUS_ABORT);
	}
	/* The state dir's lock (dirfd) goes with the rest: create's exit releases it. */
	close_range(5, ~0u, 0);
	fcntl(3, F_SETFD, FD_CLOEXEC);
	fcntl(4, F_SETFD, FD_CLOEXEC);
	/* In the cgroup before the VMM is forked: create moves us, then says "C". */
	if (p->cg) {
		char go = 0;

		if (read(3, &go, 1) != 1 || go != 'C')
			_exit(STATUS_ABORT);
	}
	_exit(vmct_monitor_run(&m, &ro));
}

/* The monitor's "W <note>\n" lines at the head of @buf: to @warn, and out of @buf. */
static void take_notes(char *buf, size_t *len, void (*warn)(const char *note))
{
	char *nl;

	while (buf[0] == 'W' && (nl = strchr(buf, '\n'))) {
		*nl = '\0';
		if (warn)
			warn(nl > buf + 1 ? buf + 2 : "");
		*len -= nl + 1 - buf;
		memmove(buf, nl + 1, *len + 1);
	}
}

/*
 * The monitor's "R <vmm> <dir>\n" (or "E <why>"), up to the boot timeout
 * (counted afresh after each line: a warm start's note comes first).  A
 * signal meanwhile (an engine giving up) fails create, which then cleans up.
 */
static int wait_ready(int fd, int sigfd, unsigned timeout_s, void (*warn)(const char *note),
		      pid_t *ret_vmm, char *dir, size_t dirlen, struct err **err)
{
	char buf[4096]; /* room for the console's tail in an error */
	size_t len = 0;
	int vmm = 0;

	for (;;) {
		struct pollfd pf[2] = {{.fd = fd, .events = POLLIN},
				       {.fd = sigfd, .events = POLLIN}};
		struct signalfd_siginfo si = {};
		ssize_t n;

		if (poll(pf, 2, (int)(timeout_s + 30) * 1000) <= 0)
			return err_make(err, ETIMEDOUT, "the VM did not come up");
		if (pf[1].revents && read(sigfd, &si, sizeof(si)) == sizeof(si))
			return err_make(err, 0, "signal %u while the VM booted", si.ssi_signo);
		if (!pf[0].revents)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0 || (len += n) == sizeof(buf) - 1)
			break;
		buf[len] = '\0';
		take_notes(buf, &len, warn);
		if (buf[0] == 'R' && strchr(buf, '\n'))
			break;
	}
	buf[len] = '\0';
	if (buf[0] == 'E' && len > 2)
		return err_make(err, 0, "%s", buf + 2);
	*strchrnul(buf, '\n') = '\0';
	if (buf[0] != 'R' || sscanf(buf, "R %d %*s", &vmm) != 1 || vmm <= 0 ||
	    !strchr(buf + 2, ' '))
		return err_make(err, 0, "the VM's monitor ended before the VM was up");
	snprintf(dir, dirlen, "%s", strchr(buf + 2, ' ') + 1);
	*ret_vmm = vmm;
	return 0;
}

static int write_states(const struct vmct_oci_create_opts *o, struct plan *p, int dirfd, pid_t mon,
			pid_t vmm, const char *sockdir, struct err **err)
{
	_cleanup_json_ json_t *vm = NULL, *cg = p->cg ? ct_cgroup_to_json(p->cg) : NULL;
	_cleanup_free_ char *text = NULL;
	struct ct_state st = {
	    .cgroup = cg,
	    .id = (char *)o->id,
	    .bundle = (char *)o->bundle,
	    .rootfs = p->rootfs,
	    .pid = mon,
	    .start_time = ct_proc_start_time(mon),
	    .annotations = json_object_get(p->spec, "annotations"),
	};
	_cleanup_free_ char *created = ct_now_rfc3339(), *bundle = realpath(o->bundle, NULL);
	int r;

	vm = json_pack("{s:I, s:I, s:I, s:I, s:s}", "monitor", (json_int_t)mon, "monitorStart",
		       (json_int_t)st.start_time, "vmm", (json_int_t)vmm, "vmmStart",
		       (json_int_t)ct_proc_start_time(vmm), "dir", sockdir);
	text = vm ? json_dumps(vm, JSON_COMPACT) : NULL;
	if (!text || !created || !bundle)
		return err_make(err, ENOMEM, "state");
	st.created = created;
	st.bundle = bundle;
	r = write_file_atomic_at(dirfd, VMCT_OCI_FILE, text, strlen(text), 0600, err);
	if (r >= 0)
		r = ct_state_write(dirfd, &st, err);
	/* A path, relative to the cwd or not (containerd's shim gives an absolute one). */
	if (r >= 0 && o->pid_file)
		r = ct_write_pid_file(o->pid_file, mon, err);
	return r;
}

/*
 * A monitor create gives up on: SIGTERM stops its VM and removes the socket
 * dir (host.c); after STOP_WAIT_MS, SIGKILL (the VMM dies with it, by
 * PR_SET_PDEATHSIG).  Reaped.
 */
static void stop_monitor(pid_t mon)
{
	_cleanup_close_ int fd = syscall(SYS_pidfd_open, mon, 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};

	kill(mon, SIGTERM);
	if (fd < 0 || poll(&p, 1, STOP_WAIT_MS) <= 0)
		kill(mon, SIGKILL);
	spawn_reap(mon, NULL);
}

struct monitor_args {
	const struct vmct_oci_create_opts *o;
	struct plan *p;
	int dirfd;
	pid_t parent;
};

static void monitor_child(void *arg, int fd)
{
	struct monitor_args *a = arg;

	/* Its own signals (vmct_monitor_run), none of create's caller's (`run --vm -d`'s). */
	spawn_child_signals();
	monitor_main(a->o, a->p, a->dirfd, fd, a->parent);
}

static int launch(const struct vmct_oci_create_opts *o, struct plan *p, int dirfd, pid_t *ret_pid,
		  int sigfd, struct err **err)
{
	struct monitor_args a = {.o = o, .p = p, .dirfd = dirfd, .parent = getpid()};
	int sfd, r;
	pid_t mon, vmm = 0;
	char sockdir[256] = "";

	r = spawn_reporting(SPAWN_SOCKETPAIR, monitor_child, &a, &mon, &sfd, err);
	if (r < 0)
		return r;
	if (p->cg && (ct_cgroup_enter(p->cg, mon, err) < 0 || write(sfd, "C", 1) != 1))
		r = err_make(err, errno, "move the VM's monitor into its cgroup");
	if (r >= 0)
		r = wait_ready(sfd, sigfd, o->boot_timeout_s ? o->boot_timeout_s : BOOT_TIMEOUT,
			       o->warn, &vmm, sockdir, sizeof(sockdir), err);
	if (r >= 0)
		r = write_states(o, p, dirfd, mon, vmm, sockdir, err);
	if (r >= 0 && write(sfd, "G", 1) != 1)
		r = err_make(err, errno, "the VM's monitor");
	if (r >= 0) {
		/* Its close says it no longer dies with us (PR_SET_PDEATHSIG off): then we may
		 * exit. */
		struct pollfd pf = {.fd = sfd, .events = POLLIN};
		char c;

		if (poll(&pf, 1, STOP_WAIT_MS) != 1 || read(sfd, &c, 1) != 0)
			r = err_make(err, 0, "the VM's monitor did not take over");
	}
	close(sfd);
	if (r < 0) {
		stop_monitor(mon);
		if (strncmp(sockdir, VMCT_SOCKDIR_PREFIX, strlen(VMCT_SOCKDIR_PREFIX)) == 0)
			vmct_oci_rm_sockdir(sockdir, vmm);
		return r;
	}
	*ret_pid = mon;
	return 0;
}

int vmct_oci_create(const struct vmct_oci_create_opts *opts, pid_t *ret_pid, struct err **err)
{
	struct vmct_oci_create_opts copy = *opts, *o = &copy;
	_cleanup_close_ int dirfd = -1;
	struct plan p = {.netns.fd = -1};
	int r;

	if (!o->bundle)
		o->bundle = ".";
	r = ct_id_validate(o->id, err);
	if (r >= 0)
		r = plan_make(o, &p, err);
	if (r >= 0) {
		sigset_t mask, old;
		int sigfd;

		sigemptyset(&mask);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGHUP);
		sigaddset(&mask, SIGQUIT);
		sigprocmask(SIG_BLOCK, &mask, &old);
		sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
		r = sigfd < 0 ? err_make(err, errno, "signalfd") : prepare(o, &p, &dirfd, err);
		if (r >= 0)
			r = launch(o, &p, dirfd, ret_pid, sigfd, err);
		if (r < 0 && p.cg_made)
			ct_cgroup_destroy(p.cg, NULL);
		if (r < 0 && p.netns.linked)
			vmct_oci_netns_unlink(dirfd);
		if (r < 0 && dirfd >= 0)
			ct_state_remove_dir(o->root, o->id, NULL);
		if (sigfd >= 0)
			close(sigfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	plan_free(&p);
	return r;
}
