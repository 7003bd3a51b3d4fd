/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * An in-process FUSE passthrough server over one host directory, for the
 * virtio-fs device (fs.c).  It speaks the kernel's protocol (<linux/fuse.h>)
 * on linear buffers: a request in, a reply out, so the device, the unit test
 * and the fuzzer feed it the same way.
 *
 * The guest is hostile.  What the server guarantees:
 *  - every inode it hands out was reached from the share's root one name at a
 *    time with openat(O_PATH|O_NOFOLLOW): names are single components (no
 *    '/', not "." or ".."), so the guest cannot name anything outside the
 *    share, and a symlink is never followed by the server (the guest resolves
 *    symlinks itself, inside its own mount);
 *  - an inode is reopened through /proc/self/fd/N only when fstat says it is
 *    a regular file or a directory;
 *  - no setuid/setgid bits and no device nodes are ever made;
 *  - the inode table and the open handles are capped (FUSE_MAX_NODES,
 *    FUSE_MAX_HANDLES), and so are the fds of every share together (the
 *    fd limit less a reserve for the rest of the VMM): beyond them the guest
 *    gets ENFILE;
 *  - every length and offset is checked against the request; a malformed
 *    request gets an error reply, never a crash.
 * What it does NOT protect against: a host process that moves a directory
 * out of the share while the guest holds an inode inside it (the guest then
 * reaches the moved tree through the fd it holds), or that swaps an entry
 * between the server's type check and its open (CREATE over an existing name).
 * Host users with write access to the share are trusted as much as the guest.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FUSE_MAX_NODES	 65536
#define FUSE_MAX_HANDLES 16384
/*
 * Linux's virtio-fs puts each page of a READ or WRITE in its own descriptor,
 * plus up to 6 for headers and arguments, and a chain holds VIRTQ_MAX_SIZE
 * (256) descriptors: 240 pages leave room.  1 MiB (256 pages) was tried and
 * every 1 MiB write (dd bs=1M) came back failed, its chain too long.
 */
#define FUSE_MAX_PAGES_N 240
#define FUSE_MAX_WRITE	 (FUSE_MAX_PAGES_N * 4096u) /* also the largest READ and READDIR reply */
/* The largest request and reply: a header, a WRITE's fixed part and its data. */
#define FUSE_MAX_MSG (FUSE_MAX_WRITE + 4096)

struct fuse_srv;

/*
 * Serve `root_fd` (O_PATH|O_DIRECTORY, taken over, closed on failure too)
 * with at most max_nodes inodes held (0: FUSE_MAX_NODES, also the most).
 */
int fuse_srv_new(int root_fd, bool readonly, uint32_t max_nodes, struct fuse_srv **ret,
		 struct err **err);
void fuse_srv_free(struct fuse_srv *s);
/* Back to the state before FUSE_INIT: every inode but the root and every handle dropped. */
void fuse_srv_reset(struct fuse_srv *s);
/*
 * Serve one request of in_len bytes; the reply goes to out (out_cap bytes).
 * Returns the reply's length: 0 for requests without a reply (FORGET,
 * BATCH_FORGET, INTERRUPT) and for requests too short to answer.
 */
size_t fuse_srv_handle(struct fuse_srv *s, const void *in, size_t in_len, void *out,
		       size_t out_cap);
