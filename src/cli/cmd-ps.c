/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola ps [--format table|json] ID [ps options]
 * json: the container's pids as a JSON array (what containerd's shim reads).
 * table: ps(1)'s output (default options -ef) limited to the container's pids.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "cgroup-target.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"
#include "fdutil.h"
#include "parse.h"

#define PS_MAX_OUTPUT (16 << 20)

/* Run ps with the user's options and capture its standard output (*ret only on success). */
static int run_ps(char **opts, int n_opts, char **ret, struct err **err)
{
	_cleanup_free_ char **argv = calloc((size_t)n_opts + 2, sizeof(char *));
	_cleanup_free_ char *out = NULL;
	int fds[2], status = 0, r;
	pid_t pid;

	if (!argv)
		return err_make(err, ENOMEM, "ps");
	argv[0] = "ps";
	for (int i = 0; i < n_opts; i++)
		argv[i + 1] = opts[i];
	if (n_opts == 0)
		argv[1] = "-ef";
	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_make(err, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return close(fds[0]), close(fds[1]), err_make(err, errno, "fork");
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execvp("ps", argv);
		_exit(127);
	}
	close(fds[1]);
	r = read_all_fd(fds[0], PS_MAX_OUTPUT, &out, NULL);
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (r < 0)
		return err_make(err, -r, "read the output of ps");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_make(err, 0, "ps failed (exit status %d)",
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	*ret = TAKE_PTR(out);
	return 0;
}

/* The 0-based column titled PID in ps's header, or -1. */
static int pid_column(const char *header)
{
	_cleanup_free_ char *copy = strdup(header);
	char *save = NULL, *tok;
	int col = 0;

	for (tok = copy ? strtok_r(copy, " \t", &save) : NULL; tok;
	     tok = strtok_r(NULL, " \t", &save), col++)
		if (streq(tok, "PID"))
			return col;
	return -1;
}

static bool line_has_pid(const char *line, int col, const pid_t *pids, size_t n)
{
	_cleanup_free_ char *copy = strdup(line);
	char *save = NULL, *tok = copy ? strtok_r(copy, " \t", &save) : NULL;
	int pid;

	for (int i = 0; tok && i < col; i++)
		tok = strtok_r(NULL, " \t", &save);
	if (!tok || parse_int(tok, &pid) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

static int print_table(char **opts, int n_opts, const pid_t *pids, size_t n, struct err **err)
{
	_cleanup_free_ char *out = NULL;
	char *line, *save = NULL;
	int col;

	if (run_ps(opts, n_opts, &out, err) < 0)
		return err_code(*err);
	line = strtok_r(out, "\n", &save);
	if (!line || (col = pid_column(line)) < 0)
		return err_make(err, 0, "ps: no PID column in its output");
	printf("%s\n", line);
	while ((line = strtok_r(NULL, "\n", &save)))
		if (line_has_pid(line, col, pids, n))
			printf("%s\n", line);
	return 0;
}

const struct cli_opt cmd_ps_opts[] = {
    {"format", 'f', "table|json", "ps(1)'s table, or a JSON array of pids (default: table)"},
    {},
};

int cmd_ps(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	const char *format = "table";
	_cleanup_free_ pid_t *pids = NULL;
	struct cgroup_target t;
	struct err *err = NULL;
	size_t n = 0;
	int c, r;

	cli_parser_init(&p, argv[0], cmd_ps_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0)
		format = optarg;
	if (c < 0)
		return p.exit_code;
	if (!streq(format, "table") && !streq(format, "json"))
		return cli_usage_error(argv[0], "--format `%s`: expected table or json", format);
	if (optind >= argc)
		return cli_usage_error(argv[0], "expected a container id");
	if (cgroup_target_open(g->root, argv[optind], &t, &err) < 0)
		return cli_fail(&err);
	r = ct_cgroup_pids(t.cg, &pids, &n, &err);
	cgroup_target_close(&t);
	if (r < 0)
		return cli_fail(&err);
	if (streq(format, "json")) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
		return 0;
	}
	if (print_table(argv + optind + 1, argc - optind - 1, pids, n, &err) < 0)
		return cli_fail(&err);
	return 0;
}
