/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VM's life: an explicit, ordered bring-up table (core, memory, irqchip,
 * devices, virtio, boot, vCPUs) torn down in reverse, and the main thread's
 * wait for the guest to stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "api/api.h"
#include "snapshot/snapshot.h"
#include "virtio/virtio.h"
#include "vm-internal.h"

struct guest_mem *vm_guest_mem(struct vm *vm)
{
	return &vm->mem;
}

void vmm_launch_init(struct vmm_launch *l)
{
	*l = (struct vmm_launch){.api_listen_fd = -1, .api_start_fd = -1, .metrics_fd = -1};
}

void vmm_launch_fini(struct vmm_launch *l)
{
	if (l->api_start_fd >= 0)
		close(l->api_start_fd);
	if (l->metrics_fd >= 0)
		close(l->metrics_fd);
	if (l->api_listen_fd >= 0)
		close(l->api_listen_fd);
	vmm_launch_init(l);
}

int vm_state_register(struct vm *vm, const struct vm_state_ops *ops, struct err **err)
{
	if (vm->n_state_ops == VM_MAX_STATE_OPS)
		return err_make(err, ENOSPC, "%s: more than %d stateful components", ops->name,
				VM_MAX_STATE_OPS);
	vm->state_ops[vm->n_state_ops++] = ops;
	return 0;
}

void vm_state_unregister(struct vm *vm, const struct vm_state_ops *ops)
{
	for (unsigned i = 0; i < vm->n_state_ops; i++) {
		if (vm->state_ops[i] != ops)
			continue;
		memmove(&vm->state_ops[i], &vm->state_ops[i + 1],
			(vm->n_state_ops - i - 1) * sizeof(vm->state_ops[0]));
		vm->n_state_ops--;
		return;
	}
}

int vm_state_save_all(struct vm *vm, bool before_vcpus, struct snap_writer *w, struct err **err)
{
	int r = 0;

	for (unsigned i = 0; r >= 0 && i < vm->n_state_ops; i++)
		if (vm->state_ops[i]->save && vm->state_ops[i]->before_vcpus == before_vcpus)
			r = vm->state_ops[i]->save(vm, w, err);
	return r;
}

int vm_state_restore_all(struct vm *vm, bool before_vcpus, const struct snap_reader *rd,
			 struct err **err)
{
	int r = 0;

	for (unsigned i = 0; r >= 0 && i < vm->n_state_ops; i++)
		if (vm->state_ops[i]->restore && vm->state_ops[i]->before_vcpus == before_vcpus)
			r = vm->state_ops[i]->restore(vm, rd, err);
	return r;
}

int vm_state_can_save_all(struct vm *vm, struct err **err)
{
	int r = 0;

	for (unsigned i = 0; r >= 0 && i < vm->n_state_ops; i++)
		if (vm->state_ops[i]->can_save)
			r = vm->state_ops[i]->can_save(vm, err);
	return r;
}

void vm_state_pause_all(struct vm *vm, bool paused)
{
	for (unsigned i = 0; i < vm->n_state_ops; i++)
		if (vm->state_ops[i]->pause)
			vm->state_ops[i]->pause(vm, paused);
}

void vm_state_kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->n_state_ops; i++)
		if (vm->state_ops[i]->kick)
			vm->state_ops[i]->kick(vm);
}

int vm_state_lock_all(struct vm *vm, bool on, struct err **err)
{
	int ret = 0;

	for (unsigned i = 0; i < vm->n_state_ops; i++) {
		_cleanup_err_ struct err *e = NULL;
		int r = vm->state_ops[i]->lock ? vm->state_ops[i]->lock(vm, on, &e) : 0;

		if (r < 0 && ret == 0) {
			ret = r;
			*err = TAKE_PTR(e); /* the first error is the one reported */
		}
	}
	return ret;
}

const struct vmm_launch *vm_get_launch(struct vm *vm)
{
	return &vm->launch;
}

struct vm_virtio *vm_virtio(struct vm *vm)
{
	return vm->virtio;
}

void vm_set_virtio(struct vm *vm, struct vm_virtio *v)
{
	vm->virtio = v;
}

struct bus *vm_mmio_bus(struct vm *vm)
{
	return &vm->mmio;
}

struct bus *vm_pio_bus(struct vm *vm)
{
	return &vm->pio;
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t len, bool datamatch, uint64_t data, int efd,
		 struct err **err)
{
	struct kvm_ioeventfd io = {.datamatch = data, .addr = addr, .len = len, .fd = efd};

	if (!vm->caps.ioeventfd)
		return err_make(err, EOPNOTSUPP, "KVM_IOEVENTFD is not supported by /dev/kvm");
	if (datamatch)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return err_make(err, errno, "KVM_IOEVENTFD %#llx", (unsigned long long)addr);
	return 0;
}

int vm_alloc_mmio(struct vm *vm, uint64_t len, uint64_t *ret_base, uint32_t *ret_gsi,
		  struct err **err)
{
	uint64_t size = (len + 0xfff) & ~0xfffULL;

	if (len == 0 || size > VM_VIRTIO_MMIO_END - vm->next_mmio)
		return err_make(err, ENOSPC, "no room for a %llu-byte MMIO window",
				(unsigned long long)len);
	if (vm->next_gsi > VM_MAX_GSI)
		return err_make(err, ENOSPC, "no free interrupt line (GSI) for a device");
	*ret_base = vm->next_mmio;
	*ret_gsi = vm->next_gsi++;
	vm->next_mmio += size;
	return 0;
}

int vm_cmdline_append(struct vm *vm, const char *s, struct err **err)
{
	size_t n = strlen(s), sep = vm->cmdline_len ? 1 : 0;

	if (vm->cmdline_len + sep + n + 1 > sizeof(vm->cmdline))
		return err_make(err, E2BIG, "kernel command line longer than %d bytes",
				VM_MAX_CMDLINE - 1);
	if (sep)
		vm->cmdline[vm->cmdline_len++] = ' ';
	memcpy(vm->cmdline + vm->cmdline_len, s, n + 1);
	vm->cmdline_len += n;
	return 0;
}

void vm_request_reboot(struct vm *vm)
{
	vm_request_stop(vm, VMM_EXIT_REBOOT, NULL);
}

/* Called from any thread; the first reason to stop wins. Takes ownership of why. */
void vm_request_stop(struct vm *vm, int status, struct err *why)
{
	uint64_t one = 1;

	/* Under the lock: vcpu_start_all() publishes thread handles under it too. */
	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_load(&vm->stopping)) {
		vm->exit_status = status;
		vm->stop_err = why;
		why = NULL;
		atomic_store(&vm->stopping, true);
	} else if (vm->exit_status == VMM_EXIT_REBOOT &&
		   (status == 128 + SIGINT || status == 128 + SIGTERM)) {
		/* A guest that reboots at the moment the user stops it must not swallow the
		 * stop: with --on-reboot restart it would boot again and never end. */
		vm->exit_status = status;
	}
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run)
			v->run->immediate_exit = 1;
		if (v->thread_started && !pthread_equal(v->thread, pthread_self()))
			pthread_kill(v->thread, SIGUSR1);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	err_free(&why);
	(void)!write(vm->stop_efd, &one, sizeof(one));
}

static int core_setup(struct vm *vm, struct err **err)
{
	int r = kvm_open(vm, err);

	if (r < 0)
		return r;
	if (vm->cfg->cpus > (unsigned)vm->caps.max_vcpus)
		return err_make(err, EINVAL, "--cpus %u: this host's KVM allows at most %d vCPUs",
				vm->cfg->cpus, vm->caps.max_vcpus);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return err_make(err, errno, "KVM_CREATE_VM");
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		return err_make(err, errno, "eventfd");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, VM_TSS_ADDR) < 0)
		return err_make(err, errno, "KVM_SET_TSS_ADDR");
	uint64_t idmap = VM_IDENTITY_MAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return err_make(err, errno, "KVM_SET_IDENTITY_MAP_ADDR");
	return kvm_clock_register(vm, err);
}

static void core_teardown(struct vm *vm)
{
	kvm_clock_unregister(vm);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	/*
	 * The VM's own teardown (in-kernel irqchip, PIT thread) costs ~15 ms,
	 * paid by whoever drops the last reference: not the caller waiting for
	 * the guest's exit status.  Everything else is already closed.
	 */
	close_async(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
}

static int console_setup(struct vm *vm, struct err **err)
{
	const struct vm_config *cfg = vm->cfg;

	if (cfg->console == VM_CONSOLE_STDIO) {
		vm->console_fd = STDOUT_FILENO;
	} else if (cfg->console == VM_CONSOLE_FILE) {
		vm->console_fd = open(cfg->console_path,
				      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
		if (vm->console_fd < 0)
			return err_make(err, errno, "--console: open `%s`", cfg->console_path);
		vm->console_owned = true;
	}
	return 0;
}

static void console_teardown(struct vm *vm)
{
	if (vm->console_owned)
		close(vm->console_fd);
}

static int devices_setup(struct vm *vm, struct err **err)
{
	int r = serial_create(vm, err);

	if (r >= 0)
		r = legacy_devices_create(vm, err);
	return r < 0 ? r : acpi_pm_create(vm, err);
}

static void devices_teardown(struct vm *vm)
{
	legacy_devices_destroy(vm);
	serial_destroy(vm);
}

static int virtio_setup(struct vm *vm, struct err **err)
{
	return vmm_virtio_setup(vm, vm->cfg, err);
}

static int boot_setup(struct vm *vm, struct err **err)
{
	int r = cpuid_init(vm, err);

	/* A restored guest's memory already holds everything boot_load() writes. */
	return r < 0 || vm->snap ? r : boot_load(vm, err);
}

/* The bring-up order; teardown runs backwards from the last step that succeeded. */
static const struct vm_step {
	const char *name;
	int (*setup)(struct vm *vm, struct err **err);
	void (*teardown)(struct vm *vm);
} vm_steps[] = {
    {"kvm", core_setup, core_teardown},
    {"memory", vm_memory_setup, vm_memory_teardown},
    {"irqchip", vm_irqchip_setup, vm_irqchip_teardown},
    {"console", console_setup, console_teardown},
    {"devices", devices_setup, devices_teardown},
    {"virtio", virtio_setup, vmm_virtio_teardown},
    {"boot", boot_setup, NULL},
    {"vcpus", vcpu_create_all, vcpu_destroy_all},
    {"restore", vm_snapshot_restore_step, NULL},
    {"run", vcpu_start_all, vcpu_join_all},
    {"api", vm_api_start, vm_api_stop},
};

/* The index of the step named `name` (the bring-up table's size when absent). */
static size_t step_index(const char *name)
{
	size_t i = 0;

	while (i < ARRAY_SIZE(vm_steps) && strcmp(vm_steps[i].name, name))
		i++;
	return i;
}

/* A VM not set up yet: every fd -1, nothing allocated but the struct. */
static struct vm *vm_new(struct vm_config *cfg, const struct vmm_launch *launch, struct err **err)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm) {
		err_make(err, ENOMEM, "allocate the VM");
		return NULL;
	}
	*vm = (struct vm){
	    .cfg = cfg,
	    .kvm_fd = -1,
	    .vm_fd = -1,
	    .stop_efd = -1,
	    .console_fd = -1,
	    .next_mmio = VM_VIRTIO_MMIO_BASE,
	    .next_gsi = VM_FIRST_DEVICE_GSI,
	    .nr_vcpus = cfg->cpus,
	    .snap_mem_fd = -1,
	};
	if (launch)
		vm->launch = *launch;
	else
		vmm_launch_init(&vm->launch);
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_mutex_init(&vm->cfg_lock, NULL);
	pthread_mutex_init(&vm->route_lock, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_mutex_init(&vm->coalesced_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	return vm;
}

/* Run the bring-up steps from the next one not done up to (not including) `end`. */
static int vm_steps_up(struct vm *vm, size_t end, struct err **err)
{
	int r = 0;

	if (vm->steps_done == 0 && vm->cfg->cmdline)
		r = vm_cmdline_append(vm, vm->cfg->cmdline, err);
	while (r >= 0 && vm->steps_done < end) {
		r = vm_steps[vm->steps_done].setup(vm, err);
		vm->steps_done++; /* a failed step still undoes what it did */
	}
	return r;
}

/* Tear down every step that ran, in reverse. */
static void vm_steps_down(struct vm *vm)
{
	while (vm->steps_done > 0) {
		vm->steps_done--;
		if (vm_steps[vm->steps_done].teardown)
			vm_steps[vm->steps_done].teardown(vm);
	}
}

/* Tear down what is left and free the VM. */
static void vm_free(struct vm *vm)
{
	vm_steps_down(vm);
	err_free(&vm->stop_err);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_mutex_destroy(&vm->cfg_lock);
	pthread_mutex_destroy(&vm->route_lock);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_mutex_destroy(&vm->coalesced_lock);
	pthread_cond_destroy(&vm->pause_cond);
	free(vm);
}

int vm_create(struct vm_config *cfg, struct vm **ret_vm, struct err **err)
{
	struct vm *vm = vm_new(cfg, NULL, err);
	int r;

	if (!vm)
		return -ENOMEM;
	r = vm_steps_up(vm, step_index("restore"), err);
	if (r < 0) {
		vm_free(vm);
		return r;
	}
	*ret_vm = vm;
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (vm)
		vm_free(vm);
}

int vmm_run(struct vm_config *cfg, const struct vmm_launch *launch, int *ret_status,
	    struct err **err)
{
	return vm_run_restored(cfg, launch, NULL, -1, ret_status, err);
}

int vm_run_restored(struct vm_config *cfg, const struct vmm_launch *launch,
		    const struct snap_reader *snap, int mem_fd, int *ret_status, struct err **err)
{
	struct vm *vm = vm_new(cfg, launch, err);
	int r;

	if (!vm)
		return -ENOMEM;
	vm->snap = snap;
	vm->snap_mem_fd = mem_fd;
	r = vm_steps_up(vm, ARRAY_SIZE(vm_steps), err);
	if (r >= 0)
		vm_wait(vm);
	/* The vCPUs are joined and the devices gone before the status is read. */
	vm_steps_down(vm);
	if (r >= 0 && vm->stop_err) {
		*err = TAKE_PTR(vm->stop_err);
		r = err_code(*err);
	} else if (r >= 0) {
		*ret_status = vm->exit_status;
		if (vm->exit_status == VMM_EXIT_REBOOT && cfg->on_reboot == VM_REBOOT_EXIT)
			*ret_status = 0;
	}
	vm_free(vm);
	return r;
}
