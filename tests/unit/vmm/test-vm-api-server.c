/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control API's server loop (src/vmm/api/server.c) on a real Unix
 * socket: malformed requests do not leak, a client that dribbles bytes is
 * cut at the request deadline while another client is answered, the
 * connection limit answers 503, and a server out of fds does not spin on its
 * listener.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "tap.h"

static char sock_path[108];
static int stop_efd;

static void handler(void *ctx, const char *method, const char *path, const char *body,
		    size_t body_len, struct api_resp *resp)
{
	(void)ctx, (void)body, (void)body_len;
	if (!strcmp(method, "GET") && !strcmp(path, "/")) {
		resp->status = 200;
		resp->body = strdup("{\"ok\":1}");
		return;
	}
	api_fault(resp, 400, "bad");
}

static int connect_api(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, sock_path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The status of the response on fd (read to EOF, bounded by 10 s), or -1. */
static int read_status(int fd)
{
	char buf[512];
	size_t len = 0;
	int status = -1;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			return -1;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		if (len == sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.1 %d ", &status) != 1)
		return -1;
	return status;
}

static int request(const char *req)
{
	int fd = connect_api(), status;

	if (fd < 0)
		return -1;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	status = read_status(fd);
	close(fd);
	return status;
}

static void stop(void)
{
	uint64_t one = 1;

	(void)!write(stop_efd, &one, sizeof(one));
}

static void drain_stop(void)
{
	uint64_t v;

	(void)!read(stop_efd, &v, sizeof(v));
}

/* Client: many malformed requests, then stop. */
static atomic_int bad_400;

static void *bad_client(void *arg)
{
	int n = *(int *)arg;

	for (int i = 0; i < n; i++)
		bad_400 += request(i % 2 ? "NOPE\r\n\r\n"
					 : "PUT /x HTTP/1.1\r\nContent-Length: x\r\n\r\n") == 400;
	stop();
	return NULL;
}

static size_t serve_bad(struct api_srv *srv, int n)
{
	pthread_t t;
	size_t before, after;

	drain_stop();
	before = mallinfo2().uordblks;
	pthread_create(&t, NULL, bad_client, &n);
	(void)api_srv_run(srv, stop_efd, handler, NULL);
	pthread_join(t, NULL);
	after = mallinfo2().uordblks;
	return after > before ? after - before : 0;
}

static void test_no_leak(struct api_srv *srv)
{
	size_t grew;

	serve_bad(srv, 200); /* warm up: one-time allocations (jansson's seed, stdio) */
	bad_400 = 0;
	grew = serve_bad(srv, 5000);
	is_int(bad_400, 5000, "every malformed request is answered 400");
	ok(grew < 64 * 1024, "5000 malformed requests leave the heap where it was (grew %zu bytes)",
	   grew);
}

/* A slow client dribbling one byte every 20 ms, never finishing its request. */
static atomic_int slow_status = -2, slow_started;

static void *slow_client(void *arg)
{
	int fd = connect_api();
	struct timespec ts = {.tv_nsec = 20 * 1000 * 1000};

	(void)arg;
	slow_status = -1;
	if (fd < 0)
		return NULL;
	/* Bounded: 1000 bytes take 20 s, the deadline in this test is 1.5 s. */
	for (int i = 0; i < 1000; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (send(fd, "X", 1, MSG_NOSIGNAL) != 1 || poll(&p, 1, 0) > 0)
			break;
		slow_started = 1;
		nanosleep(&ts, NULL);
	}
	slow_status = read_status(fd);
	close(fd);
	return NULL;
}

static atomic_int fast_status = -2, fast_before_slow;

static void *fast_client(void *arg)
{
	struct timespec ts = {.tv_nsec = 1000 * 1000};

	(void)arg;
	for (int i = 0; i < 10000 && !slow_started; i++)
		nanosleep(&ts, NULL);
	fast_status = request("GET / HTTP/1.1\r\n\r\n");
	fast_before_slow = slow_status == -1; /* the slow one still dribbling */
	return NULL;
}

static void *stopper(void *arg)
{
	pthread_t *t = arg;

	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	stop();
	return NULL;
}

static void test_slow_client(struct api_srv *srv)
{
	pthread_t t[3];

	drain_stop();
	srv->deadline_ms = 1500;
	pthread_create(&t[0], NULL, slow_client, NULL);
	pthread_create(&t[1], NULL, fast_client, NULL);
	pthread_create(&t[2], NULL, stopper, t);
	(void)api_srv_run(srv, stop_efd, handler, NULL);
	pthread_join(t[2], NULL);
	srv->deadline_ms = API_REQ_DEADLINE_MS;
	is_int(fast_status, 200, "a second client is answered while a slow one dribbles");
	ok(fast_before_slow, "... before the slow one is done");
	is_int(slow_status, 408, "the slow client is cut at the request deadline with 408");
}

static void *many_client(void *arg)
{
	int fds[API_MAX_CONNS];
	int *status = arg;

	for (int i = 0; i < API_MAX_CONNS; i++) {
		fds[i] = connect_api();
		(void)!write(fds[i], "G", 1);
	}
	*status = request("GET / HTTP/1.1\r\n\r\n");
	for (int i = 0; i < API_MAX_CONNS; i++)
		close(fds[i]);
	stop();
	return NULL;
}

static void test_conn_limit(struct api_srv *srv)
{
	pthread_t t;
	int status = -2;

	drain_stop();
	pthread_create(&t, NULL, many_client, &status);
	(void)api_srv_run(srv, stop_efd, handler, NULL);
	pthread_join(t, NULL);
	api_srv_close_conns(srv, 0, NULL);
	is_int(status, 503, "one connection more than %d is answered 503", API_MAX_CONNS);
}

/*
 * A body over the limit is refused with 413 as soon as the header says so; the
 * client may still be sending it and must be able to, then read the answer
 * (closing at once made its write fail with EPIPE, and curl saw no 413).
 */
static atomic_int big_status = -2, big_write_ok;

static void *big_client(void *arg)
{
	static char body[64 * 1024];
	int fd = connect_api();
	const char *h = "PATCH /vm HTTP/1.1\r\nContent-Length: 70000\r\n\r\n";

	(void)arg;
	memset(body, ' ', sizeof(body));
	if (fd >= 0 && write(fd, h, strlen(h)) == (ssize_t)strlen(h)) {
		big_status = read_status(fd); /* the 413, then EOF: the server shut its side */
		big_write_ok = send(fd, body, sizeof(body), MSG_NOSIGNAL) == (ssize_t)sizeof(body);
	}
	if (fd >= 0)
		close(fd);
	stop();
	return NULL;
}

/* Serve until @client (a thread) calls stop(); then close what is left. */
static void serve_client(struct api_srv *srv, void *(*client)(void *))
{
	pthread_t t;

	drain_stop();
	pthread_create(&t, NULL, client, NULL);
	(void)api_srv_run(srv, stop_efd, handler, NULL);
	pthread_join(t, NULL);
	api_srv_close_conns(srv, 0, NULL);
}

static void test_refused_body(struct api_srv *srv)
{
	serve_client(srv, big_client);
	is_int(big_status, 413, "a body over 64 KiB is answered 413 from its header");
	ok(big_write_ok, "the client can still send the body after the 413 (no EPIPE)");
}

/*
 * Out of fds, accept() fails and the listener stays readable: the loop must
 * not spin on it with the client waiting for ever.  The client's socket is
 * made before the fds run out; it must see its connection closed.
 */
static atomic_int starved_client = -2;

static void *starved(void *arg)
{
	int fd = *(int *)arg;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	strcpy(sa.sun_path, sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		starved_client = -1;
	else if (poll(&p, 1, 5000) <= 0)
		starved_client = -3; /* nothing came: the server sat on it */
	else
		starved_client = (int)read(fd, &c, 1) <= 0; /* 1: closed */
	stop();
	return NULL;
}

static atomic_int fed_status = -2;

static void *fed(void *arg)
{
	(void)arg;
	fed_status = request("GET / HTTP/1.1\r\n\r\n");
	stop();
	return NULL;
}

static void test_out_of_fds(struct api_srv *srv)
{
	struct rlimit old, low;
	int cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), first = -1, last = -1, fd;
	pthread_t t;

	drain_stop();
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = 256;
	setrlimit(RLIMIT_NOFILE, &low);
	while ((fd = dup(0)) >= 0) { /* the fds below 256, all taken */
		if (first < 0)
			first = fd;
		last = fd;
	}
	pthread_create(&t, NULL, starved, &cfd);
	(void)api_srv_run(srv, stop_efd, handler, NULL);
	pthread_join(t, NULL);
	for (fd = first; first >= 0 && fd <= last; fd++)
		if (fd != cfd && fd != srv->listen_fd && fd != stop_efd)
			close(fd);
	setrlimit(RLIMIT_NOFILE, &old);
	close(cfd);
	api_srv_close_conns(srv, 0, NULL);
	is_int(starved_client, 1, "out of fds, a waiting client is closed, not left to wait");
	serve_client(srv, fed);
	is_int(fed_status, 200, "with fds again, a client is answered");
}

int main(void)
{
	char dir[] = "/tmp/isola-api-test-XXXXXX";
	struct api_srv srv;
	struct err *err = NULL;
	int lfd;

	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
	stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	lfd = api_listen(sock_path, &err);
	ok(lfd >= 0, "listen");
	if (lfd < 0)
		return tap_done();
	api_srv_init(&srv, lfd);
	test_no_leak(&srv);
	test_slow_client(&srv);
	test_conn_limit(&srv);
	test_refused_body(&srv);
	test_out_of_fds(&srv);
	api_srv_close_conns(&srv, 0, NULL);
	close(lfd);
	unlink(sock_path);
	rmdir(dir);
	return tap_done();
}
