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
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
	struct mig_mac rx, tx; /* no ctx without a key */
	struct mig_config c;
	struct snap_reader snap;
	struct vm *vm;
	bool committed;	   /* the source said COMMIT: the guest is ours to run */
	uint64_t state_ns; /* when the state arrived */
};

static int send_empty(struct mig_in *in, uint32_t type, const char *what, struct err **err)
{
	int r = mig_send_frame(in->io.fd, &in->tx, type, NULL, 0, NULL, 0);

	return r < 0 ? err_make(err, -r, "%s to the source", what) : 0;
}

/* The VM is built: tell the source (it pauses only then), take memory and state. */
static int in_receive(void *ctx, struct vm *vm, struct err **err)
{
	struct mig_in *in = ctx;
	struct snap_config sc;
	uint8_t *state = NULL;
	size_t len = 0;
	int r = send_empty(in, MIG_READY, "say ready", err);

	in->vm = vm;
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

/*
 * The state is loaded: say OK (prepared) and run only once the source says
 * COMMIT, after which it never resumes.  Without it (the connection lost,
 * a bad tag, silence, a signal) this side tears the VM down: the source
 * either resumes or, if it did send COMMIT, keeps its guest paused.
 */
static int in_confirm(void *ctx, struct err **err)
{
	_cleanup_err_ struct err *e = NULL;
	struct mig_in *in = ctx;
	int r = send_empty(in, MIG_OK, "confirm", err);

	log_debug("migration: state loaded and confirmed %.3f ms after it arrived",
		  (mig_now_ns() - in->state_ns) / 1e6);
	if (r >= 0)
		r = mig_read_reply(&in->rd, MIG_COMMIT, "the source", err);
	if (r < 0)
		return err_wrap(err, "no commit from the source, the guest stays there");
	in->committed = true;
	/* The source dropped the disks' locks before COMMIT: ours now (ours to run regardless). */
	if (vm_state_lock_all(in->vm, true, &e) < 0) {
		log_warn("migration: %s", e->msg);
		err_free(&e);
	}
	/* Committed: run even if the source does not hear it (it then keeps its copy paused). */
	if (send_empty(in, MIG_STARTED, "say started", &e) < 0)
		log_warn("migration: %s", e->msg);
	return 0;
}

static const struct vm_incoming_ops incoming_ops = {in_receive, in_confirm};

static void send_fail(struct mig_in *in, const struct err *e)
{
	const char *msg = e && e->msg ? e->msg : "failed";

	(void)mig_send_frame(in->io.fd, &in->tx, MIG_FAIL, msg, strnlen(msg, MIG_MAX_MSG), NULL, 0);
}

/* Hellos both ways; with a key, the session's MACs and our proof of it (ACCEPT). */
static int handshake(struct mig_in *in, const struct mig_key *key, struct err **err)
{
	uint8_t h[MIG_HEADER_SIZE], ns[MIG_NONCE], nd[MIG_NONCE];
	uint32_t flags;
	int r = mig_read_header(&in->rd, &flags, ns, err);

	if (r >= 0)
		r = mig_nonce(nd, err);
	if (r < 0)
		return r;
	mig_put_header(h, key ? MIG_F_AUTH : 0, nd);
	r = mig_send_iov(in->io.fd, &(struct iovec){h, sizeof(h)}, 1);
	if (r < 0)
		return err_make(err, -r, "send to the source");
	if (key && !(flags & MIG_F_AUTH))
		return err_make(err, EPERM,
				"the source sent an unauthenticated stream and this side has "
				"--key-file: refused");
	if (!key && (flags & MIG_F_AUTH))
		return err_make(
		    err, EPERM,
		    "the source authenticates its stream: give this side its --key-file");
	if (key) {
		r = mig_mac_init(&in->rx, key, MIG_LABEL_S2D, ns, nd, err);
		if (r >= 0)
			r = mig_mac_init(&in->tx, key, MIG_LABEL_D2S, ns, nd, err);
		if (r < 0)
			return r;
	}
	return send_empty(in, MIG_ACCEPT, "accept", err);
}

/* The next connection, its peer's address in peer; or a signal / error. */
static int accept_next(int lfd, int sigfd, const char *addr, char *peer, size_t peer_len,
		       struct err **err)
{
	struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
	struct sockaddr_storage sa;
	socklen_t sa_len = sizeof(sa);
	char host[NI_MAXHOST], port[NI_MAXSERV];
	int fd;

	while (poll(p, 2, -1) < 0)
		if (errno != EINTR)
			return err_make(err, errno, "poll");
	if (p[1].revents)
		return err_make(err, EINTR, "interrupted by signal %u while waiting on `%s`",
				mig_take_signal(sigfd), addr);
	fd = accept4(lfd, (struct sockaddr *)&sa, &sa_len, SOCK_CLOEXEC);
	if (fd < 0)
		return err_make(err, errno, "accept on `%s`", addr);
	if (sa.ss_family != AF_UNIX &&
	    getnameinfo((struct sockaddr *)&sa, sa_len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(peer, peer_len, sa.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
			 port);
	else
		snprintf(peer, peer_len, "a local peer");
	mig_socket_setup(fd);
	return fd;
}

/*
 * The devices the source's VM has, in the snapshot's DEVCFG form, applied to
 * cfg with the destination's remaps: a disk it does not name is refused.
 */
static int read_devices(struct mig_in *in, struct vm_config *cfg, const struct vmm_restore_args *a,
			struct err **err)
{
	struct snap_reader rd = {0};
	struct vmm_restore_args strict = *a;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = mig_read_devcfg(&in->rd, &buf, &len, err);

	if (r < 0)
		return r;
	strict.from_stream = true;
	r = snap_parse(&rd, buf, len, err);
	if (r >= 0)
		r = devcfg_restore(cfg, &rd, &strict, err);
	snap_reader_free(&rd);
	return r < 0 ? err_wrap(err, "the source's devices") : 0;
}

/* Hellos, then the config: with a key, the first frame whose tag proves the peer has it. */
static int greet(struct mig_in *in, const struct mig_key *key, struct err **err)
{
	int r;

	in->rd = (struct mig_reader){mig_fd_read, &in->io, &in->rx};
	r = handshake(in, key, err);
	if (r >= 0) {
		r = mig_read_config(&in->rd, &in->c, err);
		/* A source whose key differs hangs up on our ACCEPT. */
		if (r == -ECONNRESET && key)
			err_wrap(err, "before its config (a different --key-file?)");
	}
	return r;
}

/* The greeted source's devices, then the VM: built, filled, confirmed and run. */
static int receive(struct mig_in *in, struct vm_config *cfg, const struct vmm_restore_args *a,
		   int *ret_status, struct err **err)
{
	int r = read_devices(in, cfg, a, err);

	if (r >= 0) {
		cfg->cpus = in->c.cpus;
		cfg->memory = in->c.memory;
		struct vmm_launch launch;

		vmm_launch_init(&launch);
		launch.incoming = &incoming_ops;
		launch.incoming_ctx = in; /* lives in our caller's frame, as does the VM */
		/* The source holds the disks' locks until it commits (in_confirm). */
		launch.defer_disk_locks = true;
		r = vm_run_restored(cfg, &launch, &in->snap, -1, ret_status, err);
	}
	return r;
}

/*
 * Accept until a source is greeted.  On a Unix socket (mode 0600: only its
 * own user or root connects) the first connection is the source, whatever
 * it sends.  A TCP port is open to anyone who can reach it, and a TCP stream
 * always has a key: a peer that does not prove it within MIG_AUTH_TIMEOUT_S
 * (junk, silence, a scanner, another key) is dropped with a warning and the
 * next connection is taken, so it cannot end the receive before the real
 * source arrives.  *in holds the greeted connection (io.fd) or -1.
 */
static int accept_source(struct mig_in *in, int lfd, const struct mig_addr *ma, int sigfd,
			 const char *addr, const struct mig_key *key, struct err **err)
{
	bool retry = !ma->is_unix && key;
	char peer[NI_MAXHOST + NI_MAXSERV + 8];
	int r;

	for (unsigned refused = 0;; refused++) {
		int fd = accept_next(lfd, sigfd, addr, peer, sizeof(peer), err);

		if (fd < 0)
			return fd;
		*in = (struct mig_in){
		    .io = {.fd = fd, .sigfd = sigfd, .cancel_fd = -1, .peer = "the source"}};
		if (retry)
			in->io.deadline_ns = mig_now_ns() + MIG_AUTH_TIMEOUT_S * 1000000000ull;
		r = greet(in, key, err);
		in->io.deadline_ns = 0;
		if (r >= 0 || !retry || r == -EINTR)
			return r;
		if (refused < 5)
			log_warn("migration: dropped a connection from %s: %s; still listening on "
				 "`%s`",
				 peer, (*err)->msg, addr);
		else
			log_debug("migration: dropped a connection from %s: %s", peer, (*err)->msg);
		err_free(err);
		mig_mac_free(&in->rx);
		mig_mac_free(&in->tx);
		close(fd);
		in->io.fd = -1;
	}
}

int vmm_migrate_receive(struct vm_config *cfg, const char *addr, const char *key_file,
			const struct vmm_restore_args *a, int *ret_status, struct err **err)
{
	_cleanup_close_ int sigfd = -1;
	_cleanup_free_ struct mig_key *key = NULL;
	struct mig_in in = {0};
	struct mig_addr ma;
	sigset_t set, old;
	int lfd, r = mig_check_auth(addr, key_file, err);

	if (r < 0)
		return r;
	if (key_file) {
		key = malloc(sizeof(*key));
		if (!key)
			return err_make(err, ENOMEM, "key");
		r = mig_key_load(key_file, key, err);
		if (r < 0)
			return r;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		r = err_make(err, errno, "signalfd");
		goto out;
	}
	lfd = mig_listen(addr, &ma, err);
	if (lfd < 0) {
		r = lfd;
		goto out;
	}
	in.io.fd = -1;
	r = accept_source(&in, lfd, &ma, sigfd, addr, key, err);
	mig_unlisten(lfd, &ma);
	if (r >= 0)
		r = receive(&in, cfg, a, ret_status, err);
	if (r < 0 && in.io.fd >= 0 && !in.committed)
		send_fail(&in, *err);
	if (in.io.fd >= 0)
		close(in.io.fd);
	snap_reader_free(&in.snap);
	mig_mac_free(&in.rx);
	mig_mac_free(&in.tx);
	if (r < 0)
		err_wrap(err, "migration from `%s`", addr);
out:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (key)
		mig_key_wipe(key);
	return r;
}
