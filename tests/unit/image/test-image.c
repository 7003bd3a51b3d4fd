/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of src/image: digests, references, challenges, paths, unpack. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image.h"
#include "strv.h"
#include "tap.h"
#include "registry-internal.h"
#include "unpack-internal.h"

static void test_digest(void)
{
	char d[IMG_DIGEST_LEN + 1], c[IMG_DIGEST_LEN + 1];
	struct img_hasher *h = img_hasher_new(NULL);

	ok(img_sha256_digest("abc", 3, d, NULL) == 0, "sha256 digest");
	ok(streq(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	   "sha256(abc)");
	img_hasher_update(h, "a", 1);
	img_hasher_update(h, "bc", 2);
	img_hasher_final(h, c);
	img_hasher_free(h);
	ok(streq(c, d), "streaming hash equals one-shot hash");
	ok(img_digest_valid(d), "valid digest");
	ok(!img_digest_valid(
	       "sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	   "upper-case hex refused");
	ok(!img_digest_valid("sha256:ba78"), "short digest refused");
	ok(!img_digest_valid(
	       "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	   "other algorithms refused");
	ok(!img_digest_valid(
	       "sha256:../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	   "path in digest refused");
	img_chain_id(NULL, d, c, NULL);
	ok(streq(c, d), "chain id of the first layer is its diff id");
	img_chain_id(d, d, c, NULL);
	img_sha256_digest("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad "
			  "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
			  143, d, NULL);
	ok(streq(c, d), "chain id = sha256(parent + ' ' + diff id)");
}

static void check_ref(const char *in, const char *reg, const char *repo, const char *tag,
		      const char *digest)
{
	struct img_ref r = {};
	_cleanup_err_ struct err *err = NULL;
	int rc = img_ref_parse(in, &r, &err);

	ok(rc == 0 && streq(r.registry, reg) && streq(r.repo, repo) &&
	       (tag ? r.tag && streq(r.tag, tag) : !r.tag) &&
	       (digest ? r.digest && streq(r.digest, digest) : !r.digest),
	   "reference `%s`", in);
	img_ref_free(&r);
}

static void test_refs(void)
{
	static const char dg[] =
	    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	const char *bad[] = {"",      "UPPER",	     "a//b",
			     "a:",    "a@sha256:12", "host:5000/a:b:c",
			     "/a",    "a/",	     ".a",
			     "a.",    "a..b",	     "a___b",
			     "a/./b", "a/../b",	     "h:1/a/../../../x/y",
			     "a/-b",  "a_-b"};
	char buf[200];

	check_ref("busybox", "docker.io", "library/busybox", "latest", NULL);
	check_ref("busybox:1.36", "docker.io", "library/busybox", "1.36", NULL);
	check_ref("user/app", "docker.io", "user/app", "latest", NULL);
	check_ref("localhost:5000/a/b:tag", "localhost:5000", "a/b", "tag", NULL);
	check_ref("localhost/isola-default", "localhost", "isola-default", "latest", NULL);
	check_ref("quay.io/x/y", "quay.io", "x/y", "latest", NULL);
	/* The spec's separators: '.', '_', "__", runs of '-'. */
	check_ref("q.io/a.b/c_d/e__f/g---h9", "q.io", "a.b/c_d/e__f/g---h9", "latest", NULL);
	snprintf(buf, sizeof(buf), "127.0.0.1:5000/a@%s", dg);
	check_ref(buf, "127.0.0.1:5000", "a", NULL, dg);
	snprintf(buf, sizeof(buf), "a:t@%s", dg);
	check_ref(buf, "docker.io", "library/a", "t", dg);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct img_ref r = {};
		_cleanup_err_ struct err *err = NULL;

		ok(img_ref_parse(bad[i], &r, &err) < 0 && err, "reference `%s` refused", bad[i]);
	}
	/* docker.io/library/ + 237 = 255 characters: the most; one more is refused. */
	{
		char name[300];
		struct img_ref r = {};
		_cleanup_err_ struct err *err = NULL;

		memset(name, 'a', 237);
		name[237] = '\0';
		ok(img_ref_parse(name, &r, &err) == 0, "a 255-character name");
		img_ref_free(&r);
		strcat(name, "a");
		ok(img_ref_parse(name, &r, &err) < 0 && err, "a 256-character name refused");
	}
	ok(img_registry_is_local("localhost:5000") && img_registry_is_local("127.0.0.1:1") &&
	       !img_registry_is_local("docker.io"),
	   "local registries");
}

/* Plain HTTP only for a host that is exactly loopback (issue 11, defect 4). */
static void test_registry_hosts(void)
{
	static const char *const local[] = {
	    "localhost",      "localhost:5000",	       "LocalHost:1", "127.0.0.1",
	    "127.0.0.1:5000", "127.255.255.254:65535", "127.1.2.3",   "[::1]",
	    "[::1]:5000",     "[0:0:0:0:0:0:0:1]:80",
	};
	static const char *const remote[] = {
	    "localhost.registry.example.com",
	    "localhost.registry.example.com:5000",
	    "127.0.0.1.example.net",
	    "127.0.0.1.example.net:5000",
	    "127.example.net",
	    "localhostx",
	    "xlocalhost",
	    "localhost.",
	    "128.0.0.1",
	    "126.0.0.1:5000",
	    "[::2]:5000",
	    "[::ffff:127.0.0.1]",
	    "[::1].example.net",
	    "127.1",
	    "docker.io",
	    "localhost:5000@evil.example",
	    "localhost:0",
	    "localhost:65536",
	    "localhost:",
	    "localhost:+80",
	    "localhost: 80",
	    "[::1",
	    "::1",
	    "::1:5000",
	    "[]:5000",
	    "[::1]x",
	    "127.0.0.1:5000:6000",
	    "",
	    "local_host",
	    "-localhost",
	    "a..b",
	};
	static const char *const bad_refs[] = {
	    "localhost:5000@evil.example/a",
	    "[::1/a",
	    "a..b.example/x",
	    "host:0/a",
	    "host:99999/a",
	    "-host.example/a",
	    "ho_st.example/a",
	    "host.example:/a",
	};
	char host[IMG_HOST_MAX + 1];
	unsigned port = 1;

	for (size_t i = 0; i < ARRAY_SIZE(local); i++)
		ok(img_registry_is_local(local[i]), "`%s` is local", local[i]);
	for (size_t i = 0; i < ARRAY_SIZE(remote); i++)
		ok(!img_registry_is_local(remote[i]), "`%s` is not local", remote[i]);
	ok(img_registry_host_parse("[::1]:5000", host, &port) == 0 && streq(host, "::1") &&
	       port == 5000,
	   "[::1]:5000 is host ::1 port 5000");
	ok(img_registry_host_parse("quay.io", host, &port) == 0 && streq(host, "quay.io") &&
	       port == 0,
	   "quay.io has no port");
	for (size_t i = 0; i < ARRAY_SIZE(bad_refs); i++) {
		struct img_ref r = {};
		_cleanup_err_ struct err *err = NULL;

		ok(img_ref_parse(bad_refs[i], &r, &err) < 0 && err, "reference `%s` refused",
		   bad_refs[i]);
	}
	check_ref("[::1]:5000/a/b:t", "[::1]:5000", "a/b", "t", NULL);
}

/* The token URL escapes service and scope (they come from the registry's challenge). */
static void test_token_url(void)
{
	struct img_challenge ch = {.scheme = "Bearer",
				   .realm = "https://auth.example/token",
				   .service = "reg&x=1 #y",
				   .scope = "repository:t/a:pull"};
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *url = NULL, *url2 = NULL;

	if (img_lazylib_load(IMG_LIB_CURL, &err) < 0) {
		skip("SKIP: libcurl not loadable");
		return;
	}
	ok(reg_token_url(&ch, "t/a", &url, &err) == 0 &&
	       streq(url, "https://auth.example/token?service=reg%26x%3D1%20%23y"
			  "&scope=repository%3At%2Fa%3Apull"),
	   "service and scope escaped: %s", url ? url : "(null)");
	ch.realm = "https://auth.example/token?a=b";
	ch.service = NULL;
	ch.scope = NULL;
	ok(reg_token_url(&ch, "lib/x", &url2, &err) == 0 &&
	       streq(url2,
		     "https://auth.example/token?a=b&service=&scope=repository%3Alib%2Fx%3Apull"),
	   "default scope escaped too: %s", url2 ? url2 : "(null)");
}

/* A config without rootfs.diff_ids crashed (strdup(NULL)); found by fuzz-image-manifest. */
static void test_config_no_diff_ids(void)
{
	static const char cfg[] = "{\"rootfs\": {\"type\": \"layers\", \"divf_ids\": []}}";
	_cleanup_err_ struct err *err = NULL;
	char **ids = NULL;

	ok(img_config_diff_ids(cfg, strlen(cfg), &ids, &err) == 0 && ids && !ids[0],
	   "a config without diff_ids gives an empty list");
	strv_free(ids);
}

static void test_challenge(void)
{
	struct img_challenge c = {};
	_cleanup_err_ struct err *err = NULL;

	ok(img_challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
			       "docker.io\",scope=\"repository:library/busybox:pull\"",
			       &c, &err) == 0,
	   "parse a Bearer challenge");
	ok(c.scheme && streq(c.scheme, "Bearer") &&
	       streq(c.realm, "https://auth.docker.io/token") &&
	       streq(c.service, "registry.docker.io") &&
	       streq(c.scope, "repository:library/busybox:pull"),
	   "realm, service, scope");
	img_challenge_free(&c);
	ok(img_challenge_parse("Basic realm=\"Registry Realm\"", &c, &err) == 0 &&
	       streq(c.scheme, "Basic") && streq(c.realm, "Registry Realm"),
	   "Basic challenge");
	img_challenge_free(&c);
	ok(img_challenge_parse("Bearer realm=x, scope=\"a,b\"", &c, &err) == 0 &&
	       streq(c.realm, "x") && streq(c.scope, "a,b"),
	   "unquoted value, comma in quotes");
	img_challenge_free(&c);
	ok(img_challenge_parse("Bearer service=\"x\"", &c, &err) < 0,
	   "Bearer without realm refused");
	err_free(&err);
	ok(img_challenge_parse("Bearer realm=\"unterminated", &c, &err) < 0, "unterminated quote");
}

static void test_paths(void)
{
	char out[64];

	ok(img_path_clean("./a/b/", out, sizeof(out)) == 3 && streq(out, "a/b"), "./a/b/");
	ok(img_path_clean("/etc//passwd", out, sizeof(out)) > 0 && streq(out, "etc/passwd"),
	   "absolute names are made relative");
	ok(img_path_clean("a/./b", out, sizeof(out)) > 0 && streq(out, "a/b"), "a/./b");
	ok(img_path_clean("../x", out, sizeof(out)) == -EXDEV, "../x refused");
	ok(img_path_clean("a/../../x", out, sizeof(out)) == -EXDEV, "a/../../x refused");
	ok(img_path_clean("a/..", out, sizeof(out)) == -EXDEV, "a/.. refused");
	ok(img_path_clean("a..b/..c", out, sizeof(out)) > 0, "dots inside names are fine");
	ok(img_path_clean("./", out, sizeof(out)) == 0, "the root itself");
	ok(img_path_clean(
	       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", out,
	       sizeof(out)) == -ENAMETOOLONG,
	   "too long");
}

static void add(struct archive *a, const char *name, mode_t type, const char *data)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, data ? strlen(data) : 0);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, data);
	archive_write_header(a, e);
	if (type == AE_IFREG && data)
		archive_write_data(a, data, strlen(data));
	archive_entry_free(e);
}

/* A gzip tar with whiteouts, written to a memfd. */
static int make_layer(const char *victim)
{
	struct archive *a = archive_write_new();
	int fd = memfd_create("layer", MFD_CLOEXEC);

	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	archive_write_open_fd(a, fd);
	add(a, "d/", AE_IFDIR, NULL);
	add(a, "d/.wh..wh..opq", AE_IFREG, NULL);
	add(a, "d/f", AE_IFREG, "hello");
	add(a, "d/.wh.gone", AE_IFREG, NULL);
	add(a, "s", AE_IFLNK, victim);
	{
		struct archive_entry *e = archive_entry_new();

		/* A forged overlay attribute must not reach the disk. */
		archive_entry_set_pathname(e, "forged/");
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0755);
		archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
		archive_entry_xattr_add_entry(e, "user.kept", "1", 1);
		archive_write_header(a, e);
		archive_entry_free(e);
	}
	add(a, "s", AE_IFREG, "replaced");
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void test_unpack(void)
{
	char dir[] = "/tmp/isola-unit-XXXXXX", buf[16] = "", d[64];
	/* What the layer's symlink "s" points at, outside the root: a file of the test's own. */
	char victim[] = "/tmp/isola-unit-victim-XXXXXX";
	_cleanup_close_ int fd = -1, root = -1, vfd = -1;
	_cleanup_err_ struct err *err = NULL;
	struct stat st;

	if (geteuid() != 0) {
		skip("whiteouts need root (mknod, trusted.* xattrs)");
		return;
	}
	ok(mkdtemp(dir) != NULL, "temp dir");
	vfd = mkstemp(victim);
	ok(vfd >= 0 && write(vfd, "original", 8) == 8, "victim file");
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = make_layer(victim);
	ok(img_unpack_into(fd, root, &err) == 0, "unpack a gzip layer%s%s", err ? ": " : "",
	   err ? err->msg : "");
	ok(fstatat(root, "d/gone", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
	       st.st_rdev == makedev(0, 0),
	   ".wh.gone became a 0:0 character device");
	ok(faccessat(root, "d/.wh.gone", F_OK, AT_SYMLINK_NOFOLLOW) < 0, "no .wh. file left");
	snprintf(d, sizeof(d), "%s/d", dir);
	ok(getxattr(d, "trusted.overlay.opaque", buf, sizeof(buf)) == 1 && buf[0] == 'y',
	   ".wh..wh..opq became trusted.overlay.opaque=y");
	ok(fstatat(root, "s", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode),
	   "a file replaces a symlink of the same name");
	ok(pread(vfd, buf, sizeof(buf), 0) == 8 && !memcmp(buf, "original", 8),
	   "not written through the symlink");
	unlink(victim);
	snprintf(d, sizeof(d), "%s/forged", dir);
	ok(getxattr(d, "trusted.overlay.opaque", buf, sizeof(buf)) < 0,
	   "trusted.overlay.* xattrs from the layer are dropped");
	ok(getxattr(d, "user.kept", buf, sizeof(buf)) == 1, "other xattrs are kept");
	rm_rf_at(AT_FDCWD, dir, NULL);
}

/* A plain tar of one file, written to a memfd. */
static int make_plain_layer(void)
{
	struct archive *a = archive_write_new();
	int fd = memfd_create("plain", MFD_CLOEXEC);

	archive_write_set_format_pax_restricted(a);
	archive_write_open_fd(a, fd);
	add(a, "f", AE_IFREG, "plain");
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* A gzip tar of 1 MiB that does not compress: decompression outlasts the first read. */
static int make_big_layer(void)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int fd = memfd_create("big", MFD_CLOEXEC);
	static char data[1 << 20];

	for (size_t off = 0; off < sizeof(data);) {
		ssize_t n = getrandom(data + off, sizeof(data) - off, 0);

		off += n > 0 ? (size_t)n : 0;
	}
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	archive_write_open_fd(a, fd);
	archive_entry_set_pathname(e, "big");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, sizeof(data));
	archive_write_header(a, e);
	archive_write_data(a, data, sizeof(data));
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int copy_prefix(int fd, off_t len)
{
	int out = memfd_create("prefix", MFD_CLOEXEC);
	char buf[65536];
	ssize_t n;

	for (off_t off = 0; off < len; off += n) {
		n = pread(fd, buf, len - off < (off_t)sizeof(buf) ? len - off : (off_t)sizeof(buf),
			  off);
		if (n <= 0 || write(out, buf, n) != n)
			break;
	}
	lseek(out, 0, SEEK_SET);
	return out;
}

static void add_owned(struct archive *a, const char *name, mode_t type, mode_t perm, uid_t uid,
		      gid_t gid)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, gid);
	if (type == AE_IFCHR)
		archive_entry_set_rdev(e, makedev(1, 3));
	archive_entry_set_size(e, 0);
	archive_write_header(a, e);
	archive_entry_free(e);
}

/* Files owned by 1000:50, a setuid file, a device node, an opaque dir, a hard link. */
static int make_owned_layer(uid_t uid)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int fd = memfd_create("owned", MFD_CLOEXEC);

	archive_write_set_format_pax_restricted(a);
	archive_write_open_fd(a, fd);
	add_owned(a, "home/", AE_IFDIR, 0755, 0, 0);
	add_owned(a, "home/u/", AE_IFDIR, 0700, uid, 50);
	add_owned(a, "home/u/f", AE_IFREG, 0640, uid, 50);
	add_owned(a, "suid", AE_IFREG, 04755, uid, 50);
	add_owned(a, "null", AE_IFCHR, 0666, 0, 0);
	add(a, "home/.wh..wh..opq", AE_IFREG, NULL);
	archive_entry_set_pathname(e, "link");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_hardlink(e, "home/u/f");
	archive_write_header(a, e);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/*
 * Rootless modes, forced (this runs as root): a range chowns within it and refuses
 * ids beyond, one id records them in user.containers.override_stat; both skip device
 * nodes and write user.overlay.opaque.
 */
static void test_unpack_ids(void)
{
	char dir[] = "/tmp/isola-unit-XXXXXX", buf[64] = "", p[128];
	struct img_unpack_ids range = {IMG_IDS_RANGE, 2000, 2000}, one = {IMG_IDS_SINGLE, 1, 1};
	_cleanup_close_ int fd = -1, root = -1;
	_cleanup_err_ struct err *err = NULL;
	unsigned skipped = 0;
	struct stat st, st2;
	ssize_t n;

	if (geteuid() != 0) {
		skip("chown needs root");
		return;
	}
	ok(mkdtemp(dir) != NULL, "temp dir");
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = make_owned_layer(1000);
	ok(img_unpack_stream_ids(fd, root, &range, NULL, &skipped, &err) == 0, "range: unpack%s%s",
	   err ? ": " : "", err ? err->msg : "");
	ok(fstatat(root, "home/u/f", &st, 0) == 0 && st.st_uid == 1000 && st.st_gid == 50,
	   "range: 1000:50 chowned");
	ok(fstatat(root, "suid", &st, 0) == 0 && (st.st_mode & 07777) == 04755,
	   "range: setuid bit kept after chown");
	ok(fstatat(root, "link", &st2, 0) == 0 && fstatat(root, "home/u/f", &st, 0) == 0 &&
	       st.st_ino == st2.st_ino,
	   "range: hard link");
	ok(skipped == 1 && faccessat(root, "null", F_OK, AT_SYMLINK_NOFOLLOW) < 0,
	   "range: the device node is skipped and counted");
	snprintf(p, sizeof(p), "%s/home", dir);
	ok(getxattr(p, "user.overlay.opaque", buf, sizeof(buf)) == 1 &&
	       getxattr(p, "trusted.overlay.opaque", buf, sizeof(buf)) < 0,
	   "range: opaque as user.overlay.opaque (userxattr)");
	rm_rf_at(AT_FDCWD, dir, NULL);
	close(fd);
	close(root);

	ok(mkdtemp(strcpy(dir, "/tmp/isola-unit-XXXXXX")) != NULL, "temp dir");
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = make_owned_layer(5000);
	ok(img_unpack_stream_ids(fd, root, &range, NULL, NULL, &err) < 0 && err &&
	       strstr(err->msg, "outside"),
	   "range: an owner beyond the range is refused: %s", err ? err->msg : "");
	err_free(&err);
	rm_rf_at(AT_FDCWD, dir, NULL);
	close(fd);
	close(root);

	ok(mkdtemp(strcpy(dir, "/tmp/isola-unit-XXXXXX")) != NULL, "temp dir");
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = make_owned_layer(1000);
	ok(img_unpack_stream_ids(fd, root, &one, NULL, &skipped, &err) == 0, "single: unpack%s%s",
	   err ? ": " : "", err ? err->msg : "");
	ok(fstatat(root, "home/u/f", &st, 0) == 0 && st.st_uid == 0 && st.st_gid == 0,
	   "single: no chown");
	snprintf(p, sizeof(p), "%s/home/u/f", dir);
	n = getxattr(p, "user.containers.override_stat", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	ok(streq(buf, "1000:50:0640:file"), "single: override_stat %s", buf);
	snprintf(p, sizeof(p), "%s/home/u", dir);
	n = getxattr(p, "user.containers.override_stat", buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	ok(streq(buf, "1000:50:0700:dir"), "single: override_stat of a dir %s", buf);
	ok(skipped == 1, "single: the device node is skipped");
	rm_rf_at(AT_FDCWD, dir, NULL);
}

/* The diff_id covers the whole stream (end-of-archive padding too); broken streams fail. */
static void test_unpack_stream(void)
{
	char dir[] = "/tmp/isola-unit-XXXXXX", want[IMG_DIGEST_LEN + 1], got[IMG_DIGEST_LEN + 1];
	_cleanup_close_ int fd = -1, root = -1, cut = -1, gz = -1;
	_cleanup_free_ char *raw = NULL;
	struct err *err = NULL;
	size_t len;
	struct stat st;

	ok(mkdtemp(dir) != NULL, "temp dir");
	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = make_plain_layer();
	ok(read_all_fd(fd, 1 << 20, &raw, &len) == 0 && len >= 1024, "plain layer made");
	img_sha256_digest(raw, len, want, NULL);
	lseek(fd, 0, SEEK_SET);
	ok(img_unpack_stream(fd, root, got, &err) == 0 && streq(got, want),
	   "diff_id is the sha256 of the whole tar");
	err_free(&err);
	ok(fstatat(root, "f", &st, 0) == 0 && st.st_size == 5, "file unpacked");
	cut = copy_prefix(fd, 700); /* the header and part of the data */
	ok(img_unpack_stream(cut, root, got, &err) < 0 && err, "a truncated tar fails");
	err_free(&err);
	gz = make_big_layer();
	close(cut);
	ok(fstat(gz, &st) == 0 && st.st_size > 512 * 1024, "gzip layer made");
	cut = copy_prefix(gz, st.st_size / 2);
	ok(img_unpack_into(cut, root, &err) < 0 && err, "a gzip stream cut in half fails%s%s",
	   err ? ": " : "", err ? err->msg : "");
	err_free(&err);
	rm_rf_at(AT_FDCWD, dir, NULL);
}

static void check_mount(const char *arg, enum img_mount_kind kind, const char *want)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *entry = NULL;
	enum img_mount_kind k = IMG_MOUNT_VOLUME;

	ok(img_mount_parse(arg, &k, &entry, &err) == 0 && k == kind && streq(entry, want),
	   "--mount %s is `%s` (got `%s`)", arg, want, entry ? entry : "(error)");
}

static void test_mount_parse(void)
{
	static const char *const bad[] = {
	    "type=bind,dst=/x",
	    "type=bind,src=/nonexistent-isola,dst=/x",
	    "type=bind,src=tmp,dst=/x",
	    "type=bind,src=/tmp,dst=x",
	    "type=bind,src=/tmp,dst=/proc",
	    "type=bind,src=/tmp,dst=//proc/",
	    "type=bind,src=/tmp,dst=/a/../x",
	    "type=bind,src=/tmp/.,dst=/x",
	    "type=bind,src=/proc/self/fd/0,dst=/x",
	    "type=bind,src=/proc/thread-self,dst=/x",
	    "type=bind,src=//proc/self/root,dst=/x",
	    "type=bind,src=/proc//self/root/,dst=/x",
	    "type=bind,src=/dev/fd/0,dst=/x",
	    "type=bind,src=/dev/stdin,dst=/x",
	    "type=bind,src=/tmp,dst=/",
	    "type=bind,src=/tmp,dst=/x,target=/y",
	    "type=bind,src=/tmp,source=/tmp,dst=/x",
	    "type=bind,type=bind,src=/tmp,dst=/x",
	    "type=nfs,dst=/x",
	    "dst=/x",
	    "",
	    "type=bind,src=/tmp,dst=/x,bogus",
	    "type=bind,src=/tmp,dst=/x,bind-propagation=x",
	    "type=bind,src=/tmp,dst=/x,ro=yes",
	    "type=bind,src=/tmp,dst=/x,ro,rw",
	    "type=bind,src=/tmp,dst=/x,readonly=false,rw=false",
	    "type=bind,src=/tmp,dst=/x,ro=",
	    "type=bind,src=/tmp,dst=/x,tmpfs-mode=1",
	    "type=bind,src=/tmp:a,dst=/x",
	    "type=tmpfs,src=/tmp,dst=/x",
	    "type=tmpfs,dst=/x,bind-propagation=shared",
	    "type=tmpfs,dst=/x,tmpfs-size=0",
	    "type=tmpfs,dst=/x,tmpfs-size=-1",
	    "type=tmpfs,dst=/x,tmpfs-size=18446744073709551615",
	    "type=tmpfs,dst=/x,tmpfs-size=16384P",
	    "type=tmpfs,dst=/x,tmpfs-size=1x",
	    "type=tmpfs,dst=/x,tmpfs-mode=8",
	    "type=tmpfs,dst=/x,tmpfs-mode=10000",
	    "type=tmpfs,dst=/x,tmpfs-mode=-1",
	    "type=tmpfs,dst=/x,tmpfs-mode=77777777777777777777",
	    "type=volume,dst=/x",
	    "type=volume,src=a/b,dst=/x",
	    "type=volume,src=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,dst=/x",
	    "type=volume,src=v,dst=/x,bind-propagation=shared"};
	_cleanup_free_ char *huge = malloc(20000);

	check_mount("type=bind,src=/tmp,dst=/x", IMG_MOUNT_VOLUME, "/tmp:/x:rw");
	check_mount("type=bind,source=/tmp,target=/x,readonly", IMG_MOUNT_VOLUME, "/tmp:/x:ro");
	check_mount("destination=/x,ro=true,src=/tmp,type=bind", IMG_MOUNT_VOLUME, "/tmp:/x:ro");
	check_mount("type=bind,src=/tmp,dst=/x,rw=false", IMG_MOUNT_VOLUME, "/tmp:/x:ro");
	check_mount("type=bind,src=/tmp,dst=/x,readonly=0,bind-propagation=rshared",
		    IMG_MOUNT_VOLUME, "/tmp:/x:rw,rshared");
	check_mount("type=volume,src=data,dst=/d,ro", IMG_MOUNT_VOLUME, "data:/d:ro");
	check_mount("type=tmpfs,dst=/t", IMG_MOUNT_TMPFS, "/t:exec");
	check_mount("type=tmpfs,dst=/t,tmpfs-mode=0000755", IMG_MOUNT_TMPFS, "/t:exec,mode=755");
	check_mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1700,ro", IMG_MOUNT_TMPFS,
		    "/t:exec,ro,size=1048576,mode=1700");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_err_ struct err *err = NULL;
		_cleanup_free_ char *entry = NULL;
		enum img_mount_kind k;

		ok(img_mount_parse(bad[i], &k, &entry, &err) < 0 && err && !entry &&
		       strstr(err->msg, "--mount `"),
		   "--mount `%s` refused", bad[i]);
	}
	if (huge) {
		_cleanup_err_ struct err *err = NULL;
		_cleanup_free_ char *entry = NULL;
		enum img_mount_kind k;

		memset(huge, 'a', 19999);
		huge[19999] = '\0';
		memcpy(huge, "type=bind,src=/tmp,dst=/", 24);
		ok(img_mount_parse(huge, &k, &entry, &err) < 0 && err,
		   "a 20000-byte --mount refused");
	}
}

static void test_tmpfs_size(void)
{
	static const char *const bad[] = {
	    "0",   "0k", "-1",	"18446744073709551615", "1025P", "16384P", "1x", "", "b", "1 m",
	    "1m1", "+1", "0x10"};
	uint64_t v = 0;

	ok(img_tmpfs_size_parse("1", &v) == 0 && v == 1, "tmpfs size 1");
	ok(img_tmpfs_size_parse("1b", &v) == 0 && v == 1, "tmpfs size 1b");
	ok(img_tmpfs_size_parse("64m", &v) == 0 && v == 64 << 20, "tmpfs size 64m");
	ok(img_tmpfs_size_parse("2GiB", &v) == 0 && v == 2ULL << 30, "tmpfs size 2GiB");
	ok(img_tmpfs_size_parse("1048576T", &v) == 0 && v == 1ULL << 60, "tmpfs size 1 EiB");
	ok(img_tmpfs_size_parse("1048577T", &v) < 0, "tmpfs size over 1 EiB refused");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ok(img_tmpfs_size_parse(bad[i], &v) < 0, "tmpfs size `%s` refused", bad[i]);
}

int main(void)
{
	test_digest();
	test_refs();
	test_registry_hosts();
	test_challenge();
	test_config_no_diff_ids();
	test_token_url();
	test_paths();
	test_unpack();
	test_unpack_ids();
	test_unpack_stream();
	test_mount_parse();
	test_tmpfs_size();
	return tap_done();
}
