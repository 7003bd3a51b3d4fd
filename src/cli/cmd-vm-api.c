/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Clients of a running VM's control API (docs/vm-api.md):
 *   isola vm ls
 *   isola vm info|pause|resume VM
 *   isola vm snapshot VM --state FILE --mem FILE
 *   isola vm stop VM   (SIGTERM to its VMM; waits 10 s)
 * VM is the first positional argument of every vm subcommand: an id given
 * to `isola vm run --id ID` or the pid-PID entry `vm ls` shows for a VM
 * started with only --api-sock (its socket is $ISOLA_VM_RUNDIR or
 * /run/isola/vm, then ID/api.sock), or a socket path (anything with a '/').
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "confine.h"
#include "opt.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "log.h"
#include "procfs.h"
#include "vm-cli.h"
#include "vm.h"

#define RESP_MAX (64 * 1024)

/* $ISOLA_VM_RUNDIR, else $XDG_RUNTIME_DIR/isola/vm for other users than root, else /run/isola/vm.
 */
static const char *rundir(void)
{
	static char buf[PATH_MAX];
	const char *d = getenv("ISOLA_VM_RUNDIR"), *x = getenv("XDG_RUNTIME_DIR");

	if (d && *d)
		return d;
	if (geteuid() != 0 && x && x[0] == '/' &&
	    snprintf(buf, sizeof(buf), "%s/isola/vm", x) < (int)sizeof(buf))
		return buf;
	return "/run/isola/vm";
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

/* mkdir rundir()/name; a stale "pid-N" entry (its VMM was SIGKILLed) is replaced. */
static int make_entry(const char *dir, bool stale_ok, struct err **err)
{
	_cleanup_err_ struct err *e = NULL;
	_cleanup_close_ int rfd = -1;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST || !stale_ok)
		return err_make(err, errno, "--id: create `%s`%s", dir,
				errno == EEXIST ? " (a VM with this id exists)" : "");
	rfd = open(rundir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0 || rm_rf_at(rfd, strrchr(dir, '/') + 1, &e) < 0 || mkdir(dir, 0700) < 0)
		return err_make(err, errno ? errno : EIO, "create `%s`", dir);
	return 0;
}

/*
 * The run directory entry of a VM with an API: rundir()/ID for --id, else
 * rundir()/pid-PID for one started with only --api-sock, so that `vm ls`
 * lists every VM and the clients take either name.  It holds the VMM's pid
 * and api.sock (the socket, or a link to an --api-sock elsewhere).
 */
static int prepare(struct vm_config *cfg, struct vm_rundir *rd, struct err **err)
{
	_cleanup_free_ char *dir = NULL, *name = NULL;
	_cleanup_close_ int dfd = -1;
	char pid[24];
	int r;

	*rd = (struct vm_rundir){0};
	if (!cfg->api_id && !cfg->api_sock)
		return 0;
	if (cfg->api_id && (r = check_id(cfg->api_id, err)) < 0)
		return err_wrap(err, "--id");
	if (cfg->api_id ? !(name = strdup(cfg->api_id))
			: asprintf(&name, "pid-%d", (int)getpid()) < 0)
		return err_make(err, ENOMEM, "run directory");
	if (asprintf(&dir, "%s/%s", rundir(), name) < 0)
		return err_make(err, ENOMEM, "run directory");
	r = mkdir_p(rundir(), 0700, err);
	if (r >= 0)
		r = make_entry(dir, !cfg->api_id, err);
	if (r < 0)
		return r;
	rd->name = TAKE_PTR(name);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	r = dfd < 0 ? err_make(err, errno, "open `%s`", dir)
		    : write_file_atomic_at(dfd, "pid", pid, strlen(pid), 0600, err);
	if (r < 0)
		return r;
	if (!cfg->api_sock) {
		if (asprintf(&rd->sock, "%s/api.sock", dir) < 0)
			return err_make(err, ENOMEM, "--id");
		cfg->api_sock = rd->sock;
		return 0;
	}
	/* `isola vm ls` and the clients find the socket through this link. */
	_cleanup_free_ char *target = absolute(cfg->api_sock);

	if (!target || symlinkat(target, dfd, "api.sock") < 0)
		return err_make(err, errno ? errno : ENOMEM, "link the API socket");
	return 0;
}

int vm_rundir_prepare(struct vm_config *cfg, struct vm_rundir *rd, struct err **err)
{
	const char *sock = cfg->api_sock;
	int r = prepare(cfg, rd, err);

	/* Without --id the entry is a convenience for `vm ls`: go on without it. */
	if (r < 0 && !cfg->api_id) {
		log_warn("`isola vm ls` will not list this VM: %s", (*err)->msg);
		err_free(err);
		vm_rundir_remove(rd);
		cfg->api_sock = sock;
		return 0;
	}
	return r;
}

int vm_cli_start(struct vm_config *cfg, int r, struct err **err, const struct vm_start *how)
{
	struct vm_rundir rd = {0};
	bool restarted;
	int status = 1;

	if (r >= 0)
		r = vm_rundir_prepare(cfg, &rd, err);
	if (r >= 0)
		signal(SIGPIPE, SIG_IGN);
	/* Before the first byte from a guest, a snapshot, a migration or an API client. */
	restarted = getenv(VM_RESTART_ENV) != NULL;
	unsetenv(VM_RESTART_ENV);
	if (r >= 0)
		r = vmm_confine(
		    &(struct vmm_confine_opts){.allow_exec = cfg->on_reboot == VM_REBOOT_RESTART,
					       .restarted = restarted},
		    err);
	if (r >= 0)
		r = how->start(cfg, how->arg, &status, err);
	vm_rundir_remove(&rd);
	vmm_config_free(cfg);
	if (r < 0) {
		err_wrap(err, "%s", how->cmd);
		return cli_fail(err);
	}
	if (status == VMM_EXIT_GUEST_PANIC)
		fprintf(stderr, "isola: %s: guest panicked (pvpanic)\n", how->cmd);
	return status;
}

void vm_rundir_remove(struct vm_rundir *rd)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_close_ int dfd = -1;

	if (rd->name) {
		dfd = open(rundir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0)
			(void)rm_rf_at(dfd, rd->name, &err);
	}
	free(rd->name);
	free(rd->sock);
	*rd = (struct vm_rundir){0};
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

const struct cli_opt cmd_vm_snapshot_opts[] = {
    {"state", CLI_LONG(1), "FILE", "write the VM's state here (required)"},
    {"mem", CLI_LONG(2), "FILE", "write the guest memory here (required)"},
    {"diff", CLI_LONG(3), NULL,
     "only the pages written since this VM's last snapshot (snapshot_type Diff)"},
    {},
};

/* <0: an error; 0: done (or --help printed); >0: a usage error's exit code. */
static int snapshot(int argc, char **argv, struct err **err)
{
	_cleanup_free_ char *st = NULL, *mem = NULL, *body = NULL;
	const char *vm = NULL;
	struct cli_parser p;
	bool diff = false;
	int c;

	cli_parser_init(&p, argv[0], cmd_vm_snapshot_opts);
	cli_parser_permute(&p);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		if (c == CLI_LONG(3)) {
			diff = true;
			continue;
		}
		free(c == CLI_LONG(1) ? st : mem);
		if (c == CLI_LONG(1))
			st = absolute(optarg);
		else
			mem = absolute(optarg);
	}
	if (c < 0)
		return p.exit_code;
	vm = optind < argc ? argv[optind] : NULL;
	if (!vm || optind + 1 != argc || !st || !mem)
		return err_make(err, EINVAL,
				"usage: vm snapshot VM --state FILE --mem FILE [--diff]");
	_cleanup_json_ json_t *j =
	    json_pack("{s:s, s:s, s:s}", "snapshot_path", st, "mem_file_path", mem, "snapshot_type",
		      diff ? "Diff" : "Full");
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!body)
		return err_make(err, ENOMEM, "request");
	return simple(vm, "PUT", "/snapshot/create", body, false, err);
}

/* The pid an entry's pid file records. */
static int entry_pid(const char *id, pid_t *ret, struct err **err)
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
	*ret = pid;
	return 0;
}

/* The pid of the process serving a socket path (SO_PEERCRED of a connection). */
static int sock_pid(const char *sock, pid_t *ret, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (fd < 0)
		return err_make(err, errno, "socket");
	if (strlen(sock) >= sizeof(sa.sun_path))
		return err_make(err, ENAMETOOLONG, "`%s`: path too long", sock);
	strcpy(sa.sun_path, sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_make(err, errno, "no VM at `%s`", sock);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || uc.pid <= 1)
		return err_make(err, errno ? errno : EPROTO, "`%s`: who serves it", sock);
	*ret = uc.pid;
	return 0;
}

/*
 * SIGTERM to the VMM of VM (an id or a socket path); it cleans up (socket,
 * run directory) and exits.  Waits up to 10 s for it to be gone.
 */
static int stop(const char *vm, struct err **err)
{
	pid_t pid = 0;
	int r = strchr(vm, '/') ? sock_pid(vm, &pid, err) : entry_pid(vm, &pid, err);

	if (r < 0)
		return r;
	if (kill(pid, SIGTERM) < 0)
		return err_make(err, errno, "signal VM `%s` (pid %d)", vm, (int)pid);
	for (int i = 0; i < 1000; i++) {
		if (proc_exited(pid))
			return 0;
		usleep(10000);
	}
	return err_make(err, ETIMEDOUT, "VM `%s` (pid %d) did not stop within 10 s", vm, (int)pid);
}

/* A pid-N entry whose VMM is gone (SIGKILLed): remove it rather than list it. */
static bool stale_auto_entry(int dfd, const char *name)
{
	_cleanup_err_ struct err *e = NULL;
	pid_t pid;

	if (strncmp(name, "pid-", 4) || entry_pid(name, &pid, &e) < 0)
		return false;
	if (kill(pid, 0) == 0 || errno != ESRCH)
		return false;
	(void)rm_rf_at(dfd, name, &e);
	return true;
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

		if (de->d_name[0] == '.' || stale_auto_entry(dirfd(d), de->d_name) ||
		    vm_sock(de->d_name, &sock, &e) < 0)
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
	const char *sub = argv[0] + (strncmp(argv[0], "vm ", 3) ? 0 : 3);
	int r;

	(void)g;
	/* Only snapshot has options; the others answer --help and refuse any. */
	if (!streq(sub, "snapshot") && cli_parse_none(argc, argv, &r))
		return r;
	if (streq(sub, "snapshot"))
		r = snapshot(argc, argv, &err);
	else if (optind != 1)
		r = err_make(&err, EINVAL, "usage: vm %s%s", sub, streq(sub, "ls") ? "" : " VM");
	else if (streq(sub, "ls"))
		r = argc == 1 ? ls(&err) : err_make(&err, EINVAL, "usage: vm ls");
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
	return r;
}
