/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * process.terminal: a pty opened inside the container (its devpts), whose
 * master goes to the --console-socket with SCM_RIGHTS, as runc sends it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "init.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int ct_console_connect(const char *path, int *ret_fd, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_make(err, ENAMETOOLONG, "--console-socket `%s`", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_make(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_make(err, errno, "connect --console-socket `%s`", path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int ct_console_send(int sock, int fd, const char *name, struct err **err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cbuf,
	    .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return err_make(err, errno, "send the console to --console-socket");
	return 0;
}

/*
 * The container's /dev/console: the pty's slave bound over it (created
 * first, as an empty file, when the rootfs has none), as the runtime spec
 * asks of a container with process.terminal and as runc does.  We are inside
 * the new root: the paths are the container's.  The bind lands on the file
 * itself (through /proc/self/fd), never where a link an image put at
 * /dev/console points, and only on a file or a character device.
 */
static int mount_dev_console(int master, struct err **err)
{
	_cleanup_close_ int fd = -1;
	char pts[32], at[32];
	unsigned int n;
	struct stat st;

	if (ioctl(master, TIOCGPTN, &n) < 0)
		return err_make(err, errno, "pty number");
	snprintf(pts, sizeof(pts), "/dev/pts/%u", n);
	fd = open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open("/dev/console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd >= 0) {
			close(fd);
			fd = open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
	}
	if (fd < 0)
		return err_make(err, errno, "open /dev/console");
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))
		return err_make(err, errno ? errno : EINVAL,
				"/dev/console is not a file or a character device");
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	if (mount(pts, at, NULL, MS_BIND, NULL) < 0)
		return err_make(err, errno, "bind %s on /dev/console", pts);
	return 0;
}

static int terminal_setup(const struct ct_process *p, int console_fd, bool dev_console,
			  struct err **err)
{
	_cleanup_close_ int master = -1, slave = -1;
	int unlock = 0, r;

	if (console_fd < 0)
		return err_make(err, EINVAL, "process.terminal needs --console-socket");
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return err_make(err, errno, "open /dev/ptmx");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return err_make(err, errno, "unlock pty");
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return err_make(err, errno, "open pty peer");
	if (p->console_height || p->console_width) {
		struct winsize ws = {.ws_row = p->console_height, .ws_col = p->console_width};

		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			return err_make(err, errno, "set console size");
	}
	if (dev_console && (r = mount_dev_console(master, err)) < 0)
		return r;
	r = ct_console_send(console_fd, master, "/dev/ptmx", err);
	if (r < 0)
		return r;
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return err_make(err, errno, "set controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return err_make(err, errno, "dup2 pty");
	return 0;
}

int ct_session_setup(const struct ct_process *p, int console_fd, bool dev_console, struct err **err)
{
	if (setsid() < 0)
		return err_make(err, errno, "setsid");
	return p->terminal ? terminal_setup(p, console_fd, dev_console, err) : 0;
}
