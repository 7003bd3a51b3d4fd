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
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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
	bool answered;	   /* our hello went out: a FAIL can be read */
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

/*
 * A TCP peer's greeting as accept_tcp sees it: PENDING until its hello proves
 * the key (then PROVEN, set by its thread) or the main loop evicts it
 * (EVICTING); each side changes it only by compare-and-swap, so a peer that
 * proved the key in the instant it was picked is not evicted for a stranger.
 */
enum { PEER_PENDING, PEER_PROVEN, PEER_EVICTING };

/* The nonces of the hellos that proved the key on this port: a replay is refused. */
#define SEEN_MAX 4096
struct seen {
	pthread_mutex_t lock;
	uint8_t (*ns)[MIG_NONCE];
	size_t n, cap;
};

/* ns taken as new: true; false if seen before (a replay) or the set is full. */
static bool seen_add(struct seen *s, const uint8_t ns[MIG_NONCE])
{
	bool fresh = true;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; fresh && i < s->n; i++)
		fresh = memcmp(s->ns[i], ns, MIG_NONCE) != 0;
	if (fresh && s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		void *grown = cap <= SEEN_MAX ? realloc(s->ns, cap * MIG_NONCE) : NULL;

		if (grown) {
			s->ns = grown;
			s->cap = cap;
		}
	}
	if (fresh && s->n < s->cap)
		memcpy(s->ns[s->n++], ns, MIG_NONCE);
	else
		fresh = false;
	pthread_mutex_unlock(&s->lock);
	return fresh;
}

/* What a TCP peer's greeting shares with accept_tcp (NULL on a Unix socket). */
struct greet_hooks {
	atomic_int *state;
	struct seen *seen;
};

/*
 * Hellos both ways; with a key, the source's hello proves it (else nothing is
 * answered; on TCP a nonce seen before is a replay, refused alike, and the
 * peer becomes PROVEN), then the session's MACs and our proof of the key
 * (ACCEPT).
 */
static int handshake(struct mig_in *in, const struct mig_key *key, const struct greet_hooks *hk,
		     struct err **err)
{
	uint8_t h[MIG_HEADER_SIZE], ns[MIG_NONCE], nd[MIG_NONCE];
	uint32_t flags;
	int r = mig_read_hello(&in->rd, key, &flags, ns, err);

	if (r >= 0 && key && (flags & MIG_F_AUTH) && hk) {
		int pending = PEER_PENDING;

		if (!seen_add(hk->seen, ns))
			return err_make(err, EPERM,
					"a replayed hello (its nonce already proved the key on "
					"this port)");
		if (!atomic_compare_exchange_strong(hk->state, &pending, PEER_PROVEN))
			return err_make(err, ECANCELED, "evicted");
	}
	if (r >= 0)
		r = mig_nonce(nd, err);
	if (r < 0)
		return r;
	mig_put_header(h, key ? MIG_F_AUTH : 0, nd);
	r = mig_send_iov(in->io.fd, &(struct iovec){h, sizeof(h)}, 1);
	if (r < 0)
		return err_make(err, -r, "send to the source");
	in->answered = true;
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
static int greet(struct mig_in *in, const struct mig_key *key, const struct greet_hooks *hk,
		 struct err **err)
{
	int r;

	in->rd = (struct mig_reader){mig_fd_read, &in->io, &in->rx};
	r = handshake(in, key, hk, err);
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
 * A TCP port is open to anyone who can reach it, so its peers are greeted
 * side by side, each on a thread of its own with MIG_AUTH_TIMEOUT_S from its
 * accept: a silent or slow peer costs the real source nothing.  At most
 * PEERS_MAX are pending, at most PEERS_PER_NET from one network (an IPv4 /24
 * or an IPv6 /64, the addresses one host can easily take; an IPv4-mapped
 * address counts as IPv4).  A connection over either cap is not refused: a
 * pending peer is evicted to make room, the oldest of the newcomer's network
 * for that cap, else the oldest of the network with the most pending
 * (peers_victim).  Refusing the newcomer let whoever fills the slots, and
 * refills each as it is dropped at its deadline, lock the source out for
 * good; a source sends its hello at once and proves the key one round trip
 * later, and alone on its network it is evicted only once every pending
 * peer is alone on its own.  The per-network cap evicts too, rather than
 * refuse: refusing would lock out a source that shares its /24 with a filler
 * (the same NAT, a neighbour), while evicting keeps a network's churn among
 * its own slots.  A peer whose hello proved the key (protocol 4: at once,
 * not a round trip later) is evicted only for want of any other: the oldest
 * proven peer of the newcomer's network at that cap, else the oldest proven
 * one when every slot is proven.  Only a key holder makes a proven hello and
 * a replayed nonce is refused (struct seen), so a flood of strangers never
 * pushes the source out, and one captured hello holds one slot.  Each
 * thread reads no signal (the main loop takes those) and stops when its
 * cancel_fd, an eventfd, is written.
 */
#define PEERS_MAX     64
#define PEERS_PER_NET 4
#define PEER_STACK    (256u << 10)

struct peer {
	struct mig_in in;
	const struct mig_key *key;
	pthread_t tid;
	int done_fd;   /* the main loop's eventfd: one more peer is done */
	int cancel_fd; /* ours: written, the greeting stops (ECANCELED) */
	char name[NI_MAXHOST + NI_MAXSERV + 8];
	uint64_t accepted_ns; /* the oldest pending is evicted first */
	uint8_t net[8];	      /* the peer's /24 or /64, for PEERS_PER_NET */
	uint8_t net_len;      /* 3 (IPv4) or 8 (IPv6) */
	int r;		      /* greet()'s, with err: valid once done */
	struct err *err;
	atomic_bool done;
	atomic_int state; /* PEER_PENDING, _PROVEN, _EVICTING */
	struct greet_hooks hooks;
};

struct peers {
	struct peer *p[PEERS_MAX];
	unsigned n;
	int done_fd;
	struct peer *won;	 /* the first that proved the key, taken out */
	const char *addr;	 /* what we listen on, for the logs */
	unsigned dropped;	 /* failed to greet: the first 5 are warnings */
	unsigned evicted;	 /* pending, made room for a newer one */
	unsigned refused;	 /* could not be greeted at all (no memory, no thread) */
	unsigned evicted_proven; /* of evicted: their hellos had proved the key */
	struct seen seen;
};

static void *greet_peer(void *arg)
{
	struct peer *p = arg;
	uint64_t one = 1;
	int done_fd = p->done_fd;

	p->r = greet(&p->in, p->key, &p->hooks, &p->err);
	atomic_store_explicit(&p->done, true, memory_order_release);
	(void)!write(done_fd, &one, sizeof(one));
	return NULL;
}

static void peer_free(struct peer *p)
{
	err_free(&p->err);
	mig_mac_free(&p->in.rx);
	mig_mac_free(&p->in.tx);
	close(p->in.io.fd);
	if (p->cancel_fd >= 0)
		close(p->cancel_fd);
	free(p);
}

/* A peer that will not be the source: say why (a cancelled one was only pending). */
static void peer_drop(struct peers *ps, struct peer *p)
{
	if (p->r >= 0 || p->r == -ECANCELED)
		log_debug("migration: closed the connection from %s: %s", p->name,
			  p->r >= 0 ? "greeted, but not the source taken" : "still pending");
	else if (ps->dropped++ < 5)
		log_warn("migration: dropped a connection from %s: %s; still listening on `%s`",
			 p->name, p->err->msg, ps->addr);
	else
		log_debug("migration: dropped a connection from %s: %s", p->name, p->err->msg);
	peer_free(p);
}

static bool peer_done(const struct peer *p)
{
	return atomic_load_explicit(&p->done, memory_order_acquire);
}

static bool peer_proven(const struct peer *p)
{
	return atomic_load(&p->state) == PEER_PROVEN;
}

/* Still greeting, and free to evict: its hello did not (yet) prove the key. */
static bool peer_evictable(const struct peer *p)
{
	return !peer_done(p) && atomic_load(&p->state) == PEER_PENDING;
}

/* Join the peers that are done; the first that greeted is taken out as ps->won. */
static void peers_reap(struct peers *ps)
{
	for (unsigned i = 0; i < ps->n;) {
		struct peer *p = ps->p[i];

		if (!peer_done(p)) {
			i++;
			continue;
		}
		pthread_join(p->tid, NULL);
		ps->p[i] = ps->p[--ps->n];
		if (p->r >= 0 && !ps->won)
			ps->won = p;
		else
			peer_drop(ps, p);
	}
}

/*
 * Stop peer i's greeting, wait for its thread (it only waits on its socket
 * and its cancel_fd, so this is at once) and take it out; false, and nothing
 * done, if its state is no longer @was (it proved the key meanwhile: look
 * again).  One that got through before it saw the cancel is not evicted: it
 * is the source.
 */
static bool peers_evict(struct peers *ps, unsigned i, int was)
{
	struct peer *p = ps->p[i];
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&p->state, &was, PEER_EVICTING))
		return false;
	(void)!write(p->cancel_fd, &one, sizeof(one));
	pthread_join(p->tid, NULL);
	ps->p[i] = ps->p[--ps->n];
	if (p->r >= 0 && !ps->won) {
		ps->won = p;
		return true;
	}
	if (p->r != -ECANCELED) { /* it failed on its own meanwhile */
		peer_drop(ps, p);
		return true;
	}
	ps->evicted++;
	ps->evicted_proven += was == PEER_PROVEN;
	log_debug("migration: evicted the pending connection from %s for a newer one%s", p->name,
		  was == PEER_PROVEN ? " (its hello had proved the key)" : "");
	peer_free(p);
	return true;
}

/* Stop every pending peer and wait for their threads: nothing is left running. */
static void peers_stop(struct peers *ps)
{
	uint64_t one = 1;

	for (unsigned i = 0; i < ps->n; i++)
		(void)!write(ps->p[i]->cancel_fd, &one, sizeof(one));
	for (unsigned i = 0; i < ps->n; i++) {
		pthread_join(ps->p[i]->tid, NULL);
		peer_drop(ps, ps->p[i]);
	}
	ps->n = 0;
	if (ps->evicted)
		log_warn("migration: evicted %u pending connection%s for newer ones (%u pending at "
			 "most, %u from one /24 or /64) on `%s`",
			 ps->evicted, ps->evicted == 1 ? "" : "s", PEERS_MAX, PEERS_PER_NET,
			 ps->addr);
	if (ps->evicted_proven)
		log_warn("migration: %u of them had sent a hello that proved the key (replayed "
			 "hellos?) on `%s`",
			 ps->evicted_proven, ps->addr);
	if (ps->refused)
		log_warn("migration: refused %u connection%s on `%s`: out of memory or threads",
			 ps->refused, ps->refused == 1 ? "" : "s", ps->addr);
}

/* The peer's network, to count its connections by: its IPv4 /24 or IPv6 /64. */
static void peer_net(struct peer *p, const struct sockaddr_storage *sa)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const uint8_t *a = s6->sin6_addr.s6_addr;

	p->net_len = 8;
	if (sa->ss_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		p->net_len = 3;
	} else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		a += 12;
		p->net_len = 3;
	}
	memcpy(p->net, a, p->net_len);
}

static bool same_net(const struct peer *a, const struct peer *b)
{
	return a->net_len == b->net_len && !memcmp(a->net, b->net, a->net_len);
}

/* Is q older than the peer at index old (-1: none yet)? */
static bool older(const struct peers *ps, const struct peer *q, int old)
{
	return old < 0 || q->accepted_ns < ps->p[old]->accepted_ns;
}

/*
 * The oldest evictable peer of net's network, else its oldest proven one
 * (*ret_state says which), or -1; how many it has in *ret_same.
 */
static int peers_oldest(const struct peers *ps, const struct peer *net, unsigned *ret_same,
			int *ret_state)
{
	unsigned same = 0;
	int old = -1, proven = -1;

	for (unsigned i = 0; i < ps->n; i++) {
		const struct peer *q = ps->p[i];

		if (!same_net(q, net))
			continue;
		same++;
		if (peer_evictable(q) && older(ps, q, old))
			old = (int)i;
		else if (!peer_done(q) && peer_proven(q) && older(ps, q, proven))
			proven = (int)i;
	}
	*ret_same = same;
	*ret_state = old >= 0 ? PEER_PENDING : PEER_PROVEN;
	return old >= 0 ? old : proven;
}

/*
 * The peer to evict for room in all: the oldest pending one of the network
 * with the most pending, else (every slot proven) the oldest proven one; -1
 * if none (all done: reaped next round).  *ret_state says which kind.  A
 * source alone on its network is then the last unproven one to go, and once
 * proven it goes only for newer proven hellos.
 */
static int peers_victim(const struct peers *ps, int *ret_state)
{
	unsigned most = 0;
	int v = -1, proven = -1;

	for (unsigned i = 0; i < ps->n; i++) {
		const struct peer *q = ps->p[i];
		unsigned same;
		int st;

		if (!peer_done(q) && peer_proven(q) && older(ps, q, proven))
			proven = (int)i;
		if (!peer_evictable(q))
			continue;
		peers_oldest(ps, q, &same, &st);
		if (same > most || (same == most && older(ps, q, v))) {
			most = same;
			v = (int)i;
		}
	}
	*ret_state = v >= 0 ? PEER_PENDING : PEER_PROVEN;
	return v >= 0 ? v : proven;
}

static bool peers_any_done(const struct peers *ps)
{
	for (unsigned i = 0; i < ps->n; i++)
		if (peer_done(ps->p[i]))
			return true;
	return false;
}

/*
 * Room for p under both caps, the oldest pending of its network or of the
 * most crowded one evicted (a proven one only if no other is left): 0;
 * -ECANCELED if a peer was greeted meanwhile.  Each round takes a peer out
 * (an evicted one, or one that finished and is reaped next round) or finds
 * one that proved the key in the meantime and looks again.
 */
static int peers_make_room(struct peers *ps, const struct peer *p)
{
	for (;;) {
		unsigned same;
		int i, st;

		peers_reap(ps);
		if (ps->won)
			return -ECANCELED;
		i = peers_oldest(ps, p, &same, &st);
		if (same < PEERS_PER_NET) {
			if (ps->n < PEERS_MAX)
				return 0;
			i = peers_victim(ps, &st);
		}
		if (i < 0 && !peers_any_done(ps))
			return -EBUSY; /* every slot evicting: cannot happen, refused all the same
					*/
		if (i >= 0)
			peers_evict(ps, (unsigned)i, st);
	}
}

/* A peer for the new connection fd, not yet started; NULL without memory. */
static struct peer *peer_new(struct peers *ps, int fd, const struct sockaddr_storage *sa,
			     const char *name, const struct mig_key *key)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->cancel_fd < 0) {
		int e = errno;

		free(p);
		errno = e;
		return NULL;
	}
	p->accepted_ns = mig_now_ns();
	p->in = (struct mig_in){
	    .io = {.fd = fd,
		   .sigfd = -1,
		   .cancel_fd = p->cancel_fd,
		   .peer = "the source",
		   .deadline_ns = p->accepted_ns + MIG_AUTH_TIMEOUT_S * 1000000000ull}};
	p->key = key;
	atomic_init(&p->state, PEER_PENDING);
	p->hooks = (struct greet_hooks){&p->state, &ps->seen};
	p->done_fd = ps->done_fd;
	snprintf(p->name, sizeof(p->name), "%s", name);
	peer_net(p, sa);
	return p;
}

/* Greet the new connection fd on a thread of its own, room made for it under the caps. */
static void peers_add(struct peers *ps, int fd, const struct sockaddr_storage *sa, const char *name,
		      const struct mig_key *key)
{
	struct peer *p = peer_new(ps, fd, sa, name, key);
	pthread_attr_t attr;
	int r = p ? 0 : -errno;

	if (r >= 0)
		r = peers_make_room(ps, p);
	if (r >= 0) {
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, PEER_STACK);
		r = -pthread_create(&p->tid, &attr, greet_peer, p);
		pthread_attr_destroy(&attr);
	}
	if (r >= 0) {
		ps->p[ps->n++] = p;
		return;
	}
	if (r != -ECANCELED) /* not refused, only too late: the source is greeted */
		ps->refused++;
	log_debug("migration: closed the connection from %s: %s", name,
		  r == -ECANCELED ? "the source is greeted" : strerror(-r));
	if (p) {
		close(p->cancel_fd);
		free(p);
	}
	close(fd);
}

/* The greeted peer's connection as *in, read as on a Unix socket from now on. */
static void peer_take(struct mig_in *in, struct peer *p, int sigfd)
{
	*in = p->in;
	in->io.sigfd = sigfd;
	in->io.cancel_fd = -1;
	in->io.deadline_ns = 0;
	in->rd = (struct mig_reader){mig_fd_read, &in->io, &in->rx};
	close(p->cancel_fd);
	free(p);
}

/* The next connection, its peer's name in peer and address in sa; or an error. */
static int accept_one(int lfd, const char *addr, struct sockaddr_storage *sa, char *peer,
		      size_t peer_len, struct err **err)
{
	socklen_t sa_len = sizeof(*sa);
	char host[NI_MAXHOST], port[NI_MAXSERV];
	int fd = accept4(lfd, (struct sockaddr *)sa, &sa_len, SOCK_CLOEXEC);

	if (fd < 0)
		return err_make(err, errno, "accept on `%s`", addr);
	if (sa->ss_family != AF_UNIX &&
	    getnameinfo((struct sockaddr *)sa, sa_len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(peer, peer_len, sa->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
			 port);
	else
		snprintf(peer, peer_len, "a local peer");
	mig_socket_setup(fd);
	return fd;
}

/*
 * An error of that one connection (the peer gave up before we took it, or
 * its network did: accept(2)), not of the port: take the next.  Out of fds
 * is not among them, the connection would stay queued and poll() spin.
 */
static bool accept_transient(int e)
{
	return e == ECONNABORTED || e == EAGAIN || e == EINTR || e == EPROTO || e == ENETDOWN ||
	       e == ENETUNREACH || e == EHOSTUNREACH || e == EHOSTDOWN || e == ENONET;
}

/* Wait for lfd, sigfd or done_fd (-1: none); a signal is an error. */
static int wait_event(struct pollfd p[3], int sigfd, const char *addr, struct err **err)
{
	while (poll(p, 3, -1) < 0)
		if (errno != EINTR)
			return err_make(err, errno, "poll");
	if (p[1].revents)
		return err_make(err, EINTR, "interrupted by signal %u while waiting on `%s`",
				mig_take_signal(sigfd), addr);
	return 0;
}

/* Accept and greet TCP peers side by side until one proves the key: *in. */
static int accept_tcp(struct mig_in *in, int lfd, int sigfd, const char *addr,
		      const struct mig_key *key, struct err **err)
{
	struct peers ps = {.addr = addr, .seen.lock = PTHREAD_MUTEX_INITIALIZER};
	int r = 0;

	ps.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ps.done_fd < 0)
		r = err_make(err, errno, "eventfd");
	while (r >= 0 && !ps.won) {
		struct pollfd p[3] = {{.fd = lfd, .events = POLLIN},
				      {.fd = sigfd, .events = POLLIN},
				      {.fd = ps.done_fd, .events = POLLIN}};
		struct sockaddr_storage sa;
		char name[NI_MAXHOST + NI_MAXSERV + 8];
		uint64_t n;

		r = wait_event(p, sigfd, addr, err);
		if (r >= 0 && p[2].revents) {
			(void)!read(ps.done_fd, &n, sizeof(n));
			peers_reap(&ps);
		}
		if (r >= 0 && !ps.won && p[0].revents) {
			r = accept_one(lfd, addr, &sa, name, sizeof(name), err);
			if (accept_transient(-r)) {
				log_debug("migration: %s", (*err)->msg);
				err_free(err);
				r = 0;
			} else if (r >= 0) {
				peers_add(&ps, r, &sa, name, key);
				r = 0;
			}
		}
	}
	peers_stop(&ps);
	free(ps.seen.ns);
	if (ps.won)
		peer_take(in, ps.won, sigfd);
	if (ps.done_fd >= 0)
		close(ps.done_fd);
	return ps.won ? 0 : r;
}

/*
 * Accept until a source is greeted.  On a Unix socket (mode 0600: only its
 * own user or root connects) the first connection is the source, whatever
 * it sends.  A TCP stream always has a key, and its peers are greeted side
 * by side (accept_tcp): one that does not prove the key within
 * MIG_AUTH_TIMEOUT_S (junk, silence, a scanner, another key) is dropped
 * with a warning, so it cannot end the receive nor hold it up.  *in holds
 * the greeted connection (io.fd) or -1.
 */
static int accept_source(struct mig_in *in, int lfd, const struct mig_addr *ma, int sigfd,
			 const char *addr, const struct mig_key *key, struct err **err)
{
	struct pollfd p[3] = {
	    {.fd = lfd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}, {.fd = -1}};
	struct sockaddr_storage sa;
	char peer[NI_MAXHOST + NI_MAXSERV + 8];
	int fd;

	if (!ma->is_unix && key)
		return accept_tcp(in, lfd, sigfd, addr, key, err);
	fd = wait_event(p, sigfd, addr, err);
	if (fd >= 0)
		fd = accept_one(lfd, addr, &sa, peer, sizeof(peer), err);
	if (fd < 0)
		return fd;
	*in = (struct mig_in){
	    .io = {.fd = fd, .sigfd = sigfd, .cancel_fd = -1, .peer = "the source"}};
	return greet(in, key, NULL, err);
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
	/* The session's keys are derived: the pre-shared one, which other hosts may hold
	 * too, is not kept for the guest's lifetime. */
	if (key) {
		mig_key_wipe(key);
		free(TAKE_PTR(key));
	}
	if (r >= 0)
		r = receive(&in, cfg, a, ret_status, err);
	/* Before our hello a FAIL is no use (the source reads a hello), and a bad proof gets
	 * nothing. */
	if (r < 0 && in.io.fd >= 0 && in.answered && !in.committed)
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
