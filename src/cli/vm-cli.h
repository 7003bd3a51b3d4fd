/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Shared bits of the vm commands (cmd-vm-api.c). */
#include "err.h"

struct vm_config;

/* Make the VM's run directory and API socket path; vm_rundir_remove undoes it. */
int vm_rundir_prepare(struct vm_config *cfg, char **ret_sock, struct err **err);
void vm_rundir_remove(const struct vm_config *cfg);
/* One request to a running VM's API; *ret_body (may be NULL) gets the reply. */
int vm_api_request(const char *vm, const char *method, const char *path, const char *body,
		   char **ret_body, struct err **err);
