/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola events [--stats] [--interval DURATION] ID
 * --stats prints one runc-style {"type":"stats","id":...,"data":{...}} line;
 * otherwise a stats line every interval (default 5s) and an
 * {"type":"oom","id":...} line as soon as the kernel OOM-kills a process of
 * the container, until the container's init exits.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "cgroup-target.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"
#include "jsonutil.h"
#include "parse.h"

/* "5s", "500ms", "1m" or plain seconds, to milliseconds (max one day). */
static int parse_interval(const char *s, uint64_t *ret_ms)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
	    {"ms", 1},
	    {"s", 1000},
	    {"m", 60000},
	    {"", 1000},
	};
	char num[32];
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		size_t len = strlen(s), sl = strlen(units[i].suffix);

		if (len <= sl || len - sl >= sizeof(num) || strcmp(s + len - sl, units[i].suffix))
			continue;
		memcpy(num, s, len - sl);
		num[len - sl] = '\0';
		if (parse_u64(num, &v) < 0 || v == 0 || v > 86400000 / units[i].ms)
			return -EINVAL;
		*ret_ms = v * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

/* One runc-style event line: {"type":..., "id":..., "data":...}; data may be NULL. */
static int emit(const char *type, const char *id, json_t *data, struct err **err)
{
	_cleanup_json_ json_t *ev = json_pack("{s:s, s:s}", "type", type, "id", id);

	if (!ev || (data && json_object_set(ev, "data", data) < 0) ||
	    json_dumpf(ev, stdout, JSON_COMPACT) < 0)
		return err_make(err, ENOMEM, "events");
	putchar('\n');
	fflush(stdout);
	return 0;
}

/* Print one stats event; returns 1 when the container has stopped. */
static int print_stats(const char *root, const char *id, struct err **err)
{
	_cleanup_json_ json_t *data = NULL;
	struct cgroup_target t;
	int r;

	r = cgroup_target_open(root, id, &t, err);
	if (r < 0)
		return r;
	if (t.status == CT_STOPPED) {
		cgroup_target_close(&t);
		return 1;
	}
	r = ct_cgroup_stats(t.cg, &data, err);
	cgroup_target_close(&t);
	if (r < 0)
		return r;
	return emit("stats", id, data, err);
}

/* What the stream watches: the cgroup, its OOM notifier and the init's pidfd. */
struct stream {
	const char *id;
	struct ct_cgroup *cg;
	struct ct_oom_watch *oom;
	int pidfd;
};

static void stream_close(struct stream *s)
{
	ct_oom_watch_free(s->oom);
	ct_cgroup_free(s->cg);
	if (s->pidfd >= 0)
		close(s->pidfd);
}

/* Take the container's cgroup and a pidfd of its init, then drop the lock. */
static int stream_open(const char *root, const char *id, struct stream *s, struct err **err)
{
	struct cgroup_target t;
	int r;

	*s = (struct stream){.id = id, .pidfd = -1};
	r = cgroup_target_open(root, id, &t, err);
	if (r < 0)
		return r;
	if (t.status != CT_STOPPED && t.st.pid > 0)
		s->pidfd = (int)syscall(SYS_pidfd_open, t.st.pid, 0);
	if (s->pidfd < 0 || !ct_state_alive(&t.st))
		r = err_make(err, 0, "container `%s` is not running", id);
	else
		s->cg = TAKE_PTR(t.cg);
	cgroup_target_close(&t);
	if (r >= 0)
		r = ct_cgroup_oom_watch(s->cg, &s->oom, err);
	if (r == -ENOENT) {
		/* No memory controller (or its event files): stats only, and say so. */
		log_warn("%s; streaming stats without OOM events", (*err)->msg);
		err_free(err);
		r = 0;
	}
	if (r < 0)
		stream_close(s);
	return r;
}

/* One "oom" line per kill the kernel counted (a burst is capped). */
static int report_oom(struct stream *s, struct err **err)
{
	uint64_t n = 0;
	int r = ct_oom_watch_read(s->oom, &n, err);

	for (uint64_t i = 0; r >= 0 && i < n && i < 64; i++)
		r = emit("oom", s->id, NULL, err);
	return r;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Stats every interval and OOM events as they happen, until the init exits. */
static int stream(const char *root, const char *id, uint64_t interval_ms, struct err **err)
{
	struct stream s;
	uint64_t next;
	int r = stream_open(root, id, &s, err);

	if (r < 0)
		return r;
	next = now_ms() + interval_ms;
	while (r >= 0) {
		struct pollfd p[2] = {
		    {.fd = s.pidfd, .events = POLLIN},
		    {.fd = s.oom ? ct_oom_watch_fd(s.oom) : -1, .events = POLLIN}};
		uint64_t now = now_ms();
		_cleanup_json_ json_t *data = NULL;

		if (poll(p, 2, next > now ? (int)(next - now) : 0) < 0 && errno != EINTR) {
			r = err_make(err, errno, "poll");
			break;
		}
		if (p[1].revents)
			r = report_oom(&s, err);
		if (r < 0 || p[0].revents) /* the init exited: the stream ends */
			break;
		if (now_ms() < next)
			continue;
		next += interval_ms;
		r = ct_cgroup_stats(s.cg, &data, err);
		if (r >= 0)
			r = emit("stats", id, data, err);
	}
	stream_close(&s);
	return r;
}

const struct cli_opt cmd_events_opts[] = {
    {"stats", CLI_LONG(1), NULL, "print one stats event and exit"},
    {"interval", CLI_LONG(2), "DURATION",
     "time between stats events, e.g. 5s or 500ms (default 5s)"},
    {},
};

int cmd_events(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser p;
	uint64_t interval_ms = 5000;
	struct err *err = NULL;
	bool once = false;
	int c, r;

	cli_parser_init(&p, argv[0], cmd_events_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		if (c == CLI_LONG(1))
			once = true;
		else if (parse_interval(optarg, &interval_ms) < 0)
			return cli_usage_error(
			    argv[0], "--interval `%s`: expected e.g. 5s or 500ms", optarg);
	}
	if (c < 0)
		return p.exit_code;
	if (optind != argc - 1)
		return cli_usage_error(argv[0], "expected one container id");
	if (!once)
		return stream(g->root, argv[optind], interval_ms, &err) < 0 ? cli_fail(&err) : 0;
	r = print_stats(g->root, argv[optind], &err);
	if (r < 0)
		return cli_fail(&err);
	if (r == 1)
		return cli_usage_error(argv[0], "container `%s` is stopped", argv[optind]);
	return 0;
}
