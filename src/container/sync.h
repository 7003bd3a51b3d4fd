/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Parent/child messages over a SOCK_SEQPACKET pair during create and exec. */
#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "state.h"

enum ct_sync_type {
	CT_SYNC_GO = 1,	    /* parent: maps written, cgroup joined */
	CT_SYNC_HOOKS,	    /* child: mounts done, run createRuntime hooks */
	CT_SYNC_HOOKS_DONE, /* parent: payload = state JSON */
	CT_SYNC_READY,	    /* child: waiting for start; payload = pid (exec) */
	CT_SYNC_ERROR,	    /* child: payload = message */
};

/* The largest payload: the state JSON (annotations included) sent to the init. */
#define CT_SYNC_MAX CT_STATE_MAX

int ct_sync_send(int fd, int type, const void *data, size_t len);
/* Receive one message; *ret_data (may be NULL) gets the NUL-terminated payload.
 * An ERROR message is turned into err. */
int ct_sync_recv(int fd, int want, char **ret_data, struct err **err);
/* In a child: report err over fd and _exit(1). */
__attribute__((noreturn)) void ct_sync_fail(int fd, struct err **err);
