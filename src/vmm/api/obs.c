/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Firecracker's logger and metrics: PUT /logger points the process log at a
 * file or named pipe with a level filter; PUT /metrics names where metrics
 * lines go.  Each metrics line is one JSON object with what isola counts
 * (vCPU exits since the previous line, as Firecracker's counters are), written
 * on FlushMetrics and every 60 s by the API thread.  Both are configured
 * once, before boot; the file or pipe must exist.  Each virtio device's
 * completed requests and bytes written to the guest are totals.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "cleanup.h"
#include "jsonutil.h"
#include "log.h"
#include "virtio/virtio.h"

static const char *const level_names[] = {"Error", "Warning", "Info", "Debug", "Trace", "Off"};

const char *api_log_level_name(int level)
{
	return level < 0 ? "Off" : level_names[level > LOG_DEBUG ? LOG_DEBUG : level];
}

/* A file or named pipe that exists; a pipe opens without waiting for its reader. */
static int open_sink(const char *path, const char *field, struct err **err)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0)
		return err_make(err, errno, "%s `%s`", field, path);
	if (!S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode))
		return err_make(err, EINVAL, "%s `%s`: not a file or a named pipe", field, path);
	fd = S_ISFIFO(st.st_mode) ? open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
				  : open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_make(err, errno, "%s `%s`", field, path);
	return fd;
}

static int parse_level(const char *s, int *ret)
{
	for (int i = 0; i < 6; i++)
		if (!strcasecmp(s, level_names[i])) {
			*ret = i == 5 ? -1 : i == 4 ? LOG_DEBUG : i;
			return 0;
		}
	return -EINVAL;
}

int api_logger_put(struct vm_config *cfg, json_t *j, struct err **err)
{
	const char *path = NULL, *level = "Info", *module = NULL;
	bool show_level = false, origin = false;
	int lvl = LOG_INFO, fd, r;

	r = json_get_string(j, "body", "log_path", true, &path, err);
	if (r >= 0)
		r = json_get_string(j, "body", "level", false, &level, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "show_level", &show_level, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "show_log_origin", &origin, err);
	if (r >= 0)
		r = json_get_string(j, "body", "module", false, &module, err);
	if (r < 0)
		return r;
	if (parse_level(level, &lvl) < 0)
		return err_make(err, EINVAL,
				"body.level: expected Error, Warning, Info, Debug, Trace or Off");
	if (origin || module)
		return err_make(err, EINVAL, "body.%s: not supported by isola",
				origin ? "show_log_origin" : "module");
	if (cfg->log_path)
		return err_make(err, EINVAL, "the logger is already configured");
	cfg->log_path = strdup(path);
	if (!cfg->log_path)
		return err_make(err, ENOMEM, "logger");
	fd = open_sink(path, "body.log_path", err);
	if (fd < 0) {
		free(cfg->log_path);
		cfg->log_path = NULL;
		return fd;
	}
	cfg->log_level = lvl;
	log_set_fd(fd, LOG_FORMAT_TEXT);
	log_set_file_level(lvl);
	if (lvl == LOG_DEBUG)
		log_set_debug(true);
	log_info("logger configured (level %s)", api_log_level_name(lvl));
	return 0;
}

int api_metrics_put(struct vm_config *cfg, struct vmm_launch *launch, json_t *j, struct err **err)
{
	const char *path = NULL;
	int r = json_get_string(j, "body", "metrics_path", true, &path, err), fd;

	if (r < 0)
		return r;
	if (cfg->metrics_path)
		return err_make(err, EINVAL, "the metrics system is already configured");
	fd = open_sink(path, "body.metrics_path", err);
	if (fd < 0)
		return fd;
	cfg->metrics_path = strdup(path);
	if (!cfg->metrics_path) {
		close(fd);
		return err_make(err, ENOMEM, "metrics");
	}
	launch->metrics_fd = fd;
	return 0;
}

static json_t *vcpu_metrics(struct vm *vm, struct vcpu_stats *last)
{
	struct vcpu_stats now = {0};

	for (unsigned i = 0; vm && i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;

		now.io_in += __atomic_load_n(&s->io_in, __ATOMIC_RELAXED);
		now.io_out += __atomic_load_n(&s->io_out, __ATOMIC_RELAXED);
		now.mmio_read += __atomic_load_n(&s->mmio_read, __ATOMIC_RELAXED);
		now.mmio_write += __atomic_load_n(&s->mmio_write, __ATOMIC_RELAXED);
		now.exits += __atomic_load_n(&s->exits, __ATOMIC_RELAXED);
	}
	json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I}", "exit_io_in",
			      (json_int_t)(now.io_in - last->io_in), "exit_io_out",
			      (json_int_t)(now.io_out - last->io_out), "exit_mmio_read",
			      (json_int_t)(now.mmio_read - last->mmio_read), "exit_mmio_write",
			      (json_int_t)(now.mmio_write - last->mmio_write), "exits",
			      (json_int_t)(now.exits - last->exits));
	*last = now;
	return j;
}

/* Each virtio device's totals since it was made (not deltas: a reset keeps them). */
static json_t *device_metrics(struct vm *vm)
{
	struct vmm_virtio_stat st[VM_MAX_DISKS + VM_MAX_NETS + 3];
	unsigned n = vm ? vmm_virtio_stats(vm, st, ARRAY_SIZE(st)) : 0;
	json_t *a = json_array();

	for (unsigned i = 0; a && i < n && i < ARRAY_SIZE(st); i++)
		json_array_append_new(a,
				      json_pack("{s:s, s:I, s:I}", "device", st[i].name,
						"completed_total", (json_int_t)st[i].completed,
						"bytes_to_guest_total", (json_int_t)st[i].bytes));
	return a;
}

int api_metrics_flush(const struct vm_config *cfg, int metrics_fd, struct vm *vm,
		      struct api_metrics *m, struct err **err)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *line = NULL;
	struct timespec ts;
	size_t len;

	if (metrics_fd < 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	j = json_pack("{s:I, s:o, s:{s:I, s:I}, s:o}", "utc_timestamp_ms",
		      (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, "vcpu",
		      vcpu_metrics(vm, &m->vcpu), "api_server", "requests",
		      (json_int_t)(m->requests - m->last_requests), "failures",
		      (json_int_t)(m->failures - m->last_failures), "virtio", device_metrics(vm));
	m->last_requests = m->requests;
	m->last_failures = m->failures;
	line = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!line)
		return err_make(err, ENOMEM, "metrics");
	len = strlen(line);
	line[len] = '\n'; /* the NUL becomes the line's end */
	if (write(metrics_fd, line, len + 1) != (ssize_t)(len + 1))
		return err_make(err, errno ? errno : EIO, "write the metrics to `%s`",
				cfg->metrics_path);
	return 0;
}
