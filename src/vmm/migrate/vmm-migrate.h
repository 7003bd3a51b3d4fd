/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Live migration of a running micro-VM (docs/migration.md): the source is
 * the running VMM (PUT /migrate on its API), the destination is
 * `isola vm receive`, which runs what it receives.
 */
#include <stdint.h>

#include "err.h"
#include "vm-config.h"

struct vmm_migrate_stats {
	uint64_t total_ns;    /* connect .. the destination's STARTED */
	uint64_t downtime_ns; /* source vCPUs paused .. the destination's STARTED received */
	unsigned rounds;      /* dirty-page rounds while the guest ran */
	uint64_t data_pages, zero_pages, last_pages; /* last: sent while paused */
	uint64_t bytes;
};

/*
 * Listen on addr (tcp:HOST:PORT or unix:PATH), take one connection, build
 * the VM it describes and run it like vmm_run() (cfg gives the console and
 * the API socket; cpus and memory come from the stream).  key_file (NULL:
 * none, allowed on a Unix socket only) must match the source's.  Fails, leaving
 * nothing behind, if the stream is broken or ends before the VM is whole.
 * a->disks: the disks this side accepts (OLD=NEW; any other is refused).
 */
struct vmm_restore_args;
int vmm_migrate_receive(struct vm_config *cfg, const char *addr, const char *key_file,
			const struct vmm_restore_args *a, int *ret_status, struct err **err);
