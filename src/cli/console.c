/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -t for run IMAGE: the runtime sends the container's pty master over a console socket
 * (as runc does for --console-socket); we relay it to our terminal until it closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "fdutil.h"
#include "image-cli.h"
#include "log.h"

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	unlink(path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0) {
		close(s);
		return -errno;
	}
	return s;
}

/* The fd in an SCM_RIGHTS message on a connection accepted from s; waits for the child. */
static int receive_master(int s, pid_t child)
{
	char data[256];
	_cleanup_close_ int c = -1;
	ssize_t n;
	int fd;

	for (;;) {
		struct pollfd p = {.fd = s, .events = POLLIN};

		if (poll(&p, 1, 100) > 0)
			break;
		if (waitpid(child, NULL, WNOHANG | WNOWAIT | __WALL) == child)
			return -ECHILD; /* it failed before sending */
	}
	c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return -errno;
	n = fd_recv(c, data, sizeof(data), &fd);
	return n < 0 ? (int)n : fd;
}

static bool relay(int from, int to)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	return n > 0 && write_all(to, buf, n) >= 0;
}

static void proxy(int master)
{
	bool in_open = true;

	for (;;) {
		struct pollfd p[2] = {{.fd = master, .events = POLLIN},
				      {.fd = in_open ? 0 : -1, .events = POLLIN}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			if (!relay(master, 1))
				return; /* EIO: the last process holding the pty is gone */
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			if (!relay(0, master))
				in_open = false;
	}
}

int image_cli_runtime_tty(const char *store, const char *const *args, const char *sock,
			  bool *ret_killed)
{
	_cleanup_close_ int s = listen_on(sock), master = -1;
	struct termios saved;
	bool tty = isatty(0) && tcgetattr(0, &saved) == 0;
	struct winsize ws;
	pid_t pid;

	if (s < 0) {
		log_error("console socket `%s`: %s", sock, strerror(-s));
		return -1;
	}
	if (ret_killed)
		*ret_killed = false;
	image_cli_proxy_hold();
	pid = image_cli_runtime_spawn(store, args, -1, -1, -1);
	if (pid < 0)
		return -1; /* held, as after a run (image_cli_runtime_fg) */
	image_cli_proxy_to(pid);
	master = receive_master(s, pid);
	unlink(sock);
	if (master >= 0) {
		if (tty && ioctl(0, TIOCGWINSZ, &ws) == 0)
			ioctl(master, TIOCSWINSZ, &ws);
		if (tty)
			ct_console_make_raw(0, &saved, master);
		proxy(master);
		if (tty)
			tcsetattr(0, TCSANOW, &saved);
	}
	return image_cli_proxy_wait(pid, ret_killed);
}
