/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Snapshot a running VM into a state file and a memory file, and restore
 * one.  The memory file is as large as guest RAM (regions back to back) but
 * sparse: only pages holding non-zero bytes are written.  A restore maps it
 * MAP_PRIVATE, so pages load lazily on first touch and several VMs restored
 * from one snapshot share the unmodified ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "log.h"
#include "snapshot.h"

#define PAGE 4096u

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

/*
 * Every device, both transports and both irqchip modes have their state
 * saved, but for virtio-fs: its inode table and open files are host fds.
 */
/* The parent directory of path (O_PATH) and its last component. */
static int open_parent(const char *path, char **ret_base, struct err **err)
{
	_cleanup_free_ char *d = strdup(path), *b = strdup(path);
	int fd;

	if (!d || !b)
		return err_make(err, ENOMEM, "`%s`", path);
	fd = open(dirname(d), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_make(err, errno, "open the directory of `%s`", path);
	*ret_base = strdup(basename(b));
	if (!*ret_base) {
		close(fd);
		return err_make(err, ENOMEM, "`%s`", path);
	}
	return fd;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (unsigned i = 0; i < PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

/* Write runs of non-zero pages at their offsets; zero pages stay holes. */
static int write_region(int fd, const struct guest_mem_region *rg, uint64_t off)
{
	for (uint64_t p = 0; p < rg->size;) {
		uint64_t end;

		if (page_is_zero(rg->hva + p)) {
			p += PAGE;
			continue;
		}
		for (end = p + PAGE; end < rg->size && !page_is_zero(rg->hva + end); end += PAGE)
			;
		for (uint64_t done = p; done < end;) {
			ssize_t n = pwrite(fd, rg->hva + done, end - done, off + done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			done += n;
		}
		p = end;
	}
	return 0;
}

/*
 * Diff: KVM_GET_DIRTY_LOG per slot (which also re-arms it), with the pages
 * the device workers wrote (guest_mem_harvest()) merged in, and every page
 * written since the last snapshot at its offset, zero or not, so that a
 * rebase copies it over the base; pages not written stay holes.  The VM is
 * paused: no worker writes meanwhile.
 */
static int write_dirty(struct vm *vm, int fd)
{
	_cleanup_free_ uint64_t *bm = NULL;
	uint64_t off = 0, words = 0;

	for (unsigned i = 0; i < vm->mem.nr; i++)
		if (vm->mem.regions[i].size / PAGE / 64 + 1 > words)
			words = vm->mem.regions[i].size / PAGE / 64 + 1;
	bm = calloc(words, sizeof(uint64_t));
	if (!bm)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->mem.nr; i++) {
		const struct guest_mem_region *rg = &vm->mem.regions[i];
		struct kvm_dirty_log log = {.slot = i, .dirty_bitmap = bm};

		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
			return -errno;
		guest_mem_harvest(&vm->mem, i, bm);
		for (uint64_t p = 0; p < rg->size / PAGE; p++) {
			if (!(bm[p / 64] >> (p % 64) & 1))
				continue;
			if (pwrite(fd, rg->hva + p * PAGE, PAGE, off + p * PAGE) != PAGE)
				return errno ? -errno : -EIO;
		}
		off += rg->size;
	}
	return 0;
}

/*
 * After a Full snapshot: the dirty log (on from now) starts empty, and so
 * does the device workers' (paused now).
 */
static int arm_diff(struct vm *vm, struct err **err)
{
	_cleanup_free_ uint64_t *bm = NULL;
	int r;

	if (guest_mem_track(&vm->mem, true) < 0)
		return err_make(err, ENOMEM, "device dirty bitmap");
	if (!atomic_load(&vm->diff_base))
		return vm_memory_dirty_log(vm, true, err);
	for (unsigned i = 0; i < vm->mem.nr; i++) {
		struct kvm_dirty_log log = {.slot = i};

		free(bm);
		bm = calloc(vm->mem.regions[i].size / PAGE / 64 + 1, sizeof(uint64_t));
		if (!bm)
			return err_make(err, ENOMEM, "dirty bitmap");
		log.dirty_bitmap = bm;
		r = ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log);
		if (r < 0)
			return err_make(err, errno, "KVM_GET_DIRTY_LOG slot %u", i);
	}
	return 0;
}

static int save_memory(struct vm *vm, const char *path, bool diff, struct err **err)
{
	_cleanup_free_ char *base = NULL;
	_cleanup_close_ int dfd = open_parent(path, &base, err);
	_cleanup_close_ int fd = -1;
	char tmp[PATH_MAX];
	uint64_t off = 0;
	int r = 0;

	if (dfd < 0)
		return dfd;
	/* A new file of its own: never one planted in the directory (or a symlink). */
	fd = open_tmp_at(dfd, base, 0600, tmp, err);
	if (fd < 0)
		return err_wrap(err, "snapshot memory `%s`", path);
	if (ftruncate(fd, vm->ram_size) < 0)
		r = -errno;
	if (r == 0 && diff)
		r = write_dirty(vm, fd);
	for (unsigned i = 0; r == 0 && !diff && i < vm->mem.nr; i++) {
		r = write_region(fd, &vm->mem.regions[i], off);
		off += vm->mem.regions[i].size;
	}
	if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return err_make(err, -r, "write `%s`", path);
	}
	return 0;
}

/*
 * Everything but memory, for a snapshot or a migration.  The VM is paused
 * (vm_pause(): vCPUs parked, virtio workers quiesced), so the memory saved
 * after it is consistent with it.
 */
static int save_state(struct vm *vm, struct snap_writer *w, struct err **err)
{
	struct snap_config c = {.cpus = vm->nr_vcpus, .memory = vm->ram_size};
	int r, khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);

	c.tsc_khz = khz > 0 ? (uint64_t)khz : 0;
	snap_put(w, SNAP_CONFIG, 0, &c, sizeof(c));
	r = vm_devcfg_save(vm, w, err);
	if (r >= 0)
		r = vm_state_save_all(vm, true, w, err); /* the clock, the irqchip */
	for (unsigned i = 0; r >= 0 && i < vm->nr_vcpus; i++)
		r = vcpu_state_save(&vm->vcpus[i], w, err);
	if (r >= 0)
		r = vm_state_save_all(vm, false, w, err); /* the serial port, the virtio devices */
	return r;
}

int vm_snapshot_save_state(struct vm *vm, struct snap_writer *w, struct err **err)
{
	return save_state(vm, w, err);
}

/*
 * A Diff needs KVM's dirty log (and the device workers' bitmap) since the
 * last snapshot; a migration (which uses both) breaks the chain.
 */
static int diff_possible(struct vm *vm, struct err **err)
{
	if (!atomic_load(&vm->diff_base))
		return err_make(err, EINVAL,
				"a Diff snapshot needs an earlier snapshot of this VM to be the "
				"base: take a Full one first");
	return 0;
}

int vm_snapshot_create(struct vm *vm, const char *state_path, const char *mem_path, bool diff,
		       struct err **err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *base = NULL;
	_cleanup_close_ int dfd = -1;
	struct snap_writer w;
	size_t len;
	int r = vm_state_can_save_all(vm, err);

	if (r >= 0 && diff)
		r = diff_possible(vm, err);
	if (r < 0)
		return r;
	r = vm_pause(vm, err);
	if (r < 0)
		return r;
	snap_writer_init(&w);
	r = save_state(vm, &w, err);
	if (r >= 0)
		r = save_memory(vm, mem_path, diff, err);
	/* The next Diff's base is this snapshot; a failed Diff consumed the log. */
	if (r >= 0 && !diff)
		r = arm_diff(vm, err);
	atomic_store(&vm->diff_base, r >= 0);
	vm_resume(vm);
	if (r < 0) {
		snap_writer_free(&w);
		return r;
	}
	r = snap_writer_finish(&w, &buf, &len, err);
	if (r < 0)
		return r;
	dfd = open_parent(state_path, &base, err);
	if (dfd < 0)
		return dfd;
	return write_file_atomic_at(dfd, base, buf, len, 0600, err);
}

/* [off, ret_end) is the next data extent of fd at or after off; 0, or 1 at the end. */
static int next_extent(int fd, off_t off, off_t *ret_start, off_t *ret_end)
{
	off_t a = lseek(fd, off, SEEK_DATA), b;

	if (a < 0)
		return errno == ENXIO ? 1 : -errno;
	b = lseek(fd, a, SEEK_HOLE);
	if (b < 0)
		return -errno;
	*ret_start = a;
	*ret_end = b;
	return 0;
}

static int copy_range(int from, int to, off_t a, off_t b)
{
	_cleanup_free_ uint8_t *buf = malloc(1 << 20);

	if (!buf)
		return -ENOMEM;
	while (a < b) {
		size_t n = b - a < (1 << 20) ? (size_t)(b - a) : (1 << 20);
		ssize_t got = pread(from, buf, n, a);

		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		if (pwrite(to, buf, got, a) != got)
			return errno ? -errno : -EIO;
		a += got;
	}
	return 0;
}

int vmm_snapshot_rebase(const char *base, const char *diff, struct err **err)
{
	_cleanup_close_ int bfd = open(base, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_close_ int dfd = open(diff, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat bs, ds;
	off_t off = 0, a = 0, b = 0;
	int r;

	if (bfd < 0 || fstat(bfd, &bs) < 0)
		return err_make(err, errno, "--base-file `%s`", base);
	if (dfd < 0 || fstat(dfd, &ds) < 0)
		return err_make(err, errno, "--diff-file `%s`", diff);
	if (!S_ISREG(bs.st_mode) || !S_ISREG(ds.st_mode))
		return err_make(err, EINVAL, "`%s`, `%s`: expected two regular files", base, diff);
	if (bs.st_dev == ds.st_dev && bs.st_ino == ds.st_ino)
		return err_make(err, EINVAL, "`%s` and `%s` are the same file", base, diff);
	if (bs.st_size != ds.st_size || bs.st_size % PAGE)
		return err_make(err, EINVAL,
				"`%s` (%lld bytes) and `%s` (%lld bytes): memory files of one VM "
				"have one size, a multiple of 4096",
				base, (long long)bs.st_size, diff, (long long)ds.st_size);
	while ((r = next_extent(dfd, off, &a, &b)) == 0 && a < ds.st_size) {
		if (b > ds.st_size)
			b = ds.st_size;
		r = copy_range(dfd, bfd, a, b);
		if (r < 0)
			return err_make(err, -r, "copy `%s` onto `%s`", diff, base);
		off = b;
	}
	if (r < 0)
		return err_make(err, -r, "find the pages of `%s`", diff);
	if (fsync(bfd) < 0)
		return err_make(err, errno, "fsync `%s`", base);
	return 0;
}

void vm_snapshot_signal(struct vm *vm)
{
	_cleanup_err_ struct err *err = NULL;
	const struct vm_config *cfg = vm->cfg;

	if (!cfg->snapshot_state) {
		log_warn("SIGUSR2: no --snapshot-state given, no snapshot taken");
		return;
	}
	if (vm_snapshot_create(vm, cfg->snapshot_state, cfg->snapshot_mem, false, &err) < 0)
		log_error("snapshot: %s", err->msg);
	else
		log_info("snapshot written to `%s` and `%s`", cfg->snapshot_state,
			 cfg->snapshot_mem);
}

/*
 * The guest's TSC counts at the saved frequency: ask KVM to scale it when this
 * host's differs by more than 250 ppm.  Without TSC scaling the guest's clock
 * runs fast or slow; as with QEMU, that is a warning, not a failure.
 */
static void restore_tsc_khz(struct vm *vm, const struct snap_reader *r)
{
	struct snap_config c;
	_cleanup_err_ struct err *e = NULL;
	int here;

	if (snap_get(r, SNAP_CONFIG, 0, &c, sizeof(c), "config", &e) < 0 || !c.tsc_khz)
		return;
	here = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (here <= 0 || c.tsc_khz > 100000000 ||
	    (uint64_t)llabs((long long)here - (long long)c.tsc_khz) * 4000 <= c.tsc_khz)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (ioctl(vm->vcpus[i].fd, KVM_SET_TSC_KHZ, (unsigned long)c.tsc_khz) < 0) {
			log_warn("the snapshot's TSC ran at %llu kHz, this host's runs at %d kHz "
				 "and KVM cannot scale it (%m): the guest's clock will drift",
				 (unsigned long long)c.tsc_khz, here);
			return;
		}
	}
	log_debug("restore: TSC scaled to the snapshot's %llu kHz (this host: %d kHz)",
		  (unsigned long long)c.tsc_khz, here);
}

int vm_snapshot_restore_step(struct vm *vm, struct err **err)
{
	uint64_t t;
	int r;

	if (!vm->snap)
		return 0;
	/* Migration: guest memory and vm->snap arrive now, and the source hears when they load. */
	if (vm->launch.incoming &&
	    vm->launch.incoming->receive(vm->launch.incoming_ctx, vm, err) < 0)
		return err_code(*err);
	t = now_us();
	log_debug("restore: VM, memory, devices and vCPUs created after %llu us",
		  (unsigned long long)(t - vm->snap->t0_us));
	restore_tsc_khz(vm, vm->snap);
	r = vm_state_restore_all(vm, true, vm->snap, err); /* the clock, the irqchip */
	for (unsigned i = 0; r >= 0 && i < vm->nr_vcpus; i++)
		r = vcpu_state_restore(&vm->vcpus[i], vm->snap, err);
	if (r >= 0)
		r = vm_state_restore_all(vm, false, vm->snap, err); /* they stay paused */
	if (r < 0)
		return err_wrap(err, "restore");
	log_debug("restore: state loaded in %llu us (%llu us since the start)",
		  (unsigned long long)(now_us() - t),
		  (unsigned long long)(now_us() - vm->snap->t0_us));
	if (vm->launch.incoming) {
		/* COMMIT came: the devices may serve what the guest queued before the pause. */
		r = vm->launch.incoming->confirm(vm->launch.incoming_ctx, err);
		if (r >= 0) {
			vm_state_pause_all(vm, false);
			vm_state_kick_all(vm);
		}
		return r;
	}
	if (!vm->snap->start_paused) {
		vm_state_pause_all(vm, false);
		vm_state_kick_all(vm);
	}
	if (vm->snap->start_paused) {
		/* The vCPUs park before their first KVM_RUN; PATCH /vm Resumed lets them go. */
		pthread_mutex_lock(&vm->pause_lock);
		vm->pause_depth++;
		vm->kick_on_resume = true; /* vm_resume() does what is done above */
		pthread_mutex_unlock(&vm->pause_lock);
		atomic_store(&vm->pause_req, true);
		atomic_store(&vm->api_paused, true);
		vm_state_pause_all(vm, true);
	}
	return 0;
}

static int check_config(const struct snap_config *c, struct err **err)
{
	if (c->cpus < 1 || c->cpus > VM_MAX_CPUS)
		return err_make(err, EINVAL, "config: %u vCPUs (1 to %d)", c->cpus, VM_MAX_CPUS);
	if (c->memory < VM_MIN_MEMORY || c->memory > VM_MAX_MEMORY || c->memory % PAGE)
		return err_make(err, EINVAL, "config: memory %llu bytes out of range",
				(unsigned long long)c->memory);
	if (c->flags)
		return err_make(err, EINVAL, "config: unknown flags %#x", c->flags);
	if (c->tsc_khz > 100000000)
		return err_make(err, EINVAL, "config: TSC frequency %llu kHz out of range",
				(unsigned long long)c->tsc_khz);
	return 0;
}

static int open_mem(const char *mem_path, uint64_t size, struct err **err)
{
	/* O_NONBLOCK: a FIFO fails the type check below instead of hanging the open. */
	int fd = open(mem_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return err_make(err, e, "open `%s`", mem_path);
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		close(fd);
		return err_make(err, EINVAL, "`%s`: expected a %llu-byte memory file", mem_path,
				(unsigned long long)size);
	}
	return fd;
}

int vmm_restore_with(struct vm_config *cfg, const struct vmm_launch *launch,
		     const struct vmm_restore_args *a, int *ret_status, struct err **err)
{
	struct snap_reader rd;
	struct snap_config c;
	_cleanup_close_ int fd = -1;
	uint64_t t0 = now_us(); /* --debug logs where the restore's time goes */
	int r;

	r = snap_load(&rd, a->state_path, err);
	rd.t0_us = t0;
	rd.start_paused = a->paused;
	if (r >= 0) {
		r = snap_get(&rd, SNAP_CONFIG, 0, &c, sizeof(c), "config", err);
		if (r >= 0)
			r = check_config(&c, err);
		if (r >= 0)
			r = devcfg_restore(cfg, &rd, a, err);
		if (r < 0)
			err_wrap(err, "`%s`", a->state_path);
	}
	if (r >= 0)
		r = fd = open_mem(a->mem_path, c.memory, err);
	if (r >= 0) {
		log_debug("restore: `%s` read and checked in %llu us", a->state_path,
			  (unsigned long long)(now_us() - rd.t0_us));
		cfg->cpus = c.cpus;
		cfg->memory = c.memory;
		r = vm_run_restored(cfg, launch, &rd, fd, ret_status, err);
	}
	snap_reader_free(&rd);
	return r;
}

int vmm_restore(struct vm_config *cfg, const char *state_path, const char *mem_path,
		int *ret_status, struct err **err)
{
	struct vmm_restore_args a = {.state_path = state_path, .mem_path = mem_path};

	return vmm_restore_with(cfg, NULL, &a, ret_status, err);
}
