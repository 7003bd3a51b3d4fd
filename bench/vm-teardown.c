/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How long a parent waits for a child that built a VM (in-kernel irqchip,
 * PIT, one vCPU, 64 MiB slot) and exits, by how the child drops the VM fd:
 *   close        close(2): the child's exit waits for KVM's teardown
 *   scm-cycle    in flight on a unix socket that holds only itself, freed by
 *                the kernel's unix garbage collector from a worker (what
 *                isola's close_async() does)
 *   clone-vm     a CLONE_VM child keeps the fd and closes it after the
 *                parent exits (a process outlives the VMM; init reaps it)
 * Prints the median and the 10th/90th percentiles in milliseconds.
 * Usage: vm-teardown [RUNS]  (default 41, at most 101)
 * Build: cc -O2 -o vm-teardown vm-teardown.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 101

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void scm_cycle(int fd)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u = {0};
	char byte = 0;
	struct iovec iov = {&byte, 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int sv[2], fds[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		exit(1);
	fds[0] = sv[1];
	fds[1] = fd;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (sendmsg(sv[0], &m, 0) < 0)
		exit(1);
	close(sv[0]);
	close(sv[1]);
	close(fd);
}

static int reaper_fd;

static int reaper(void *arg)
{
	(void)arg;
	syscall(SYS_close_range, 0, reaper_fd - 1, 0);
	syscall(SYS_close_range, reaper_fd + 1, ~0U, 0);
	syscall(SYS_close, reaper_fd);
	syscall(SYS_exit, 0);
	return 0;
}

static void clone_vm(int fd)
{
	size_t sz = 64 * 1024;
	char *stack =
	    mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	reaper_fd = fd;
	if (stack == MAP_FAILED || clone(reaper, stack + sz, CLONE_VM, NULL) < 0)
		exit(1);
	close(fd);
}

static void child(int mode)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	void *mem = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct kvm_userspace_memory_region r = {.memory_size = 64 << 20,
						.userspace_addr = (unsigned long)mem};

	if (kvm < 0 || vm < 0 || ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0 ||
	    ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		_exit(1);
	close(ioctl(vm, KVM_CREATE_VCPU, 0));
	if (mode == 0)
		close(vm);
	else if (mode == 1)
		scm_cycle(vm);
	else
		clone_vm(vm);
	_exit(0);
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"close", "scm-cycle", "clone-vm"};
	char *end = NULL;
	long n = argc > 1 ? strtol(argv[1], &end, 10) : 41;
	double t[3][MAX_RUNS];

	if ((end && *end) || n < 1 || n > MAX_RUNS) {
		fprintf(stderr, "vm-teardown: RUNS must be 1-%d\n", MAX_RUNS);
		return 2;
	}
	for (int i = 0; i < n; i++)
		for (int mode = 0; mode < 3; mode++) { /* alternating */
			double t0 = now_ms();
			int status = 1;
			pid_t p = fork();

			if (p == 0)
				child(mode);
			waitpid(p, &status, 0);
			t[mode][i] = now_ms() - t0;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				fprintf(stderr, "vm-teardown: no usable /dev/kvm\n");
				return 1;
			}
		}
	for (int mode = 0; mode < 3; mode++) {
		qsort(t[mode], n, sizeof(double), cmp);
		printf("%-10s median %6.2f ms  p10 %6.2f  p90 %6.2f\n", names[mode], t[mode][n / 2],
		       t[mode][n / 10], t[mode][n * 9 / 10]);
	}
	return 0;
}
