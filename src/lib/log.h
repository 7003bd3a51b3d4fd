/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The process-wide log sink.  Errors go to stderr and, when a log file was
 * given (runc's --log), to that file as text or as runc-style JSON lines
 * ({"level":"error","msg":"...","time":"..."}), which containerd and podman read.
 */
#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

int log_open(const char *path, enum log_format format);
void log_set_debug(bool on);
bool log_debug_enabled(void);
/* Write to the log file only (not stderr), e.g. for clients that parse it. */
void log_set_stderr(bool on);
void log_close(void);
/* Take fd as the log file (the VMM's PUT /logger opens it itself). */
void log_set_fd(int fd, enum log_format format);
/* Only messages at least this severe reach the log file; -1: none. Default LOG_DEBUG. */
void log_set_file_level(int max);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                   \
	do {                                             \
		if (log_debug_enabled())                 \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

/*
 * Rate-limited warning for guest- or peer-triggered events: at most `burst`
 * messages per `interval_s` seconds from one call site.
 */
struct ratelimit {
	long interval_s;
	unsigned burst;
	long begin;
	unsigned printed, missed;
};
#define RATELIMIT_INIT(i, b)                    \
	{                                       \
		.interval_s = (i), .burst = (b) \
	}
bool ratelimit_ok(struct ratelimit *rl);
#define log_warn_ratelimited(...)                                    \
	do {                                                         \
		static struct ratelimit _rl = RATELIMIT_INIT(5, 10); \
		if (ratelimit_ok(&_rl))                              \
			log_msg(LOG_WARN, __VA_ARGS__);              \
	} while (0)
