/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control API's server: a listening Unix socket served by one thread
 * that polls up to API_MAX_CONNS connections at once, one request per
 * connection (every response says Connection: close).  A request must be
 * complete within 5 s of its connection (a deadline, not a per-read
 * timeout), so a client that dribbles bytes is cut off and never holds up
 * the others; one more connection than the limit is answered 503.  Heads
 * are capped at 8 KiB and bodies at 64 KiB (http.c).  The thread stops on
 * an eventfd from vm_api_stop().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "cleanup.h"
#include "fdutil.h"
#include "http.h"
#include "jsonutil.h"
#include "log.h"
#include "snapshot/snapshot.h"

struct vm_api {
	struct vm *vm;
	int listen_fd, stop_efd;
	pthread_t thread;
	char *path;
	struct api_srv srv;
	struct api_metrics metrics;
};

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 501:
		return "Not Implemented";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

/* send(MSG_NOSIGNAL): a client that hangs up must not kill the VMM with SIGPIPE. */
static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

void api_send_resp(int fd, const struct api_resp *r)
{
	char head[256];
	size_t blen = r->body ? strlen(r->body) : 0;
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nServer: isola\r\nConnection: close\r\n"
			 "%sContent-Length: %zu\r\n\r\n",
			 r->status, reason(r->status),
			 blen ? "Content-Type: application/json\r\n" : "", blen);

	if (send_all(fd, head, n) == 0 && blen)
		(void)send_all(fd, r->body, blen);
}

static void handle_running(void *ctx, const char *method, const char *path, const char *body,
			   size_t body_len, struct api_resp *resp)
{
	struct vm *vm = ctx;

	vm->api->metrics.requests++;
	vm_api_handle(vm, method, path, body, body_len, resp);
	if (resp->status >= 400)
		vm->api->metrics.failures++;
}

int vm_api_flush_metrics(struct vm *vm, struct err **err)
{
	return api_metrics_flush(vm->cfg, vm->launch.metrics_fd, vm, &vm->api->metrics, err);
}

void api_fault(struct api_resp *resp, int status, const char *msg)
{
	json_t *j = json_pack("{s:s}", "fault_message", msg ? msg : "bad request");

	resp->status = status;
	resp->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Answer a connection that is not served (error or refusal) and close it. */
static void conn_close(struct api_conn *c, int status, const char *why)
{
	struct api_resp resp = {0};

	if (c->fd < 0)
		return;
	if (status) {
		api_fault(&resp, status, why);
		api_send_resp(c->fd, &resp);
		free(resp.body);
	}
	close(c->fd);
	c->fd = -1; /* the slot keeps its buffer for the next connection */
}

/*
 * Answer a request refused before all of it was read (too large, malformed),
 * then keep reading and dropping what the client still sends until it closes,
 * for up to DRAIN_MS and DRAIN_MAX bytes.  Closing at once would make the
 * client's next write fail (EPIPE, or a reset on TCP) before it reads the
 * answer, and it would see a broken connection instead of the 413.
 */
#define DRAIN_MS  1000
#define DRAIN_MAX (1024 * 1024)

static void conn_refuse(struct api_conn *c, int status, const char *why)
{
	struct api_resp resp = {0};

	api_fault(&resp, status, why);
	api_send_resp(c->fd, &resp);
	free(resp.body);
	if (shutdown(c->fd, SHUT_WR) < 0) {
		conn_close(c, 0, NULL);
		return;
	}
	c->draining = true;
	c->len = 0;
	c->deadline = now_ms() + DRAIN_MS;
}

/* Read and drop; close at EOF, on an error or past DRAIN_MAX. */
static void conn_drain(struct api_conn *c)
{
	ssize_t n = recv(c->fd, c->buf, REQ_MAX, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (c->len += (size_t)n) > DRAIN_MAX)
		conn_close(c, 0, NULL);
}

/* Accept one connection into a free slot; NULL when none was accepted. */
static struct api_conn *srv_accept(struct api_srv *s)
{
	struct timeval tv = {.tv_sec = 1};
	struct api_conn *c = NULL;
	int fd = accept_or_shed(s->listen_fd, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			log_warn_ratelimited("API: out of file descriptors, a connection refused");
		return NULL;
	}
	/* Responses are small; a client that does not read them gets 1 s. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (size_t i = 0; i < API_MAX_CONNS && !c; i++)
		if (s->conn[i].fd < 0)
			c = &s->conn[i];
	if (!c) {
		struct api_conn busy = {.fd = fd};

		conn_close(&busy, 503, "too many API connections; retry");
		return NULL;
	}
	*c = (struct api_conn){.fd = fd, .deadline = now_ms() + s->deadline_ms, .buf = c->buf};
	if (!c->buf)
		c->buf = malloc(REQ_MAX);
	if (!c->buf) {
		conn_close(c, 503, "out of memory");
		return NULL;
	}
	return c;
}

/*
 * Read what a connection has; returns its fd when a handler left the answer
 * for later (resp.status 0), else -1.
 */
static int srv_read(struct api_srv *s, struct api_conn *c, api_handler handle, void *ctx)
{
	struct api_resp resp = {0};
	struct http_req req;
	const char *why = NULL;
	ssize_t n;
	long r;
	int fd;

	if (c->draining) {
		conn_drain(c);
		return -1;
	}
	n = recv(c->fd, c->buf + c->len, REQ_MAX - c->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n <= 0) {
		conn_close(c, n == 0 ? 400 : 0, "incomplete request");
		return -1;
	}
	c->len += n;
	r = http_parse(c->buf, c->len, &req, &why);
	if (r == 0 && c->len < REQ_MAX)
		return -1;
	if (r <= 0) {
		conn_refuse(c, r ? -r : 413, why ? why : "request too large");
		return -1;
	}
	(void)s;
	handle(ctx, req.method, req.path, req.body, req.body_len, &resp);
	if (!resp.status) { /* answered later (InstanceStart) */
		fd = c->fd;
		c->fd = -1;
		return fd;
	}
	api_send_resp(c->fd, &resp);
	free(resp.body);
	conn_close(c, 0, NULL);
	return -1;
}

void api_srv_init(struct api_srv *s, int listen_fd)
{
	*s = (struct api_srv){.listen_fd = listen_fd, .deadline_ms = API_REQ_DEADLINE_MS};
	accept_spare_init();
	for (size_t i = 0; i < API_MAX_CONNS; i++)
		s->conn[i].fd = -1;
}

void api_srv_close_conns(struct api_srv *s, int status, const char *why)
{
	for (size_t i = 0; i < API_MAX_CONNS; i++) {
		conn_close(&s->conn[i], status, why);
		free(s->conn[i].buf);
		s->conn[i].buf = NULL;
	}
}

/* The poll timeout: until the nearest request deadline, or forever. */
static int srv_timeout(struct api_srv *s, int64_t now)
{
	int64_t t = -1;

	for (size_t i = 0; i < API_MAX_CONNS; i++) {
		if (s->conn[i].fd < 0)
			continue;
		if (s->conn[i].deadline <= now) {
			if (s->conn[i].draining) /* already answered */
				conn_close(&s->conn[i], 0, NULL);
			else
				conn_close(&s->conn[i], 408,
					   "the request was not complete in time");
			continue;
		}
		if (t < 0 || s->conn[i].deadline - now < t)
			t = s->conn[i].deadline - now;
	}
	return (int)t;
}

int api_srv_run(struct api_srv *s, int stop_fd, api_handler handle, void *ctx)
{
	struct pollfd p[API_MAX_CONNS + 2];
	struct api_conn *pc[API_MAX_CONNS], *c;

	for (;;) {
		int timeout = srv_timeout(s, now_ms()), fd = -1;
		size_t n = 0, nc = 0;

		p[n++] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
		for (size_t i = 0; i < API_MAX_CONNS; i++)
			if (s->conn[i].fd >= 0) {
				pc[nc++] = &s->conn[i];
				p[n++] = (struct pollfd){.fd = s->conn[i].fd, .events = POLLIN};
			}
		if (s->wake_at) {
			int64_t w = s->wake_at - now_ms();

			if (w <= 0)
				return -ETIMEDOUT;
			if (timeout < 0 || w < timeout)
				timeout = (int)w;
		}
		if (poll(p, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents)
			return -1;
		for (size_t i = 0; i < nc && fd < 0; i++)
			if (p[2 + i].revents)
				fd = srv_read(s, pc[i], handle, ctx);
		if (fd >= 0)
			return fd;
		/* The request is usually there already: read it without another poll. */
		if ((p[1].revents & POLLIN) && (c = srv_accept(s)))
			fd = srv_read(s, c, handle, ctx);
		if (fd >= 0)
			return fd;
	}
}

static void *api_thread(void *arg)
{
	struct vm_api *a = arg;
	int fd;

	/* The running VM's handlers never defer an answer; close one if they did. */
	for (;;) {
		if (a->vm->launch.metrics_fd >= 0 && !a->srv.wake_at)
			a->srv.wake_at = now_ms() + API_METRICS_PERIOD_MS;
		fd = api_srv_run(&a->srv, a->stop_efd, handle_running, a->vm);
		if (fd == -ETIMEDOUT) {
			struct err *err = NULL;

			a->srv.wake_at = 0;
			if (vm_api_flush_metrics(a->vm, &err) < 0) {
				log_warn_ratelimited("%s", err->msg);
				err_free(&err);
			}
			continue;
		}
		if (fd < 0)
			break;
		close(fd);
	}
	/* The VM stops: a last metrics line, as Firecracker writes at exit. */
	if (a->vm->launch.metrics_fd >= 0) {
		struct err *err = NULL;

		if (vm_api_flush_metrics(a->vm, &err) < 0)
			err_free(&err);
	}
	api_srv_close_conns(&a->srv, 503, "the microVM is stopping");
	return NULL;
}

int api_listen(const char *path, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_make(err, ENAMETOOLONG, "--api-sock `%s`: path too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_make(err, errno, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_make(err, errno, "--api-sock: bind `%s`", path);
	/* Whoever can connect drives the VMM (as root, often): the owner only, whatever the umask.
	 */
	if (chmod(path, 0600) < 0) {
		int e = errno;

		unlink(path);
		return err_make(err, e, "--api-sock: chmod `%s`", path);
	}
	if (listen(fd, 16) < 0) {
		unlink(path);
		return err_make(err, errno, "--api-sock: listen `%s`", path);
	}
	return TAKE_FD(fd);
}

static void api_free(struct vm_api *a)
{
	if (a->listen_fd >= 0) {
		close(a->listen_fd);
		unlink(a->path);
	}
	if (a->stop_efd >= 0)
		close(a->stop_efd);
	free(a->path);
	free(a);
}

int vm_api_start(struct vm *vm, struct err **err)
{
	struct vm_api *a;
	int r;

	if (!vm->cfg->api_sock && vm->launch.api_listen_fd < 0)
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a)
		return err_make(err, ENOMEM, "allocate the API server");
	*a = (struct vm_api){.vm = vm, .listen_fd = -1, .stop_efd = -1};
	a->path = strdup(vm->cfg->api_sock ? vm->cfg->api_sock : "");
	a->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!a->path || a->stop_efd < 0) {
		api_free(a);
		return err_make(err, errno ? errno : ENOMEM, "start the API server");
	}
	/* After a pre-boot configuration the socket is already listening. */
	if (vm->launch.api_listen_fd >= 0) {
		a->listen_fd = fcntl(vm->launch.api_listen_fd, F_DUPFD_CLOEXEC, 3);
		if (a->listen_fd < 0)
			err_make(err, errno, "--api-sock: dup");
	} else {
		a->listen_fd = api_listen(a->path, err);
	}
	if (a->listen_fd < 0) {
		api_free(a);
		return err_code(*err);
	}
	api_srv_init(&a->srv, a->listen_fd);
	r = pthread_create(&a->thread, NULL, api_thread, a);
	if (r) {
		api_free(a);
		return err_make(err, r, "start the API thread");
	}
	vm->api = a;
	/* The VM is set up and its vCPUs run: now InstanceStart succeeded. */
	if (vm->launch.api_start_fd >= 0)
		vmm_api_answer_start(vm->launch.api_start_fd, NULL);
	return 0;
}

void vm_api_stop(struct vm *vm)
{
	struct vm_api *a = vm->api;
	uint64_t one = 1;

	if (!a)
		return;
	(void)!write(a->stop_efd, &one, sizeof(one));
	pthread_join(a->thread, NULL);
	if (atomic_exchange(&vm->api_paused, false))
		vm_resume(vm);
	api_free(a);
	vm->api = NULL;
}
