/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Shared bits of the vm commands (cmd-vm-api.c). */
#include "vm-config.h"

struct vm_rundir {
	char *name; /* the entry (the --id, or pid-PID) once created */
	char *sock; /* the default socket path when no --api-sock was given */
};

/* No-op without --id and --api-sock; cfg->api_sock may then point into rd. */
int vm_rundir_prepare(struct vm_config *cfg, struct vm_rundir *rd, struct err **err);
/* Remove the entry if it was created, free rd. */
void vm_rundir_remove(struct vm_rundir *rd);
/* One request to a running VM's API; *ret_body (may be NULL) gets the reply. */
int vm_api_request(const char *vm, const char *method, const char *path, const char *body,
		   char **ret_body, struct err **err);
