/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bzImage payload unpacking in the VMM.  A bzImage carries the kernel as a
 * compressed ELF (vmlinux.bin plus its relocations; the setup header's
 * payload_offset/payload_length at 0x248/0x24c, boot protocol 2.08+), which
 * the guest's own decompressor unpacks and, with KASLR, relocates.  Under
 * emulation that decompression is a large share of the boot, so the VMM can
 * do it instead: the ELF is decompressed once with the library made for its
 * format (xz: liblzma, gzip: zlib, zstd: libzstd; the format is the payload's
 * magic), kept in the user's cache keyed by the bzImage's SHA-256, and booted
 * at its link address through its 64-bit entry (boot.c).  The kernel then
 * skips its decompressor, and with it KASLR's randomization.
 *
 * The cache is $ISOLA_CACHE_DIR, else $XDG_CACHE_HOME/isola, else
 * $HOME/.cache/isola, else /var/cache/isola; entries are vmlinux/<sha256>.elf.
 * An entry is used only when it is a regular file owned by this user in a
 * directory that only this user can write; otherwise it is made again and
 * renamed over the old one (a symlink there is replaced, never followed).
 * When the cache cannot be written the ELF is held in a memfd.
 *
 * An initramfs is unpacked the same way (initrd_unpack): a gzip, xz or zstd
 * stream that makes up the whole file (zero padding allowed after it) and
 * holds a newc cpio is decompressed into the cache as <sha256>.cpio, and the
 * guest gets the plain cpio, which the kernel takes as it is: it then only
 * copies the files out instead of inflating them first.  Anything else (a
 * concatenation of archives, another format) goes to the guest unchanged.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "boot.h"
#include "cleanup.h"
#include "fdutil.h"
#include "sha256sw.h"

#define UNPACK_MAX_OUT (512ULL << 20) /* the decompressed ELF */
#define UNPACK_MAX_IN  (256ULL << 20) /* the bzImage */

/*
 * Whole files and their unpacked forms live in their own anonymous mappings,
 * unmapped when done: malloc would keep such buffers resident in the VMM's
 * heap for its whole life once glibc's mmap threshold has grown past them.
 */
struct big {
	uint8_t *p;
	size_t len;
};

static void big_free(struct big *b)
{
	if (b->p)
		munmap(b->p, b->len);
	*b = (struct big){0};
}
#define _cleanup_big_ __attribute__((cleanup(big_free)))

static int big_alloc(struct big *b, size_t len)
{
	void *p =
	    mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -ENOMEM;
	*b = (struct big){p, len ? len : 1};
	return 0;
}

static int big_grow(struct big *b, size_t len)
{
	void *p = mremap(b->p, b->len, len, MREMAP_MAYMOVE);

	if (p == MAP_FAILED)
		return -ENOMEM;
	b->p = p, b->len = len;
	return 0;
}

enum codec { CODEC_XZ, CODEC_GZIP, CODEC_ZSTD, CODEC_UNSUPPORTED };

static const struct {
	const char *name;
	const uint8_t magic[6];
	unsigned len;
	enum codec codec;
} formats[] = {
    {"xz", {0xfd, '7', 'z', 'X', 'Z', 0}, 6, CODEC_XZ},
    {"gzip", {0x1f, 0x8b}, 2, CODEC_GZIP},
    {"zstd", {0x28, 0xb5, 0x2f, 0xfd}, 4, CODEC_ZSTD},
    {"lz4", {0x02, 0x21, 0x4c, 0x18}, 4, CODEC_UNSUPPORTED},
    {"bzip2", {'B', 'Z', 'h'}, 3, CODEC_UNSUPPORTED},
    {"lzma", {0x5d, 0, 0}, 3, CODEC_UNSUPPORTED},
    {"lzo", {0x89, 'L', 'Z', 'O'}, 4, CODEC_UNSUPPORTED},
};

static int xz_unpack(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret lr;

	if (lzma_stream_decoder(&s, UNPACK_MAX_OUT, 0) != LZMA_OK)
		return -ENOMEM;
	s.next_in = in, s.avail_in = len;
	s.next_out = out, s.avail_out = out_len;
	lr = lzma_code(&s, LZMA_FINISH);
	lzma_end(&s);
	/* The kernel's size word follows the stream: it is left unread. */
	return lr == LZMA_STREAM_END && s.total_out == out_len ? 0 : -EBADMSG;
}

static int gzip_unpack(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	z_stream z = {0};
	int zr;

	if (len > UINT32_MAX || out_len > UINT32_MAX || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in, z.avail_in = len;
	z.next_out = out, z.avail_out = out_len;
	zr = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	return zr == Z_STREAM_END && z.total_out == out_len ? 0 : -EBADMSG;
}

static int zstd_unpack(const uint8_t *in, size_t len, uint8_t *out, size_t out_len)
{
	size_t frame = ZSTD_findFrameCompressedSize(in, len), n;

	if (ZSTD_isError(frame))
		return -EBADMSG;
	n = ZSTD_decompress(out, out_len, in, frame);
	return !ZSTD_isError(n) && n == out_len ? 0 : -EBADMSG;
}

/* The payload's format, by its magic; NULL when unknown. */
static int find_format(const uint8_t *p, size_t len)
{
	for (unsigned i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (len >= formats[i].len && !memcmp(p, formats[i].magic, formats[i].len))
			return (int)i;
	return -1;
}

/* Decompress the payload into *ret (its length: the size word the kernel's build appends). */
static int decompress(const char *path, const uint8_t *p, size_t len, int fmt, struct big *ret,
		      struct err **err)
{
	_cleanup_big_ struct big out = {0};
	uint32_t size;
	int r;

	memcpy(&size, p + len - 4, 4); /* little endian */
	if (size < sizeof(Elf64_Ehdr) || size > UNPACK_MAX_OUT)
		return err_make(err, 0, "kernel `%s`: payload size word %u is not within %zu..%llu",
				path, size, sizeof(Elf64_Ehdr), UNPACK_MAX_OUT);
	if (big_alloc(&out, size) < 0)
		return err_make(err, ENOMEM, "kernel `%s`: payload", path);
	switch (formats[fmt].codec) {
	case CODEC_XZ:
		r = xz_unpack(p, len - 4, out.p, size);
		break;
	case CODEC_GZIP:
		r = gzip_unpack(p, len - 4, out.p, size);
		break;
	default:
		r = zstd_unpack(p, len - 4, out.p, size);
		break;
	}
	if (r < 0)
		return err_make(
		    err, 0,
		    "kernel `%s`: the %s payload is corrupt or not %u bytes as its size "
		    "word says",
		    path, formats[fmt].name, size);
	if (memcmp(out.p, ELFMAG, SELFMAG) || out.p[EI_CLASS] != ELFCLASS64 ||
	    ((Elf64_Ehdr *)out.p)->e_machine != EM_X86_64)
		return err_make(err, 0, "kernel `%s`: the payload is not an x86-64 ELF", path);
	*ret = out;
	out = (struct big){0};
	return 0;
}

/* The cache directory (made 0700), open; -1 when there is none this user alone can write. */
static int open_cache_dir(void)
{
	const char *env = getenv("ISOLA_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
		   *home = getenv("HOME");
	_cleanup_free_ char *dir = NULL;
	struct err *ignored = NULL;
	struct stat st;
	int fd, r;

	if (env && *env)
		r = asprintf(&dir, "%s/vmlinux", env);
	else if (xdg && *xdg == '/')
		r = asprintf(&dir, "%s/isola/vmlinux", xdg);
	else if (home && *home == '/')
		r = asprintf(&dir, "%s/.cache/isola/vmlinux", home);
	else
		r = asprintf(&dir, "/var/cache/isola/vmlinux");
	if (r < 0)
		return -1;
	if (mkdir_p(dir, 0700, &ignored) < 0) {
		err_free(&ignored);
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A cached entry worth using: a regular file of ours that starts as an x86-64 ELF. */
static int open_cached(int dirfd, const char *name)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	unsigned char id[EI_NIDENT];
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_size < (off_t)sizeof(Elf64_Ehdr) || pread(fd, id, sizeof(id), 0) != sizeof(id) ||
	    memcmp(id, ELFMAG, SELFMAG) || id[EI_CLASS] != ELFCLASS64)
		return -1;
	return TAKE_FD(fd);
}

/* Store the ELF as the entry `name` (a temporary file renamed over it); its fd, or -1. */
static int store(int dirfd, const char *name, const uint8_t *elf, size_t len)
{
	char tmp[128];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", name, (int)getpid());
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, elf, len) < 0 || fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		unlinkat(dirfd, tmp, 0);
		close(fd);
		return -1;
	}
	return fd;
}

static int hold_in_memfd(const char *path, const uint8_t *elf, size_t len, struct err **err)
{
	_cleanup_close_ int fd = memfd_create("isola-vmlinux", MFD_CLOEXEC);

	if (fd < 0 || write_all(fd, elf, len) < 0)
		return err_make(err, errno ? errno : EIO, "kernel `%s`: hold the unpacked ELF",
				path);
	return TAKE_FD(fd);
}

static int read_whole(int fd, const char *path, uint64_t size, struct big *ret, struct err **err)
{
	_cleanup_big_ struct big buf = {0};
	uint64_t got = 0;

	if (size > UNPACK_MAX_IN)
		return err_make(err, EFBIG, "kernel `%s`: larger than %llu MiB to unpack", path,
				UNPACK_MAX_IN >> 20);
	if (big_alloc(&buf, size) < 0)
		return err_make(err, ENOMEM, "kernel `%s`", path);
	while (got < size) {
		ssize_t n = pread(fd, buf.p + got, size - got, got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_make(err, n < 0 ? errno : EIO, "read kernel `%s`", path);
		got += n;
	}
	*ret = buf;
	buf = (struct big){0};
	return 0;
}

int bzimage_unpack(int fd, const char *path, uint64_t file_size, const struct bzimage_info *bz,
		   bool must, struct err **err)
{
	_cleanup_big_ struct big file = {0}, elf = {0};
	_cleanup_close_ int dirfd = -1;
	uint32_t off, len;
	char hex[65], name[80];
	struct sha256sw h;
	int fmt, r, out;

	if (bz->version < 0x208 || bz->hdr_len < 0x250) {
		if (!must)
			return -EOPNOTSUPP;
		return err_make(err, 0, "kernel `%s`: boot protocol %#x has no payload fields",
				path, bz->version);
	}
	memcpy(&off, bz->hdr + 0x248, 4);
	memcpy(&len, bz->hdr + 0x24c, 4);
	if (len == 0 && !must)
		return -EOPNOTSUPP; /* no payload described: the kernel is what follows setup */
	if (len < 8 || bz->kernel_offset + off + (uint64_t)len > file_size)
		return err_make(err, 0, "kernel `%s`: payload %#x+%#x is outside the file", path,
				off, len);
	r = read_whole(fd, path, file_size, &file, err);
	if (r < 0)
		return r;
	const uint8_t *p = file.p + bz->kernel_offset + off;

	fmt = find_format(p, len);
	if (fmt < 0 || formats[fmt].codec == CODEC_UNSUPPORTED) {
		if (!must)
			return -EOPNOTSUPP;
		return err_make(err, 0,
				"kernel `%s`: payload compressed with %s: isola unpacks xz, gzip "
				"and zstd (--kernel-unpack guest boots it as it is)",
				path, fmt < 0 ? "an unknown format" : formats[fmt].name);
	}
	sha256sw_init(&h);
	sha256sw_update(&h, file.p, file_size);
	sha256sw_final_hex(&h, hex);
	snprintf(name, sizeof(name), "%s.elf", hex);
	dirfd = open_cache_dir();
	if (dirfd >= 0 && (out = open_cached(dirfd, name)) >= 0)
		return out;
	r = decompress(path, p, len, fmt, &elf, err);
	if (r < 0)
		return r;
	if (dirfd >= 0 && (out = store(dirfd, name, elf.p, elf.len)) >= 0)
		return out;
	return hold_in_memfd(path, elf.p, elf.len, err);
}

#define INITRD_MAX_OUT (1ULL << 30)

/* Decompress a whole stream into a growing buffer; *ret_used: input consumed. */
static int stream_unpack(enum codec codec, const uint8_t *in, size_t len, struct big *ret,
			 size_t *ret_len, size_t *ret_used)
{
	_cleanup_big_ struct big out = {0};
	size_t cap = len * 4 + 4096, done = 0, used = 0;
	lzma_stream xs = LZMA_STREAM_INIT;
	ZSTD_DStream *zs = NULL;
	z_stream gz = {0};
	int r = -EBADMSG;
	bool end = false;

	if (codec == CODEC_XZ && lzma_stream_decoder(&xs, UNPACK_MAX_OUT, 0) != LZMA_OK)
		return -ENOMEM;
	if (codec == CODEC_GZIP && inflateInit2(&gz, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	if (codec == CODEC_ZSTD && !(zs = ZSTD_createDStream()))
		return -ENOMEM;
	while (!end) {
		size_t in_n = len - used > (1u << 30) ? (1u << 30) : len - used, out_n, got, ate;

		if (done == cap) {
			if (cap >= INITRD_MAX_OUT) {
				r = -EFBIG;
				break;
			}
			cap = cap * 2 > INITRD_MAX_OUT ? INITRD_MAX_OUT : cap * 2;
			if (big_grow(&out, cap) < 0) {
				r = -ENOMEM;
				break;
			}
		} else if (!out.p && big_alloc(&out, cap) < 0) {
			r = -ENOMEM;
			break;
		}
		out_n = cap - done > (1u << 30) ? (1u << 30) : cap - done;
		if (codec == CODEC_XZ) {
			lzma_ret lr;

			xs.next_in = in + used, xs.avail_in = in_n;
			xs.next_out = out.p + done, xs.avail_out = out_n;
			lr = lzma_code(&xs, LZMA_FINISH);
			ate = in_n - xs.avail_in, got = out_n - xs.avail_out;
			end = lr == LZMA_STREAM_END;
			if (!end && lr != LZMA_OK &&
			    !(lr == LZMA_BUF_ERROR && got == 0 && ate == 0 && xs.avail_out == 0))
				break;
		} else if (codec == CODEC_GZIP) {
			int zr;

			gz.next_in = (Bytef *)in + used, gz.avail_in = in_n;
			gz.next_out = out.p + done, gz.avail_out = out_n;
			zr = inflate(&gz, Z_NO_FLUSH);
			ate = in_n - gz.avail_in, got = out_n - gz.avail_out;
			end = zr == Z_STREAM_END;
			if (!end && zr != Z_OK && !(zr == Z_BUF_ERROR && gz.avail_out == 0))
				break;
		} else {
			ZSTD_inBuffer zi = {in + used, in_n, 0};
			ZSTD_outBuffer zo = {out.p + done, out_n, 0};
			size_t zr = ZSTD_decompressStream(zs, &zo, &zi);

			if (ZSTD_isError(zr))
				break;
			ate = zi.pos, got = zo.pos;
			end = zr == 0;
		}
		used += ate, done += got;
		if (!end && ate == 0 && got == 0 && done < cap)
			break; /* truncated: no progress with room to write */
	}
	if (codec == CODEC_XZ)
		lzma_end(&xs);
	if (codec == CODEC_GZIP)
		inflateEnd(&gz);
	ZSTD_freeDStream(zs);
	if (!end)
		return r;
	*ret = out;
	out = (struct big){0};
	*ret_len = done;
	*ret_used = used;
	return 0;
}

int initrd_unpack(int fd, const char *path, uint64_t size, bool must, uint64_t *ret_size,
		  struct err **err)
{
	_cleanup_big_ struct big file = {0}, cpio = {0};
	_cleanup_close_ int dirfd = -1;
	size_t cpio_len = 0, used = 0;
	char hex[65], name[80];
	struct sha256sw h;
	struct stat st;
	int fmt, r, out;

	if (size > UNPACK_MAX_IN) {
		if (!must)
			return -EOPNOTSUPP;
		return err_make(err, EFBIG, "initrd `%s`: larger than %llu MiB to unpack", path,
				UNPACK_MAX_IN >> 20);
	}
	r = read_whole(fd, path, size, &file, err);
	if (r < 0)
		return err_wrap(err, "initrd");
	fmt = find_format(file.p, size);
	if (fmt < 0 || formats[fmt].codec == CODEC_UNSUPPORTED) {
		if (!must)
			return -EOPNOTSUPP; /* a plain cpio, or a format isola leaves to the kernel
					     */
		return err_make(err, 0, "initrd `%s`: not compressed with xz, gzip or zstd", path);
	}
	sha256sw_init(&h);
	sha256sw_update(&h, file.p, size);
	sha256sw_final_hex(&h, hex);
	snprintf(name, sizeof(name), "%s.cpio", hex);
	dirfd = open_cache_dir();
	if (dirfd >= 0 && (out = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		char magic[6];

		if (fstat(out, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    pread(out, magic, 6, 0) == 6 && !memcmp(magic, "07070", 5)) {
			*ret_size = st.st_size;
			return out;
		}
		close(out);
	}
	r = stream_unpack(formats[fmt].codec, file.p, size, &cpio, &cpio_len, &used);
	/* The whole file must be that one stream (and zero padding): else the kernel's way. */
	for (size_t i = used; r >= 0 && i < size; i++)
		if (file.p[i])
			r = -EOPNOTSUPP;
	if (r >= 0 &&
	    (cpio_len < 6 || (memcmp(cpio.p, "070701", 6) && memcmp(cpio.p, "070702", 6))))
		r = -EOPNOTSUPP;
	if (r == -EOPNOTSUPP && !must)
		return r;
	if (r < 0)
		return err_make(err, 0,
				"initrd `%s`: the %s data is corrupt, too large or not one cpio",
				path, formats[fmt].name);
	*ret_size = cpio_len;
	if (dirfd >= 0 && (out = store(dirfd, name, cpio.p, cpio_len)) >= 0)
		return out;
	return hold_in_memfd(path, cpio.p, cpio_len, err);
}
