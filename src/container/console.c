/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * process.terminal without --console-socket (runc's foreground `run` and
 * `exec -t`): the init sends the pty master over a socketpair to the runtime
 * itself, which relays the caller's stdin/stdout to it, keeps its window size
 * in step (SIGWINCH) and restores the caller's terminal mode at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "fdutil.h"

int ct_console_recv(int sock, int *ret_fd, struct err **err)
{
	char name[64];
	ssize_t n = fd_recv(sock, name, sizeof(name), ret_fd);

	if (n == -EPROTO || n == 0) {
		if (n == 0)
			close(*ret_fd);
		return err_make(err, EPROTO, "the container process sent no terminal");
	}
	if (n < 0)
		return err_make(err, (int)-n, "receive the container's terminal");
	return 0;
}

static const int relayed[] = {SIGCHLD, SIGWINCH, SIGHUP,  SIGINT,  SIGQUIT,
			      SIGTERM, SIGUSR1,	 SIGUSR2, SIGCONT, SIGALRM};

static void copy_winsize(int from, int to)
{
	struct winsize ws;

	if (ioctl(from, TIOCGWINSZ, &ws) == 0 && (ws.ws_row || ws.ws_col))
		ioctl(to, TIOCSWINSZ, &ws);
}

/* Move what is readable from @from to @to; false at end of file or error. */
static bool pump(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	return write_all(to, buf, n) >= 0;
}

/* A signal: SIGWINCH resizes, SIGCHLD reaps; the rest go to the process. Returns true when it
 * exited. */
static bool on_signal(int sfd, int in, int master, pid_t pid, int *status)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return false;
	if (si.ssi_signo == SIGWINCH)
		copy_winsize(in, master);
	else if (si.ssi_signo != SIGCHLD)
		kill(pid, (int)si.ssi_signo);
	return waitpid(pid, status, WNOHANG) == pid;
}

/*
 * Hand what the caller's terminal @in already holds in canonical mode to @master, then make
 * @in raw.  An end of file typed (or sent by `script` when its own stdin ends) before the
 * switch sits in the line discipline as a NUL marker, which raw mode would deliver as a real
 * NUL byte (shown as "^@" at the start of the container's output): read it in canonical
 * mode, where it is an end of file, and pass the container's pty an end of file instead.
 */
void ct_console_make_raw(int in, const struct termios *saved, int master)
{
	struct termios raw = *saved;
	char buf[4096];

	for (int i = 0; i < 64; i++) {
		struct pollfd p = {.fd = in, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
			break;
		n = read(in, buf, sizeof(buf));
		if (n < 0)
			break;
		if (write_all(master, n ? buf : "\x04", n ? (size_t)n : 1) < 0)
			break;
	}
	cfmakeraw(&raw);
	tcsetattr(in, TCSANOW, &raw);
}

int ct_console_relay(int master, pid_t pid, int in, int out)
{
	_cleanup_close_ int sfd = -1;
	struct termios saved;
	bool tty = tcgetattr(in, &saved) == 0, in_open = true, out_open = true;
	sigset_t set, old;
	int status = 0;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(relayed) / sizeof(relayed[0]); i++)
		sigaddset(&set, relayed[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (tty) {
		ct_console_make_raw(in, &saved, master);
		copy_winsize(in, master);
	}
	/* It may have exited before SIGCHLD was blocked: that signal is gone. */
	bool exited = waitpid(pid, &status, WNOHANG) == pid;

	while (!exited || out_open) {
		struct pollfd p[3] = {{sfd, POLLIN, 0},
				      {out_open ? master : -1, POLLIN, 0},
				      {in_open ? in : -1, POLLIN, 0}};
		/* Once the pty is closed, poll for the exit too (belt and braces). */
		int n = poll(p, 3, exited ? 100 : out_open ? -1 : 200);

		if (n < 0 && errno != EINTR)
			break;
		if (!exited && !out_open && n == 0)
			exited = waitpid(pid, &status, WNOHANG) == pid;
		if (exited && n == 0)
			break; /* the process is gone and the pty has nothing more */
		if (p[0].revents & POLLIN)
			exited = exited || on_signal(sfd, in, master, pid, &status);
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			out_open = pump(master, out);
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR) && !(in_open = pump(in, master)) &&
		    !tty)
			write_all(master, "\x04", 1); /* stdin ended: end of file to the reader */
	}
	if (tty)
		tcsetattr(in, TCSANOW, &saved);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
