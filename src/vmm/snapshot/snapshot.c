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
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "log.h"
#include "snapshot.h"

#define PAGE 4096u

int vmm_snapshot_supported(const struct vm_config *cfg, struct err **err)
{
	if (cfg->n_disks || cfg->n_nets || cfg->has_vsock || cfg->rng || cfg->balloon)
		return err_make(err, EOPNOTSUPP,
				"snapshot of a VM with virtio devices is not supported yet");
	if (cfg->split_irqchip)
		return err_make(err, EOPNOTSUPP,
				"snapshot with --irqchip split is not supported yet");
	return 0;
}

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

static int save_memory(struct vm *vm, const char *path, struct err **err)
{
	_cleanup_free_ char *base = NULL, *tmp = NULL;
	_cleanup_close_ int dfd = open_parent(path, &base, err);
	_cleanup_close_ int fd = -1;
	uint64_t off = 0;
	int r = 0;

	if (dfd < 0)
		return dfd;
	if (asprintf(&tmp, ".%s.tmp.%d", base, getpid()) < 0)
		return err_make(err, ENOMEM, "`%s`", path);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_make(err, errno, "create `%s`", path);
	if (ftruncate(fd, vm->ram_size) < 0)
		r = -errno;
	for (unsigned i = 0; r == 0 && i < vm->mem.nr; i++) {
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

static int save_state(struct vm *vm, struct snap_writer *w, struct err **err)
{
	struct snap_config c = {.cpus = vm->nr_vcpus, .memory = vm->ram_size};
	int r, khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);

	c.tsc_khz = khz > 0 ? (uint64_t)khz : 0;
	snap_put(w, SNAP_CONFIG, 0, &c, sizeof(c));
	r = vm_state_save(vm, w, err);
	for (unsigned i = 0; r >= 0 && i < vm->nr_vcpus; i++)
		r = vcpu_state_save(&vm->vcpus[i], w, err);
	if (r >= 0)
		r = serial_save(vm->serial, w, err);
	return r;
}

int vm_snapshot_save_state(struct vm *vm, struct snap_writer *w, struct err **err)
{
	return save_state(vm, w, err);
}

int vm_snapshot_create(struct vm *vm, const char *state_path, const char *mem_path,
		       struct err **err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *base = NULL;
	_cleanup_close_ int dfd = -1;
	struct snap_writer w;
	size_t len;
	int r = vmm_snapshot_supported(vm->cfg, err);

	if (r < 0)
		return r;
	r = vm_pause(vm, err);
	if (r < 0)
		return r;
	snap_writer_init(&w);
	r = save_state(vm, &w, err);
	if (r >= 0)
		r = save_memory(vm, mem_path, err);
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

void vm_snapshot_signal(struct vm *vm)
{
	_cleanup_err_ struct err *err = NULL;
	const struct vm_config *cfg = vm->cfg;

	if (!cfg->snapshot_state) {
		log_warn("SIGUSR2: no --snapshot-state given, no snapshot taken");
		return;
	}
	if (vm_snapshot_create(vm, cfg->snapshot_state, cfg->snapshot_mem, &err) < 0)
		log_error("snapshot: %s", err->msg);
	else
		log_info("snapshot written to `%s` and `%s`", cfg->snapshot_state,
			 cfg->snapshot_mem);
}

int vm_snapshot_restore_step(struct vm *vm, struct err **err)
{
	int r;

	if (!vm->snap)
		return 0;
	/* Migration: guest memory and vm->snap arrive now, and the source hears when they load. */
	if (vm->cfg->incoming && vm->cfg->incoming->receive(vm->cfg->incoming_ctx, vm, err) < 0)
		return err_code(*err);
	r = vm_state_restore(vm, vm->snap, err);
	for (unsigned i = 0; r >= 0 && i < vm->nr_vcpus; i++)
		r = vcpu_state_restore(&vm->vcpus[i], vm->snap, err);
	if (r >= 0)
		r = serial_restore(vm->serial, vm->snap, err);
	if (r < 0)
		return err_wrap(err, "restore");
	if (vm->cfg->incoming)
		return vm->cfg->incoming->confirm(vm->cfg->incoming_ctx, err);
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
	return 0;
}

int vmm_restore(struct vm_config *cfg, const char *state_path, const char *mem_path,
		int *ret_status, struct err **err)
{
	struct snap_reader rd;
	struct snap_config c;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r = snap_load(&rd, state_path, err);

	if (r >= 0) {
		r = snap_get(&rd, SNAP_CONFIG, 0, &c, sizeof(c), "config", err);
		if (r >= 0)
			r = check_config(&c, err);
		if (r < 0)
			err_wrap(err, "`%s`", state_path);
	}
	if (r >= 0) {
		fd = open(mem_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 || fstat(fd, &st) < 0)
			r = err_make(err, errno, "open `%s`", mem_path);
		else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != c.memory)
			r = err_make(err, EINVAL, "`%s`: expected a %llu-byte memory file",
				     mem_path, (unsigned long long)c.memory);
	}
	if (r >= 0) {
		cfg->cpus = c.cpus;
		cfg->memory = c.memory;
		r = vm_run_restored(cfg, &rd, fd, ret_status, err);
	}
	snap_reader_free(&rd);
	return r;
}
