/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Shared by the FUSE server's files (fuse-server.c, fuse-entry.c, fuse-io.c); not an API. */
#include <linux/fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fuse-internal.h"

#define FUSE_HASH_BUCKETS 4096
#define FUSE_TIMEOUT_S	  1 /* entry and attribute caching in the guest: the host may change files */

/* One inode the guest holds: nodeid = index + 1 (the root is index 0). */
struct fuse_node {
	int fd; /* O_PATH|O_NOFOLLOW; -1: free */
	uint64_t dev, ino;
	uint64_t nlookup;
	uint32_t next; /* hash chain: index + 1, 0 ends */
	uint32_t gen;
};

/* Free slots of a table: a stack of indices plus the high-water mark. */
struct fuse_pool {
	uint32_t *free;
	uint32_t n_free, hi, cap;
};

struct fuse_handle {
	int fd; /* -1: free */
	bool dir;
};

struct fuse_srv {
	bool readonly, inited;
	uint32_t minor;
	struct fuse_node *nodes;
	struct fuse_pool node_pool;
	uint32_t buckets[FUSE_HASH_BUCKETS];
	struct fuse_handle *handles;
	struct fuse_pool handle_pool;
	uint32_t gen;
	uint8_t *dirbuf; /* getdents64 scratch */
};

/* One request being served: its fixed arguments and the reply's payload. */
struct fuse_req {
	struct fuse_srv *s;
	const struct fuse_in_header *h;
	const uint8_t *arg;  /* after the header */
	size_t arg_len, pos; /* pos: the next argument byte to take */
	uint8_t *out;	     /* after the reply header */
	size_t out_cap, out_len;
};

/* The open(2) flags a guest may pass on: access mode, append, truncate, sync. */
#define FUSE_OPEN_FLAGS (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC)

/* The request needs no reply (a handler's return value). */
#define FUSE_NO_REPLY 1

/* Arguments: copy the next len bytes (-EINVAL when the request is too short). */
int fuse_take(struct fuse_req *r, void *dst, size_t len);
/* The next NUL-terminated name: one path component, not "." or "..". */
int fuse_take_name(struct fuse_req *r, const char **ret);
/* Append len bytes to the reply (-EINVAL when the guest's buffer is too small). */
int fuse_put(struct fuse_req *r, const void *src, size_t len);

/* The node of a nodeid, or NULL. */
struct fuse_node *fuse_node_get(struct fuse_srv *s, uint64_t nodeid);
/* The request's own node (h->nodeid); NULL: not held. */
#define fuse_req_node(r) fuse_node_get((r)->s, (r)->h->nodeid)
/*
 * fd (O_PATH, taken over) as a node the guest now holds once more: the
 * existing one for the same inode, or a new one.  Fills *e for the reply.
 */
int fuse_node_enter(struct fuse_srv *s, int fd, struct fuse_entry_out *e);
void fuse_node_forget(struct fuse_srv *s, uint64_t nodeid, uint64_t n);
/* "/proc/self/fd/N" of a node whose type is regular file or directory (checked). */
int fuse_node_path(const struct fuse_node *n, bool want_dir, char buf[32]);

void fuse_fill_attr(struct fuse_attr *a, const struct stat *st);
/* Handles: an open fd the guest refers to by fh. */
int fuse_handle_new(struct fuse_srv *s, int fd, bool dir, uint64_t *ret_fh);
struct fuse_handle *fuse_handle_get(struct fuse_srv *s, uint64_t fh);
void fuse_handle_close(struct fuse_srv *s, uint64_t fh);

/* Clear setuid/setgid on an open file (a write as root would keep them). */
void fuse_kill_suid(int fd);

/* Handlers: fuse-entry.c (names) and fuse-io.c (open files and directories). */
int fuse_do_mknod(struct fuse_req *r);
int fuse_do_mkdir(struct fuse_req *r);
int fuse_do_symlink(struct fuse_req *r);
int fuse_do_link(struct fuse_req *r);
int fuse_do_unlink(struct fuse_req *r);
int fuse_do_rmdir(struct fuse_req *r);
int fuse_do_rename(struct fuse_req *r);
int fuse_do_rename2(struct fuse_req *r);
int fuse_do_create(struct fuse_req *r);
int fuse_do_open(struct fuse_req *r);
int fuse_do_opendir(struct fuse_req *r);
int fuse_do_read(struct fuse_req *r);
int fuse_do_write(struct fuse_req *r);
int fuse_do_release(struct fuse_req *r);
int fuse_do_fsync(struct fuse_req *r);
int fuse_do_readdir(struct fuse_req *r);
int fuse_do_lseek(struct fuse_req *r);
