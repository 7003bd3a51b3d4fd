/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The main thread while the vCPUs run: it forwards console input to the
 * serial port and turns SIGINT/SIGTERM into a clean stop.  The terminal is
 * put in non-canonical, no-echo mode for an interactive console and restored.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "devices/pit.h"
#include "snapshot/snapshot.h"
#include "vm-internal.h"

static bool tty_raw(struct termios *saved)
{
	struct termios t;

	/* Only in the foreground: a background tcsetattr() would stop us with SIGTTOU. */
	if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp() ||
	    tcgetattr(STDIN_FILENO, saved) < 0)
		return false;
	t = *saved;
	/* Keep ISIG so ^C still stops the VM. */
	t.c_lflag &= ~(ICANON | ECHO | ECHONL | IEXTEN);
	t.c_iflag &= ~(ICRNL | IXON);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	return tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
}

static void read_console(struct vm *vm, struct pollfd *in)
{
	uint8_t buf[64];
	size_t space = serial_rx_space(vm->serial);
	ssize_t n;

	if (space == 0)
		return;
	n = read(STDIN_FILENO, buf, space < sizeof(buf) ? space : sizeof(buf));
	if (n > 0)
		serial_input(vm->serial, buf, n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		in->fd = -1; /* EOF or error: stop reading */
}

static void on_signal(struct vm *vm, int signo)
{
	if (signo == SIGUSR2)
		vm_snapshot_signal(vm);
	else
		vm_request_stop(vm, 128 + signo, NULL);
}

static void handle_signal(struct vm *vm, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) == sizeof(si))
		on_signal(vm, (int)si.ssi_signo);
}

static void wait_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGUSR2);
}

void vm_take_signals(struct vm *vm)
{
	static const struct timespec now;
	sigset_t set;
	int sig;

	wait_signals(&set);
	while ((sig = sigtimedwait(&set, NULL, &now)) > 0)
		on_signal(vm, sig);
}

void vm_wait(struct vm *vm)
{
	_cleanup_close_ int sfd = -1;
	bool input = vm->cfg->console == VM_CONSOLE_STDIO && vm->serial;
	struct termios saved;
	bool raw = input && tty_raw(&saved);
	sigset_t set;

	if (vm->vcpu0_on_main) {
		vcpu_run_on_main(vm); /* nothing else for this thread to wait for */
		return;
	}
	wait_signals(&set);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);

	struct pollfd p[4] = {
	    {.fd = vm->stop_efd, .events = POLLIN},
	    {.fd = sfd, .events = POLLIN},
	    {.fd = input ? STDIN_FILENO : -1, .events = POLLIN},
	    {.fd = vm->pit ? pit_fd(vm->pit) : -1, .events = POLLIN},
	};
	while (!atomic_load(&vm->stopping)) {
		/* A full receive FIFO: look again shortly rather than spin. */
		bool full = p[2].fd >= 0 && serial_rx_space(vm->serial) == 0;
		int fdin = p[2].fd;

		if (full)
			p[2].fd = -1;
		if (poll(p, 4, full ? 10 : -1) < 0 && errno != EINTR)
			break;
		if (full)
			p[2].fd = fdin;
		else if (p[2].fd >= 0 && p[2].revents)
			read_console(vm, &p[2]);
		if (p[1].revents & POLLIN)
			handle_signal(vm, sfd);
		if (p[3].revents & POLLIN)
			pit_expired(vm->pit);
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
}
