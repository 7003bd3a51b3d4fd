/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Between the OCI mode's files of src/vmct: the guest's NIC in an engine's netns (oci-net.c). */
#include <net/if.h>
#include <sys/types.h>

#include <jansson.h>

#include "err.h"
#include "oci.h"

struct vmct_oci_netns {
	int fd;	    /* the engine's netns, open; -1: none given (the guest has no NIC) */
	char *path; /* as config.json names it */
	dev_t dev;
	ino_t ino;
	char ifname[IF_NAMESIZE];	/* the interface joined; "": none (no NIC) */
	char vmm_net[VMCT_OCI_NIC_ARG]; /* the VMM's --net */
	struct vmct_oci_nic nic;	/* with linked */
	bool linked;
};

/*
 * config.json's network namespace: with a path, opened and checked (a network
 * namespace, not ours) into *ret; without a path (a new one) or none, ret->fd = -1.
 * Errors name linux.namespaces[N].path.
 */
int vmct_oci_netns_open(json_t *spec, struct vmct_oci_netns *ret, struct err **err);
void vmct_oci_netns_free(struct vmct_oci_netns *n);
/*
 * Record in @dirfd's vm.net, then join a TAP to the netns's interface (net_vm_link_ns);
 * n->nic for the monitor once linked.  A netns with no interface to join: nothing done.
 */
int vmct_oci_netns_link(struct vmct_oci_netns *n, int dirfd, struct err **err);
/* What vm.net in @dirfd records, undone (when that netns is still there). */
void vmct_oci_netns_unlink(int dirfd);
