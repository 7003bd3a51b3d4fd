/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The source of a live migration, run by the API thread while the vCPUs
 * run.  Pre-copy: with KVM's dirty log on, send all of guest memory, then
 * rounds of the pages dirtied meanwhile until a round is small enough to send
 * while paused, stops shrinking, or MIG_MAX_ROUNDS passed.  Then pause, send
 * the last dirty pages and the snapshot state, and wait for the destination's
 * OK.  Only then is the VM stopped (exit status 0); any failure before that
 * resumes it here.
 *
 * Virtio device workers write guest memory from their own threads, which
 * KVM's dirty log does not see: they record it in guest_mem's software dirty
 * bitmap (virtq_mark_written(), the used ring in virtq_push()), merged with
 * KVM's log every round.  vm_pause() quiesces them (no request in flight)
 * before the last round, so nothing is written after the last copy.  Their
 * state travels in the snapshot state; their configuration (DEVCFG) right
 * after CONFIG, so the destination builds the same devices.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "migrate-internal.h"
#include "snapshot/snapshot.h"
#include "vmm-migrate.h"

#define MIG_MAX_ROUNDS	   30
#define MIG_STALL_ROUNDS   5	   /* rounds without shrinking 10% below the best: give up */
#define MIG_MIN_LAST_PAGES 64	   /* always small enough to send while paused */
#define MIG_LAST_ROUND_NS  2000000 /* or what the link moves in 2 ms */

struct mig_out {
	struct vm *vm;
	int fd;
	const struct mig_key *key; /* NULL: an untagged stream (Unix sockets only) */
	struct mig_mac tx, rx;
	bool in_doubt; /* COMMIT sent, STARTED not heard */
	bool logging;
	uint64_t *bitmap; /* one bit per page of the largest slot */
	bool manual;	  /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: GET, then CLEAR before reading */
	int clear_slot;	  /* the slot whose pages are re-armed up to `cleared`, or -1 */
	uint64_t cleared;
	struct vmm_migrate_stats *st;
	/* /proc/self/pagemap entries of pm_n pages of pm_rg from pm_first, or pm_fd < 0 */
	int pm_fd;
	const struct guest_mem_region *pm_rg;
	uint64_t pm_first, pm_n, pm[512];
};

static int send_frame(struct mig_out *o, uint32_t type, const void *a, size_t alen, const void *b,
		      size_t blen, struct err **err)
{
	int r = mig_send_frame(o->fd, &o->tx, type, a, alen, b, blen);

	if (r < 0)
		return err_make(err, -r, "send to the destination");
	o->st->bytes += MIG_FRAME_HDR + alen + blen + (o->key ? MIG_TAG : 0);
	return 0;
}

/* n pages at gpa: data, or a zero marker. */
static int send_run(struct mig_out *o, uint64_t gpa, const uint8_t *hva, uint64_t n, bool zero,
		    struct err **err)
{
	uint8_t p[16];

	if (atomic_load(&o->vm->stopping))
		return err_make(err, ECANCELED, "the VM stopped during the migration");
	mig_put_u64(p, gpa);
	mig_put_u64(p + 8, n);
	if (zero) {
		o->st->zero_pages += n;
		return send_frame(o, MIG_ZERO, p, 16, NULL, 0, err);
	}
	o->st->data_pages += n;
	/* With a key mig_send_frame() encrypts and tags a copy: the guest may write meanwhile. */
	return send_frame(o, MIG_PAGES, p, 8, hva, n * MIG_PAGE, err);
}

static bool bit(const uint64_t *bm, uint64_t i)
{
	return !bm || (bm[i / 64] >> (i % 64)) & 1;
}

/*
 * A page that is neither present nor swapped out (/proc/self/pagemap bits 63
 * and 62) was never written, or was discarded: it reads as zero, and is known
 * to without touching it, which would fault in every page of a large, mostly
 * unused guest.  A write after this look is in the dirty log.
 */
static bool is_zero(struct mig_out *o, const struct guest_mem_region *rg, uint64_t p)
{
	if (o->pm_fd >= 0 && (rg != o->pm_rg || p < o->pm_first || p >= o->pm_first + o->pm_n)) {
		uint64_t first = p & ~(uint64_t)(ARRAY_SIZE(o->pm) - 1);
		ssize_t n = pread(o->pm_fd, o->pm, sizeof(o->pm),
				  ((uintptr_t)rg->hva / MIG_PAGE + first) * sizeof(uint64_t));

		o->pm_rg = rg;
		o->pm_first = first;
		o->pm_n = n > 0 ? n / sizeof(uint64_t) : 0;
	}
	if (o->pm_fd >= 0 && p - o->pm_first < o->pm_n && !(o->pm[p - o->pm_first] >> 62))
		return true;
	return mig_page_is_zero(rg->hva + p * MIG_PAGE);
}

#define MIG_CLEAR_CHUNK 4096u /* pages re-armed per KVM_CLEAR_DIRTY_LOG */

/*
 * With manual protection KVM_GET_DIRTY_LOG leaves the pages writable; each
 * chunk is re-armed (KVM_CLEAR_DIRTY_LOG on its dirty bits) just before its
 * first page is read, so a write after that is in the next round and a write
 * before it is in this one.  A no-op without manual protection.
 */
static int clear_upto(struct mig_out *o, const struct guest_mem_region *rg, uint64_t p,
		      struct err **err)
{
	uint64_t n = rg->size / MIG_PAGE;

	while (o->clear_slot >= 0 && p >= o->cleared) {
		uint64_t first = o->cleared, num = n - first;
		struct kvm_clear_dirty_log c = {.slot = o->clear_slot,
						.num_pages =
						    num < MIG_CLEAR_CHUNK ? num : MIG_CLEAR_CHUNK,
						.first_page = first,
						.dirty_bitmap = o->bitmap + first / 64};

		if (ioctl(o->vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &c) < 0)
			return err_make(err, errno, "KVM_CLEAR_DIRTY_LOG slot %d", o->clear_slot);
		o->cleared = first + c.num_pages;
	}
	return 0;
}

/* The pages of rg set in bm (all of them when bm is NULL), in runs of like pages. */
static int send_region(struct mig_out *o, const struct guest_mem_region *rg, const uint64_t *bm,
		       struct err **err)
{
	uint64_t n = rg->size / MIG_PAGE, max;

	for (uint64_t p = 0, e; p < n; p = e) {
		bool zero;
		int r;

		if (bm && !bm[p / 64] && p % 64 == 0) {
			e = p + 64;
			continue;
		}
		if (!bit(bm, p)) {
			e = p + 1;
			continue;
		}
		r = clear_upto(o, rg, p, err);
		if (r < 0)
			return r;
		zero = is_zero(o, rg, p);
		max = zero ? MIG_MAX_ZERO_RUN : MIG_MAX_RUN;
		for (e = p + 1; e < n && bit(bm, e) && e - p < max; e++) {
			r = clear_upto(o, rg, e, err);
			if (r < 0)
				return r;
			if (is_zero(o, rg, e) != zero)
				break;
		}
		r = send_run(o, rg->gpa + p * MIG_PAGE, rg->hva + p * MIG_PAGE, e - p, zero, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Fetch (and re-arm) slot i's dirty log into o->bitmap, with the pages the
 * VMM's own device workers wrote (guest_mem_mark()) merged in; returns the
 * number of dirty pages.
 */
static long fetch_dirty(struct mig_out *o, unsigned i, const struct guest_mem_region *rg,
			struct err **err)
{
	uint64_t n = rg->size / MIG_PAGE;
	struct kvm_dirty_log log = {.slot = i, .dirty_bitmap = o->bitmap};
	long count = 0;

	if (ioctl(o->vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return err_make(err, errno, "KVM_GET_DIRTY_LOG slot %u", i);
	guest_mem_harvest(&o->vm->mem, i, o->bitmap);
	for (uint64_t w = 0; w < (n + 63) / 64; w++)
		count += __builtin_popcountll(o->bitmap[w]);
	return count;
}

/* One round: all memory (all = true) or the pages dirtied since the last one. */
static long send_round(struct mig_out *o, bool all, struct err **err)
{
	const struct guest_mem *mem = &o->vm->mem;
	long total = 0;

	for (unsigned i = 0; i < mem->nr; i++) {
		long n = all ? (long)(mem->regions[i].size / MIG_PAGE)
			     : fetch_dirty(o, i, &mem->regions[i], err);
		int r;

		if (n < 0)
			return n;
		o->clear_slot = o->manual && !all ? (int)i : -1;
		o->cleared = 0;
		r = n ? send_region(o, &mem->regions[i], all ? NULL : o->bitmap, err) : 0;
		if (r < 0)
			return r;
		total += n;
	}
	return total;
}

/*
 * KVM_GET_DIRTY_LOG returns a slot's bitmap; without manual protection it
 * also write-protects those pages again, with it (when KVM offers
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) clear_upto() does, chunk by chunk.
 */
static int dirty_log_start(struct mig_out *o, struct err **err)
{
	struct vm *vm = o->vm;
	int caps = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	size_t words = 0;

	for (unsigned i = 0; i < vm->mem.nr; i++)
		if (vm->mem.regions[i].size / MIG_PAGE / 64 + 1 > words)
			words = vm->mem.regions[i].size / MIG_PAGE / 64 + 1;
	o->bitmap = calloc(words, sizeof(uint64_t));
	if (!o->bitmap)
		return err_make(err, ENOMEM, "dirty bitmap");
	if (caps > 0 && (caps & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
		struct kvm_enable_cap c = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
					   .args = {KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE}};

		o->manual = ioctl(vm->vm_fd, KVM_ENABLE_CAP, &c) == 0;
	}
	/* Device writes from here on are recorded, before the first page is read. */
	if (guest_mem_track(&vm->mem, true) < 0)
		return err_make(err, ENOMEM, "device dirty bitmap");
	o->logging = true;
	/* The log is ours now: the next Diff snapshot has no base. */
	atomic_store(&vm->diff_base, false);
	return vm_memory_dirty_log(vm, true, err);
}

static void dirty_log_stop(struct mig_out *o)
{
	_cleanup_err_ struct err *e = NULL;

	if (o->logging && vm_memory_dirty_log(o->vm, false, &e) < 0)
		log_warn("migration: %s", e->msg);
	guest_mem_track(&o->vm->mem, false);
	if (o->manual) {
		struct kvm_enable_cap c = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2};

		(void)ioctl(o->vm->vm_fd, KVM_ENABLE_CAP, &c);
	}
	free(o->bitmap);
}

/* Rounds while the guest runs, until the rest is small enough to send paused. */
static int precopy(struct mig_out *o, struct err **err)
{
	long best = -1, n = send_round(o, true, err);
	unsigned stall = 0;

	while (n >= 0 && o->st->rounds < MIG_MAX_ROUNDS) {
		uint64_t t = mig_now_ns(), bytes = o->st->bytes, limit;

		if (atomic_load(&o->vm->stopping))
			return err_make(err, ECANCELED, "the VM stopped during the migration");
		n = send_round(o, false, err);
		if (n < 0)
			break;
		o->st->rounds++;
		log_debug("migration: round %u, %ld dirty pages", o->st->rounds, n);
		t = mig_now_ns() - t + 1;
		/* What the link moved in MIG_LAST_ROUND_NS at this round's pace. */
		limit = (o->st->bytes - bytes) * MIG_LAST_ROUND_NS / t / MIG_PAGE;
		if ((uint64_t)n <= MIG_MIN_LAST_PAGES || (uint64_t)n <= limit)
			break;
		if (best < 0 || n < best - best / 10) {
			best = n;
			stall = 0;
		} else if (++stall >= MIG_STALL_ROUNDS) {
			break;
		}
	}
	return n < 0 ? (int)n : 0;
}

static struct mig_fd peer_in(struct mig_out *o)
{
	/* The main thread wakes on stop_efd and never reads it: it stays readable once stopping. */
	return (struct mig_fd){
	    .fd = o->fd, .sigfd = -1, .cancel_fd = o->vm->stop_efd, .peer = "the destination"};
}

/* The destination's next frame must be `expect` (READY, OK), or FAIL with its reason. */
static int reply(struct mig_out *o, uint32_t expect, struct err **err)
{
	struct mig_fd in = peer_in(o);

	return mig_read_reply(&(struct mig_reader){mig_fd_read, &in, &o->rx}, expect,
			      "the destination", err);
}

/*
 * Hellos both ways; with a key, the session's MACs, and the destination's
 * ACCEPT must prove it has the key before a byte of the guest is sent.
 */
static int handshake(struct mig_out *o, struct err **err)
{
	uint8_t h[MIG_HEADER_SIZE + MIG_PROOF], ns[MIG_NONCE], nd[MIG_NONCE];
	size_t hlen = MIG_HEADER_SIZE + (o->key ? MIG_PROOF : 0);
	struct mig_fd in = peer_in(o);
	uint32_t flags;
	int r = mig_nonce(ns, err);

	if (r < 0)
		return r;
	mig_put_header(h, o->key ? MIG_F_AUTH : 0, ns);
	/* Keyed: the proof goes with the hello (a TCP receiver evicts no proven peer). */
	if (o->key && mig_hello_proof(o->key, h, h + MIG_HEADER_SIZE, err) < 0)
		return -1;
	r = mig_send_iov(o->fd, &(struct iovec){h, hlen}, 1);
	if (r < 0)
		return err_make(err, -r, "send to the destination");
	o->st->bytes += hlen;
	r = mig_read_header(&(struct mig_reader){mig_fd_read, &in}, &flags, nd, err);
	/* A receiver with another key (or protocol) hangs up on our hello, unanswered. */
	if (r < 0)
		return err_wrap(err, "the destination's hello%s",
				r == -ECONNRESET ? " (refused: a different --key-file or protocol "
						   "version there?)"
						 : "");
	if (o->key && !(flags & MIG_F_AUTH))
		return err_make(err, EPERM,
				"the destination has no --key-file: refused to send the VM "
				"unauthenticated");
	if (!o->key && (flags & MIG_F_AUTH))
		return err_make(err, EPERM,
				"the destination wants an authenticated stream: "
				"give --key-file");
	if (o->key) {
		r = mig_mac_init(&o->tx, o->key, MIG_LABEL_S2D, ns, nd, err);
		if (r >= 0)
			r = mig_mac_init(&o->rx, o->key, MIG_LABEL_D2S, ns, nd, err);
		if (r < 0)
			return r;
	}
	r = reply(o, MIG_ACCEPT, err);
	if (r == -EBADMSG)
		err_wrap(err, "the destination's key differs");
	return r;
}

/* Paused: the last dirty pages, the state, and the destination's answer. */
static int stop_and_copy(struct mig_out *o, struct err **err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct snap_writer w;
	size_t len = 0;
	long n = send_round(o, false, err);
	int r = n < 0 ? (int)n : 0;

	o->st->last_pages = n > 0 ? n : 0;
	log_debug("migration: paused, %ld dirty pages (manual protection: %d)", n, o->manual);
	snap_writer_init(&w);
	if (r >= 0)
		r = vm_snapshot_save_state(o->vm, &w, err);
	if (r >= 0)
		r = snap_writer_finish(&w, &buf, &len, err);
	else
		snap_writer_free(&w);
	if (r >= 0)
		r = send_frame(o, MIG_STATE, buf, len, NULL, 0, err);
	return r < 0 ? r : reply(o, MIG_OK, err);
}

/* After a failed send, the destination may have said why (FAIL) before it hung up. */
static void explain(struct mig_out *o, struct err **err)
{
	struct err *why = NULL;
	int e = err_code(*err), r;

	if (e != -EPIPE && e != -ECONNRESET)
		return;
	r = reply(o, MIG_READY, &why); /* unless already read */
	if (r == 0)
		r = reply(o, MIG_OK, &why);
	if (r == -EREMOTEIO) {
		err_free(err);
		*err = TAKE_PTR(why);
	}
	err_free(&why);
}

/*
 * COMMIT went out but the destination's STARTED did not come back: it may
 * run the guest or may have discarded it, and this side cannot tell.  The
 * guest stays paused here, as after PATCH /vm Paused, for whoever can look
 * at the destination: resume it here only if the destination does not run it.
 */
static int in_doubt(struct mig_out *o, struct err **err)
{
	o->in_doubt = true;
	if (atomic_exchange(&o->vm->api_paused, true))
		vm_resume(o->vm); /* it was paused before: leave that pause only */
	return err_wrap(err, "in doubt after the commit: the destination may run the guest, so it "
			     "stays paused here; resume it here (vm resume) only if the "
			     "destination does not run it");
}

/* The guest stays here after all: its disks' locks again (a warning if one is taken). */
static void relock(struct mig_out *o)
{
	_cleanup_err_ struct err *e = NULL;

	if (vm_state_lock_all(o->vm, true, &e) < 0)
		log_warn("migration: %s", e->msg);
}

/* The devices to build (disk paths, options) as a snapshot's DEVCFG section. */
static int send_devices(struct mig_out *o, struct err **err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct snap_writer w;
	size_t len = 0;
	int r;

	snap_writer_init(&w);
	r = vm_devcfg_save(o->vm, &w, err);
	if (r >= 0)
		r = snap_writer_finish(&w, &buf, &len, err);
	else
		snap_writer_free(&w);
	return r < 0 ? r : send_frame(o, MIG_DEVCFG, buf, len, NULL, 0, err);
}

static int migrate(struct mig_out *o, uint64_t start, struct err **err)
{
	struct vm *vm = o->vm;
	struct mig_config c = {.cpus = vm->nr_vcpus, .memory = vm->ram_size};
	uint8_t cfg[MIG_CONFIG_SIZE];
	uint64_t paused;
	int r;

	mig_put_config(cfg, &c);
	r = handshake(o, err);
	if (r >= 0)
		r = send_frame(o, MIG_CONFIG, cfg, sizeof(cfg), NULL, 0, err);
	if (r >= 0)
		r = send_devices(o, err);
	if (r >= 0)
		r = dirty_log_start(o, err);
	if (r >= 0)
		r = precopy(o, err);
	if (r >= 0) /* pausing before the destination's VM exists would only add downtime */
		r = reply(o, MIG_READY, err);
	if (r < 0)
		return r;
	paused = mig_now_ns();
	r = vm_pause(vm, err);
	if (r < 0)
		return r;
	log_debug("migration: pause took %.3f ms", (mig_now_ns() - paused) / 1e6);
	r = stop_and_copy(o, err);
	/* The destination takes the disks' locks once it has the COMMIT. */
	if (r >= 0 && (r = vm_state_lock_all(vm, false, err)) >= 0)
		r = send_frame(o, MIG_COMMIT, NULL, 0, NULL, 0, err);
	if (r < 0) {
		/* The destination has no whole COMMIT: it discards its copy. */
		relock(o);
		vm_resume(vm);
		return r;
	}
	/* From here on this side never resumes on its own. */
	r = reply(o, MIG_STARTED, err);
	if (r == -EREMOTEIO) { /* a FAIL with a good tag: the destination did not start */
		relock(o);
		vm_resume(vm);
		return r;
	}
	if (r < 0)
		return in_doubt(o, err);
	o->st->downtime_ns = mig_now_ns() - paused;
	o->st->total_ns = mig_now_ns() - start;
	/* The guest runs on at the destination: stop here, vCPUs leave their pause to exit. */
	vm_request_stop(vm, 0, NULL);
	vm_resume(vm);
	return 0;
}

/*
 * Every device migrates, with either irqchip: disks (the destination opens
 * the same or a remapped path), NICs (its own TAP), vsock (its own socket;
 * open connections are reset), rng, the balloon, and a virtio-fs share no
 * guest driver has taken yet (the destination names its directory).
 */
static int migratable(struct vm *vm, struct err **err)
{
	return vm_state_can_save_all(vm, err);
}

int vm_migrate_send(struct vm *vm, const char *dest, const char *key_file,
		    struct vmm_migrate_stats *st, struct err **err)
{
	struct mig_out o = {.vm = vm, .st = st, .fd = -1, .pm_fd = -1, .clear_slot = -1};
	_cleanup_free_ struct mig_key *key = NULL;
	uint64_t start = mig_now_ns();
	int r = migratable(vm, err);

	*st = (struct vmm_migrate_stats){0};
	if (r >= 0)
		r = mig_check_auth(dest, key_file, err);
	if (r >= 0 && key_file && !(key = malloc(sizeof(*key))))
		r = err_make(err, ENOMEM, "key");
	if (r >= 0 && key_file)
		r = mig_key_load(key_file, key, err);
	if (r >= 0) {
		o.key = key;
		o.fd = mig_connect(dest, err);
		r = o.fd;
	}
	if (r < 0) {
		mig_key_wipe(key);
		return err_wrap(err, "migrate");
	}
	o.pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC); /* optional */
	r = migrate(&o, start, err);
	if (r < 0 && !o.in_doubt)
		explain(&o, err);
	dirty_log_stop(&o);
	if (o.pm_fd >= 0)
		close(o.pm_fd);
	close(o.fd);
	mig_mac_free(&o.tx);
	mig_mac_free(&o.rx);
	mig_key_wipe(key);
	return r < 0 ? err_wrap(err, "migrate to `%s`", dest) : 0;
}
