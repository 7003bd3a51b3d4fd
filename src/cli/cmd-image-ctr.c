/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Containers started by `isola run IMAGE` (`isola image run`), driven through the OCI
 * runtime; also at the top level as `isola ps` (no ID), `logs`, `stop` and `rm`:
 *   isola image ps    [--store D] [-a] [--format json|table]
 *   isola image logs  [--store D] ID
 *   isola image stop  [--store D] [-t SECONDS] ID...
 *   isola image kill  [--store D] [-s SIGNAL] ID...   (also `isola kill NAME`: cmd-kill.c)
 *   isola image rm    [--store D] [-f] ID...
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "spawn.h"
#include "fdutil.h"
#include "config.h"
#include "image-cli.h"
#include "opt.h"
#include "jsonutil.h"
#include "net.h"
#include "oci.h"
#include "parse.h"
#include "state.h"
#include "text.h"
#include "vmct.h"

#define STATE_MAX CT_STATE_MAX

static pid_t spawn(const char *store, const char *const *args, int in_fd, int out_fd, int err_fd,
		   bool own_group)
{
	const char *rt = getenv("ISOLA_RUNTIME");
	_cleanup_free_ char *root = NULL;
	_cleanup_free_ const char **argv = NULL;
	size_t n = 0, n_args = 0;
	pid_t pid;

	if (!rt || !*rt)
		rt = "/proc/self/exe";
	while (args[n_args])
		n_args++;
	/* Every argument goes: a command's own arguments have no limit here. */
	argv = calloc(n_args + 4, sizeof(*argv));
	if (!argv || asprintf(&root, "%s/run", store) < 0)
		return -1;
	argv[n++] = rt;
	argv[n++] = "--root";
	argv[n++] = root;
	for (; *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		/* Not the signals a foreground run holds (image_cli_proxy_hold), nor catches. */
		spawn_child_signals();
		if (own_group)
			setpgid(0, 0);
		if ((in_fd >= 0 && dup2(in_fd, 0) < 0) || (out_fd >= 0 && dup2(out_fd, 1) < 0) ||
		    (err_fd >= 0 && dup2(err_fd, 2) < 0))
			_exit(127);
		execvp(rt, (char **)argv);
		fprintf(stderr, "isola: exec runtime `%s`: %s\n", rt, strerror(errno));
		_exit(127);
	}
	return pid;
}

pid_t image_cli_runtime_spawn(const char *store, const char *const *args, int in_fd, int out_fd,
			      int err_fd)
{
	return spawn(store, args, in_fd, out_fd, err_fd, false);
}

int image_cli_runtime_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static const int proxied[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
static volatile sig_atomic_t proxy_pid;

static void proxy_signal(int sig, siginfo_t *si, void *uc)
{
	pid_t pid = proxy_pid;

	(void)uc;
	/*
	 * A terminal's ^C, ^\ or hang-up (SI_KERNEL) went to its whole foreground group, the
	 * runtime in it: passed on, the container would get it twice.  One sent by a process
	 * (kill(1), podman's and docker's sig-proxy) reaches only us: it goes on.
	 */
	if (si->si_code == SI_KERNEL)
		return;
	if (pid > 0)
		kill(pid, sig);
}

static void proxied_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < ARRAY_SIZE(proxied); i++)
		sigaddset(set, proxied[i]);
}

void image_cli_proxy_hold(void)
{
	sigset_t set;

	proxied_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

void image_cli_proxy_to(pid_t pid)
{
	struct sigaction sa = {.sa_flags = SA_RESTART};
	sigset_t set;

	if (pid > 0) {
		sa.sa_sigaction = proxy_signal;
		sa.sa_flags |= SA_SIGINFO;
	} else
		sa.sa_handler = SIG_DFL;
	proxy_pid = pid;
	for (size_t i = 0; i < ARRAY_SIZE(proxied); i++)
		sigaction(proxied[i], &sa, NULL);
	proxied_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int image_cli_runtime_fg(const char *store, const char *const *args, int in_fd, bool *ret_killed)
{
	pid_t pid;

	*ret_killed = false;
	image_cli_proxy_hold();
	pid = image_cli_runtime_spawn(store, args, in_fd, -1, -1);
	if (pid < 0)
		return -1; /* held, as after a run: the caller's clean-up is not cut short */
	image_cli_proxy_to(pid);
	return image_cli_proxy_wait(pid, ret_killed);
}

int image_cli_proxy_wait(pid_t pid, bool *ret_killed)
{
	siginfo_t info;
	int status;

	/*
	 * Ended, not yet reaped (WNOWAIT): its pid stays its own while the signals
	 * are held (from here to our exit: a signal for a gone pid must not reach
	 * its next owner, nor cut short the clean-up that follows).
	 */
	while (waitid(P_PID, pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	image_cli_proxy_hold();
	proxy_pid = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	if (ret_killed)
		*ret_killed = status != -1 && WIFSIGNALED(status);
	if (status == -1)
		return -1;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

pid_t image_cli_watcher(int pfd)
{
	pid_t pid;
	int null;

	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid;
	setsid();
	/* Not the signals our caller holds or catches for its own clean-up (stop_hold()). */
	spawn_child_signals();
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
	    (pfd >= 0 && dup2(pfd, 3) < 0))
		_exit(1);
	/* Not the caller's locks and namespace fds: those would live as long as we wait. */
	close_fds_from(pfd >= 0 ? 4 : 3);
	while (pfd >= 0 && poll(&(struct pollfd){.fd = 3, .events = POLLIN}, 1, -1) < 0 &&
	       errno == EINTR)
		;
	return 0;
}

int image_cli_runtime_detached(const char *store, const char *const *args, int in_fd, int out_fd,
			       int err_fd)
{
	pid_t pid = spawn(store, args, in_fd, out_fd, err_fd, true);

	return pid < 0 ? -1 : image_cli_runtime_wait(pid);
}

int image_cli_runtime(const char *store, const char *const *args, int in_fd, int out_fd, int err_fd)
{
	pid_t pid = image_cli_runtime_spawn(store, args, in_fd, out_fd, err_fd);
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	int code;

	if (pid < 0)
		return -1;
	/*
	 * A ^C reaches the runtime too (in our group): it is the runtime's to act on, not
	 * the end of us meanwhile.  A caller's handler stays (cmd-image-run.c stop_catch()).
	 */
	sigaction(SIGINT, NULL, &old);
	if (old.sa_handler == SIG_DFL)
		sigaction(SIGINT, &ign, NULL);
	code = image_cli_runtime_wait(pid);
	sigaction(SIGINT, &old, NULL);
	return code;
}

static char *container_status_once(const char *store, const char *id, pid_t *ret_pid);

/*
 * image-cli.h.  "creating" (a command holds the container, before its init exists) is
 * waited out: the runtime's state answers it at once so that hooks are not held, but
 * stop, rm and the rest act on the container that create leaves.
 */
char *image_cli_container_status(const char *store, const char *id, pid_t *ret_pid)
{
	char *st;

	for (unsigned ms = 5;; ms = ms < 100 ? ms * 2 : 100) {
		st = container_status_once(store, id, ret_pid);
		if (!st || !streq(st, "creating"))
			return st;
		free(st);
		usleep(ms * 1000);
	}
}

static char *container_status_once(const char *store, const char *id, pid_t *ret_pid)
{
	const char *args[] = {"state", id, NULL};
	_cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	_cleanup_free_ char *out = NULL;
	_cleanup_json_ json_t *j = NULL;
	json_int_t pid;
	int p[2], code;
	size_t len;

	if (ret_pid)
		*ret_pid = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return strdup("unknown");
	code = image_cli_runtime(store, args, -1, p[1], null);
	close(p[1]);
	if (code != 0 || read_all_fd(p[0], STATE_MAX, &out, &len) < 0) {
		close(p[0]);
		return strdup(code == 0 ? "unknown" : "exited");
	}
	close(p[0]);
	j = json_loadb(out, len, 0, NULL);
	pid = json_integer_value(json_object_get(j, "pid"));
	if (ret_pid && pid > 0 && pid <= INT32_MAX)
		*ret_pid = (pid_t)pid;
	return strdup(json_string_value(json_object_get(j, "status")) ?: "unknown");
}

static char *container_status(const char *store, const char *id)
{
	return image_cli_container_status(store, id, NULL);
}

static bool is_running(const char *store, const char *id);

struct ctr_args {
	const char *store, *format;
	bool force;
	int timeout;
	int sig;		    /* kill: -s, default KILL */
	int fail_code;		    /* the exit code when fn fails for an ID (0: 1) */
	const struct cli_opt *opts; /* NULL: cmd_image_ctr_opts */
};

const struct cli_opt cmd_image_ctr_opts[] = {
    {"store", CLI_LONG(1), "DIR", "the image store (default " ISOLA_DEFAULT_STORE ")"},
    {"format", CLI_LONG(2), "table|json", "ps: the output format (default: table)"},
    {"force", 'f', NULL, "rm: stop running containers first"},
    {"time", 't', "SECONDS", "stop, rm -f: seconds between TERM and KILL"},
    {"all", 'a', NULL, "ps: accepted (every container is listed)"},
    {},
};

const struct cli_opt cmd_image_kill_opts[] = {
    {"store", CLI_LONG(1), "DIR", "the image store (default " ISOLA_DEFAULT_STORE ")"},
    {"signal", 's', "SIG", "the signal (default KILL)"},
    {},
};

/* 0, -1 after --help (exit 0), or an exit code after a usage error. */
static int parse(struct ctr_args *a, int argc, char **argv)
{
	struct cli_parser p;
	int c;

	cli_parser_init(&p, argv[0], a->opts ? a->opts : cmd_image_ctr_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		switch (c) {
		case 'a':
			break; /* ps: every container is listed, running or not */
		case CLI_LONG(1):
			a->store = optarg;
			break;
		case CLI_LONG(2):
			a->format = optarg;
			break;
		case 'f':
			a->force = true;
			break;
		case 't':
			if (parse_int(optarg, &a->timeout) < 0 || a->timeout < 0 ||
			    a->timeout > IMAGE_STOP_TIMEOUT_MAX)
				return cli_usage_error(argv[0], "-t `%s`: expected seconds",
						       optarg);
			break;
		case 's':
			if (parse_signal(optarg, &a->sig) < 0)
				return cli_usage_error(argv[0], "--signal `%.32s`: not a signal",
						       optarg);
			break;
		}
	}
	return c < 0 ? (p.exit_code ? p.exit_code : -1) : 0;
}

static void print_row(const char *id, const char *image, const char *cmd, const char *created,
		      const char *status, const char *ports, const char *names)
{
	printf("%-14.14s %-32.32s %-20.20s %-21s %-9s %-28s %s\n", id, image, cmd, created, status,
	       ports, names);
}

static int print_list(json_t *list, const char *format)
{
	_cleanup_free_ char *text = NULL;
	json_t *c;
	size_t i;

	if (streq(format, "json")) {
		text = json_dumps(list, JSON_INDENT(2));
		if (text)
			printf("%s\n", text);
		return text ? 0 : 1;
	}
	print_row("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES");
#define S(k) (json_string_value(json_object_get(c, k)) ?: "")
	json_array_foreach (list, i, c) {
		json_t *code = json_object_get(c, "exitCode");
		char status[64], num[24] = "";
		/* The image's Cmd, the registry's words: one cell, no escape sequence. */
		_cleanup_free_ char *cmd = text_escape_ctl(S("command"), strlen(S("command")));

		for (char *p = cmd; p && *p; p++)
			if (*p == '\n' || *p == '\t')
				*p = ' ';

		/* A VM container says so; a stopped one's exit code is known (podman's Exited (N)).
		 */
		if (code)
			snprintf(num, sizeof(num), " (%" JSON_INTEGER_FORMAT ")",
				 json_integer_value(code));
		snprintf(status, sizeof(status), "%s%s%s", S("status"), num,
			 json_is_true(json_object_get(c, "vm")) ? " vm" : "");
		print_row(S("id"), S("image"), cmd ? cmd : "", S("created"), status, S("ports"),
			  S("names"));
	}
#undef S
	return 0;
}

/* The store's real path (for the runtime's --root), without holding the lock. */
static char *store_path(const char *opt)
{
	return realpath(img_store_default_path(opt), NULL);
}

int cmd_image_ps(struct cli_globals *g, int argc, char **argv)
{
	struct ctr_args a = {.format = "table"};
	_cleanup_free_ char *store = NULL, *cdir = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_json_ json_t *out = json_array();
	struct dirent *de;
	int r;

	r = parse(&a, argc, argv);
	if (r)
		return r < 0 ? 0 : r;
	if (optind < argc)
		return cli_usage_error(argv[0], "unexpected argument `%s`", argv[optind]);
	if (!streq(a.format, "table") && !streq(a.format, "json"))
		return cli_usage_error(argv[0], "--format `%s`: expected table or json", a.format);
	store = store_path(a.store);
	/* No store: no containers. */
	if (store && asprintf(&cdir, "%s/containers", store) >= 0)
		d = opendir(cdir);
	while (d && (de = readdir(d))) {
		json_t *c;

		if (de->d_name[0] == '.')
			continue;
		c = image_cli_container_info(store, de->d_name);
		if (c)
			json_array_append_new(out, c);
	}
	return print_list(out, a.format);
}

bool image_cli_container_running(const char *store, const char *id)
{
	return is_running(store, id);
}

static bool status_running(const char *st)
{
	return st && (streq(st, "running") || streq(st, "created") || streq(st, "paused"));
}

static bool is_running(const char *store, const char *id)
{
	_cleanup_free_ char *st = container_status(store, id);
	_cleanup_close_ int fg = -1;

	if (status_running(st))
		return true;
	fg = image_cli_vm_fg(store, id, NULL);
	return fg >= 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Until the process of @pidfd ends or @ms have passed: true if it ended. */
static bool pidfd_wait(int pidfd, int64_t ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int64_t end = mono_ms() + ms, left;

	while ((left = end - mono_ms()) > 0)
		if (poll(&p, 1, left < INT_MAX ? (int)left : INT_MAX) == 1)
			return true;
	return poll(&p, 1, 0) == 1;
}

/*
 * A foreground run --vm: the stop signal to its `isola run`, which hands it to the
 * container in the VM; after @timeout s, KILL (the VMM dies with it).  A signal the
 * run does not relay (vmct_signal_relayed) would end the run, not the container: it
 * is not sent, as the runtime's kill refuses it for a detached one.  -1 if the run
 * still runs 5 s after the KILL.
 */
static int stop_vm_fg(int pidfd, int sig, int timeout)
{
	if (vmct_signal_relayed(sig))
		syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	if (pidfd_wait(pidfd, (int64_t)timeout * 1000))
		return 0;
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	return pidfd_wait(pidfd, 5000) ? 0 : -1;
}

/*
 * Until the container is not running or @ms have passed.  With a pidfd of
 * its init the wait ends when the init does; without one (another PID
 * namespace, an old kernel), the runtime's state is asked every 100 ms.
 */
static void wait_stopped(const char *store, const char *id, int pidfd, int64_t ms)
{
	int64_t end = mono_ms() + ms, left;

	if (pidfd >= 0) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};

		/* poll's int of ms holds 24 days; -t may say more. */
		while ((left = end - mono_ms()) > 0 && !(p.revents & POLLIN))
			if (poll(&p, 1, left < INT_MAX ? (int)left : INT_MAX) < 0 && errno != EINTR)
				break;
		if (!(p.revents & POLLIN))
			return; /* the timeout, or a poll that failed: the caller asks the state */
		/* The init is gone; the runtime's state follows at once (it checks the pid). */
		end = mono_ms() + 1000;
	}
	while (is_running(store, id) && (left = end - mono_ms()) > 0)
		nanosleep(&(struct timespec){.tv_nsec = (left < 100 ? left : 100) * 1000000}, NULL);
}

/*
 * The container's stop signal (--stop-signal, else TERM), then KILL after timeout
 * seconds; a timeout < 0: the container's --stop-timeout, else 10, as podman's stop.
 * -1 if it still runs 5 s after the KILL.
 */
static int stop_one(const char *store, const char *id, int timeout)
{
	_cleanup_json_ json_t *meta = image_cli_container_meta(store, id);
	json_int_t sig = json_integer_value(json_object_get(meta, "stopSignal"));
	json_t *t = json_object_get(meta, "stopTimeout");
	/* Without a PID namespace of its own (--pid host), the init's death ends nothing else. */
	bool all = json_is_true(json_object_get(meta, "stopAll"));
	const char *kill9[] = {"kill", id, "KILL", NULL, NULL};
	char signame[16] = "TERM";
	const char *term[] = {"kill", id, signame, NULL, NULL};
	_cleanup_free_ char *st = NULL;
	_cleanup_close_ int pidfd = -1;
	pid_t pid;

	if (all) {
		kill9[1] = term[1] = "--all";
		kill9[2] = term[2] = id;
		kill9[3] = "KILL";
		term[3] = signame;
	}
	st = image_cli_container_status(store, id, &pid);
	if (sig <= 0 || sig > SIGRTMAX)
		sig = SIGTERM;
	if (timeout < 0)
		timeout = json_is_integer(t) && json_integer_value(t) >= 0 &&
				  json_integer_value(t) <= IMAGE_STOP_TIMEOUT_MAX
			      ? (int)json_integer_value(t)
			      : 10;
	if (!status_running(st) && (pidfd = image_cli_vm_fg(store, id, NULL)) >= 0)
		return stop_vm_fg(pidfd, (int)sig, timeout);
	if (!status_running(st)) {
		/* all: an init that died alone ended nothing else; what it left runs on. */
		if (all && st && streq(st, "stopped"))
			image_cli_runtime(store, kill9, -1, -1, -1);
		return 0;
	}
	snprintf(signame, sizeof(signame), "%d", (int)sig);
	/*
	 * If the init exited and its pid was reused in between, the pidfd is
	 * another process's: the wait then lasts the timeout, and the state,
	 * asked again, says the container stopped (no KILL is sent).
	 */
	if (pid > 0)
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	image_cli_runtime(store, term, -1, -1, -1);
	wait_stopped(store, id, pidfd, (int64_t)timeout * 1000);
	if (is_running(store, id) || all) {
		/* all: what outlived the init would be a stopped container's orphans. */
		image_cli_runtime(store, kill9, -1, -1, -1);
		wait_stopped(store, id, pidfd, 5000);
	}
	return is_running(store, id) ? -1 : 0;
}

/* A container of `run IMAGE` in @store: its directory there. */
static bool container_exists(const char *store, const char *id)
{
	_cleanup_free_ char *p = NULL;

	return image_cli_container_name_plain(id) &&
	       asprintf(&p, "%s/containers/%s", store, id) >= 0 && path_exists(p);
}

/*
 * Parse, then fn for each ID given; the IDs done are printed.  An ID that is
 * not in the store is said so, with podman's exit code: 125 for stop, 1 for
 * rm; rm -f says nothing and still undoes what a crash may have left under
 * the runtime's root and in the network.  Otherwise the exit code is 1 if
 * fn failed for any.
 */
static int each_container(struct ctr_args *a, int argc, char **argv, bool rm,
			  int (*fn)(const struct ctr_args *a, const char *store, const char *id))
{
	_cleanup_free_ char *store = NULL;
	int r, rc = 0;

	r = parse(a, argc, argv);
	if (r)
		return r < 0 ? 0 : r;
	if (optind >= argc)
		return cli_usage_error(argv[0], "expected container ids");
	store = store_path(a->store);
	if (!store)
		return cli_usage_error(argv[0], "no store");
	for (int i = optind; i < argc; i++) {
		if (!container_exists(store, argv[i])) {
			if (rm && a->force) {
				if (image_cli_container_name_plain(argv[i]))
					fn(a, store, argv[i]);
				continue;
			}
			log_error("%s: no container `%.255s` in the store %s", argv[0], argv[i],
				  store);
			if (!rc)
				rc = rm ? 1 : EXIT_ISOLA;
		} else if (fn(a, store, argv[i])) {
			if (!rc)
				rc = a->fail_code ? a->fail_code : 1;
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return rc;
}

/* A stopped container leaves its network: the CNI state says what to undo. */
static int detach(const char *store, const char *id)
{
	_cleanup_err_ struct err *err = NULL;

	return net_detach(store, id, -1, &err) < 0 ? cli_fail(&err) : 0;
}

/* rm: even a DEL that fails leaves no netns or state behind (warned). */
static int detach_force(const char *store, const char *id, int lock_fd)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *note = NULL;
	int r = net_detach_force(store, id, lock_fd, &note, &err);

	if (note)
		log_warn("%s", note);
	return r < 0 ? cli_fail(&err) : 0;
}

static int stop_cmd(const struct ctr_args *a, const char *store, const char *id)
{
	if (stop_one(store, id, a->timeout) < 0)
		return cli_usage_error(id, "container did not stop");
	return detach(store, id);
}

int cmd_image_stop(struct cli_globals *g, int argc, char **argv)
{
	struct ctr_args a = {.timeout = -1};

	return each_container(&a, argc, argv, false, stop_cmd);
}

/*
 * podman's kill: the signal to a running container's process (every process of one
 * without a PID namespace of its own, as stop does); a foreground run --vm gets it
 * through its `isola run`, which relays what it can relay, and KILL ends its VM.
 */
static int kill_cmd(const struct ctr_args *a, const char *store, const char *id)
{
	_cleanup_json_ json_t *meta = image_cli_container_meta(store, id);
	bool all = json_is_true(json_object_get(meta, "stopAll"));
	char sig[16];
	const char *one[] = {"kill", id, sig, NULL}, *every[] = {"kill", "--all", id, sig, NULL};
	_cleanup_free_ char *st = image_cli_container_status(store, id, NULL);
	_cleanup_close_ int fg = -1;

	snprintf(sig, sizeof(sig), "%d", a->sig);
	if (status_running(st))
		return image_cli_runtime(store, all ? every : one, -1, -1, -1) == 0
			   ? 0
			   : cli_usage_error(id, "kill: the runtime failed (said above)");
	fg = image_cli_vm_fg(store, id, NULL);
	if (fg < 0)
		return cli_usage_error(id, "can only kill running containers (this one is %s)",
				       st ? st : "unknown");
	if (a->sig != SIGKILL && !vmct_signal_relayed(a->sig))
		return cli_usage_error(
		    id, "signal %d: a foreground VM container's run passes on only what it relays",
		    a->sig);
	if (syscall(SYS_pidfd_send_signal, fg, a->sig, NULL, 0) < 0)
		return cli_usage_error(id, "kill: %s", strerror(errno));
	return 0;
}

int cmd_image_kill(struct cli_globals *g, int argc, char **argv)
{
	struct ctr_args a = {
	    .timeout = -1, .sig = SIGKILL, .fail_code = EXIT_ISOLA, .opts = cmd_image_kill_opts};

	return each_container(&a, argc, argv, false, kill_cmd);
}

struct remove_call {
	const char *store, *id;
	const char *instance; /* non-NULL: only if the container is still this instance */
};

static int do_remove(void *data)
{
	const struct remove_call *rc = data;
	_cleanup_err_ struct err *err = NULL;
	struct img_store *s = NULL;
	int r;

	r = image_cli_open_store(rc->store, &s);
	if (r)
		return r;
	if (rc->instance) {
		char now[IMG_INSTANCE_LEN + 1];

		/* Under the store's lock: no container of this name can be made meanwhile. */
		image_cli_container_instance(s->path, rc->id, now);
		if (!streq(now, rc->instance)) {
			img_store_close(s);
			return 0;
		}
	}
	r = img_bundle_remove(s, rc->id, &err);
	img_store_close(s);
	return r < 0 ? cli_fail(&err) : 0;
}

static int bundle_remove_if(const char *store_opt, const char *id, const char *instance)
{
	/* A rootless container's upper dir holds subordinate ids: its user namespace. */
	return image_cli_store_call(do_remove, &(struct remove_call){store_opt, id, instance});
}

int image_cli_bundle_remove(const char *store_opt, const char *id)
{
	return bundle_remove_if(store_opt, id, NULL);
}

/*
 * A running container that joined a namespace of @id (run --pid, --ipc, --uts or
 * --network container:ID: "joined" in its image.json); its name, else NULL.  One that
 * joined an earlier container of that name ("joinedInstance" not @id's) does not count.
 */
static char *joined_by(const char *store, const char *id)
{
	_cleanup_free_ char *cdir = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	char self[IMG_INSTANCE_LEN + 1];
	struct dirent *de;

	if (asprintf(&cdir, "%s/containers", store) < 0 || !(d = opendir(cdir)))
		return NULL;
	image_cli_container_instance(store, id, self);
	while ((de = readdir(d))) {
		_cleanup_json_ json_t *meta = NULL;
		json_t *inst, *v;
		const char *k;
		bool joined = false;

		if (de->d_name[0] == '.' || streq(de->d_name, id))
			continue;
		meta = image_cli_container_meta(store, de->d_name);
		inst = json_object_get(meta, "joinedInstance");
		json_object_foreach (json_object_get(meta, "joined"), k, v) {
			const char *was = json_string_value(json_object_get(inst, k));

			/* Without an instance on either side (older bundles): by the name. */
			joined = joined || (json_is_string(v) && streq(json_string_value(v), id) &&
					    (!was || !*self || streq(was, self)));
		}
		if (joined && is_running(store, de->d_name))
			return strdup(de->d_name);
	}
	return NULL;
}

/*
 * A foreground run --vm that was killed (rm -f, stop's KILL) could not remove its
 * VMM's socket dir, which its vsock note names.
 */
static void rm_vm_fg_sockdir(const char *store, const char *id)
{
	_cleanup_free_ char *fg = NULL, *note = NULL, *dir = NULL;
	_cleanup_close_ int alive = image_cli_vm_fg(store, id, NULL);
	char *slash;

	if (alive >= 0 || asprintf(&fg, "%s/containers/%s/" IMAGE_VM_FG_NOTE, store, id) < 0 ||
	    !path_exists(fg) ||
	    asprintf(&note, "%s/containers/%s/" IMAGE_VM_VSOCK_NOTE, store, id) < 0 ||
	    read_file_at(AT_FDCWD, note, PATH_MAX, &dir, NULL, NULL) < 0)
		return;
	dir[strcspn(dir, "\n")] = '\0';
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		vmct_oci_rm_sockdir(dir, 0);
	}
}

/* The remover's instance, taken out of the environment (the runtime and hooks get none). */
static const char *image_rm_instance(void)
{
	static char inst[IMG_INSTANCE_LEN + 1];
	static bool read;
	const char *v;

	if (!read) {
		read = true;
		v = getenv(IMAGE_RM_INSTANCE_ENV);
		if (v) {
			snprintf(inst, sizeof(inst), "%s", v);
			unsetenv(IMAGE_RM_INSTANCE_ENV);
		}
	}
	return *inst ? inst : NULL;
}

static int rm_one(const struct ctr_args *a, const char *store, const char *id)
{
	const char *del[] = {"delete", "--force", id, NULL};
	/* Set by a run -d --rm's remover (spawn_remover): the instance it was made for. */
	const char *want = image_rm_instance();
	_cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	_cleanup_close_ int lk = -1;
	_cleanup_free_ char *dep = NULL;

	/*
	 * The remover runs after its container ended; by then `rm -f NAME` and a new `run
	 * --name NAME` may have been.  The container's lock, exclusively, keeps another rm
	 * from finishing (its detach waits for it) while the instance is checked and this
	 * one is undone: a name still held by this instance's bundle cannot be reused.  The
	 * bundle goes with the instance checked again under the store's lock.
	 */
	if (want) {
		char now[IMG_INSTANCE_LEN + 1];
		_cleanup_err_ struct err *err = NULL;

		/* Gone already (removed by hand): nothing of it to undo, no lock file to make. */
		if (!container_exists(store, id))
			return 0;
		lk = net_lock_ex(store, id, &err);
		image_cli_container_instance(store, id, now);
		if (!*want || !streq(now, want))
			return 0;
	}

	if (is_running(store, id)) {
		if (!a->force)
			return cli_usage_error(id, "container is running; stop it or use -f");
		stop_one(store, id, 0);
	}
	/* As podman: not while a container that joined its namespaces runs, unless -f. */
	if (!a->force && (dep = joined_by(store, id)))
		return cli_usage_error(id,
				       "container `%s` joined its namespaces and is running; "
				       "stop it first, or use -f",
				       dep);
	image_cli_runtime(store, del, -1, null, null);
	rm_vm_fg_sockdir(store, id);
	/*
	 * The bundle goes, and so do the netns and the network state even if DEL fails
	 * (warned): nothing but a retried DEL would refer to them any more, and rm must not
	 * get stuck.
	 */
	detach_force(store, id, lk);
	if (lk >= 0)
		close(TAKE_FD(lk)); /* before the store's lock: a run takes that one first */
	return bundle_remove_if(a->store, id, want);
}

int cmd_image_rm(struct cli_globals *g, int argc, char **argv)
{
	struct ctr_args a = {};

	return each_container(&a, argc, argv, true, rm_one);
}
