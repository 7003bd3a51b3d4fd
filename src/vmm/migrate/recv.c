/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The destination of a live migration.  It takes one connection, reads the
 * machine shape, and builds the VM with the normal restore bring-up while
 * the source still sends memory; the restore step then receives the pages
 * straight into guest RAM and the state, loads it, answers OK and lets the
 * vCPUs run.  Until that OK any failure (a broken or hostile stream, the
 * source gone, a signal) tears the half-built VM down and answers FAIL, so
 * the source resumes its guest.  SIGINT/SIGTERM are taken through a
 * signalfd throughout, so the Unix socket never outlives us.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "migrate-internal.h"
#include "snapshot/snapshot.h"
#include "vmm-migrate.h"

struct mig_in {
	struct mig_fd io;
	struct mig_reader rd;
	struct mig_config c;
	struct snap_reader snap;
	bool confirmed;
	uint64_t state_ns; /* when the state arrived */
};

static int send_empty(int fd, uint32_t type, const char *what, struct err **err)
{
	uint8_t h[MIG_FRAME_HDR];
	int r;

	mig_put_frame(h, type, 0);
	r = mig_send_iov(fd, &(struct iovec){h, sizeof(h)}, 1);
	return r < 0 ? err_make(err, -r, "%s to the source", what) : 0;
}

/* The VM is built: tell the source (it pauses only then), take memory and state. */
static int in_receive(void *ctx, struct vm *vm, struct err **err)
{
	struct mig_in *in = ctx;
	struct snap_config sc;
	uint8_t *state = NULL;
	size_t len = 0;
	int r = send_empty(in->io.fd, MIG_READY, "say ready", err);

	if (r >= 0)
		r = mig_read_memory(&in->rd, vm_guest_mem(vm), &state, &len, err);

	if (r < 0)
		return r;
	in->state_ns = mig_now_ns();
	r = snap_parse(&in->snap, state, len, err);
	if (r >= 0)
		r = snap_get(&in->snap, SNAP_CONFIG, 0, &sc, sizeof(sc), "config", err);
	if (r < 0)
		return err_wrap(err, "the received state");
	if (sc.cpus != in->c.cpus || sc.memory != in->c.memory)
		return err_make(err, EPROTO,
				"the received state (%u vCPUs, %llu bytes) does not "
				"match the stream's config",
				sc.cpus, (unsigned long long)sc.memory);
	return 0;
}

static int in_confirm(void *ctx, struct err **err)
{
	struct mig_in *in = ctx;
	int r = send_empty(in->io.fd, MIG_OK, "confirm", err);
	log_debug("migration: state loaded and confirmed %.3f ms after it arrived",
		  (mig_now_ns() - in->state_ns) / 1e6);

	in->confirmed = r >= 0;
	return r;
}

static const struct vm_incoming_ops incoming_ops = {in_receive, in_confirm};

static void send_fail(int fd, const struct err *e)
{
	const char *msg = e && e->msg ? e->msg : "failed";
	size_t n = strnlen(msg, MIG_MAX_MSG);
	uint8_t h[MIG_FRAME_HDR];
	struct iovec iov[2] = {{h, sizeof(h)}, {(void *)msg, n}};

	mig_put_frame(h, MIG_FAIL, n);
	(void)mig_send_iov(fd, iov, 2);
}

/* The one connection, or a signal / error. */
static int accept_one(int lfd, int sigfd, const char *addr, struct err **err)
{
	struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
	int fd;

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return err_make(err, errno, "poll");
	if (p[1].revents)
		return err_make(err, EINTR, "interrupted by signal %u while waiting on `%s`",
				mig_take_signal(sigfd), addr);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return err_make(err, errno, "accept on `%s`", addr);
	return fd;
}

static int receive(struct vm_config *cfg, int fd, int sigfd, int *ret_status, struct err **err)
{
	struct mig_in in = {
	    .io = {.fd = fd, .sigfd = sigfd, .cancel_fd = -1, .peer = "the source"}};
	int r;

	in.rd = (struct mig_reader){mig_fd_read, &in.io};
	r = mig_read_config(&in.rd, &in.c, err);
	if (r >= 0) {
		cfg->cpus = in.c.cpus;
		cfg->memory = in.c.memory;
		cfg->incoming = &incoming_ops;
		cfg->incoming_ctx = &in;
		r = vm_run_restored(cfg, &in.snap, -1, ret_status, err);
		/* `in` dies with this frame: leave no pointer to it in the caller's config. */
		cfg->incoming = NULL;
		cfg->incoming_ctx = NULL;
	}
	if (r < 0 && !in.confirmed)
		send_fail(fd, *err);
	snap_reader_free(&in.snap);
	return r;
}

int vmm_migrate_receive(struct vm_config *cfg, const char *addr, int *ret_status, struct err **err)
{
	_cleanup_close_ int sigfd = -1, fd = -1;
	struct mig_addr a;
	sigset_t set, old;
	int lfd, r;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		r = err_make(err, errno, "signalfd");
		goto out;
	}
	lfd = mig_listen(addr, &a, err);
	if (lfd < 0) {
		r = lfd;
		goto out;
	}
	fd = accept_one(lfd, sigfd, addr, err);
	mig_unlisten(lfd, &a);
	r = fd < 0 ? fd : receive(cfg, fd, sigfd, ret_status, err);
	if (r < 0)
		err_wrap(err, "migration from `%s`", addr);
out:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}
