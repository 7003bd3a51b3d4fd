/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vCPU threads: create and configure the vCPUs, run KVM_RUN loops and route
 * their exits.  A stop is signalled with SIGUSR1 plus kvm_run.immediate_exit
 * so a vCPU leaves KVM_RUN even if the signal lands just before it enters.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "../vm-internal.h"

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_install_kick_handler(struct err **err)
{
	struct sigaction sa = {.sa_handler = kick_handler};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return err_make(err, errno, "sigaction SIGUSR1");
	return 0;
}

static int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id, struct err **err)
{
	void *run;
	int r;

	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return err_make(err, errno, "KVM_CREATE_VCPU %u", id);
	run = mmap(NULL, vm->caps.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED)
		return err_make(err, errno, "mmap kvm_run of vCPU %u", id);
	v->run = run;
	kvm_coalesced_attach(vm, run);
	r = cpuid_setup_vcpu(vm, v, err);
	if (r >= 0)
		r = vcpu_setup_fpu_msrs_lapic(v, err);
	if (r >= 0 && id == 0)
		r = vcpu_setup_boot_regs(v, &vm->boot, err);
	return r < 0 ? err_wrap(err, "vCPU %u", id) : 0;
}

int vcpu_create_all(struct vm *vm, struct err **err)
{
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return err_make(err, ENOMEM, "allocate vCPUs");
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int r = vcpu_create(vm, &vm->vcpus[i], i, err);

		if (r < 0)
			return r;
	}
	return 0;
}

void vcpu_destroy_all(struct vm *vm)
{
	vm->coalesced_ring = NULL; /* it lives in vCPU 0's mapping */
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run)
			munmap(v->run, vm->caps.run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
}

/* Stop the VM with an error naming this vCPU; dump (owned) is appended. */
static void __attribute__((format(printf, 4, 5)))
stop_with_error(struct vcpu *v, int errnum, char *dump, const char *fmt, ...)
{
	struct err *e = NULL;
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	err_make(&e, errnum, "vCPU %u: %s%s%s", v->id, msg ? msg : "error", dump ? "\n" : "",
		 dump ? dump : "");
	free(msg);
	free(dump);
	vm_request_stop(v->vm, 1, e);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		if (!bus_access(&v->vm->pio, run->io.port, data, run->io.size,
				run->io.direction == KVM_EXIT_IO_OUT) &&
		    run->io.port != 0x80)
			log_debug("vCPU %u: unhandled port %#x", v->id, run->io.port);
}

static void handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(v->vm, 0, NULL);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_reboot(v->vm);
		break;
	default:
		stop_with_error(v, 0, NULL, "guest system event %u (crash)",
				v->run->system_event.type);
	}
}

static void count(uint64_t *c)
{
	__atomic_store_n(c, *c + 1, __ATOMIC_RELAXED); /* one writer: this vCPU */
}

static void handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	/* Writes KVM held back in the ring happened before this exit: replay them first. */
	kvm_coalesced_drain(v->vm);
	count(&v->stats.exits);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		count(run->io.direction == KVM_EXIT_IO_OUT ? &v->stats.io_out : &v->stats.io_in);
		handle_io(v);
		break;
	case KVM_EXIT_MMIO:
		count(run->mmio.is_write ? &v->stats.mmio_write : &v->stats.mmio_read);
		if (!bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
				run->mmio.is_write))
			log_debug("vCPU %u: unhandled MMIO %#llx", v->id,
				  (unsigned long long)run->mmio.phys_addr);
		break;
	case KVM_EXIT_HLT:
		vm_request_stop(v->vm, 0, NULL);
		break;
	case KVM_EXIT_SHUTDOWN:
		/* Also how a crash ends: an error, unless the user wants reboots to restart. */
		if (v->vm->cfg->on_reboot == VM_REBOOT_RESTART) {
			vm_request_reboot(v->vm);
			break;
		}
		stop_with_error(v, 0, vcpu_dump_regs(v), "guest triple fault (KVM_EXIT_SHUTDOWN)");
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(v);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		stop_with_error(v, 0, vcpu_dump_regs(v), "KVM_EXIT_FAIL_ENTRY, reason %#llx",
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		stop_with_error(v, 0, vcpu_dump_regs(v), "KVM_EXIT_INTERNAL_ERROR, suberror %llu",
				(unsigned long long)run->internal.suberror);
		break;
	case KVM_EXIT_IOAPIC_EOI:
		vm_irqchip_eoi(v->vm, run->eoi.vector);
		break;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		break;
	default:
		stop_with_error(v, 0, vcpu_dump_regs(v), "unexpected KVM exit reason %llu",
				(unsigned long long)run->exit_reason);
	}
}

/*
 * Enter KVM_RUN with immediate_exit set, which completes a pending PIO/MMIO
 * exit without running guest code (KVM API: required before reading vCPU
 * state).  Completing one iteration of a string instruction (`rep outsb`)
 * can end in the next iteration's exit instead of -EINTR: that exit is
 * handled like any other, or its byte would be lost and the saved state
 * would hold an operation still pending.  KVM goes back to the guest after
 * at most 1024 iterations, so the loop is bounded.
 */
static void vcpu_complete_pending(struct vcpu *v)
{
	for (unsigned i = 0; i <= 1024; i++) {
		v->run->immediate_exit = 1;
		if (ioctl(v->fd, KVM_RUN, 0) < 0)
			return; /* -EINTR: nothing pending any more */
		handle_exit(v);
	}
}

/*
 * A snapshot's pause (snapshot/pause.c) raised pause_req and kicked this vCPU
 * out of KVM_RUN.  Complete what is pending and wait on pause_cond until
 * resumed.
 */
static void vcpu_park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	vcpu_complete_pending(v);
	kvm_coalesced_drain(vm); /* the devices' saved state includes every write */
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->pause_req))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->pause_lock);
	/* A stop may have been requested meanwhile: it sets immediate_exit under stop_lock. */
	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_load(&vm->stopping))
		v->run->immediate_exit = 0;
	pthread_mutex_unlock(&vm->stop_lock);
}

static void vcpu_loop(struct vcpu *v, bool on_main)
{
	while (!atomic_load(&v->vm->stopping)) {
		if (atomic_load(&v->vm->pause_req)) {
			vcpu_park(v);
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno != EINTR && errno != EAGAIN) {
				stop_with_error(v, errno, NULL, "KVM_RUN");
				break;
			}
			if (on_main)
				vm_take_signals(v->vm);
			continue;
		}
		handle_exit(v);
	}
}

static void *vcpu_thread(void *arg)
{
	vcpu_loop(arg, false);
	return NULL;
}

void vcpu_run_on_main(struct vm *vm)
{
	vcpu_loop(&vm->vcpus[0], true);
}

/* /dev/null or closed: a console with nothing to read. */
static bool stdin_is_empty(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return errno == EBADF;
	return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

/*
 * vCPU 0 runs on the main thread when the VM has one vCPU and the main thread
 * has nothing else to wait for (vm_wait()): no API server, no userspace PIT
 * timer (split irqchip), no console input, no snapshot on SIGUSR2, no
 * migration coming in.  That saves a thread and two hand-offs per VM: under
 * load, each is a wait for a CPU.
 */
static bool vcpu0_fits_main(const struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;

	return vm->nr_vcpus == 1 && !cfg->api_sock && vm->launch.api_listen_fd < 0 && !vm->pit &&
	       !cfg->snapshot_state && !vm->launch.incoming &&
	       (cfg->console != VM_CONSOLE_STDIO || !vm->serial || stdin_is_empty());
}

/*
 * The main thread keeps SIGINT/SIGTERM/SIGUSR2 blocked (vm_wait() takes them
 * from a signalfd); vCPU 0 on it unblocks them only inside KVM_RUN
 * (KVM_SET_SIGNAL_MASK), so a signal sent while it runs guest code, or
 * pending when it enters, makes KVM_RUN return -EINTR and stays pending for
 * vm_take_signals().
 */
static int vcpu_unblock_in_run(struct vcpu *v, struct err **err)
{
	_Alignas(struct kvm_signal_mask) uint8_t buf[sizeof(struct kvm_signal_mask) + 8];
	struct kvm_signal_mask *m = (struct kvm_signal_mask *)buf;
	sigset_t set;

	pthread_sigmask(SIG_BLOCK, NULL, &set);
	sigdelset(&set, SIGINT);
	sigdelset(&set, SIGTERM);
	sigdelset(&set, SIGUSR2);
	m->len = 8; /* the kernel's sigset_t: signals 1..64, as glibc's first word */
	memcpy(m->sigset, &set, 8);
	if (ioctl(v->fd, KVM_SET_SIGNAL_MASK, m) < 0)
		return err_make(err, errno, "KVM_SET_SIGNAL_MASK");
	return 0;
}

int vcpu_start_all(struct vm *vm, struct err **err)
{
	sigset_t block;
	unsigned first = 0;
	int r;

	/* SIGINT/SIGTERM go to the main thread's signalfd; vCPUs inherit the mask. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR2); /* snapshot request */
	pthread_sigmask(SIG_BLOCK, &block, &vm->saved_sigmask);
	r = vcpu_install_kick_handler(err);
	if (r < 0)
		return r;
	if (vcpu0_fits_main(vm)) {
		r = vcpu_unblock_in_run(&vm->vcpus[0], err);
		if (r < 0)
			return r;
		vm->vcpu0_on_main = true;
		first = 1;
	}
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->vcpu0_on_main) {
		vm->vcpus[0].thread = pthread_self(); /* kicked like the others */
		vm->vcpus[0].thread_started = true;
	}
	for (unsigned i = first; i < vm->nr_vcpus && r == 0; i++) {
		struct vcpu *v = &vm->vcpus[i];
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		r = pthread_create(&v->thread, &attr, vcpu_thread, v);
		pthread_attr_destroy(&attr);
		v->thread_started = r == 0;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	return r ? err_make(err, r, "start a vCPU thread") : 0;
}

/*
 * The VMM's peak RSS so far (VmHWM: this process's own, unlike a parent's
 * ru_maxrss, which also counts the image the exec replaced), for --debug.
 */
static void log_peak_rss(void)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			log_debug("peak RSS (VmHWM): %llu KiB", strtoull(line + 6, NULL, 10));
	if (f)
		fclose(f);
}

void vcpu_join_all(struct vm *vm)
{
	if (!atomic_load(&vm->stopping))
		vm_request_stop(vm, 0, NULL);
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].thread_started &&
		    !pthread_equal(vm->vcpus[i].thread, pthread_self()))
			pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].thread_started = false;
	}
	kvm_coalesced_drain(vm); /* the last writes before the guest stopped */
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;

		log_debug(
		    "vCPU %u: %llu exits (port in %llu, out %llu; MMIO read %llu, write %llu)", i,
		    (unsigned long long)s->exits, (unsigned long long)s->io_in,
		    (unsigned long long)s->io_out, (unsigned long long)s->mmio_read,
		    (unsigned long long)s->mmio_write);
	}
	if (vm->coalesced_ring)
		log_debug("coalesced writes replayed: %llu",
			  (unsigned long long)vm->coalesced_writes);
	if (log_debug_enabled())
		log_peak_rss();
	pthread_sigmask(SIG_SETMASK, &vm->saved_sigmask, NULL);
}
