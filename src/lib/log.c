/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "text.h"

static int log_fd = -1;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static bool log_dbg;
static bool log_to_stderr = true;
static int log_file_max = LOG_DEBUG;

static const char *const level_names[] = {
    [LOG_ERROR] = "error",
    [LOG_WARN] = "warning",
    [LOG_INFO] = "info",
    [LOG_DEBUG] = "debug",
};

int log_open(const char *path, enum log_format format)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	log_fmt = format;
	return 0;
}

void log_set_debug(bool on)
{
	log_dbg = on;
}

bool log_debug_enabled(void)
{
	return log_dbg;
}

void log_set_stderr(bool on)
{
	log_to_stderr = on;
}

void log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

void log_set_fd(int fd, enum log_format format)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	log_fmt = format;
}

void log_set_file_level(int max)
{
	log_file_max = max;
}

static void timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static void write_line(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t w = write(fd, s, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

/*
 * @prefix, then @msg with a tab after each newline in it (a continuation,
 * never a line of its own) and without its trailing newlines, then one.
 */
static char *fold(const char *prefix, const char *msg)
{
	size_t nl = 0, len = strlen(msg);
	char *line, *o;

	while (len > 0 && msg[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		nl += msg[i] == '\n';
	line = malloc(strlen(prefix) + len + nl + 2);
	if (!line)
		return NULL;
	o = stpcpy(line, prefix);
	for (size_t i = 0; i < len; i++) {
		*o++ = msg[i];
		if (msg[i] == '\n')
			*o++ = '\t';
	}
	*o++ = '\n';
	*o = '\0';
	return line;
}

/*
 * One record a message: JSON escapes what it must (given @raw, the message as
 * made, when it is valid UTF-8); in text, a newline inside the message (a
 * guest's console tail) continues the record on a line that starts with a tab
 * (fold), so no message text can start a record of its own.
 */
static void to_file(enum log_level level, const char *raw, const char *msg)
{
	char ts[64], *line = NULL;

	timestamp(ts, sizeof(ts));
	if (log_fmt == LOG_FORMAT_JSON) {
		/* JSON leaves DEL as it is: such a message goes escaped. */
		json_t *o = strchr(raw, 0x7f)
				? NULL
				: json_pack("{s:s, s:s, s:s}", "level", level_names[level], "msg",
					    raw, "time", ts);
		char *s;

		if (!o)
			o = json_pack("{s:s, s:s, s:s}", "level", level_names[level], "msg", msg,
				      "time", ts);
		/* ASCII: C1 controls and DEL (a terminal's CSI is U+009B) go as \u escapes. */
		s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		json_decref(o);
		if (s && asprintf(&line, "%s\n", s) < 0)
			line = NULL;
		free(s);
	} else {
		char prefix[128];

		snprintf(prefix, sizeof(prefix), "%s %s ", ts, level_names[level]);
		line = fold(prefix, msg);
	}
	if (line)
		write_line(log_fd, line);
	free(line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	int saved = errno;
	char *msg = NULL, *clean = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	/*
	 * Messages carry what others chose (a registry's media type, an archive's
	 * paths, a guest's error text): no escape sequence of theirs reaches a
	 * terminal or a text log, and no newline of theirs starts a line that
	 * looks like one of ours.
	 */
	if (msg)
		clean = text_escape_ctl(msg, strlen(msg));
	if (!clean)
		goto out;

	if (log_fd >= 0 && (int)level <= log_file_max)
		to_file(level, msg, clean);
	if (log_to_stderr && (level <= LOG_WARN || log_fd < 0)) {
		char *line = fold(level == LOG_WARN ? "isola: warning: " : "isola: ", clean);

		if (line)
			write_line(STDERR_FILENO, line);
		free(line);
	}
out:
	free(clean);
	free(msg);
	errno = saved;
}

bool ratelimit_ok(struct ratelimit *rl)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (rl->begin == 0 || ts.tv_sec - rl->begin >= rl->interval_s) {
		if (rl->missed)
			log_msg(LOG_WARN, "%u messages suppressed", rl->missed);
		rl->begin = ts.tv_sec;
		rl->printed = rl->missed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		return true;
	}
	rl->missed++;
	return false;
}
