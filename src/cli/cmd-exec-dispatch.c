/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `isola exec` for both forms: runc's (the container is under --root) and podman's, for a
 * container made by `run IMAGE` (under <store>/containers, state in <store>/run), where
 * -t gets a terminal relayed by us (`exec -it NAME sh`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "fdutil.h"
#include "image-cli.h"

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
					 NULL};

static bool listed(const char *name, size_t len)
{
	for (const char *const *o = with_value; *o; o++)
		if (strlen(*o) == len && strncmp(*o, name, len) == 0)
			return true;
	return false;
}

/* The index of the container id; *tty when -t/--tty (also in a cluster) is given. */
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
		if (streq(name, "tty") || (a[1] != '-' && strchr(name, 't') && !listed(name, 1) &&
					   strspn(name, "itd") == len))
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

/* argv without --store (the runtime does not know it), plus our console socket. */
static int exec_image(const char *store, int argc, char **argv, bool tty, bool has_socket)
{
	const char *args[24], *sock_args[] = {"--console-socket", NULL};
	char sock[128];
	size_t n = 0;
	int code;

	snprintf(sock, sizeof(sock), "/tmp/isola-console-%d.sock", (int)getpid());
	sock_args[1] = sock;
	args[n++] = "exec";
	if (tty && !has_socket) {
		args[n++] = sock_args[0];
		args[n++] = sock_args[1];
	}
	for (int i = 1; i < argc && n < ARRAY_SIZE(args) - 1; i++) {
		if (!strncmp(argv[i], "--store", 7)) {
			if (!strchr(argv[i], '='))
				i++;
			continue;
		}
		args[n++] = argv[i];
	}
	if (n == ARRAY_SIZE(args) - 1)
		return cli_usage_error("exec", "too many arguments");
	args[n] = NULL;
	if (tty && !has_socket)
		code = image_cli_runtime_tty(store, args, sock);
	else
		code = image_cli_runtime(store, args, -1, -1, -1);
	return code < 0 ? EXIT_ISOLA : code;
}

int cmd_exec_dispatch(struct cli_globals *g, int argc, char **argv)
{
	const char *opt_store = NULL;
	bool tty = false, has_socket = false;
	_cleanup_free_ char *store = NULL, *p = NULL, *q = NULL;
	int id = find_id(argc, argv, &tty, &opt_store, &has_socket), r;

	if (id < 0 || strchr(argv[id], '/') || argv[id][0] == '.')
		return cmd_exec(g, argc, argv);
	if (asprintf(&q, "%s/%s", g->root, argv[id]) >= 0 && path_exists(q))
		return cmd_exec(g, argc, argv);
	store = realpath(img_store_default_path(opt_store), NULL);
	if (!store || asprintf(&p, "%s/containers/%s/image.json", store, argv[id]) < 0 ||
	    !path_exists(p))
		return cmd_exec(g, argc, argv);
	/* An image's container: the image store's code runs in isola-dl. */
	r = cli_run_dynamic(g);
	if (r)
		return r;
	free(q);
	q = NULL;
	/* run --vm's container: the process goes to its VM's agent. */
	if (asprintf(&q, "%s/containers/%s/" IMAGE_VM_VSOCK_NOTE, store, argv[id]) >= 0 &&
	    path_exists(q))
		return image_exec_vm(store, argc, argv, id);
	return exec_image(store, argc, argv, tty, has_socket);
}
