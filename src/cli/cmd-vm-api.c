/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Clients of a running VM's control API (docs/vm-api.md):
 *   isola vm ls
 *   isola vm info|pause|resume VM
 *   isola vm snapshot VM --state FILE --mem FILE
 *   isola vm stop ID   (SIGTERM to the VMM whose pid ID/pid records; waits 10 s)
 * VM is an id given to `isola vm run --id ID` (its socket is
 * $ISOLA_VM_RUNDIR or /run/isola/vm, then ID/api.sock) or a socket path
 * (anything containing a '/').
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "vm-cli.h"
#include "cleanup.h"
#include "cli.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "vm.h"

#define RESP_MAX (64 * 1024)

static const char *rundir(void)
{
	const char *d = getenv("ISOLA_VM_RUNDIR");

	return d && *d ? d : "/run/isola/vm";
}

static int check_id(const char *id, struct err **err)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64 ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		       "0123456789._-") != n ||
	    id[0] == '.')
		return err_make(err, EINVAL,
				"VM id `%s`: 1 to 64 of [A-Za-z0-9._-], not "
				"starting with '.'",
				id);
	return 0;
}

/* `isola vm run --id ID`: the runtime directory and the default socket. */
int vm_rundir_prepare(struct vm_config *cfg, char **ret_sock, struct err **err)
{
	_cleanup_free_ char *dir = NULL;
	int r;

	*ret_sock = NULL;
	if (!cfg->api_id)
		return 0;
	r = check_id(cfg->api_id, err);
	if (r < 0)
		return err_wrap(err, "--id");
	if (asprintf(&dir, "%s/%s", rundir(), cfg->api_id) < 0)
		return err_make(err, ENOMEM, "--id");
	r = mkdir_p(rundir(), 0700, err);
	if (r < 0)
		return r;
	if (mkdir(dir, 0700) < 0)
		return err_make(err, errno, "--id: create `%s`%s", dir,
				errno == EEXIST ? " (a VM with this id exists)" : "");
	{
		_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char pid[24];

		snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		r = dfd < 0 ? err_make(err, errno, "open `%s`", dir)
			    : write_file_atomic_at(dfd, "pid", pid, strlen(pid), 0600, err);
		if (r < 0)
			return r;
	}
	if (!cfg->api_sock) {
		if (asprintf(ret_sock, "%s/api.sock", dir) < 0)
			return err_make(err, ENOMEM, "--id");
		cfg->api_sock = *ret_sock;
	} else if (cfg->api_sock[0] == '/') {
		/* `isola vm ls` finds an absolute --api-sock through this link. */
		_cleanup_free_ char *link = NULL;

		if (asprintf(&link, "%s/api.sock", dir) < 0 || symlink(cfg->api_sock, link) < 0)
			return err_make(err, errno ? errno : ENOMEM, "--id: link the API socket");
	}
	return 0;
}

void vm_rundir_remove(const struct vm_config *cfg)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_close_ int dfd = -1;

	if (!cfg->api_id || check_id(cfg->api_id, &err) < 0)
		return;
	dfd = open(rundir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)rm_rf_at(dfd, cfg->api_id, &err);
}

/* One request; *ret_body gets the response body (NUL-terminated). */
static int api_call(const char *sock, const char *method, const char *path, const char *body,
		    int *ret_status, char **ret_body, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	_cleanup_free_ char *req = NULL, *resp = NULL;
	size_t blen = body ? strlen(body) : 0, len = 0;
	const char *b;
	int n, r;

	if (fd < 0)
		return err_make(err, errno, "socket");
	if (strlen(sock) >= sizeof(sa.sun_path))
		return err_make(err, ENAMETOOLONG, "`%s`: path too long", sock);
	strcpy(sa.sun_path, sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_make(err, errno, "connect to `%s`", sock);
	n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %zu\r\n%s\r\n%s",
		     method, path, blen, blen ? "Content-Type: application/json\r\n" : "",
		     blen ? body : "");
	if (n < 0)
		return err_make(err, ENOMEM, "request");
	r = write_all(fd, req, n);
	if (r < 0)
		return err_make(err, -r, "write to `%s`", sock);
	r = read_all_fd(fd, RESP_MAX, &resp, &len);
	if (r < 0)
		return err_make(err, -r, "read from `%s`", sock);
	if (sscanf(resp, "HTTP/1.%*1[01] %3d", ret_status) != 1 || !(b = strstr(resp, "\r\n\r\n")))
		return err_make(err, EPROTO, "`%s`: malformed response", sock);
	*ret_body = strdup(b + 4);
	return *ret_body ? 0 : err_make(err, ENOMEM, "response");
}

/* The fault_message of an error response, or the body. */
static int api_fault(int status, const char *body, struct err **err)
{
	_cleanup_json_ json_t *j = json_loads(body, 0, NULL);
	json_t *m = j ? json_object_get(j, "fault_message") : NULL;

	return err_make(err, 0, "HTTP %d: %s", status,
			json_is_string(m) ? json_string_value(m) : body);
}

static int vm_sock(const char *vm, char **ret, struct err **err)
{
	int r;

	if (strchr(vm, '/'))
		return (*ret = strdup(vm)) ? 0 : err_make(err, ENOMEM, "VM");
	r = check_id(vm, err);
	if (r < 0)
		return r;
	if (asprintf(ret, "%s/%s/api.sock", rundir(), vm) < 0)
		return err_make(err, ENOMEM, "VM");
	return 0;
}

/* An absolute path for the server, which may run in another directory. */
static char *absolute(const char *p)
{
	char cwd[PATH_MAX], *out = NULL;

	if (p[0] == '/')
		return strdup(p);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&out, "%s/%s", cwd, p) < 0)
		return NULL;
	return out;
}

/* One request to VM (an id or a socket path); a non-2xx answer is an error. */
int vm_api_request(const char *vm, const char *method, const char *path, const char *body,
		   char **ret_body, struct err **err)
{
	_cleanup_free_ char *sock = NULL, *resp = NULL;
	int status = 0, r = vm_sock(vm, &sock, err);

	if (r >= 0)
		r = api_call(sock, method, path, body, &status, &resp, err);
	if (r < 0)
		return r;
	if (status >= 300)
		return api_fault(status, resp, err);
	if (ret_body)
		*ret_body = TAKE_PTR(resp);
	return 0;
}

static int simple(const char *vm, const char *method, const char *path, const char *body,
		  bool print, struct err **err)
{
	_cleanup_free_ char *resp = NULL;
	int r = vm_api_request(vm, method, path, body, &resp, err);

	if (r >= 0 && print)
		printf("%s\n", resp);
	return r;
}

static int snapshot(int argc, char **argv, struct err **err)
{
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 's'}, {"mem", required_argument, NULL, 'm'}, {}};
	_cleanup_free_ char *st = NULL, *mem = NULL, *body = NULL;
	const char *vm = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			st = absolute(optarg);
		else if (c == 'm')
			mem = absolute(optarg);
		else
			return err_make(err, EINVAL, "usage: vm snapshot VM --state F --mem F");
	}
	vm = optind < argc ? argv[optind] : NULL;
	if (!vm || optind + 1 != argc || !st || !mem)
		return err_make(err, EINVAL, "usage: vm snapshot VM --state FILE --mem FILE");
	_cleanup_json_ json_t *j =
	    json_pack("{s:s, s:s}", "snapshot_path", st, "mem_file_path", mem);
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!body)
		return err_make(err, ENOMEM, "request");
	return simple(vm, "PUT", "/snapshot/create", body, false, err);
}

/* SIGTERM to the VMM of a VM started with --id; it cleans up and removes its directory. */
static int stop(const char *id, struct err **err)
{
	_cleanup_free_ char *dir = NULL, *buf = NULL;
	_cleanup_close_ int dfd = -1;
	size_t len;
	long pid;
	char *end;
	int r = check_id(id, err);

	if (r < 0)
		return r;
	if (asprintf(&dir, "%s/%s", rundir(), id) < 0)
		return err_make(err, ENOMEM, "stop");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_make(err, errno, "no VM `%s` (`%s`)", id, dir);
	r = read_file_at(dfd, "pid", 32, &buf, &len, err);
	if (r < 0)
		return r;
	pid = strtol(buf, &end, 10);
	if (pid <= 1 || (*end && *end != '\n'))
		return err_make(err, 0, "`%s/pid`: not a process id", dir);
	if (kill(pid, SIGTERM) < 0)
		return err_make(err, errno, "signal VM `%s` (pid %ld)", id, pid);
	for (int i = 0; i < 1000; i++) {
		if (faccessat(dfd, "pid", F_OK, 0) < 0)
			return 0;
		usleep(10000);
	}
	return err_make(err, ETIMEDOUT, "VM `%s` (pid %ld) did not stop within 10 s", id, pid);
}

static int ls(struct err **err)
{
	_cleanup_closedir_ DIR *d = opendir(rundir());
	struct dirent *de;

	printf("%-24s %-10s %s\n", "ID", "STATE", "SOCKET");
	if (!d)
		return errno == ENOENT ? 0 : err_make(err, errno, "open `%s`", rundir());
	while ((de = readdir(d))) {
		_cleanup_err_ struct err *e = NULL;
		_cleanup_free_ char *sock = NULL, *resp = NULL;
		_cleanup_json_ json_t *j = NULL;
		const char *state = "unreachable";
		int status = 0;

		if (de->d_name[0] == '.' || vm_sock(de->d_name, &sock, &e) < 0)
			continue;
		if (api_call(sock, "GET", "/", NULL, &status, &resp, &e) == 0 && status == 200 &&
		    (j = json_loads(resp, 0, NULL)) && json_is_string(json_object_get(j, "state")))
			state = json_string_value(json_object_get(j, "state"));
		printf("%-24s %-10s %s\n", de->d_name, state, sock);
	}
	return 0;
}

int cmd_vm_api(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	const char *sub = argv[0];
	int r;

	(void)g;
	if (streq(sub, "ls"))
		r = argc == 1 ? ls(&err) : err_make(&err, EINVAL, "usage: vm ls");
	else if (streq(sub, "snapshot"))
		r = snapshot(argc, argv, &err);
	else if (argc != 2)
		r = err_make(&err, EINVAL, "usage: vm %s VM", sub);
	else if (streq(sub, "info"))
		r = simple(argv[1], "GET", "/", NULL, true, &err);
	else if (streq(sub, "stop"))
		r = stop(argv[1], &err);
	else if (streq(sub, "pause"))
		r = simple(argv[1], "PATCH", "/vm", "{\"state\":\"Paused\"}", false, &err);
	else
		r = simple(argv[1], "PATCH", "/vm", "{\"state\":\"Resumed\"}", false, &err);
	if (r < 0) {
		err_wrap(&err, "vm %s", sub);
		return cli_fail(&err);
	}
	return 0;
}
