/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-fs against a temp directory: real FUSE requests through the fake
 * VM's queues (init, lookup, create, write, read, mkdir, readdir, rename,
 * symlink, unlink, statfs), then what a hostile guest sends: bad names,
 * unknown nodes and handles, lengths past the chain, a 4 GiB READ, a symlink
 * out of the share, device nodes, set-id bits, writes to a read-only share.
 */
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "fake-vm.h"
#include "fuse-internal.h"
#include "snap-format.h"
#include "tap.h"
#include "virtio.h"
#include "vm-config.h"

#define REQ	 (MEM_GPA + 0x20000) /* request buffer, 64 KiB */
#define REP	 (MEM_GPA + 0x30000) /* reply buffer, up to the end of RAM */
#define REP_MAX	 (MEM_SIZE - 0x30000)
#define REQUESTQ 1

static struct drv rw = {.base = BASE, .ring = MEM_GPA};
static struct drv ro = {.base = BASE + 0x1000, .ring = MEM_GPA + 0x10000};
static uint64_t unique = 1;
static char dir[] = "/tmp/isola-ut-fs.XXXXXX", rodir[] = "/tmp/isola-ut-fsro.XXXXXX";

/* Submit `len` request bytes already at REQ on queue q with a reply buffer of `cap`. */
static int submit(struct drv *d, unsigned q, uint32_t len, uint32_t cap)
{
	desc_q(d, q, 0, REQ, len, cap ? VIRTQ_DESC_F_NEXT : 0, 1);
	desc_q(d, q, 1, REP, cap, VIRTQ_DESC_F_WRITE, 0);
	return drv_submit_q(d, q, 0);
}

/*
 * One FUSE request: header, then `a` and `b` (either may be NULL).  Returns
 * the reply's error (0 or -errno), the reply payload in *ret, its length in
 * *ret_len; 1 when the device wrote no reply.
 */
static int call_cap(struct drv *d, uint32_t op, uint64_t node, const void *a, size_t alen,
		    const void *b, size_t blen, void **ret, size_t *ret_len, uint32_t cap)
{
	struct fuse_in_header h = {.len = sizeof(h) + alen + blen,
				   .opcode = op,
				   .unique = unique++,
				   .nodeid = node,
				   .uid = 1234,
				   .gid = 5678};
	struct fuse_out_header *oh = gp(REP);
	int used;

	memcpy(gp(REQ), &h, sizeof(h));
	if (alen)
		memcpy((uint8_t *)gp(REQ) + sizeof(h), a, alen);
	if (blen)
		memcpy((uint8_t *)gp(REQ) + sizeof(h) + alen, b, blen);
	memset(oh, 0xee, sizeof(*oh));
	used = submit(d, REQUESTQ, h.len, cap);
	if (used < (int)sizeof(*oh))
		return 1;
	if (oh->unique != h.unique || oh->len != (uint32_t)used)
		return 2;
	if (ret)
		*ret = oh + 1;
	if (ret_len)
		*ret_len = used - sizeof(*oh);
	return oh->error;
}

#define call(d, op, node, a, alen, b, blen, ret, ret_len) \
	call_cap(d, op, node, a, alen, b, blen, ret, ret_len, 0x10000)

static int init(struct drv *d)
{
	struct fuse_init_in in = {.major = 7,
				  .minor = 38,
				  .max_readahead = 65536,
				  .flags = FUSE_ASYNC_READ | FUSE_MAX_PAGES | FUSE_POSIX_ACL};
	struct fuse_init_out *out;
	int r = call(d, FUSE_INIT, 0, &in, sizeof(in), NULL, 0, (void **)&out, NULL);

	if (r == 0 && d == &rw) {
		is_int(out->minor, 38, "INIT: minor 38");
		is_int(out->max_write, 240 * 4096, "INIT: max_write 960 KiB (240 pages)");
		is_int(out->max_pages, 240,
		       "INIT: max_pages 240, a chain's worth with the headers");
		ok(!(out->flags & FUSE_POSIX_ACL) && (out->flags & FUSE_MAX_PAGES),
		   "INIT: only the flags the server implements");
	}
	return r;
}

/* LOOKUP/MKDIR/...: the node id of the reply's entry, or the error. */
static int64_t entry(int r, void **p)
{
	return r ? r : (int64_t)((struct fuse_entry_out *)*p)->nodeid;
}

static int64_t lookup(struct drv *d, uint64_t parent, const char *name)
{
	void *p = NULL;

	return entry(call(d, FUSE_LOOKUP, parent, name, strlen(name) + 1, NULL, 0, &p, NULL), &p);
}

static int64_t mkdir_(uint64_t parent, const char *name, uint32_t mode)
{
	struct fuse_mkdir_in in = {.mode = mode};
	void *p = NULL;

	return entry(
	    call(&rw, FUSE_MKDIR, parent, &in, sizeof(in), name, strlen(name) + 1, &p, NULL), &p);
}

/* CREATE: node id, and the handle in *fh. */
static int64_t create(struct drv *d, uint64_t parent, const char *name, uint32_t mode, uint64_t *fh)
{
	struct fuse_create_in in = {.flags = O_RDWR | O_CREAT, .mode = S_IFREG | mode};
	uint8_t *p;
	int r = call(d, FUSE_CREATE, parent, &in, sizeof(in), name, strlen(name) + 1, (void **)&p,
		     NULL);

	if (r)
		return r;
	*fh = ((struct fuse_open_out *)(p + sizeof(struct fuse_entry_out)))->fh;
	return ((struct fuse_entry_out *)p)->nodeid;
}

static int wr_(uint64_t node, uint64_t fh, uint64_t off, const char *data, uint32_t size)
{
	struct fuse_write_in in = {.fh = fh, .offset = off, .size = size};
	struct fuse_write_out *out;
	int r =
	    call(&rw, FUSE_WRITE, node, &in, sizeof(in), data, strlen(data), (void **)&out, NULL);

	return r ? r : (int)out->size;
}

static int rd_(struct drv *d, uint64_t node, uint64_t fh, uint32_t size, char *buf, uint32_t cap)
{
	struct fuse_read_in in = {.fh = fh, .size = size};
	size_t len = 0;
	void *p = NULL;
	int r = call_cap(d, FUSE_READ, node, &in, sizeof(in), NULL, 0, &p, &len, cap);

	if (r)
		return r;
	if (buf)
		memcpy(buf, p, len);
	return len;
}

static int host_mode(const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) < 0 ? -1 : (int)(st.st_mode & 07777);
}

static bool host_has(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0 || errno != ENOENT;
}

static void test_files(void)
{
	uint64_t fh = 0, fh2;
	int64_t f, again;
	char buf[64] = {0};
	struct stat st;
	char path[256];

	is_int(lookup(&rw, 1, "f"), -ENOENT, "LOOKUP of a missing name: ENOENT");
	f = create(&rw, 1, "f", 04755, &fh);
	ok(f > 1, "CREATE f: node %lld", (long long)f);
	is_int(host_mode("f"), 0755, "the created file has no setuid bit on the host");
	snprintf(path, sizeof(path), "%s/f", dir);
	ok(stat(path, &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678,
	   "the file belongs to the calling guest user");
	is_int(wr_(f, fh, 0, "hello, host", 11), 11, "WRITE 11 bytes");
	is_int(rd_(&rw, f, fh, 64, buf, 0x10000), 11, "READ them back");
	ok(!strcmp(buf, "hello, host"), "same bytes");
	again = lookup(&rw, 1, "f");
	is_int(again, f, "the same inode has the same node id");
	is_int(call(&rw, FUSE_RELEASE, f, &(struct fuse_release_in){.fh = fh},
		    sizeof(struct fuse_release_in), NULL, 0, NULL, NULL),
	       0, "RELEASE");
	is_int(rd_(&rw, f, fh, 64, NULL, 0x10000), -EBADF, "READ on a released handle: EBADF");

	/* SETATTR: chmod 6755 ends without the set-id bits; truncate. */
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 06755};
	struct fuse_attr_out *ao;
	is_int(call(&rw, FUSE_SETATTR, f, &sa, sizeof(sa), NULL, 0, (void **)&ao, NULL), 0,
	       "SETATTR mode 6755");
	is_int(host_mode("f"), 0755, "chmod 6755 leaves no set-id bit");
	sa = (struct fuse_setattr_in){.valid = FATTR_SIZE, .size = 5};
	is_int(call(&rw, FUSE_SETATTR, f, &sa, sizeof(sa), NULL, 0, (void **)&ao, NULL), 0,
	       "SETATTR size 5");
	is_int(ao->attr.size, 5, "truncated to 5");

	/* A host file with set-id bits loses them when the guest opens it for writing. */
	snprintf(path, sizeof(path), "%s/suid", dir);
	close(open(path, O_CREAT | O_WRONLY, 0755));
	chmod(path, 06755);
	int64_t s = lookup(&rw, 1, "suid");
	struct fuse_open_out *oo;
	is_int(call(&rw, FUSE_OPEN, s, &(struct fuse_open_in){.flags = O_WRONLY},
		    sizeof(struct fuse_open_in), NULL, 0, (void **)&oo, NULL),
	       0, "OPEN a host set-id file for writing");
	is_int(host_mode("suid"), 0755, "its set-id bits are gone");
	fh2 = oo->fh;
	call(&rw, FUSE_RELEASE, s, &(struct fuse_release_in){.fh = fh2},
	     sizeof(struct fuse_release_in), NULL, 0, NULL, NULL);
}

/* READDIR with a small buffer, following the offsets: every name exactly once. */
static int count_dir(uint64_t node, const char *want, int *hits)
{
	struct fuse_open_out *oo;
	uint64_t off = 0;
	int n = 0;

	if (call(&rw, FUSE_OPENDIR, node, &(struct fuse_open_in){0}, sizeof(struct fuse_open_in),
		 NULL, 0, (void **)&oo, NULL))
		return -1;
	uint64_t fh = oo->fh;
	for (int rounds = 0; rounds < 1000; rounds++) {
		struct fuse_read_in in = {.fh = fh, .offset = off, .size = 200};
		size_t len = 0;
		uint8_t *p;

		if (call(&rw, FUSE_READDIR, node, &in, sizeof(in), NULL, 0, (void **)&p, &len))
			return -1;
		if (len == 0)
			break;
		for (size_t at = 0; at < len;) {
			struct fuse_dirent *de = (void *)(p + at);

			n++;
			if (de->namelen == strlen(want) && !memcmp(de->name, want, de->namelen))
				(*hits)++;
			off = de->off;
			at += FUSE_DIRENT_SIZE(de);
		}
	}
	call(&rw, FUSE_RELEASEDIR, node, &(struct fuse_release_in){.fh = fh},
	     sizeof(struct fuse_release_in), NULL, 0, NULL, NULL);
	return n;
}

static void test_dirs(void)
{
	int64_t d = mkdir_(1, "d", 02777);
	uint64_t fh;
	int hits = 0;
	char name[16];

	ok(d > 1, "MKDIR d");
	is_int(host_mode("d"), 0777, "the directory has no setgid bit");
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "file-%02d", i);
		create(&rw, d, name, 0644, &fh);
		call(&rw, FUSE_RELEASE, 0, &(struct fuse_release_in){.fh = fh},
		     sizeof(struct fuse_release_in), NULL, 0, NULL, NULL);
	}
	is_int(count_dir(d, "file-07", &hits), 22,
	       "READDIR in 200-byte pieces: 20 files, . and ..");
	is_int(hits, 1, "each name once");

	/* RENAME f -> d/g, RENAME2 flags. */
	struct fuse_rename_in rn = {.newdir = d};
	is_int(call(&rw, FUSE_RENAME, 1, &rn, sizeof(rn), "f\0g", 4, NULL, NULL), 0,
	       "RENAME f to d/g");
	ok(!host_has("f") && host_has("d/g"), "moved on the host");
	struct fuse_rename2_in rn2 = {.newdir = d, .flags = RENAME_NOREPLACE};
	is_int(call(&rw, FUSE_RENAME2, d, &rn2, sizeof(rn2), "g\0file-00", 10, NULL, NULL), -EEXIST,
	       "RENAME2 NOREPLACE onto an existing name: EEXIST");
	rn2.flags = RENAME_WHITEOUT;
	is_int(call(&rw, FUSE_RENAME2, d, &rn2, sizeof(rn2), "g\0w", 4, NULL, NULL), -EINVAL,
	       "RENAME2 WHITEOUT (a device node): EINVAL");
	is_int(call(&rw, FUSE_UNLINK, d, "g", 2, NULL, 0, NULL, NULL), 0, "UNLINK d/g");
	ok(!host_has("d/g"), "gone on the host");
	is_int(call(&rw, FUSE_RMDIR, 1, "d", 2, NULL, 0, NULL, NULL), -ENOTEMPTY,
	       "RMDIR of a full directory: ENOTEMPTY");

	struct fuse_statfs_out *sf;
	is_int(call(&rw, FUSE_STATFS, 1, NULL, 0, NULL, 0, (void **)&sf, NULL), 0, "STATFS");
	ok(sf->st.bsize > 0 && sf->st.namelen > 0, "STATFS: block size and name length");
}

static void test_symlink(void)
{
	struct fuse_entry_out *e;
	int64_t l;
	void *p = NULL;
	size_t len = 0;
	/* A file of the test's own outside the share, never the host's /etc/passwd. */
	char target[] = "/tmp/isola-fs-victim-XXXXXX";
	int vfd = mkstemp(target);

	ok(vfd >= 0 && fchmod(vfd, 0644) == 0, "victim file");
	if (vfd >= 0)
		close(vfd);
	l = entry(call(&rw, FUSE_SYMLINK, 1, "out", 4, target, sizeof(target), &p, NULL), &p);
	ok(l > 1, "SYMLINK out -> a file outside the share");
	is_int(call(&rw, FUSE_READLINK, l, NULL, 0, NULL, 0, &p, &len), 0, "READLINK");
	ok(len == strlen(target) && !memcmp(p, target, len), "the target comes back as stored");
	is_int(call(&rw, FUSE_LOOKUP, 1, "out", 4, NULL, 0, (void **)&e, NULL), 0, "LOOKUP out");
	ok(S_ISLNK(e->attr.mode), "the server reports the link itself, not its target");
	is_int(call(&rw, FUSE_OPEN, l, &(struct fuse_open_in){.flags = O_RDONLY},
		    sizeof(struct fuse_open_in), NULL, 0, NULL, NULL),
	       -EACCES, "OPEN of the symlink's node is refused (never followed)");
	is_int(call(&rw, FUSE_OPENDIR, l, &(struct fuse_open_in){0}, sizeof(struct fuse_open_in),
		    NULL, 0, NULL, NULL),
	       -ENOTDIR, "OPENDIR of it too");
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 0600};
	is_int(call(&rw, FUSE_SETATTR, l, &sa, sizeof(sa), NULL, 0, NULL, NULL), -EOPNOTSUPP,
	       "chmod through it is refused");
	struct stat st;
	ok(stat(target, &st) == 0 && (st.st_mode & 0777) == 0644, "the target's mode untouched");
	struct fuse_create_in ci = {.flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644};
	is_int(call(&rw, FUSE_CREATE, 1, &ci, sizeof(ci), "out", 4, NULL, NULL), -ELOOP,
	       "CREATE over the symlink does not write through it");
	unlink(target);
}

/* A hard link is no new file: the guest user who makes it must not get the file. */
static void test_link(void)
{
	struct fuse_link_in li = {0};
	char path[256];
	struct stat st;
	int64_t l;
	void *p = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/rootfile", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	ok(fd >= 0 && fchown(fd, 0, 0) == 0, "a host file owned by root, mode 0640");
	if (fd >= 0)
		close(fd);
	li.oldnodeid = lookup(&rw, 1, "rootfile");
	l = entry(call(&rw, FUSE_LINK, 1, &li, sizeof(li), "x", 2, &p, NULL), &p);
	ok(l > 1, "LINK x -> rootfile, asked by uid 1234");
	ok(stat(path, &st) == 0 && st.st_uid == 0 && st.st_gid == 0 &&
	       (st.st_mode & 07777) == 0640 && st.st_nlink == 2,
	   "the linked file keeps its owner and mode");
	struct fuse_mkdir_in mk = {.mode = 0750};
	ok(entry(call(&rw, FUSE_MKDIR, 1, &mk, sizeof(mk), "mine", 5, &p, NULL), &p) > 1,
	   "MKDIR mine");
	snprintf(path, sizeof(path), "%s/mine", dir);
	ok(stat(path, &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678,
	   "a new entry is the caller's");
}

static void test_nasty(void)
{
	struct fuse_mknod_in mk = {.mode = S_IFCHR | 0666, .rdev = makedev(1, 3)};
	struct fuse_in_header *h = gp(REQ);
	const char *bad[] = {"..", ".", "", "a/b", "/"};
	void *p = NULL;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(call(&rw, FUSE_LOOKUP, 1, bad[i], strlen(bad[i]) + 1, NULL, 0, NULL, NULL),
		       -EINVAL, "LOOKUP `%s`: EINVAL", bad[i]);
	is_int(call(&rw, FUSE_LOOKUP, 1, "abc", 3, NULL, 0, NULL, NULL), -EINVAL,
	       "LOOKUP of an unterminated name: EINVAL");
	is_int(call(&rw, FUSE_MKDIR, 1, &(struct fuse_mkdir_in){0755}, sizeof(struct fuse_mkdir_in),
		    "..", 3, NULL, NULL),
	       -EINVAL, "MKDIR ..: EINVAL");
	is_int(call(&rw, FUSE_GETATTR, 99999, &(struct fuse_getattr_in){0},
		    sizeof(struct fuse_getattr_in), NULL, 0, NULL, NULL),
	       -ENOENT, "GETATTR of an unknown node: ENOENT");
	is_int(call(&rw, FUSE_GETATTR, UINT64_MAX, &(struct fuse_getattr_in){0},
		    sizeof(struct fuse_getattr_in), NULL, 0, NULL, NULL),
	       -ENOENT, "GETATTR of node 2^64-1: ENOENT");
	is_int(call(&rw, FUSE_MKNOD, 1, &mk, sizeof(mk), "null", 5, NULL, NULL), -EPERM,
	       "MKNOD of a char device: EPERM");
	ok(!host_has("null"), "no device node on the host");
	mk.mode = S_IFIFO | 04644;
	ok(entry(call(&rw, FUSE_MKNOD, 1, &mk, sizeof(mk), "fifo", 5, &p, NULL), &p) > 1,
	   "MKNOD of a FIFO");
	is_int(host_mode("fifo"), 0644, "the FIFO has no setuid bit");
	is_int(call(&rw, 9999, 1, NULL, 0, NULL, 0, NULL, NULL), -ENOSYS, "unknown opcode: ENOSYS");
	is_int(call(&rw, FUSE_GETXATTR, 1, NULL, 0, NULL, 0, NULL, NULL), -ENOSYS,
	       "GETXATTR: ENOSYS");

	/* A write whose size claims more than the request holds. */
	uint64_t fh;
	int64_t w = create(&rw, 1, "w", 0644, &fh);
	struct fuse_write_in wi = {.fh = fh, .size = 60000};
	is_int(call(&rw, FUSE_WRITE, w, &wi, sizeof(wi), "short", 5, NULL, NULL), -EINVAL,
	       "WRITE of 60000 bytes with 5 in the chain: EINVAL");
	wi.size = 5;
	wi.offset = INT64_MAX;
	is_int(call(&rw, FUSE_WRITE, w, &wi, sizeof(wi), "short", 5, NULL, NULL), -EFBIG,
	       "WRITE at offset 2^63-1: EFBIG");
	is_int(wr_(w, fh, 0, "0123456789", 10), 10, "a proper WRITE");
	is_int(rd_(&rw, w, fh, UINT32_MAX, NULL, REP_MAX), 10,
	       "READ of 4 GiB: the file's 10 bytes");
	/* A READ larger than the reply buffer: capped by it. */
	char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	is_int(wr_(w, fh, 0, big, 4999), 4999, "WRITE 4999 bytes");
	is_int(rd_(&rw, w, fh, UINT32_MAX, NULL, 100), 84, "READ into a 100-byte buffer: 84 bytes");
	is_int(rd_(&rw, w, 123456, 10, NULL, 100), -EBADF, "READ of an unknown handle: EBADF");
	is_int(rd_(&rw, w, UINT64_MAX, 10, NULL, 100), -EBADF, "READ of handle 2^64-1: EBADF");

	/* Header claims more than the chain holds; a chain shorter than a header. */
	*h =
	    (struct fuse_in_header){.len = 4096, .opcode = FUSE_GETATTR, .unique = 77, .nodeid = 1};
	is_int(submit(&rw, REQUESTQ, sizeof(*h) + 16, 0x1000), 16,
	       "a header length past the chain: an error reply");
	is_int(((struct fuse_out_header *)gp(REP))->error, -EINVAL, "... EINVAL");
	is_int(submit(&rw, REQUESTQ, 10, 0x1000), 0, "a 10-byte request: returned with no reply");
	is_int(submit(&rw, REQUESTQ, sizeof(*h) + 16, 8), 0,
	       "a reply buffer smaller than a header: returned empty");
	/* BATCH_FORGET claiming 2^32-1 entries with none there. */
	struct fuse_batch_forget_in bf = {.count = UINT32_MAX};
	*h = (struct fuse_in_header){.len = sizeof(*h) + sizeof(bf), .opcode = FUSE_BATCH_FORGET};
	memcpy(h + 1, &bf, sizeof(bf));
	is_int(submit(&rw, 0, h->len, 0), 0, "BATCH_FORGET of 2^32-1 entries that are not there");
	is_int(call(&rw, FUSE_GETATTR, 1, &(struct fuse_getattr_in){0},
		    sizeof(struct fuse_getattr_in), NULL, 0, NULL, NULL),
	       0, "the device still serves");

	/* FORGET on the hiprio queue drops the node. */
	int64_t n = lookup(&rw, 1, "fifo");
	struct fuse_forget_in fi = {.nlookup = 100};
	*h = (struct fuse_in_header){
	    .len = sizeof(*h) + sizeof(fi), .opcode = FUSE_FORGET, .nodeid = n};
	memcpy(h + 1, &fi, sizeof(fi));
	is_int(submit(&rw, 0, h->len, 0), 0, "FORGET on the hiprio queue: no reply");
	is_int(call(&rw, FUSE_GETATTR, n, &(struct fuse_getattr_in){0},
		    sizeof(struct fuse_getattr_in), NULL, 0, NULL, NULL),
	       -ENOENT, "the forgotten node is gone");
}

static void test_readonly(void)
{
	char path[256], buf[16] = {0};
	struct fuse_open_out *oo;
	uint64_t fh;
	int64_t f;

	snprintf(path, sizeof(path), "%s/r", rodir);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	is_int(init(&ro), 0, "INIT on the read-only share");
	is_int(create(&ro, 1, "new", 0644, &fh), -EROFS, "CREATE: EROFS");
	f = lookup(&ro, 1, "r");
	ok(f > 1, "LOOKUP r");
	is_int(call(&ro, FUSE_OPEN, f, &(struct fuse_open_in){.flags = O_WRONLY},
		    sizeof(struct fuse_open_in), NULL, 0, NULL, NULL),
	       -EROFS, "OPEN for writing: EROFS");
	is_int(call(&ro, FUSE_OPEN, f, &(struct fuse_open_in){.flags = O_RDONLY | O_TRUNC},
		    sizeof(struct fuse_open_in), NULL, 0, NULL, NULL),
	       -EROFS, "OPEN with O_TRUNC: EROFS");
	is_int(call(&ro, FUSE_OPEN, f, &(struct fuse_open_in){.flags = O_RDONLY},
		    sizeof(struct fuse_open_in), NULL, 0, (void **)&oo, NULL),
	       0, "OPEN read-only");
	struct fuse_write_in wi = {.fh = oo->fh, .size = 2};
	is_int(call(&ro, FUSE_WRITE, f, &wi, sizeof(wi), "xx", 2, NULL, NULL), -EROFS,
	       "WRITE: EROFS");
	is_int(call(&ro, FUSE_UNLINK, 1, "r", 2, NULL, 0, NULL, NULL), -EROFS, "UNLINK: EROFS");
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 0777};
	is_int(call(&ro, FUSE_SETATTR, f, &sa, sizeof(sa), NULL, 0, NULL, NULL), -EROFS,
	       "SETATTR: EROFS");
	is_int(rd_(&ro, f, oo->fh, 16, buf, 0x1000), 0, "READ works");
	ok(access(path, F_OK) == 0, "the host file is still there");
}

/* One request straight to a server (no queue): the error of its reply. */
static int direct(struct fuse_srv *s, uint32_t op, uint64_t node, const void *a, size_t alen,
		  struct fuse_entry_out *ret)
{
	static uint8_t in[4096], out[4096];
	struct fuse_in_header h = {
	    .len = sizeof(h) + alen, .opcode = op, .unique = 9, .nodeid = node};
	struct fuse_out_header oh;

	memcpy(in, &h, sizeof(h));
	memcpy(in + sizeof(h), a, alen);
	if (fuse_srv_handle(s, in, h.len, out, sizeof(out)) < sizeof(oh))
		return 1;
	memcpy(&oh, out, sizeof(oh));
	if (ret && !oh.error)
		memcpy(ret, out + sizeof(oh), sizeof(*ret));
	return oh.error;
}

/*
 * The inode table is capped (here at 100): a guest that looks up more
 * names gets ENFILE, and FORGET gives the fds back.  Short of fds (the
 * RLIMIT_NOFILE), a LOOKUP gets EMFILE and the server goes on.
 */
static void test_node_cap(void)
{
	struct fuse_init_in init = {.major = 7, .minor = 38};
	struct fuse_forget_in forget = {.nlookup = 1};
	struct rlimit rl, low;
	struct fuse_srv *s = NULL;
	struct fuse_entry_out e;
	int many, err = 0, fds_before, fds_after;
	uint64_t last = 0;
	char name[32], path[300];
	unsigned i, got = 0;

	snprintf(path, sizeof(path), "%s/many", dir);
	mkdir(path, 0755);
	many = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "%u", i);
		close(openat(many, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	}
	fds_before = dup(0);
	close(fds_before);
	is_int(fuse_srv_new(dup(many), false, 100, &s, NULL), 0, "a server holding 100 inodes");
	direct(s, FUSE_INIT, 0, &init, sizeof(init), NULL);
	for (i = 0; i < 300 && !err; i++) {
		snprintf(name, sizeof(name), "%u", i);
		err = direct(s, FUSE_LOOKUP, 1, name, strlen(name) + 1, &e);
		got += !err;
		last = err ? last : e.nodeid;
	}
	is_int(err, -ENFILE, "LOOKUP past the table's cap: ENFILE");
	is_int(got, 99, "the root and 99 more inodes");
	direct(s, FUSE_FORGET, last, &forget, sizeof(forget), NULL);
	is_int(direct(s, FUSE_LOOKUP, 1, "250", 4, NULL), 0, "after a FORGET there is room again");
	fuse_srv_free(s);
	fds_after = dup(0);
	close(fds_after);
	is_int(fds_after, fds_before, "every fd the server held is closed");

	/* Out of fds before the table is full. */
	getrlimit(RLIMIT_NOFILE, &rl);
	is_int(fuse_srv_new(dup(many), false, 0, &s, NULL), 0, "a server with the full table");
	getrlimit(RLIMIT_NOFILE, &low);
	low.rlim_cur = fds_before + 50;
	setrlimit(RLIMIT_NOFILE, &low);
	direct(s, FUSE_INIT, 0, &init, sizeof(init), NULL);
	for (i = 0, err = 0; i < 300 && !err; i++) {
		snprintf(name, sizeof(name), "%u", i);
		err = direct(s, FUSE_LOOKUP, 1, name, strlen(name) + 1, NULL);
	}
	is_int(err, -ENFILE, "near the fd limit: ENFILE in the reply");
	is_int(direct(s, FUSE_GETATTR, 1, &(struct fuse_getattr_in){0},
		      sizeof(struct fuse_getattr_in), NULL),
	       0, "the server goes on");
	/* A quarter of this small limit is left to the rest of the VMM. */
	int spare[64], n_spare = 0;
	while (n_spare < 64 && (spare[n_spare] = dup(0)) >= 0)
		n_spare++;
	ok(n_spare >= (int)low.rlim_cur / 4 - 1, "the rest of the VMM still opens %d fds", n_spare);
	while (n_spare > 0)
		close(spare[--n_spare]);
	fuse_srv_free(s);
	setrlimit(RLIMIT_NOFILE, &rl);
	close(many);
}

/*
 * A share no driver has taken is saved like any device (a template's share,
 * remapped on restore); once the guest's driver takes it, snapshots are
 * refused, before the pause (can_save) and in the save itself.
 */
static void test_snapshot(bool driven)
{
	_cleanup_err_ struct err *err = NULL;
	struct snap_writer w;
	int r;

	snap_writer_init(&w);
	r = vmm_virtio_save(VM, &w, &err);
	snap_writer_free(&w);
	if (!driven) {
		ok(vmm_virtio_can_save(VM, &err) == 0 && r == 0,
		   "no driver yet: the shares can be saved %s", err ? err->msg : "");
		return;
	}
	ok(r == -EOPNOTSUPP && strstr(err->msg, "virtio-fs `share`"),
	   "driven: the save refuses, naming the share: %s", err ? err->msg : "saved");
	err_free(&err);
	ok(vmm_virtio_can_save(VM, &err) == -EOPNOTSUPP, "and so does the check before the pause");
}

int main(void)
{
	_cleanup_err_ struct err *err = NULL;
	struct vm_config cfg = {.n_fs = 2};
	char tag[37] = {0}, cmd[128];
	uint32_t nq = 0;

	if (fake_vm_init() < 0 || !mkdtemp(dir) || !mkdtemp(rodir))
		return 1;
	cfg.fs[0] = (struct vm_fs_cfg){.tag = "share", .path = dir};
	cfg.fs[1] = (struct vm_fs_cfg){.tag = "ro", .path = rodir, .readonly = true};
	is_int(vmm_virtio_setup(VM, &cfg, &err), 0, "two shares set up %s", err ? err->msg : "");
	is_int(rd(&rw, 0x8), 26, "device id 26");
	for (unsigned i = 0; i < 36; i += 4)
		bus_access(&mmio_bus, BASE + 0x100 + i, tag + i, 4, false);
	bus_access(&mmio_bus, BASE + 0x100 + 36, &nq, 4, false);
	ok(!strcmp(tag, "share") && nq == 1, "config: tag `share`, one request queue");
	test_snapshot(false);
	wr(&rw, 0x70,
	   VIRTIO_STATUS_ACKNOWLEDGE); /* what Linux's bus does with no virtiofs driver */
	test_snapshot(false);
	ok(drv_init(&rw, 1ull << 32) & VIRTIO_STATUS_FEATURES_OK, "VERSION_1 accepted");
	test_snapshot(true);
	drv_queues(&rw, 2);
	ok(drv_init(&ro, 1ull << 32) & VIRTIO_STATUS_FEATURES_OK, "VERSION_1 accepted (ro)");
	drv_queues(&ro, 2);
	is_int(lookup(&rw, 1, "x"), -EIO, "before INIT: EIO");
	is_int(init(&rw), 0, "INIT");
	test_files();
	test_dirs();
	test_symlink();
	test_link();
	test_nasty();
	test_readonly();
	test_node_cap();
	vmm_virtio_teardown(VM);
	fake_vm_fini();
	snprintf(cmd, sizeof(cmd), "rm -rf --one-file-system %s %s", dir, rodir);
	return tap_done() | (system(cmd) != 0);
}
