/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control API's server: a listening Unix socket served by one thread,
 * one request per connection (every response says Connection: close).  A
 * client gets 5 s to send its request; heads are capped at 8 KiB and bodies
 * at 64 KiB (http.c).  The thread stops on an eventfd from vm_api_stop().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "cleanup.h"
#include "fdutil.h"
#include "http.h"
#include "jsonutil.h"
#include "log.h"
#include "snapshot/snapshot.h"

#define REQ_MAX (HTTP_MAX_HEAD + HTTP_MAX_BODY)

struct vm_api {
	struct vm *vm;
	int listen_fd, stop_efd;
	pthread_t thread;
	char *path;
	char buf[REQ_MAX];
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
	vm_api_handle(ctx, method, path, body, body_len, resp);
}

void api_serve_conn(int fd, char *buf, size_t cap, api_handler handle, void *ctx)
{
	struct timeval tv = {.tv_sec = 5};
	struct api_resp resp = {0};
	struct http_req req;
	const char *why = NULL;
	size_t len = 0;
	long r = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (r == 0 && len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 && errno == EAGAIN ? -408 : -400;
			why = n < 0 ? "timed out reading the request" : "incomplete request";
			break;
		}
		len += n;
		r = http_parse(buf, len, &req, &why);
	}
	if (r > 0)
		handle(ctx, req.method, req.path, req.body, req.body_len, &resp);
	else
		resp = (struct api_resp){
		    -r, json_dumps(json_pack("{s:s}", "fault_message", why ? why : "bad request"),
				   JSON_COMPACT)};
	if (resp.status) /* 0: the handler answers later (InstanceStart) */
		api_send_resp(fd, &resp);
	free(resp.body);
}

static void *api_thread(void *arg)
{
	struct vm_api *a = arg;
	struct pollfd p[2] = {{.fd = a->listen_fd, .events = POLLIN},
			      {.fd = a->stop_efd, .events = POLLIN}};

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			_cleanup_close_ int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0)
				api_serve_conn(fd, a->buf, sizeof(a->buf), handle_running, a->vm);
		}
	}
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

	if (!vm->cfg->api_sock && vm->cfg->api_listen_fd < 0)
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
	if (vm->cfg->api_listen_fd >= 0) {
		a->listen_fd = fcntl(vm->cfg->api_listen_fd, F_DUPFD_CLOEXEC, 3);
		if (a->listen_fd < 0)
			err_make(err, errno, "--api-sock: dup");
	} else {
		a->listen_fd = api_listen(a->path, err);
	}
	if (a->listen_fd < 0) {
		api_free(a);
		return err_code(*err);
	}
	r = pthread_create(&a->thread, NULL, api_thread, a);
	if (r) {
		api_free(a);
		return err_make(err, r, "start the API thread");
	}
	vm->api = a;
	/* The VM is set up and its vCPUs run: now InstanceStart succeeded. */
	if (vm->cfg->api_start_fd >= 0)
		vmm_api_answer_start(vm->cfg->api_start_fd, NULL);
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
