/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logs of detached containers.  A small logger process (forked by `run -d`, gone when
 * the container's output closes) writes each line of its output to
 * containers/<id>/ctr.log as "<RFC 3339 UTC time, ns> <line>"; past run's --log-opt
 * max-size (default 256 MiB) the log starts again empty.
 *   isola logs [--store D] [-f] [--since TIME|DURATION] [--tail N] [-t] NAME
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "spawn.h"
#include "fdutil.h"
#include "image-cli.h"
#include "parse.h"

#define TS_LEN 30 /* "2026-12-03T04:31:00.123456789Z" */

static void timestamp(char buf[TS_LEN + 1])
{
	struct timespec ts;
	struct tm tm;
	char sec[24], full[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(full, sizeof(full), "%.19s.%09ldZ", sec, ts.tv_nsec % 1000000000);
	memcpy(buf, full, TS_LEN);
	buf[TS_LEN] = '\0';
}

/*
 * The log starts again: a new empty file, locked as the old one was, renamed over it
 * and put at fd out (the old one's lock goes with its last fd).  A reader of the old
 * file reads it to its end, then a follower opens the new one (follow()).  Failing
 * that, the file is emptied in place.
 */
static void rotate(const char *path, int out)
{
	char tmp[PATH_MAX];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) < (int)sizeof(tmp) &&
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
		       0640)) >= 0) {
		if (flock(fd, LOCK_SH) == 0 && rename(tmp, path) == 0 &&
		    dup3(fd, out, O_CLOEXEC) >= 0) {
			close(fd);
			return;
		}
		close(fd);
		unlink(tmp);
	}
	(void)!ftruncate(out, 0);
}

/*
 * Past max bytes (0: no limit) the log starts again (rotate()); the piece being
 * written begins a stamped line.
 */
static void logger_loop(const char *path, int in, int out, uint64_t max)
{
	char buf[8192], ts[TS_LEN + 1];
	bool line_start = true;
	struct stat st;
	uint64_t size = fstat(out, &st) == 0 ? (uint64_t)st.st_size : 0;
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (char *p = buf, *end = buf + n; p < end;) {
			char *nl = memchr(p, '\n', end - p);
			size_t len = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);

			if (max && size + TS_LEN + 1 + len > max) {
				rotate(path, out);
				size = 0;
				line_start = true;
			}
			if (line_start) {
				timestamp(ts);
				ts[TS_LEN] = ' ';
				write_all(out, ts, TS_LEN + 1);
				size += TS_LEN + 1;
			}
			write_all(out, p, len);
			size += len;
			line_start = nl != NULL;
			p += len;
		}
	}
	if (!line_start)
		write_all(out, "\n", 1);
}

pid_t image_cli_logger(const char *path, uint64_t max_size, int *ret_write_end)
{
	_cleanup_close_ int out = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	int p[2], null, in, log;
	pid_t pid;

	if (out < 0 || pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		/* Its own session: a ^C or hang-up of the terminal that ran `run -d` is not ours.
		 */
		setsid();
		spawn_child_signals();
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		close(p[1]);
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		/* No stdio of the caller's: a pipe reader of `run -d` sees EOF when it returns. */
		in = fcntl(p[0], F_DUPFD_CLOEXEC, 16);
		log = fcntl(out, F_DUPFD_CLOEXEC, 16);
		if (in < 0 || log < 0 || dup2(in, 3) < 0 || dup2(log, 4) < 0 || null < 0 ||
		    dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(1);
		close_fds_from(5);
		/* Held until the last line is written: logs -f waits for it (follow). */
		flock(4, LOCK_SH);
		logger_loop(path, 3, 4, max_size);
		_exit(0);
	}
	close(p[0]);
	*ret_write_end = p[1];
	return pid;
}

void image_cli_log_replay(const char *path, pid_t logger)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[4096];

	while (logger > 0 && waitpid(logger, NULL, 0) < 0 && errno == EINTR)
		;
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		bool stamped = strlen(line) > TS_LEN && line[TS_LEN] == ' ' && line[10] == 'T';

		fputs(stamped ? line + TS_LEN + 1 : line, stderr);
	}
}

struct logs_args {
	const char *store, *since;
	bool follow, timestamps;
	long tail; /* -1: all */
	char since_ts[TS_LEN + 1];
	/* Inside a line longer than the buffer: the rest is its text, shown or not as
	 * its start was, never a new stamped line (the container writes it). */
	bool in_long, long_shown;
};

const struct cli_opt cmd_logs_opts[] = {
    {"store", CLI_LONG(1), "DIR", "the image store"},
    {"follow", 'f', NULL, "keep printing new output until the container stops"},
    {"since", CLI_LONG(2), "TIME", "only lines since an RFC 3339 time or a duration (10m, 2h)"},
    {"tail", CLI_LONG(3), "N", "only the last N lines"},
    {"timestamps", 't', NULL, "show each line's time"},
    {},
};

/* "30s", "10m", "2h" before now, or an RFC 3339 time (its prefix is compared). */
static int parse_since(struct logs_args *a, const char *s)
{
	size_t n = strlen(s);
	int64_t v;
	char unit;
	time_t t;
	struct tm tm;
	_cleanup_free_ char *num = NULL;

	if (n >= 2 && strchr("smh", s[n - 1]) && (num = strndup(s, n - 1)) &&
	    parse_i64(num, &v) == 0 && v >= 0 && v < (1ll << 31)) {
		unit = s[n - 1];
		t = time(NULL) - v * (unit == 'h' ? 3600 : unit == 'm' ? 60 : 1);
		gmtime_r(&t, &tm);
		strftime(a->since_ts, sizeof(a->since_ts), "%Y-%m-%dT%H:%M:%S", &tm);
		return 0;
	}
	/* YYYY-MM-DDTHH:MM:SS, optionally more. */
	if (n < 19 || n > TS_LEN || s[4] != '-' || s[10] != 'T' || s[13] != ':')
		return -EINVAL;
	memcpy(a->since_ts, s, n);
	a->since_ts[n] = '\0';
	if (s[n - 1] == 'Z')
		a->since_ts[n - 1] = '\0';
	return 0;
}

static int parse_logs(struct logs_args *a, int argc, char **argv)
{
	struct cli_parser p;
	int64_t v;
	int c;

	cli_parser_init(&p, argv[0], cmd_logs_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		switch (c) {
		case CLI_LONG(1):
			a->store = optarg;
			break;
		case 'f':
			a->follow = true;
			break;
		case 't':
			a->timestamps = true;
			break;
		case CLI_LONG(2):
			if (parse_since(a, optarg) < 0)
				return cli_usage_error(argv[0],
						       "--since `%s`: expected an RFC 3339 time "
						       "or a duration (30s, 10m, 2h)",
						       optarg);
			break;
		case CLI_LONG(3):
			if (parse_i64(optarg, &v) < 0 || v < 0)
				return cli_usage_error(argv[0], "--tail `%s`: expected a count",
						       optarg);
			a->tail = v;
			break;
		}
	}
	if (c < 0)
		return p.exit_code ? p.exit_code : -1;
	if (argc - optind != 1)
		return cli_usage_error(argv[0], "expected a container name");
	return 0;
}

/*
 * One stored line (its time, a space, its text), or a piece of one: @complete
 * when it ends with its newline.  The time and --since are read at a line's
 * start only.
 */
static void print_line(struct logs_args *a, const char *line, size_t len, bool complete)
{
	bool stamped = len > TS_LEN && line[TS_LEN] == ' ' && line[4] == '-' && line[10] == 'T';
	bool shown;

	if (a->in_long) {
		if (a->long_shown)
			fwrite(line, 1, len, stdout);
		a->in_long = !complete;
		return;
	}
	shown = !stamped || !a->since_ts[0] || strncmp(line, a->since_ts, strlen(a->since_ts)) >= 0;
	if (shown && stamped && !a->timestamps)
		fwrite(line + TS_LEN + 1, 1, len - TS_LEN - 1, stdout);
	else if (shown)
		fwrite(line, 1, len, stdout);
	a->in_long = !complete;
	a->long_shown = shown;
}

/* Print the complete lines of buf (from line index skip on); returns the bytes used. */
static size_t print_lines(struct logs_args *a, const char *buf, size_t len, long skip)
{
	size_t used = 0;
	long i = 0;

	for (const char *p = buf; p < buf + len;) {
		const char *nl = memchr(p, '\n', buf + len - p);

		if (!nl)
			break;
		if (i++ >= skip)
			print_line(a, p, nl - p + 1, true);
		used += nl - p + 1;
		p = nl + 1;
	}
	fflush(stdout);
	return used;
}

/* The one buffer of cmd_logs, lent to tail_offset() and follow() in turn. */
#define LOG_CHUNK 65536

/*
 * The complete lines of buf[0, *have) printed, and moved out; a line longer than
 * the whole buffer is printed as it is.
 */
static void print_chunk(struct logs_args *a, char *buf, size_t *have)
{
	size_t used = print_lines(a, buf, *have, 0);

	if (used == 0 && *have == LOG_CHUNK) {
		print_line(a, buf, *have, false);
		fflush(stdout);
		used = *have;
	}
	memmove(buf, buf + used, *have - used);
	*have -= used;
}

/*
 * Where the last @n complete lines of the log begin, read backwards a chunk
 * at a time (into buf, LOG_CHUNK bytes): a log may be as large as its
 * --log-opt max-size, or grow for months without one (-1), so it is never
 * read whole.  A last line without its
 * newline (the logger is mid-write) is not one of the n.
 */
static off_t tail_offset(int fd, off_t size, long n, char *buf)
{
	off_t end = size;
	long seen = 0;

	while (end > 0) {
		size_t len = end < LOG_CHUNK ? (size_t)end : LOG_CHUNK;
		ssize_t r = pread(fd, buf, len, end - (off_t)len);

		if (r != (ssize_t)len)
			return 0;
		for (size_t i = len; i-- > 0;) {
			if (buf[i] != '\n')
				continue;
			/* The newline before the n-th last complete line ends the scan. */
			if (seen++ == n)
				return end - (off_t)len + (off_t)i + 1;
		}
		end -= (off_t)len;
	}
	return 0;
}

/* Until the logger (which holds a shared lock on the log while it runs) is done; at most 5 s. */
static void wait_logger(int fd)
{
	for (int i = 0; i < 50 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK; i++)
		nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
	flock(fd, LOCK_UN);
}

/* The logger still runs: it holds a shared lock on the log until its last line is written. */
static bool logger_running(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	flock(fd, LOCK_UN);
	return false;
}

/*
 * New lines as they come, every 100 ms, until the container stopped.  While
 * its logger runs, the container's output is open and nothing is asked;
 * after, the runtime's state is (once a second if the container lives on
 * with its output closed): a `state` is a process, not a 100 ms poll's work.
 */
/* The log at path is another file than fd's now (the logger started it again). */
static bool log_rotated(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	       (a.st_ino != b.st_ino || a.st_dev != b.st_dev);
}

static void follow(struct logs_args *a, int fd, const char *path, const char *store, const char *id,
		   char *buf)
{
	size_t have = 0;
	unsigned idle = 0;
	struct stat st;
	ssize_t n;

	for (;;) {
		n = read(fd, buf + have, LOG_CHUNK - have);
		if (n > 0) {
			idle = 0;
			have += n;
			print_chunk(a, buf, &have);
			continue;
		}
		/*
		 * Started again at its --log-opt max-size: the old file read to its end
		 * (above), the new one from its start; or, emptied in place, from its start.
		 */
		if (log_rotated(fd, path)) {
			int nfd = open(path, O_RDONLY | O_CLOEXEC);

			/* What the logger wrote to the old one after our last read. */
			while ((n = read(fd, buf + have, LOG_CHUNK - have)) > 0) {
				have += n;
				print_chunk(a, buf, &have);
			}
			if (have)
				print_line(a, buf, have, false);
			have = 0;
			a->in_long = false;
			if (nfd >= 0 && dup3(nfd, fd, O_CLOEXEC) >= 0) {
				close(nfd);
				continue;
			}
			if (nfd >= 0)
				close(nfd);
		} else if (fstat(fd, &st) == 0 && st.st_size < lseek(fd, 0, SEEK_CUR)) {
			lseek(fd, 0, SEEK_SET);
			have = 0;
			a->in_long = false;
			continue;
		}
		if (!logger_running(fd) && idle++ % 10 == 0 &&
		    !image_cli_container_running(store, id)) {
			/* Its last words may land after our last read: the logger's lock says when.
			 */
			wait_logger(fd);
			while ((n = read(fd, buf + have, LOG_CHUNK - have)) > 0) {
				have += n;
				print_chunk(a, buf, &have);
			}
			if (have)
				print_line(a, buf, have, false);
			fflush(stdout);
			return;
		}
		nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
	}
}

int cmd_logs(struct cli_globals *g, int argc, char **argv)
{
	struct logs_args a = {.tail = -1};
	_cleanup_free_ char *store = NULL, *p = NULL, *buf = NULL;
	_cleanup_close_ int fd = -1;
	const char *id;
	struct stat st;
	size_t have = 0;
	int r;

	r = parse_logs(&a, argc, argv);
	if (r)
		return r < 0 ? 0 : r;
	id = argv[optind];
	store = realpath(img_store_default_path(a.store), NULL);
	/* No such container: podman's 125. */
	if (!store || !image_cli_container_name_plain(id) ||
	    asprintf(&p, "%s/containers/%s/ctr.log", store, id) < 0) {
		cli_usage_error(argv[0], "`%s`: no such container", id);
		return EXIT_ISOLA;
	}
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_usage_error(argv[0], "`%s`: no such container in the store %s (or no log): %s",
				id, store, strerror(errno));
		return EXIT_ISOLA;
	}
	if (fstat(fd, &st) < 0)
		return cli_usage_error(argv[0], "stat `%s`: %s", p, strerror(errno));
	buf = malloc(LOG_CHUNK);
	if (!buf)
		return cli_usage_error(argv[0], "out of memory");
	if (a.tail >= 0 && lseek(fd, tail_offset(fd, st.st_size, a.tail, buf), SEEK_SET) < 0)
		return cli_usage_error(argv[0], "seek `%s`: %s", p, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf + have, LOG_CHUNK - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cli_usage_error(argv[0], "read `%s`: %s", p, strerror(errno));
		if (n == 0)
			break;
		have += (size_t)n;
		print_chunk(&a, buf, &have);
	}
	if (a.follow) {
		/* follow() reads the last line again once it is complete. */
		lseek(fd, -(off_t)have, SEEK_CUR);
		follow(&a, fd, p, store, id, buf);
	} else if (have) {
		/* A last line without a newline (the logger is mid-write). */
		print_line(&a, buf, have, false);
	}
	return 0;
}
