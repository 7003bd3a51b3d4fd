/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Two VMs alive at once in one process, each with its own virtio devices,
 * PCI bus, balloon, MSI routes and irqchip: every piece of a VM's state
 * hangs off its struct vm, none is a file-level global.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest-elf.h"
#include "tap.h"
#include "virtio/virtio.h"
#include "vm-internal.h"

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static int write_file(char *path, const void *buf, size_t len)
{
	int fd = mkstemp(path);
	int r = fd >= 0 && write(fd, buf, len) == (ssize_t)len ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return r;
}

static void config(struct vm_config *cfg, const char *kernel, const char *disk, bool pci)
{
	struct vm_disk_cfg d = {.path = (char *)disk};
	struct err *err = NULL;

	vmm_config_init(cfg);
	cfg->kernel = strdup(kernel);
	cfg->console = VM_CONSOLE_NONE;
	cfg->rng = true;
	cfg->balloon = true;
	cfg->virtio_pci = pci;
	cfg->split_irqchip = !pci; /* one VM of each irqchip */
	if (vm_config_add_disk(cfg, &d, "disk", &err) < 0)
		printf("# %s\n", err->msg);
	err_free(&err);
}

/* The VM's state hooks' names in order, "+" after those restored before the vCPUs. */
static bool state_names(struct vm *vm, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < vm->n_state_ops && len < cap; i++)
		len += snprintf(buf + len, cap - len, "%s%s%s", i ? " " : "",
				vm->state_ops[i]->name, vm->state_ops[i]->before_vcpus ? "+" : "");
	return len < cap;
}

/* The two VMs' devices answer for themselves: balloon targets, stats, MSI routes. */
static void test_two(struct vm *a, struct vm *b)
{
	struct vmm_virtio_stat st[8];
	struct vmm_balloon_info ia = {0}, ib = {0};
	struct err *err = NULL;
	uint32_t gsi_a = 0, gsi_b = 0;
	char names_a[128], names_b[128];
	unsigned slot;

	ok(vm_virtio(a) && vm_virtio(b) && vm_virtio(a) != vm_virtio(b), "each VM has its devices");
	ok(state_names(a, names_a, sizeof(names_a)) &&
	       !strcmp(names_a, "clock+ irqchip+ serial i8042 virtio") &&
	       state_names(b, names_b, sizeof(names_b)) && !strcmp(names_a, names_b),
	   "each VM has its clock, irqchip (before the vCPUs), serial, i8042 and virtio state "
	   "hooks: %s",
	   names_a);
	ok(a->state_ops[1] != b->state_ops[1] && a->state_ops[4] == b->state_ops[4],
	   "the in-kernel and the split irqchip save differently; the virtio set alike");
	is_int(vmm_virtio_stats(a, st, 8), 3, "VM a: disk, rng, balloon");
	is_int(vmm_virtio_stats(b, st, 8), 3, "VM b: disk, rng, balloon");
	is_int(vmm_balloon_set_target(a, 100, &err), 0, "VM a's balloon target");
	is_int(vmm_balloon_set_target(b, 200, &err), 0, "VM b's balloon target");
	ok(vmm_balloon_get(a, &ia, &err) == 0 && ia.target_pages == 100, "VM a keeps 100 pages");
	ok(vmm_balloon_get(b, &ib, &err) == 0 && ib.target_pages == 200, "VM b keeps 200 pages");
	is_int(vm_msi_route_alloc(a, &gsi_a, &err), 0, "an MSI route on VM a");
	is_int(vm_msi_route_alloc(b, &gsi_b, &err), 0, "an MSI route on VM b (split irqchip)");
	is_int(vm_msi_route_set(a, gsi_a, 0xfee00000, 0x41, &err), 0, "VM a's route set");
	is_int(vm_msi_route_set(b, gsi_b, 0xfee00000, 0x42, &err), 0, "VM b's route set");
	ok(a->msi[gsi_a - 32].data == 0x41 && b->msi[gsi_b - 32].data == 0x42,
	   "the routes are per VM");
	ok(vmm_virtio_pci_intx(a, 0, &slot, &gsi_a) == -ENOENT &&
	       vmm_virtio_pci_intx(b, 2, &slot, &gsi_b) == 0 &&
	       vmm_virtio_pci_intx(b, 3, &slot, &gsi_b) == -ENOENT,
	   "VM b has 3 virtio-pci functions, VM a none");
	err_free(&err);
}

int main(void)
{
	/* mov dx,0xf4; mov eax,5; out dx,eax */
	static const uint8_t code[] = {0x66, 0xba, 0xf4, 0x00, 0xb8, 5, 0, 0, 0, 0xef};
	char kernel[] = "/tmp/isola-test-guest.XXXXXX", disk[] = "/tmp/isola-test-disk.XXXXXX";
	static uint8_t zero[64 * 1024];
	uint8_t elf[512];
	size_t len = test_guest_elf(elf, code, sizeof(code), 0);
	struct vm_config ca, cb;
	struct vm *a = NULL, *b = NULL;
	struct err *err = NULL;
	int fds, threads;

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		skip("no usable /dev/kvm");
		return tap_done();
	}
	if (write_file(kernel, elf, len) < 0 || write_file(disk, zero, sizeof(zero)) < 0)
		return 1;
	fds = count_dir("/proc/self/fd");
	threads = count_dir("/proc/self/task");
	config(&ca, kernel, disk, false);
	config(&cb, kernel, disk, true);
	/* Both VMs open the one disk: readers do not lock it (only writers do). */
	ca.disks[0].readonly = cb.disks[0].readonly = true;
	if (!ok(vm_create(&ca, &a, &err) == 0, "VM a created %s", err ? err->msg : ""))
		err_free(&err);
	if (!ok(vm_create(&cb, &b, &err) == 0, "VM b created beside it %s", err ? err->msg : ""))
		err_free(&err);
	if (a && b)
		test_two(a, b);
	ok(a && vm_state_lock_all(a, false, &err) == 0 && vm_state_lock_all(a, true, &err) == 0,
	   "VM a drops and retakes its disk locks through its hooks");
	vm_destroy(a);
	ok(vmm_virtio_stats(b, (struct vmm_virtio_stat[3]){0}, 3) == 3, "VM b outlives VM a");
	vm_destroy(b);
	is_int(count_dir("/proc/self/fd"), fds, "both torn down: no fd left");
	for (int i = 0; i < 3000 && count_dir("/proc/self/task") != threads; i++)
		usleep(10000);
	is_int(count_dir("/proc/self/task"), threads, "no thread left");
	vmm_config_free(&ca);
	vmm_config_free(&cb);
	unlink(kernel);
	unlink(disk);
	return tap_done();
}
