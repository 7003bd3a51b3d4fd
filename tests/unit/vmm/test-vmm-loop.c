/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 200 VMs in a row in one process, alternating the in-kernel and the split
 * irqchip: every run exits with the guest's code and
 * the process ends with the fds and threads it started with.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest-elf.h"
#include "tap.h"
#include "vm.h"

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

int main(void)
{
	/* mov dx,0xf4; mov eax,5; out dx,eax */
	static const uint8_t code[] = {0x66, 0xba, 0xf4, 0x00, 0xb8, 5, 0, 0, 0, 0xef};
	char path[] = "/tmp/isola-test-guest.XXXXXX";
	uint8_t elf[512];
	size_t len = test_guest_elf(elf, code, sizeof(code), 0);
	struct vm_config cfg;
	int fd, fds, threads, bad = 0;

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		skip("no usable /dev/kvm");
		return tap_done();
	}
	fd = mkstemp(path);
	if (fd < 0 || write(fd, elf, len) != (ssize_t)len)
		return 1;
	close(fd);
	vmm_config_init(&cfg);
	cfg.kernel = strdup(path);
	cfg.console = VM_CONSOLE_NONE;
	cfg.cpus = 2;
	fds = count_dir("/proc/self/fd");
	threads = count_dir("/proc/self/task");
	for (int i = 0; i < 200; i++) {
		cfg.split_irqchip = i % 2; /* both irqchip set-ups and teardowns */
		struct err *err = NULL;
		int status = -1;

		if (vmm_run(&cfg, NULL, &status, &err) < 0 || status != 5) {
			printf("# run %d: status %d %s\n", i, status, err ? err->msg : "");
			bad++;
		}
		err_free(&err);
	}
	is_int(bad, 0, "200 VMs exited with their debug-exit value 5");
	is_int(count_dir("/proc/self/fd"), fds, "no fd leaked");
	/*
	 * KVM's per-VM worker (kvm-nx-lpage-recovery) is a thread of this
	 * process until the VM is freed, which close_async() leaves to a kernel
	 * worker: wait for them all to go, bounded.
	 */
	for (int i = 0; i < 3000 && count_dir("/proc/self/task") != threads; i++)
		usleep(10000);
	is_int(count_dir("/proc/self/task"), threads, "no thread left");
	vmm_config_free(&cfg);
	unlink(path);
	return tap_done();
}
