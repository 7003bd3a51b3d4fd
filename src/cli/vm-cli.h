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
/* Set by vm run's --on-reboot restart for the isola it execs (vm_cli_start unsets it). */
#define VM_RESTART_ENV "ISOLA_VM_RESTARTED"

/*
 * The one way vm run, vm restore and vm receive take a configured VM to
 * running and back: the vm ls entry, SIGPIPE ignored (a vanished console
 * reader drops output), the process confined (vmm_confine), start(), the
 * entry removed, cfg freed, and the failure (wrapped with cmd) or the
 * guest's exit status, with a note when the guest panicked.  r < 0 (the caller's option parsing
 * failed) skips to the end.  Returns the process exit code; VMM_EXIT_REBOOT is left to vm run.
 */
struct vm_start {
	const char *cmd; /* "vm run" */
	int (*start)(struct vm_config *cfg, void *arg, int *ret_status, struct err **err);
	void *arg;
};
int vm_cli_start(struct vm_config *cfg, int r, struct err **err, const struct vm_start *how);
/* One request to a running VM's API; *ret_body (may be NULL) gets the reply. */
int vm_api_request(const char *vm, const char *method, const char *path, const char *body,
		   char **ret_body, struct err **err);
