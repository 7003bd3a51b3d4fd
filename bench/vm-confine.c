/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the VMM's confinement (src/vmm/confine.c) costs: installing it (the
 * capability cut and the seccomp filter, in a fresh child each time), and
 * the time of an ioctl (a call the filter judges by its argument, as
 * KVM_RUN) and of getppid (a call whose verdict the kernel caches) in a
 * confined child against a plain one, alternated.  Medians of N.  Needs no
 * KVM.  Build (from the top, after scripts/build.sh):
 *   cc -O2 -Isrc/vmm -Isrc/lib -o /tmp/vm-confine bench/vm-confine.c \
 *     build/src/vmm/libisola-vmm.a build/src/lib/libisola-caps-sys.a \
 *     build/src/lib/libisola-base.a -lpthread
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"

#define N     41
#define CALLS 200000

struct sample {
	double install_us, ioctl_ns, getppid_ns;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One child: confined or not; its sample through the pipe. */
static int child(int fd, int confined)
{
	struct sample s = {0};
	struct err *err = NULL;
	int dev = open("/dev/null", O_RDONLY), off = 0;
	double t;

	now_us();
	t = now_us();
	if (confined && vmm_confine(&(struct vmm_confine_opts){0}, &err) < 0)
		return 1;
	s.install_us = now_us() - t;
	t = now_us();
	for (int i = 0; i < CALLS; i++)
		ioctl(dev, FIONBIO, &off);
	s.ioctl_ns = (now_us() - t) * 1e3 / CALLS;
	t = now_us();
	for (int i = 0; i < CALLS; i++)
		syscall(SYS_getppid);
	s.getppid_ns = (now_us() - t) * 1e3 / CALLS;
	return write(fd, &s, sizeof(s)) == sizeof(s) ? 0 : 1;
}

static double median(double *v)
{
	qsort(v, N, sizeof(*v), cmp);
	return v[N / 2];
}

int main(void)
{
	double v[2][3][N];
	int p[2];

	if (pipe(p) < 0)
		return 1;
	for (int i = 0; i < N; i++) {
		for (int c = 0; c < 2; c++) {
			struct sample s;
			pid_t pid = fork();

			if (pid == 0)
				_exit(child(p[1], c));
			if (pid < 0 || waitpid(pid, NULL, 0) != pid ||
			    read(p[0], &s, sizeof(s)) != sizeof(s))
				return 1;
			v[c][0][i] = s.install_us;
			v[c][1][i] = s.ioctl_ns;
			v[c][2][i] = s.getppid_ns;
		}
	}
	printf("install: %.0f us\n", median(v[1][0]));
	for (int k = 1; k < 3; k++) {
		double plain = median(v[0][k]), conf = median(v[1][k]);

		printf("%-8s plain %.0f ns, confined %.0f ns (%.2fx)\n",
		       k == 1 ? "ioctl" : "getppid", plain, conf, conf / plain);
	}
	return 0;
}
