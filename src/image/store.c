/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The content store: verified blobs, the name index and the store lock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pwd.h>

#include "cleanup.h"
#include "config.h"
#include "crypto.h"
#include "fdutil.h"
#include "image.h"
#include "jsonutil.h"

static const char *const store_dirs[] = {"blobs", "blobs/sha256", "layers", "tmp", "containers"};

/* Rootless, as podman: $XDG_DATA_HOME/isola, else ~/.local/share/isola. */
/* Weak: NSS loads modules with dlopen, which the static isola has not (src/cli/dynamic.c). */
#pragma weak getpwuid

static const char *user_store(void)
{
	static char path[4096];
	const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	struct passwd *pw;

	if (data && data[0] == '/')
		snprintf(path, sizeof(path), "%s/isola", data);
	else if (home && home[0] == '/')
		snprintf(path, sizeof(path), "%s/.local/share/isola", home);
	else if (getpwuid && (pw = getpwuid(geteuid())) && pw->pw_dir && pw->pw_dir[0] == '/')
		snprintf(path, sizeof(path), "%s/.local/share/isola", pw->pw_dir);
	else
		return ISOLA_DEFAULT_STORE;
	return path;
}

const char *img_store_default_path(const char *opt)
{
	const char *env = getenv("ISOLA_STORE");

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	if (geteuid() != 0)
		return user_store();
	return ISOLA_DEFAULT_STORE;
}

/*
 * Mark dir as the top of a directory hierarchy (chattr +T) for ext4's Orlov
 * allocator: each layer unpacked below it then starts in a block group with
 * free inodes, instead of the group of its parent, which may be nearly full
 * and make every file creation search for a free inode (measured: 20 us
 * against 500+ us per file).  Best effort: other filesystems lack the flag.
 */
static void set_topdir(int dfd, const char *name)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	int flags;

	if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 || (flags & FS_TOPDIR_FL))
		return;
	flags |= FS_TOPDIR_FL;
	(void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

static int store_open(const char *path, int lock, struct img_store **ret, struct err **err)
{
	_cleanup_close_ int dfd = -1, lfd = -1;
	struct img_store *s;
	int r;

	/* Every blob is checked against its sha256: libcrypto now, or a clear error. */
	r = crypto_load(err);
	if (r < 0)
		return err_wrap(err, "store");
	r = mkdir_p(path, 0700, err);
	if (r < 0)
		return err_wrap(err, "store");
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_make(err, errno, "open store `%s`", path);
	for (size_t i = 0; i < ARRAY_SIZE(store_dirs); i++)
		if (mkdirat(dfd, store_dirs[i], 0700) < 0 && errno != EEXIST)
			return err_make(err, errno, "mkdir `%s/%s`", path, store_dirs[i]);
	set_topdir(dfd, "tmp");
	set_topdir(dfd, "containers");
	lfd = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0)
		return err_make(err, errno, "open `%s/lock`", path);
	/*
	 * Serialise writers: two pulls (or a pull and a prune) never interleave.
	 * Readers share the lock: they wait for a writer, never for each other.
	 */
	if (flock(lfd, lock) < 0)
		return err_make(err, errno, "lock `%s/lock`", path);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return err_make(err, ENOMEM, "store");
	}
	s->dfd = TAKE_FD(dfd);
	s->lock_fd = TAKE_FD(lfd);
	*ret = s;
	return 0;
}

int img_store_open(const char *path, struct img_store **ret, struct err **err)
{
	return store_open(path, LOCK_EX, ret, err);
}

int img_store_open_shared(const char *path, struct img_store **ret, struct err **err)
{
	return store_open(path, LOCK_SH, ret, err);
}

void img_store_close(struct img_store *s)
{
	if (!s)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->dfd >= 0)
		close(s->dfd);
	free(s->path);
	free(s);
}

static void blob_rel(const char *digest, char buf[PATH_MAX])
{
	snprintf(buf, PATH_MAX, "blobs/sha256/%s", img_digest_hex(digest));
}

bool img_blob_exists(struct img_store *s, const char *digest)
{
	char p[PATH_MAX];

	if (!img_digest_valid(digest))
		return false;
	blob_rel(digest, p);
	return faccessat(s->dfd, p, F_OK, 0) == 0;
}

int img_blob_open(struct img_store *s, const char *digest, struct err **err)
{
	char p[PATH_MAX];
	int fd;

	if (!img_digest_valid(digest))
		return err_make(err, 0, "invalid digest `%s`", digest);
	blob_rel(digest, p);
	fd = openat(s->dfd, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_make(err, errno, "blob %s", digest);
	return fd;
}

int img_blob_read(struct img_store *s, const char *digest, size_t max, char **ret, size_t *ret_len,
		  struct err **err)
{
	_cleanup_free_ char *buf = NULL;
	char got[IMG_DIGEST_LEN + 1], p[PATH_MAX];
	size_t len;
	int r;

	if (!img_digest_valid(digest))
		return err_make(err, 0, "invalid digest `%s`", digest);
	blob_rel(digest, p);
	r = read_file_at(s->dfd, p, max, &buf, &len, err);
	if (r < 0)
		return err_wrap(err, "blob %s", digest);
	r = img_sha256_digest(buf, len, got, err);
	if (r < 0)
		return r;
	if (!streq(got, digest))
		return err_make(err, EIO, "blob %s: content has digest %s (store corrupted)",
				digest, got);
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int img_blob_put(struct img_store *s, const char *digest, const void *buf, size_t len,
		 struct err **err)
{
	char got[IMG_DIGEST_LEN + 1];
	_cleanup_close_ int bfd = -1;
	int r = img_sha256_digest(buf, len, got, err);

	if (r < 0)
		return r;
	if (!streq(got, digest))
		return err_make(err, EIO, "digest mismatch: expected %s, content is %s", digest,
				got);
	if (img_blob_exists(s, digest))
		return 0;
	bfd = openat(s->dfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return err_make(err, errno, "open `%s/blobs/sha256`", s->path);
	return write_file_atomic_at(bfd, img_digest_hex(digest), buf, len, 0644, err);
}

/* ---- streaming blob writer ---- */

struct img_blob_writer {
	struct img_store *s;
	struct img_hasher *h;
	int fd;
	uint64_t off, size;
	char digest[IMG_DIGEST_LEN + 1];
	char partial[PATH_MAX];
};

static int writer_rehash(struct img_blob_writer *w, struct err **err)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		img_hasher_update(w->h, buf, n);
		w->off += n;
	}
	if (n < 0)
		return err_make(err, errno, "read `%s`", w->partial);
	return 0;
}

int img_blob_writer_begin(struct img_store *s, const char *digest, uint64_t size,
			  struct img_blob_writer **ret, uint64_t *ret_offset, struct err **err)
{
	struct img_blob_writer *w;
	int r;

	if (!img_digest_valid(digest))
		return err_make(err, 0, "invalid digest `%s`", digest);
	w = calloc(1, sizeof(*w));
	if (!w)
		return err_make(err, ENOMEM, "blob writer");
	w->h = img_hasher_new(err);
	if (!w->h) {
		free(w);
		return err_wrap(err, "blob writer");
	}
	w->s = s;
	w->size = size;
	memcpy(w->digest, digest, sizeof(w->digest));
	snprintf(w->partial, sizeof(w->partial), "tmp/%s.partial", img_digest_hex(digest));
	w->fd = openat(s->dfd, w->partial, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0) {
		r = err_make(err, errno, "open `%s/%s`", s->path, w->partial);
		img_blob_writer_free(w, false);
		return r;
	}
	/* A partial from an interrupted pull: rehash it and carry on from its end. */
	r = writer_rehash(w, err);
	if (r >= 0 && size && w->off > size)
		r = img_blob_writer_restart(w, err);
	if (r < 0) {
		img_blob_writer_free(w, false);
		return r;
	}
	*ret = w;
	*ret_offset = w->off;
	return 0;
}

int img_blob_writer_restart(struct img_blob_writer *w, struct err **err)
{
	img_hasher_free(w->h);
	w->h = img_hasher_new(err);
	if (!w->h)
		return err_wrap(err, "blob writer");
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return err_make(err, errno, "truncate `%s`", w->partial);
	w->off = 0;
	return 0;
}

uint64_t img_blob_writer_offset(const struct img_blob_writer *w)
{
	return w->off;
}

uint64_t img_blob_writer_size(const struct img_blob_writer *w)
{
	return w->size;
}

int img_blob_writer_write(struct img_blob_writer *w, const void *buf, size_t len, struct err **err)
{
	if (w->size && w->off + len > w->size)
		return err_make(err, EFBIG, "blob %s: more data than the %llu bytes announced",
				w->digest, (unsigned long long)w->size);
	if (write_all(w->fd, buf, len) < 0)
		return err_make(err, errno, "write `%s`", w->partial);
	img_hasher_update(w->h, buf, len);
	w->off += len;
	return 0;
}

int img_blob_writer_commit(struct img_blob_writer *w, struct err **err)
{
	char got[IMG_DIGEST_LEN + 1], dst[PATH_MAX];

	img_hasher_final(w->h, got);
	if (!streq(got, w->digest) || (w->size && w->off != w->size)) {
		unlinkat(w->s->dfd, w->partial, 0);
		return err_make(err, EIO,
				"blob %s: digest mismatch (downloaded %llu bytes "
				"hashing to %s); nothing kept",
				w->digest, (unsigned long long)w->off, got);
	}
	if (fsync(w->fd) < 0)
		return err_make(err, errno, "fsync `%s`", w->partial);
	fchmod(w->fd, 0644);
	blob_rel(w->digest, dst);
	if (renameat(w->s->dfd, w->partial, w->s->dfd, dst) < 0)
		return err_make(err, errno, "rename into `%s`", dst);
	return 0;
}

void img_blob_writer_free(struct img_blob_writer *w, bool keep_partial)
{
	if (!w)
		return;
	if (!keep_partial)
		unlinkat(w->s->dfd, w->partial, 0);
	if (w->fd >= 0)
		close(w->fd);
	img_hasher_free(w->h);
	free(w);
}
