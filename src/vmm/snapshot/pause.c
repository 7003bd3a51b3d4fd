/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pausing the vCPUs for a snapshot.  The main thread raises pause_req and
 * kicks every vCPU out of KVM_RUN (immediate_exit + SIGUSR1, as for a stop).
 * Each vCPU then parks (vcpu_park() in kvm/vcpu.c) until vm_resume().
 */
#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>

#include "snapshot.h"

static void kick_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->run->immediate_exit = 1;
		if (v->thread_started)
			pthread_kill(v->thread, SIGUSR1);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

int vm_pause(struct vm *vm, struct err **err)
{
	pthread_mutex_lock(&vm->pause_lock);
	vm->pause_depth++;
	pthread_mutex_unlock(&vm->pause_lock);
	atomic_store(&vm->pause_req, true);
	kick_all(vm);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < vm->nr_vcpus && !atomic_load(&vm->stopping)) {
		struct timespec ts;

		/* A vCPU that stops the VM never parks: look at `stopping` again soon. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &ts);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	if (atomic_load(&vm->stopping)) {
		vm_resume(vm);
		return err_make(err, ECANCELED, "the VM stopped while pausing");
	}
	vm_state_pause_all(vm, true); /* no request in flight from here on */
	return 0;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_depth && --vm->pause_depth == 0) {
		/*
		 * A VM that is stopping keeps its devices paused: after a migration
		 * the source's vCPUs leave their pause only to exit, and a request
		 * the guest queued before it is the destination's to serve (a frame
		 * sent twice, a stale disk write over the destination's).
		 */
		if (!atomic_load(&vm->stopping)) {
			vm_state_pause_all(vm, false);
			if (vm->kick_on_resume)
				vm_state_kick_all(vm); /* the first resume of a paused restore */
		}
		vm->kick_on_resume = false;
		atomic_store(&vm->pause_req, false);
		pthread_cond_broadcast(&vm->pause_cond);
	}
	pthread_mutex_unlock(&vm->pause_lock);
}
