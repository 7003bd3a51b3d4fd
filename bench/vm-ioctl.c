/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * KVM floor costs on this host: KVM_CREATE_VM (+ close), a memory slot
 * before and after the in-kernel irqchip and PIT, KVM_CREATE_VCPU, and one port-I/O exit
 * round trip (guest OUT -> KVM_RUN returns -> KVM_RUN again), and what
 * closing the VM fd costs bare, with only the irqchip, and fully built.
 * Prints the median of each in microseconds.  Build: cc -O2 -o vm-ioctl vm-ioctl.c
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define N 41

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return v[n / 2];
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(void)
{
	double create[N], destroy[N], irq[N], slot[N], slot2[N], vcpu[N], pio[N], bare[N],
	    irqonly[N];
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int run_size;

	if (kvm < 0)
		die("/dev/kvm");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	for (int i = 0; i < N; i++) {
		double t0 = now_us(), t1, t2, t3, t3b, t4, t5;
		int vm = ioctl(kvm, KVM_CREATE_VM, 0), cpu;
		struct kvm_pit_config pit = {0};
		uint8_t *mem;
		struct kvm_run *run;

		if (vm < 0)
			die("KVM_CREATE_VM");
		t1 = now_us();
		mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		struct kvm_userspace_memory_region r = {.memory_size = 1 << 20,
							.userspace_addr = (uintptr_t)mem};
		if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			die("slot");
		t2 = now_us();
		ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000);
		if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
			die("irqchip");
		t3 = now_us();
		/* A second slot once the irqchip exists (what a late device mapping costs). */
		r.slot = 1;
		r.guest_phys_addr = 1 << 30;
		if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			die("slot 2");
		t3b = now_us();
		cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
		if (cpu < 0)
			die("vcpu");
		t4 = now_us();
		run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
		/* real mode at 0x1000: out 0x10, al ; jmp back */
		static const uint8_t code[] = {0xe6, 0x10, 0xeb, 0xfc};
		memcpy(mem + 0x1000, code, sizeof(code));
		struct kvm_sregs s;
		ioctl(cpu, KVM_GET_SREGS, &s);
		s.cs.base = 0;
		s.cs.selector = 0;
		ioctl(cpu, KVM_SET_SREGS, &s);
		struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
		ioctl(cpu, KVM_SET_REGS, &regs);
		ioctl(cpu, KVM_RUN, 0); /* warm up: first entry */
		double p0 = now_us();
		for (int k = 0; k < 100; k++)
			if (ioctl(cpu, KVM_RUN, 0) < 0 || run->exit_reason != KVM_EXIT_IO)
				die("KVM_RUN");
		pio[i] = (now_us() - p0) / 100;
		munmap(run, run_size);
		close(cpu);
		t5 = now_us();
		close(vm);
		munmap(mem, 1 << 20);
		destroy[i] = now_us() - t5;
		create[i] = t1 - t0;
		slot[i] = t2 - t1;
		irq[i] = t3 - t2;
		slot2[i] = t3b - t3;
		vcpu[i] = t4 - t3b;
	}
	for (int i = 0; i < N; i++) {
		int vm = ioctl(kvm, KVM_CREATE_VM, 0);
		double t0;

		if (vm < 0)
			die("KVM_CREATE_VM");
		t0 = now_us();
		close(vm);
		bare[i] = now_us() - t0;
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
		if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
			die("KVM_CREATE_IRQCHIP");
		t0 = now_us();
		close(vm);
		irqonly[i] = now_us() - t0;
	}
	printf("KVM_CREATE_VM          %8.1f us\n", median(create, N));
	printf("memory slot, no irqchip %7.1f us\n", median(slot, N));
	printf("irqchip + PIT2         %8.1f us\n", median(irq, N));
	printf("memory slot after irqchip %5.1f us\n", median(slot2, N));
	printf("KVM_CREATE_VCPU        %8.1f us\n", median(vcpu, N));
	printf("PIO exit round trip    %8.1f us\n", median(pio, N));
	printf("close(VM fd) (destroy) %8.1f us\n", median(destroy, N));
	printf("close(bare VM fd)      %8.1f us\n", median(bare, N));
	printf("close(VM + irqchip)    %8.1f us\n", median(irqonly, N));
	return 0;
}
