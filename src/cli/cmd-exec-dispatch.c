/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `isola exec` for both forms: runc's (the container is under --root) and podman's, for a
 * container made by `run IMAGE` (under <store>/containers, state in <store>/run), where
 * -t gets a terminal relayed by us (`exec -it NAME sh`).  podman's form also takes
 * --env-file FILE (its variables become --env arguments, before the -e ones, which win)
 * and --privileged (every capability of our bounding set, as --cap arguments: podman's
 * exec --privileged; the container's seccomp filter and no_new_privs stay).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "cli.h"
#include "envfile.h"
#include "fdutil.h"
#include "image-cli.h"
#include "jsonutil.h"
#include "strv.h"

int cmd_exec(struct cli_globals *g, int argc, char **argv);

/* exec's options that take a separate value. */
static const char *const with_value[] = {"p",
					 "process",
					 "e",
					 "env",
					 "w",
					 "cwd",
					 "u",
					 "user",
					 "c",
					 "cap",
					 "pid-file",
					 "console-socket",
					 "preserve-fds",
					 "process-label",
					 "apparmor",
					 "cgroup",
					 "store",
					 "env-file",
					 NULL};

static bool listed(const char *name, size_t len)
{
	for (const char *const *o = with_value; *o; o++)
		if (strlen(*o) == len && strncmp(*o, name, len) == 0)
			return true;
	return false;
}

/* exec's flags (no value); --FLAG=true|false is read as the Go parsers read it. */
static const char *const flags[] = {"tty",	  "interactive",  "detach",
				    "privileged", "no-new-privs", NULL};

/*
 * "--FLAG=true" as "--FLAG" and "--FLAG=false" as nothing (1); 0 for a
 * word that is not such a flag with a value; -EINVAL for another value
 * (said in one line); -ENOMEM.
 */
static int bool_flag(const char *a, char ***out)
{
	const char *eq = strchr(a, '=');

	if (strncmp(a, "--", 2) || !eq)
		return 0;
	for (const char *const *f = flags; *f; f++) {
		size_t n = strlen(*f);
		_cleanup_free_ char *bare = NULL;

		if ((size_t)(eq - a - 2) != n || strncmp(a + 2, *f, n))
			continue;
		if (!streq(eq + 1, "true") && !streq(eq + 1, "false")) {
			cli_usage_error("exec", "option --%s takes true or false, not `%.32s`", *f,
					eq + 1);
			return -EINVAL;
		}
		if (streq(eq + 1, "false"))
			return 1;
		bare = strndup(a, (size_t)(eq - a));
		return !bare || strv_push(out, bare) < 0 ? -ENOMEM : 1;
	}
	return 0;
}

/*
 * exec's options before the id in one spelling, so that each reader below
 * sees the same words: short clusters split ("-ie K=V" is "-i -e K=V",
 * "-eK=V" is "-e K=V", as podman's and runc's parsers read them) and
 * a flag's "--tty=true|false" as "--tty" or nothing.  The id and what
 * follows are copied as they are.
 */
static int normalize(int argc, char **argv, char ***ret)
{
	_cleanup_strv_ char **out = NULL;
	int i = 1, r;

	if (strv_push(&out, argv[0]) < 0)
		return -ENOMEM;
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0' || streq(a, "--"))
			break;
		if (a[1] != '-') {
			for (const char *c = a + 1; *c; c++) {
				char opt[3] = {'-', *c, '\0'};

				if (strv_push(&out, opt) < 0)
					return -ENOMEM;
				if (!listed(c, 1))
					continue;
				if (c[1] ? strv_push(&out, c + 1) < 0
					 : i + 1 < argc && strv_push(&out, argv[++i]) < 0)
					return -ENOMEM;
				break;
			}
			continue;
		}
		if ((r = bool_flag(a, &out)) != 0) {
			if (r < 0)
				return r == -EINVAL ? 1 : r;
			continue;
		}
		if (strv_push(&out, a) < 0)
			return -ENOMEM;
		if (!strchr(a, '=') && listed(a + 2, strlen(a + 2)) && i + 1 < argc &&
		    strv_push(&out, argv[++i]) < 0)
			return -ENOMEM;
	}
	for (; i < argc; i++)
		if (strv_push(&out, argv[i]) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(out);
	return 0;
}

/* The index of the container id (in normalize()'s words); *tty when -t/--tty is given. */
static int find_id(int argc, char **argv, bool *tty, const char **store, bool *has_socket)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		size_t len;

		if (streq(a, "--"))
			return i + 1 < argc ? i + 1 : -1;
		if (a[0] != '-' || a[1] == '\0')
			return i;
		name = a + (a[1] == '-' ? 2 : 1);
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if (streq(a, "--tty") || streq(a, "-t"))
			*tty = true;
		if (len == 14 && !strncmp(name, "console-socket", 14))
			*has_socket = true;
		if (len == 5 && !strncmp(name, "store", 5))
			*store = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
		if (!eq && listed(name, len))
			i++;
	}
	return -1;
}

/* --privileged: a --cap for every capability in our bounding set (podman's choice). */
static int push_all_caps(char ***args)
{
	_cleanup_json_ json_t *names = ct_caps_bounding();
	json_t *v;
	size_t i;

	if (!names)
		return -ENOMEM;
	json_array_foreach (names, i, v)
		if (strv_push(args, "--cap") < 0 || strv_push(args, json_string_value(v)) < 0)
			return -ENOMEM;
	return 0;
}

/* "--env K=V" for each of @env. */
static int push_env(char ***args, char **env)
{
	for (size_t k = 0; env && env[k]; k++)
		if (strv_push(args, "--env") < 0 || strv_push(args, env[k]) < 0)
			return -1;
	return 0;
}

/* argv[i] is option @name ("--store"), alone or as "--name=V": its length, else 0. */
static size_t is_opt(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(arg, name, n) && (!arg[n] || arg[n] == '=') ? n : 0;
}

/* @arg is an option whose value is the next argument ("-e", "--env", not "--env=V"). */
static bool value_follows(const char *arg)
{
	const char *name = arg + (arg[1] == '-' ? 2 : 1);

	return arg[0] == '-' && !strchr(name, '=') && listed(name, strlen(name));
}

/*
 * The runtime's argv: ours without --store (the runtime does not know it), with
 * --env-file's variables as --env first (so -e, later, wins) and --privileged as
 * --cap arguments, plus our console socket.
 */
static int runtime_args(int argc, char **argv, int id, const char *sock, char ***ret)
{
	_cleanup_strv_ char **args = NULL, **file_env = NULL, **env = NULL;
	_cleanup_err_ struct err *err = NULL;
	bool privileged = false, env_done = false;
	int r;

	for (int i = 1; i < id && strcmp(argv[i], "--"); i++) {
		size_t n;

		if ((n = is_opt(argv[i], "--env-file"))) {
			const char *f =
			    argv[i][n] ? argv[i] + n + 1 : (i + 1 < argc ? argv[++i] : "");

			if (envfile_read(f, &file_env, &err) < 0)
				return cli_fail(&err);
		} else if (value_follows(argv[i])) {
			i++;
		} else {
			privileged |= !strcmp(argv[i], "--privileged");
		}
	}
	r = strv_push(&args, "exec");
	if (r == 0 && sock)
		r = strv_push(&args, "--console-socket") < 0 || strv_push(&args, sock) < 0 ? -1 : 0;
	if (r == 0 && privileged)
		r = push_all_caps(&args);
	for (int i = 1; r == 0 && i < argc; i++) {
		bool before_id = i < id;
		size_t n = 0;

		if (before_id &&
		    ((n = is_opt(argv[i], "--store")) || (n = is_opt(argv[i], "--env-file")))) {
			i += !argv[i][n];
			continue;
		}
		if (before_id && !strcmp(argv[i], "--privileged"))
			continue;
		/* -e KEY: ours, as run's (envfile_push_arg); the runtime takes K=V. */
		if (before_id && !strncmp(argv[i], "-e", 2)) {
			const char *v = argv[i] + 2; /* -eK=V */

			if (!*v)
				v = i + 1 < argc ? argv[++i] : "";
			if (envfile_push_arg("-e", v, &env, &err) < 0)
				return cli_fail(&err);
			continue;
		}
		if (before_id && (n = is_opt(argv[i], "--env"))) {
			const char *v =
			    argv[i][n] ? argv[i] + n + 1 : (i + 1 < argc ? argv[++i] : "");

			if (envfile_push_arg("--env", v, &env, &err) < 0)
				return cli_fail(&err);
			continue;
		}
		/* Before the id (or its "--"): the files' variables, then -e's, which win. */
		if (!env_done && (i == id || (i + 1 == id && !strcmp(argv[i], "--")))) {
			env_done = true;
			r = push_env(&args, file_env) < 0 || push_env(&args, env) < 0 ? -1 : 0;
		}
		if (r == 0)
			r = strv_push(&args, argv[i]);
		if (r == 0 && before_id && value_follows(argv[i]) && i + 1 < argc)
			r = strv_push(&args, argv[++i]);
	}
	if (r)
		return cli_usage_error("exec", "out of memory");
	*ret = TAKE_PTR(args);
	return 0;
}

static int exec_image(const char *store, int argc, char **argv, int id, bool tty, bool has_socket)
{
	_cleanup_strv_ char **args = NULL;
	char sock[128];
	bool killed;
	int code;

	snprintf(sock, sizeof(sock), "/tmp/isola-console-%d.sock", (int)getpid());
	code = runtime_args(argc, argv, id, tty && !has_socket ? sock : NULL, &args);
	if (code)
		return code;
	if (setenv(EXEC_PODMAN_CODES_ENV, "1", 1) < 0)
		return EXIT_ISOLA;
	/* Signals sent to us go to the process, as podman exec's. */
	if (tty && !has_socket)
		code = image_cli_runtime_tty(store, (const char *const *)args, sock, NULL);
	else
		code = image_cli_runtime_fg(store, (const char *const *)args, -1, &killed);
	return code < 0 ? EXIT_ISOLA : code;
}

/* An option before the id that only podman's form takes (--store, --env-file, --privileged). */
static bool podman_form(char **argv, int id)
{
	for (int i = 1; i < id; i++) {
		if (is_opt(argv[i], "--store") || is_opt(argv[i], "--env-file") ||
		    streq(argv[i], "--privileged"))
			return true;
		if (value_follows(argv[i]))
			i++; /* -e --store is a value */
	}
	return false;
}

int cmd_exec_dispatch(struct cli_globals *g, int argc0, char **argv0)
{
	const char *opt_store = NULL;
	bool tty = false, has_socket = false;
	_cleanup_free_ char *store = NULL, *q = NULL;
	_cleanup_strv_ char **argv = NULL;
	int argc, id, r;

	r = normalize(argc0, argv0, &argv);
	if (r)
		return r < 0 ? cli_usage_error("exec", "out of memory") : r;
	argc = (int)strv_length(argv);
	id = find_id(argc, argv, &tty, &opt_store, &has_socket);
	if (id < 0 || !image_cli_container_name_plain(argv[id]))
		return cmd_exec(g, argc, argv);
	if (image_cli_root_has(g->root, argv[id]))
		return cmd_exec(g, argc, argv);
	if (!image_cli_store_has(opt_store, argv[id], &store)) {
		/* Options only podman's form has: runc's parser would call them unknown. */
		if (podman_form(argv, id)) {
			log_error("exec: no container `%.255s` in the store %s or under --root %s",
				  argv[id], store ? store : img_store_default_path(opt_store),
				  g->root);
			return EXIT_ISOLA;
		}
		return cmd_exec(g, argc, argv);
	}
	/* An image's container: the image store's code runs in isola-dl. */
	r = cli_run_dynamic(g);
	if (r)
		return r;
	/* run --vm's container: the process goes to its VM's agent. */
	if (asprintf(&q, "%s/containers/%s/" IMAGE_VM_VSOCK_NOTE, store, argv[id]) >= 0 &&
	    path_exists(q))
		return image_exec_vm(store, argc, argv, id);
	return exec_image(store, argc, argv, id, tty, has_socket);
}
