/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE passthrough server's core: the inode and handle tables, request
 * parsing, FUSE_INIT and the operations on inodes (lookup, forget,
 * attributes, statfs, readlink).  The guest is hostile: see fuse-internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fuse-srv.h"

#define FUSE_MIN_MINOR 31 /* virtio-fs came with 7.31 */
#define DIRBUF_SIZE    (64u << 10)
/* The INIT flags this server implements, the rest is never offered back. */
#define FUSE_OUR_FLAGS (FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES | FUSE_MAX_PAGES)

int fuse_take(struct fuse_req *r, void *dst, size_t len)
{
	if (r->arg_len - r->pos < len)
		return -EINVAL;
	memcpy(dst, r->arg + r->pos, len);
	r->pos += len;
	return 0;
}

int fuse_take_name(struct fuse_req *r, const char **ret)
{
	const char *name = (const char *)r->arg + r->pos;
	const char *end = memchr(name, '\0', r->arg_len - r->pos);

	if (!end || end == name || memchr(name, '/', end - name) || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	if (end - name > NAME_MAX)
		return -ENAMETOOLONG;
	r->pos += end - name + 1;
	*ret = name;
	return 0;
}

int fuse_put(struct fuse_req *r, const void *src, size_t len)
{
	if (r->out_cap - r->out_len < len)
		return -EINVAL;
	memcpy(r->out + r->out_len, src, len);
	r->out_len += len;
	return 0;
}

/* Pools: take a free index (-ENFILE when full), give one back. */
static int pool_get(struct fuse_pool *p, uint32_t *ret)
{
	if (p->n_free)
		*ret = p->free[--p->n_free];
	else if (p->hi < p->cap)
		*ret = p->hi++;
	else
		return -ENFILE;
	return 0;
}

static void pool_put(struct fuse_pool *p, uint32_t i)
{
	p->free[p->n_free++] = i;
}

static int pool_init(struct fuse_pool *p, uint32_t cap)
{
	p->free = calloc(cap, sizeof(*p->free));
	p->cap = cap;
	return p->free ? 0 : -ENOMEM;
}

static uint32_t hash_of(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ (dev << 32) ^ (dev >> 32)) * 0x9e3779b97f4a7c15ull;

	return (h >> 40) % FUSE_HASH_BUCKETS;
}

struct fuse_node *fuse_node_get(struct fuse_srv *s, uint64_t nodeid)
{
	if (nodeid == 0 || nodeid > s->node_pool.hi || s->nodes[nodeid - 1].fd < 0)
		return NULL;
	return &s->nodes[nodeid - 1];
}

void fuse_fill_attr(struct fuse_attr *a, const struct stat *st)
{
	*a = (struct fuse_attr){
	    .ino = st->st_ino,
	    .size = st->st_size,
	    .blocks = st->st_blocks,
	    .atime = st->st_atim.tv_sec,
	    .mtime = st->st_mtim.tv_sec,
	    .ctime = st->st_ctim.tv_sec,
	    .atimensec = st->st_atim.tv_nsec,
	    .mtimensec = st->st_mtim.tv_nsec,
	    .ctimensec = st->st_ctim.tv_nsec,
	    .mode = st->st_mode,
	    .nlink = st->st_nlink,
	    .uid = st->st_uid,
	    .gid = st->st_gid,
	    .rdev = st->st_rdev,
	    .blksize = st->st_blksize,
	};
}

static void fill_entry(struct fuse_entry_out *e, uint64_t nodeid, uint32_t gen,
		       const struct stat *st)
{
	*e = (struct fuse_entry_out){
	    .nodeid = nodeid,
	    .generation = gen,
	    .entry_valid = FUSE_TIMEOUT_S,
	    .attr_valid = FUSE_TIMEOUT_S,
	};
	fuse_fill_attr(&e->attr, st);
}

/*
 * Whether @fd leaves the rest of the VMM too few: fds are numbered lowest
 * first, so one at or above the soft limit less a reserve (1024, or a
 * quarter of a small limit) means the shares hold nearly all of them.  Past
 * that the guest gets ENFILE: its inodes and handles, on every share
 * together, never starve the API, vsock, hotplug or a snapshot of fds.
 */
static bool fd_over_reserve(int fd)
{
	struct rlimit rl;
	rlim_t reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return false;
	reserve = rl.rlim_cur > 4096 ? 1024 : rl.rlim_cur / 4;
	return (rlim_t)fd >= rl.rlim_cur - reserve;
}

int fuse_node_enter(struct fuse_srv *s, int fd, struct fuse_entry_out *e)
{
	struct fuse_node *n;
	struct stat st;
	uint32_t b, i;

	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	b = hash_of(st.st_dev, st.st_ino);
	for (uint32_t k = s->buckets[b]; k; k = s->nodes[k - 1].next) {
		n = &s->nodes[k - 1];
		if (n->dev == st.st_dev && n->ino == st.st_ino) {
			close(fd);
			n->nlookup++;
			fill_entry(e, k, n->gen, &st);
			return 0;
		}
	}
	if (fd_over_reserve(fd) || pool_get(&s->node_pool, &i) < 0) {
		close(fd);
		return -ENFILE;
	}
	n = &s->nodes[i];
	*n = (struct fuse_node){.fd = fd,
				.dev = st.st_dev,
				.ino = st.st_ino,
				.nlookup = 1,
				.next = s->buckets[b],
				.gen = ++s->gen};
	s->buckets[b] = i + 1;
	fill_entry(e, i + 1, n->gen, &st);
	return 0;
}

static void node_drop(struct fuse_srv *s, uint32_t i)
{
	struct fuse_node *n = &s->nodes[i];
	uint32_t *link = &s->buckets[hash_of(n->dev, n->ino)];

	while (*link && *link != i + 1)
		link = &s->nodes[*link - 1].next;
	if (*link)
		*link = n->next;
	close(n->fd);
	*n = (struct fuse_node){.fd = -1};
	pool_put(&s->node_pool, i);
}

void fuse_node_forget(struct fuse_srv *s, uint64_t nodeid, uint64_t count)
{
	struct fuse_node *n = fuse_node_get(s, nodeid);

	if (!n || nodeid == FUSE_ROOT_ID)
		return; /* unknown: nothing to forget; the root stays */
	if (count < n->nlookup)
		n->nlookup -= count;
	else
		node_drop(s, nodeid - 1);
}

int fuse_node_path(const struct fuse_node *n, bool want_dir, char buf[32])
{
	struct stat st;

	if (fstat(n->fd, &st) < 0)
		return -errno;
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return want_dir ? -ENOTDIR : S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
	snprintf(buf, 32, "/proc/self/fd/%d", n->fd);
	return 0;
}

int fuse_handle_new(struct fuse_srv *s, int fd, bool dir, uint64_t *ret_fh)
{
	uint32_t i;

	if (fd_over_reserve(fd) || pool_get(&s->handle_pool, &i) < 0) {
		close(fd);
		return -ENFILE;
	}
	s->handles[i] = (struct fuse_handle){.fd = fd, .dir = dir};
	*ret_fh = i;
	return 0;
}

struct fuse_handle *fuse_handle_get(struct fuse_srv *s, uint64_t fh)
{
	if (fh >= s->handle_pool.hi || s->handles[fh].fd < 0)
		return NULL;
	return &s->handles[fh];
}

void fuse_handle_close(struct fuse_srv *s, uint64_t fh)
{
	struct fuse_handle *h = fuse_handle_get(s, fh);

	if (!h)
		return;
	close(h->fd);
	h->fd = -1;
	pool_put(&s->handle_pool, fh);
}

void fuse_kill_suid(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)))
		(void)fchmod(fd, st.st_mode & 07777 & ~(S_ISUID | S_ISGID));
}

static int do_init(struct fuse_req *r)
{
	struct fuse_init_in in = {0};
	struct fuse_init_out out = {0};

	/* Before 7.36 the argument is 16 bytes; the rest stays zero. */
	if (r->arg_len < 16)
		return -EINVAL;
	memcpy(&in, r->arg, r->arg_len < sizeof(in) ? r->arg_len : sizeof(in));
	if (in.major != FUSE_KERNEL_VERSION || in.minor < FUSE_MIN_MINOR)
		return -EPROTO;
	r->s->minor = in.minor < FUSE_KERNEL_MINOR_VERSION ? in.minor : FUSE_KERNEL_MINOR_VERSION;
	out = (struct fuse_init_out){
	    .major = FUSE_KERNEL_VERSION,
	    .minor = r->s->minor,
	    .max_readahead = in.max_readahead,
	    .flags = in.flags & FUSE_OUR_FLAGS,
	    .max_background = 64,
	    .congestion_threshold = 48,
	    .max_write = FUSE_MAX_WRITE,
	    .time_gran = 1,
	    .max_pages = FUSE_MAX_PAGES_N,
	};
	r->s->inited = true;
	return fuse_put(r, &out, sizeof(out));
}

static int do_lookup(struct fuse_req *r)
{
	struct fuse_node *p = fuse_req_node(r);
	struct fuse_entry_out e;
	const char *name;
	int fd, ret;

	if ((ret = fuse_take_name(r, &name)) < 0)
		return ret;
	if (!p)
		return -ENOENT;
	fd = openat(p->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = fuse_node_enter(r->s, fd, &e);
	return ret < 0 ? ret : fuse_put(r, &e, sizeof(e));
}

static int do_forget(struct fuse_req *r)
{
	struct fuse_forget_in in;

	if (fuse_take(r, &in, sizeof(in)) == 0)
		fuse_node_forget(r->s, r->h->nodeid, in.nlookup);
	return FUSE_NO_REPLY;
}

static int do_batch_forget(struct fuse_req *r)
{
	struct fuse_batch_forget_in in;
	struct fuse_forget_one one;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return FUSE_NO_REPLY;
	/* count is the guest's word: the request's length bounds the loop. */
	for (uint32_t i = 0; i < in.count && fuse_take(r, &one, sizeof(one)) == 0; i++)
		fuse_node_forget(r->s, one.nodeid, one.nlookup);
	return FUSE_NO_REPLY;
}

static int reply_attr(struct fuse_req *r, int fd)
{
	struct fuse_attr_out out = {.attr_valid = FUSE_TIMEOUT_S};
	struct stat st;

	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	fuse_fill_attr(&out.attr, &st);
	return fuse_put(r, &out, sizeof(out));
}

static int do_getattr(struct fuse_req *r)
{
	struct fuse_getattr_in in;
	struct fuse_node *n = fuse_req_node(r);

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	return n ? reply_attr(r, n->fd) : -ENOENT;
}

/* SETATTR's size: the open handle if the guest names one, else a fresh open. */
static int set_size(struct fuse_req *r, const struct fuse_node *n, const struct fuse_setattr_in *in)
{
	struct fuse_handle *h = (in->valid & FATTR_FH) ? fuse_handle_get(r->s, in->fh) : NULL;
	char path[32];
	int fd, ret;

	if (in->size > INT64_MAX)
		return -EINVAL;
	if (h && !h->dir)
		return ftruncate(h->fd, in->size) < 0 ? -errno : 0;
	if ((ret = fuse_node_path(n, false, path)) < 0)
		return ret;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fuse_kill_suid(fd);
	ret = ftruncate(fd, in->size) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static int set_times(const struct fuse_node *n, const struct fuse_setattr_in *in)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
	char path[32];

	if (in->valid & FATTR_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (in->valid & FATTR_ATIME)
		ts[0] = (struct timespec){(time_t)in->atime, in->atimensec % 1000000000};
	if (in->valid & FATTR_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (in->valid & FATTR_MTIME)
		ts[1] = (struct timespec){(time_t)in->mtime, in->mtimensec % 1000000000};
	/* A symlink's own times: AT_EMPTY_PATH on its O_PATH fd (no /proc reopen). */
	if (fuse_node_path(n, false, path) < 0 && fuse_node_path(n, true, path) < 0)
		return utimensat(n->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno
											 : 0;
	return utimensat(AT_FDCWD, path, ts, 0) < 0 ? -errno : 0;
}

static int do_setattr(struct fuse_req *r)
{
	struct fuse_node *n = fuse_req_node(r);
	struct fuse_setattr_in in;
	char path[32];
	int ret = 0;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	if (!n)
		return -ENOENT;
	if (r->s->readonly)
		return -EROFS;
	/* chown first: the kernel clears set-id bits on it, as it would for the guest. */
	if (in.valid & (FATTR_UID | FATTR_GID) &&
	    fchownat(n->fd, "", (in.valid & FATTR_UID) ? in.uid : (uid_t)-1,
		     (in.valid & FATTR_GID) ? in.gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (in.valid & FATTR_MODE) {
		/* No set-id bits, ever; a symlink's or FIFO's mode is not changed. */
		if ((ret = fuse_node_path(n, false, path)) < 0 &&
		    (ret = fuse_node_path(n, true, path)) < 0)
			return -EOPNOTSUPP;
		if (chmod(path, in.mode & 07777 & ~(S_ISUID | S_ISGID)) < 0)
			return -errno;
	}
	if ((in.valid & FATTR_SIZE) && (ret = set_size(r, n, &in)) < 0)
		return ret;
	if ((in.valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) &&
	    (ret = set_times(n, &in)) < 0)
		return ret;
	return reply_attr(r, n->fd);
}

static int do_readlink(struct fuse_req *r)
{
	struct fuse_node *n = fuse_req_node(r);
	size_t cap = r->out_cap - r->out_len;
	ssize_t len;

	if (!n)
		return -ENOENT;
	len = readlinkat(n->fd, "", (char *)r->out, cap < PATH_MAX ? cap : PATH_MAX);
	if (len < 0)
		return -errno;
	r->out_len = len;
	return 0;
}

static int do_statfs(struct fuse_req *r)
{
	struct fuse_node *n = fuse_req_node(r);
	struct fuse_statfs_out out = {0};
	struct statfs st;

	if (!n)
		return -ENOENT;
	if (fstatfs(n->fd, &st) < 0)
		return -errno;
	out.st = (struct fuse_kstatfs){.blocks = st.f_blocks,
				       .bfree = st.f_bfree,
				       .bavail = st.f_bavail,
				       .files = st.f_files,
				       .ffree = st.f_ffree,
				       .bsize = st.f_bsize,
				       .namelen = st.f_namelen,
				       .frsize = st.f_frsize};
	return fuse_put(r, &out, sizeof(out));
}

/* The guest's kernel checks permissions itself (virtio-fs mounts default_permissions). */
static int do_access(struct fuse_req *r)
{
	struct fuse_access_in in;

	if (fuse_take(r, &in, sizeof(in)) < 0)
		return -EINVAL;
	if (!fuse_req_node(r))
		return -ENOENT;
	return r->s->readonly && (in.mask & W_OK) ? -EROFS : 0;
}

static int do_destroy(struct fuse_req *r)
{
	fuse_srv_reset(r->s);
	return 0;
}

static int do_flush(struct fuse_req *r)
{
	return 0; /* nothing is buffered here: writes went to the file already */
}

static int do_interrupt(struct fuse_req *r)
{
	return FUSE_NO_REPLY; /* requests are served one at a time, to the end */
}

struct fuse_op {
	int (*fn)(struct fuse_req *r);
	bool modifies; /* refused with EROFS on a read-only share */
};

static const struct fuse_op ops[] = {
    [FUSE_LOOKUP] = {do_lookup},
    [FUSE_FORGET] = {do_forget},
    [FUSE_GETATTR] = {do_getattr},
    [FUSE_SETATTR] = {do_setattr, true},
    [FUSE_READLINK] = {do_readlink},
    [FUSE_SYMLINK] = {fuse_do_symlink, true},
    [FUSE_MKNOD] = {fuse_do_mknod, true},
    [FUSE_MKDIR] = {fuse_do_mkdir, true},
    [FUSE_UNLINK] = {fuse_do_unlink, true},
    [FUSE_RMDIR] = {fuse_do_rmdir, true},
    [FUSE_RENAME] = {fuse_do_rename, true},
    [FUSE_LINK] = {fuse_do_link, true},
    [FUSE_OPEN] = {fuse_do_open},
    [FUSE_READ] = {fuse_do_read},
    [FUSE_WRITE] = {fuse_do_write, true},
    [FUSE_STATFS] = {do_statfs},
    [FUSE_RELEASE] = {fuse_do_release},
    [FUSE_FSYNC] = {fuse_do_fsync},
    [FUSE_SETXATTR] = {NULL, true},
    [FUSE_REMOVEXATTR] = {NULL, true},
    [FUSE_FLUSH] = {do_flush},
    [FUSE_OPENDIR] = {fuse_do_opendir},
    [FUSE_READDIR] = {fuse_do_readdir},
    [FUSE_RELEASEDIR] = {fuse_do_release},
    [FUSE_FSYNCDIR] = {fuse_do_fsync},
    [FUSE_ACCESS] = {do_access},
    [FUSE_CREATE] = {fuse_do_create, true},
    [FUSE_INTERRUPT] = {do_interrupt},
    [FUSE_DESTROY] = {do_destroy},
    [FUSE_BATCH_FORGET] = {do_batch_forget},
    [FUSE_FALLOCATE] = {NULL, true},
    [FUSE_RENAME2] = {fuse_do_rename2, true},
    [FUSE_LSEEK] = {fuse_do_lseek},
    [FUSE_COPY_FILE_RANGE] = {NULL, true},
};

static int dispatch(struct fuse_req *r)
{
	uint32_t op = r->h->opcode;
	const struct fuse_op *o = op < sizeof(ops) / sizeof(ops[0]) ? &ops[op] : NULL;

	if (op == FUSE_INIT)
		return do_init(r);
	if (!r->s->inited)
		return op == FUSE_FORGET || op == FUSE_BATCH_FORGET ? FUSE_NO_REPLY : -EIO;
	if (o && o->modifies && r->s->readonly)
		return -EROFS;
	if (!o || !o->fn)
		return -ENOSYS;
	return o->fn(r);
}

size_t fuse_srv_handle(struct fuse_srv *s, const void *in, size_t in_len, void *out, size_t out_cap)
{
	struct fuse_out_header oh = {0};
	struct fuse_in_header h;
	struct fuse_req r;
	int ret;

	if (in_len < sizeof(h))
		return 0; /* no unique to answer to */
	memcpy(&h, in, sizeof(h));
	r = (struct fuse_req){.s = s,
			      .h = &h,
			      .arg = (const uint8_t *)in + sizeof(h),
			      .arg_len = h.len - sizeof(h),
			      .out = (uint8_t *)out + sizeof(oh)};
	if (out_cap >= sizeof(oh))
		r.out_cap = out_cap - sizeof(oh);
	if (h.len < sizeof(h) || h.len > in_len)
		ret = -EINVAL; /* the header claims bytes the chain does not hold */
	else
		ret = dispatch(&r);
	if (ret == FUSE_NO_REPLY || out_cap < sizeof(oh))
		return 0;
	if (ret < 0)
		r.out_len = 0;
	oh = (struct fuse_out_header){
	    .len = sizeof(oh) + r.out_len, .error = ret < 0 ? ret : 0, .unique = h.unique};
	memcpy(out, &oh, sizeof(oh));
	return oh.len;
}

void fuse_srv_reset(struct fuse_srv *s)
{
	for (uint32_t i = 1; i < s->node_pool.hi; i++)
		if (s->nodes[i].fd >= 0)
			node_drop(s, i);
	for (uint32_t i = 0; i < s->handle_pool.hi; i++)
		fuse_handle_close(s, i);
	s->inited = false;
}

/*
 * An fd per inode and per handle: the fd limit up to what the tables can
 * hold (as virtiofsd raises it), the hard limit too when the VMM may (root);
 * short of that the guest gets EMFILE in its replies, never a crash.
 */
static void raise_nofile(void)
{
	const rlim_t want = FUSE_MAX_NODES + FUSE_MAX_HANDLES + 4096;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		struct rlimit up = {want, want};

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

int fuse_srv_new(int root_fd, bool readonly, uint32_t max_nodes, struct fuse_srv **ret,
		 struct err **err)
{
	struct fuse_srv *s = calloc(1, sizeof(*s));
	struct fuse_entry_out e = {0};

	if (max_nodes == 0 || max_nodes > FUSE_MAX_NODES)
		max_nodes = FUSE_MAX_NODES;
	if (!s || pool_init(&s->node_pool, max_nodes) < 0 ||
	    pool_init(&s->handle_pool, FUSE_MAX_HANDLES) < 0 ||
	    !(s->nodes = calloc(max_nodes, sizeof(*s->nodes))) ||
	    !(s->handles = calloc(FUSE_MAX_HANDLES, sizeof(*s->handles))) ||
	    !(s->dirbuf = malloc(DIRBUF_SIZE))) {
		close(root_fd);
		fuse_srv_free(s);
		return err_make(err, ENOMEM, "virtio-fs");
	}
	/* Slots past a pool's high-water mark are never read: no need to mark them free. */
	s->readonly = readonly;
	if (fuse_node_enter(s, root_fd, &e) < 0 || e.nodeid != FUSE_ROOT_ID) {
		fuse_srv_free(s);
		return err_make(err, EBADF, "virtio-fs: the shared directory");
	}
	raise_nofile();
	*ret = s;
	return 0;
}

void fuse_srv_free(struct fuse_srv *s)
{
	if (!s)
		return;
	if (s->nodes && s->handles) {
		fuse_srv_reset(s);
		if (s->node_pool.hi && s->nodes[0].fd >= 0)
			close(s->nodes[0].fd); /* the root */
	}
	free(s->nodes);
	free(s->handles);
	free(s->node_pool.free);
	free(s->handle_pool.free);
	free(s->dirbuf);
	free(s);
}
