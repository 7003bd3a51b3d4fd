/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola exec [-i] [-t] [-d] [-e K=V]... [-w DIR] [-u USER[:GROUP]] ID CMD... for
 * a container that `run --vm` runs: the process starts in the same VM, through
 * the agent's exec port (vmct_exec, docs/vm-containers.md).  The environment,
 * working directory and user default to the container's (its config.json).
 * -d: an exec monitor holds the session, its stdio /dev/null, and we return
 * once the agent has the process (vmct_exec_detached).  --env-file FILE adds its
 * variables before the -e ones (which win); --privileged: the process keeps
 * every capability of root in the guest (the container's seccomp filter and
 * no_new_privs stay), as podman's exec --privileged gives its bounding set.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "envfile.h"
#include "fdutil.h"
#include "image-cli.h"
#include "jsonutil.h"
#include "log.h"
#include "opt.h"
#include "parse.h"
#include "strv.h"
#include "vmct.h"

extern const struct cli_opt cmd_exec_opts[];

struct exec_args {
	bool interactive, tty, detach, privileged;
	char **env;	 /* -e, after the container's */
	char **file_env; /* --env-file, before -e */
	const char *cwd, *user;
};

/* What exec takes for a --vm container; runc's other exec options are refused by name. */
static const struct cli_opt vm_opts[] = {
    {"interactive", 'i', NULL, NULL},
    {"tty", 't', NULL, NULL},
    {"detach", 'd', NULL, NULL},
    {"env", 'e', "KEY=VALUE", NULL},
    {"env-file", CLI_LONG(1), "FILE", NULL},
    {"cwd", 'w', "DIR", NULL},
    {"user", 'u', "USER[:GROUP]", NULL},
    {"privileged", CLI_LONG(2), NULL, NULL},
    {"store", CLI_LONG(3), "DIR", NULL}, /* the dispatcher used it */
    {},
};

#define REFUSED(n) CLI_LONG(16 + (n))

/* vm_opts, then exec's others (cmd_exec_opts): a long-only one keyed REFUSED(its index). */
static void vm_table(struct cli_opt *t, size_t max)
{
	size_t n = 0;

	for (; vm_opts[n].name; n++)
		t[n] = vm_opts[n];
	for (size_t i = 0; cmd_exec_opts[i].name && n + 1 < max; i++) {
		bool ours = false;

		for (size_t k = 0; vm_opts[k].name; k++)
			ours |= streq(vm_opts[k].name, cmd_exec_opts[i].name);
		if (ours)
			continue;
		t[n] = cmd_exec_opts[i];
		if (t[n].key >= 0x100)
			t[n].key = REFUSED((int)i);
		n++;
	}
	t[n] = (struct cli_opt){};
}

static int refused(int key)
{
	size_t i = 0;

	if (key < 0x100)
		while (cmd_exec_opts[i].name && cmd_exec_opts[i].key != key)
			i++;
	else
		i = (size_t)(key - REFUSED(0));
	return cli_usage_error("exec", "--%s is not supported for a --vm container",
			       cmd_exec_opts[i].name);
}

/* Options up to the id (argv[id]), read by exec's one option parser (opt.c). */
static int parse_opts(struct exec_args *a, char **argv, int id)
{
	_cleanup_err_ struct err *err = NULL;
	struct cli_opt table[CLI_OPT_MAX + 1];
	struct cli_parser p;
	int c;

	vm_table(table, ARRAY_SIZE(table));
	cli_parser_init(&p, "exec", table);
	while ((c = cli_parse(&p, id, argv)) > 0) {
		switch (c) {
		case 'i':
			a->interactive = true;
			break;
		case 't':
			a->tty = true;
			break;
		case 'd':
			a->detach = true;
			break;
		case 'e':
			if (envfile_push_arg("-e", optarg, &a->env, &err) < 0)
				return cli_fail(&err);
			break;
		case CLI_LONG(1):
			if (envfile_read(optarg, &a->file_env, &err) < 0)
				return cli_fail(&err);
			break;
		case 'w':
			a->cwd = optarg;
			if (a->cwd[0] != '/')
				return cli_usage_error("exec", "-w: an absolute directory");
			break;
		case 'u':
			a->user = optarg;
			break;
		case CLI_LONG(2):
			a->privileged = true;
			break;
		case CLI_LONG(3):
			break;
		default:
			return refused(c);
		}
	}
	if (c < 0) /* a usage error said; --help cannot come here (the dispatcher answers it) */
		return p.exit_code ? p.exit_code : 1;
	/* Nothing is attached to a detached process: no stdin to keep, no terminal. */
	if (a->detach && (a->interactive || a->tty))
		return cli_usage_error("exec", "-d with %s is not supported for a --vm container",
				       a->tty ? "-t" : "-i");
	return 0;
}

/*
 * -u UID:GID as numbers here; USER[:GROUP] with a name, or a UID alone (its
 * group is the one passwd gives it, else 0, as docker and runc do), is the
 * agent's to resolve in the container's /etc/passwd and /etc/group.
 */
static int parse_user(const char *u, struct vmct_config *c)
{
	_cleanup_free_ char *s = strdup(u);
	char *colon = s ? strchr(s, ':') : NULL;

	if (!s)
		return -ENOMEM;
	if (colon)
		*colon = '\0';
	if (colon && parse_id(s, &c->uid) == 0 && parse_id(colon + 1, &c->gid) == 0) {
		c->user = NULL;
		return 0;
	}
	if (!vmct_user_valid(u))
		return cli_usage_error("exec",
				       "-u `%s`: expected USER[:GROUP], names of "
				       "[A-Za-z0-9._-] or numbers",
				       u);
	c->user = (char *)u;
	return 0;
}

/* The vsock socket run --vm noted in the bundle (absent: not a VM that runs). */
static int vsock_path(const char *bundle, char **ret, struct err **err)
{
	char p[PATH_MAX];
	char *s = NULL;
	size_t len;
	int r;

	snprintf(p, sizeof(p), "%s/%s", bundle, IMAGE_VM_VSOCK_NOTE);
	r = read_file_at(AT_FDCWD, p, 256, &s, &len, err);
	if (r < 0)
		return err_wrap(err, "the container's VM is not running");
	s[strcspn(s, "\n")] = '\0';
	*ret = s;
	return 0;
}

int image_exec_vm(const char *store, int argc, char **argv, int id)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_json_ json_t *spec = NULL;
	_cleanup_free_ char *bundle = NULL, *uds = NULL;
	struct exec_args a = {};
	struct vmct_config proc = {};
	struct vmct_exec_opts o = {.proc = &proc, .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO};
	char **env = NULL;
	int r, status = EXIT_ISOLA;

	r = parse_opts(&a, argv, id);
	if (r)
		goto out;
	if (id + 1 >= argc) {
		r = cli_usage_error("exec", "no command");
		goto out;
	}
	if (asprintf(&bundle, "%s/containers/%s", store, argv[id]) < 0)
		goto out;
	r = image_vm_load_process(bundle, &spec, &proc, &err);
	if (r >= 0)
		r = vsock_path(bundle, &uds, &err);
	if (r < 0) {
		cli_fail(&err);
		r = EXIT_ISOLA;
		goto out;
	}
	r = a.user ? parse_user(a.user, &proc) : 0;
	for (size_t i = 0; a.env && a.env[i] && !r; i++)
		r = strv_push(&a.file_env, a.env[i]) < 0 ? EXIT_ISOLA : 0;
	/* The files' variables, then -e's, the later winning; PATH if none at all. */
	env = r ? NULL : strv_env_merge(proc.env, a.file_env);
	if (env && !env[0] &&
	    strv_push(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") <
		0)
		env = (strv_free(env), NULL);
	if (r || !env) {
		r = r > 0 ? r : EXIT_ISOLA;
		goto out;
	}
	free(proc.argv);
	free(proc.env);
	proc.argv = argv + id + 1;
	proc.env = env;
	proc.cwd = a.cwd ? (char *)a.cwd : proc.cwd;
	proc.tty = a.tty;
	/* --privileged: no capability sets, so the agent's (all of root's) stay. */
	if (a.privileged)
		proc.has_caps = false;
	proc.rows = proc.cols = 0;
	if (a.tty)
		vmct_term_size(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, &proc.rows,
			       &proc.cols);
	if (a.detach) {
		pid_t monitor;

		r = 0;
		if (vmct_exec_detached(uds, &proc, &monitor, &err) < 0) {
			cli_fail(&err);
			r = EXIT_ISOLA;
		}
		goto out;
	}
	/* A vanished reader of our output must not end us (with the terminal raw). */
	signal(SIGPIPE, SIG_IGN);
	o.in_fd = a.interactive ? STDIN_FILENO : -1;
	o.forward_signals = true;
	r = vmct_exec(uds, &o, &status, &err);
	if (r < 0) {
		cli_fail(&err);
		r = EXIT_ISOLA;
	} else {
		r = status;
	}
out:
	if (proc.argv != argv + id + 1) {
		free(proc.argv);
		free(proc.env);
	}
	strv_free(env);
	strv_free(a.env);
	strv_free(a.file_env);
	return r;
}
