/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host's end of one session with a VM container's agent: `run`'s first
 * session (host.c) and an exec's (exec.c).  Frames go both ways until the
 * agent's EXIT: its STDOUT and STDERR to our descriptors, our stdin, signals
 * and terminal sizes to it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct vmct_relay {
	int conn;	    /* the session's socket */
	int in;		    /* our stdin, sent as STDIN frames; -1: none, or at its EOF */
	int out, err;	    /* where the agent's STDOUT and STDERR bytes go */
	int sigfd;	    /* a signalfd of the signals to pass on, -1: none */
	int tty;	    /* the terminal whose size SIGWINCH sends (WINCH), -1: none */
	int end;	    /* readable once the far side is gone (the VMM's pidfd), -1: none */
	uint8_t *buf;	    /* bytes from the agent: at most one whole frame plus a part */
	size_t have;	    /* of buf */
	struct vmct_outq q; /* frames to the agent, never blocked on */
	bool got_exit;
	int status;	   /* the process's exit status, 0..255, once got_exit */
	char *agent_error; /* the agent's last ERROR frame (1 KiB of it), escaped */
};

/* All of @p to the socket @fd; a peer that is gone is -EPIPE, not SIGPIPE. */
int vmct_send_all(int fd, const void *p, size_t n);

/* Every descriptor -1 and the buffer allocated; -ENOMEM. */
int vmct_relay_init(struct vmct_relay *r);

/*
 * Whole frames already in r->buf (those that came with HELLO), then frames
 * both ways until EXIT, the agent's end or a bad frame.  Our stdin is not read
 * while r->q holds over VMCT_OUTQ_HIGH; signals are queued regardless.  The
 * descriptors stay open (r->in is -1 after its EOF).
 */
void vmct_relay_run(struct vmct_relay *r);

/* Drop what was read from the agent up to byte @n of r->buf. */
void vmct_relay_consume(struct vmct_relay *r, size_t n);

/* The buffer, the queue and the error; not the descriptors. */
void vmct_relay_free(struct vmct_relay *r);
