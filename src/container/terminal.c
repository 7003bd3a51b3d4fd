/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * process.terminal: a pty opened inside the container (its devpts), whose
 * master goes to the --console-socket with SCM_RIGHTS, as runc sends it.
 * The container's init also gets it as /dev/console (runtime-spec, Default Devices).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
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
	int r = fd_send(sock, fd, name, strlen(name));

	if (r < 0)
		return err_make(err, -r, "send the console to --console-socket");
	return 0;
}

/*
 * runtime-spec (Default Devices): with a terminal, the pty is bind mounted on
 * /dev/console, as runc does.  The file is made if missing; a symlink there is
 * refused, never followed.
 */
static int mount_console(int slave, struct err **err)
{
	_cleanup_close_ int t = -1, mnt = -1;
	struct stat st;

	t = open("/dev/console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
	if (t < 0 && errno != EEXIST)
		return err_make(err, errno, "create /dev/console");
	close(t);
	t = open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (t < 0 || fstat(t, &st) < 0)
		return err_make(err, errno, "open /dev/console");
	if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
		return err_make(err, EINVAL, "/dev/console is not a file or a device");
	mnt = (int)syscall(SYS_open_tree, slave, "",
			   AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (mnt < 0 ||
	    move_mount(mnt, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return err_make(err, errno, "bind the terminal on /dev/console");
	return 0;
}

static int terminal_setup(const struct ct_process *p, int console_fd, bool console,
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
	if (console && (r = mount_console(slave, err)) < 0)
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

int ct_session_setup(const struct ct_process *p, int console_fd, bool console, struct err **err)
{
	if (setsid() < 0)
		return err_make(err, errno, "setsid");
	return p->terminal ? terminal_setup(p, console_fd, console, err) : 0;
}
