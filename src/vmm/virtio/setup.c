/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bring-up of the configured virtio devices. */
#include <errno.h>
#include <stdbool.h>

#include "virtio.h"
#include "vm-config.h"
#include "vm.h"

static bool any_device(const struct vm_config *cfg)
{
	return cfg->n_disks || cfg->n_nets || cfg->has_vsock || cfg->rng || cfg->balloon;
}

int vmm_virtio_setup(struct vm *vm, const struct vm_config *cfg, struct err **err)
{
	if (any_device(cfg))
		return err_make(err, EOPNOTSUPP, "virtio devices not supported yet");
	return 0;
}

void vmm_virtio_teardown(struct vm *vm)
{
}
