/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Warm starts without a VM (src/vmct/warm.c): the template's cache key, its
 * warm.info against bad content, the build lock, and the WARM frame's bounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdutil.h"
#include "tap.h"
#include "vmct.h"

static char dir[] = "/tmp/test-vmct-warm-XXXXXX";

static void put(const char *rel, const char *data)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		abort();
	close(fd);
}

static const char *path(const char *rel)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, rel);
	return p[i];
}

static void test_key(void)
{
	char a[VMCT_WARM_KEY_LEN + 1], b[VMCT_WARM_KEY_LEN + 1];
	struct err *err = NULL;
	struct timespec ts[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};

	put("isola", "vmm");
	put("vmlinuz", "kernel");
	put("initrd.cpio", "initrd");
	ok(vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false,
			 0, a, &err) == 0 &&
	       strlen(a) == VMCT_WARM_KEY_LEN,
	   "a key of %u hex digits", VMCT_WARM_KEY_LEN);
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false, 0,
		      b, NULL);
	ok(!strcmp(a, b), "the same inputs give the same key");
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 512 << 20, 1, false, 0,
		      b, NULL);
	ok(strcmp(a, b), "another memory size, another key");
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 2, false, 0,
		      b, NULL);
	ok(strcmp(a, b), "other cpus, another key");
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, true, 0, b,
		      NULL);
	ok(strcmp(a, b), "a NIC, another key (a template with one, one without)");
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false, 2,
		      b, NULL);
	ok(strcmp(a, b), "two shares, another key");
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false, 3,
		      a, NULL);
	ok(strcmp(a, b), "three shares, another key again");
	ok(vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false,
			 VMCT_FS_MAX + 1, b, &err) == -E2BIG,
	   "more shares than a VM container may have: refused");
	err_free(&err);
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false, 0,
		      a, NULL);
	utimensat(AT_FDCWD, path("vmlinuz"), ts, 0);
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false, 0,
		      b, NULL);
	ok(strcmp(a, b), "a kernel changed (mtime) gives another key");
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false, 0,
		      a, NULL);
	put("initrd.cpio", "another initrd");
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false, 0,
		      b, NULL);
	ok(strcmp(a, b), "an initramfs rebuilt (size) gives another key");
	ok(vmct_warm_key(path("isola"), path("nokernel"), path("initrd.cpio"), 256 << 20, 1, false,
			 0, b, &err) == -ENOENT &&
	       err && strstr(err->msg, "nokernel") && !strchr(err->msg, '\n'),
	   "a missing kernel is named in one line: %s", err ? err->msg : "");
	err_free(&err);
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false, 0,
		      a, NULL);
	put("isola", "another vmm");
	vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 256 << 20, 1, false, 0,
		      b, NULL);
	ok(strcmp(a, b), "another isola (the VMM) gives another key");
	ok(vmct_warm_key(path("isola"), path("vmlinuz"), path("initrd.cpio"), 0, 1, false, 0, b,
			 &err) < 0,
	   "no memory size is refused");
	err_free(&err);
}

/* warm.info holding @info (NULL: none) in a template dir of its own; 0 or the error. */
static int load(const char *name, const char *info, bool files, char **ret_msg)
{
	struct vmct_warm w = {};
	struct err *err = NULL;
	char rel[128];
	int r;

	mkdir(path(name), 0700);
	if (info) {
		snprintf(rel, sizeof(rel), "%s/warm.info", name);
		put(rel, info);
	}
	if (files) {
		snprintf(rel, sizeof(rel), "%s/state", name);
		put(rel, "s");
		snprintf(rel, sizeof(rel), "%s/mem", name);
		put(rel, "m");
	}
	r = vmct_warm_load(path(name), &w, &err);
	*ret_msg = err ? strdup(err->msg) : NULL;
	err_free(&err);
	vmct_warm_free(&w);
	return r;
}

static void test_load(void)
{
	static const struct {
		const char *name, *info;
	} bad[] = {
	    {"b-empty", ""},
	    {"b-oneline", "disk=/a\n"},
	    {"b-nonl", "disk=/a\nvsock=/b"},
	    {"b-relative", "disk=a\nvsock=/b\n"},
	    {"b-order", "vsock=/b\ndisk=/a\n"},
	    {"b-three", "disk=/a\nvsock=/b\nx=/c\n"},
	    {"b-four", "disk=/a\nvsock=/b\nnet=t0\nnet=t1\n"},
	    {"b-netempty", "disk=/a\nvsock=/b\nnet=\n"},
	    {"b-netlong", "disk=/a\nvsock=/b\nnet=abcdefghijklmnop\n"},
	    {"b-netslash", "disk=/a\nvsock=/b\nnet=../t0\n"},
	    {"b-netblank", "disk=/a\nvsock=/b\nnet=t 0\n"},
	    {"b-netnonl", "disk=/a\nvsock=/b\nnet=t0"},
	    {"b-netfirst", "net=t0\ndisk=/a\nvsock=/b\n"},
	    {"b-nopath", "disk=\nvsock=/b\n"},
	    {"b-key", "diskx=/a\nvsock=/b\n"},
	    {"b-fs0", "disk=/a\nvsock=/b\nfs=0\n"},
	    {"b-fs9", "disk=/a\nvsock=/b\nfs=9\n"},
	    {"b-fs12", "disk=/a\nvsock=/b\nfs=12\n"},
	    {"b-fsword", "disk=/a\nvsock=/b\nfs=two\n"},
	    {"b-fsnet", "disk=/a\nvsock=/b\nfs=2\nnet=t0\n"},
	    {"b-fsfs", "disk=/a\nvsock=/b\nfs=2\nfs=3\n"},
	};
	struct vmct_warm w = {};
	struct err *err = NULL;
	char *msg = NULL;

	ok(load("good", "disk=/t/placeholder.img\nvsock=/tmp/x/v.sock\n", true, &msg) == 0,
	   "a template loads");
	ok(vmct_warm_load(path("good"), &w, NULL) == 0 &&
	       !strcmp(w.disk_from, "/t/placeholder.img") &&
	       !strcmp(w.vsock_from, "/tmp/x/v.sock") && strstr(w.state, "good/state") &&
	       strstr(w.mem, "good/mem"),
	   "its remap sources and snapshot files");
	ok(!w.net_from, "no net= line: a template without a NIC");
	vmct_warm_free(&w);
	ok(load("good-nic", "disk=/t/p.img\nvsock=/tmp/x/v.sock\nnet=warm0\n", true, &msg) == 0,
	   "a template with a NIC loads");
	ok(vmct_warm_load(path("good-nic"), &w, NULL) == 0 && w.net_from &&
	       !strcmp(w.net_from, "warm0") && !strcmp(w.vsock_from, "/tmp/x/v.sock"),
	   "its TAP (net=) is the --net-remap source");
	ok(!w.n_fs, "no fs= line: no shares");
	vmct_warm_free(&w);
	ok(load("good-fs", "disk=/t/p.img\nvsock=/tmp/x/v.sock\nnet=warm0\nfs=8\n", true, &msg) ==
	       0,
	   "a template with a NIC and shares loads");
	ok(vmct_warm_load(path("good-fs"), &w, NULL) == 0 && w.n_fs == 8 && w.net_from,
	   "its share count (fs=)");
	vmct_warm_free(&w);
	ok(load("good-fs1", "disk=/t/p.img\nvsock=/tmp/x/v.sock\nfs=1\n", true, &msg) == 0 &&
	       vmct_warm_load(path("good-fs1"), &w, NULL) == 0 && w.n_fs == 1 && !w.net_from,
	   "shares without a NIC");
	vmct_warm_free(&w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		free(msg);
		ok(load(bad[i].name, bad[i].info, true, &msg) < 0 && msg &&
		       strstr(msg, "warm.info") && !strchr(msg, '\n'),
		   "%s: refused in one line naming the file: %s", bad[i].name, msg ? msg : "");
	}
	free(msg);
	ok(load("b-noinfo", NULL, true, &msg) == -ENOENT && msg && strstr(msg, "warm.info"),
	   "no warm.info: %s", msg ? msg : "");
	free(msg);
	ok(load("b-nomem", "disk=/a\nvsock=/b\n", false, &msg) < 0 && msg &&
	       strstr(msg, "b-nomem/state"),
	   "no snapshot files: %s", msg ? msg : "");
	free(msg);
	ok(vmct_warm_load(path("nothing-here"), &w, &err) < 0 && !w.dir && !w.state,
	   "a missing template writes nothing to ret");
	err_free(&err);
}

static void test_lock(void)
{
	struct err *err = NULL;
	int fd = vmct_warm_lock(dir, -1, &err), other, sv[2], r;
	sigset_t mask;

	ok(fd >= 0, "the build lock is taken");
	other = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(other >= 0 && flock(other, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK,
	   "a second builder waits");
	close(other);
	/* A waiting builder gives up on a signal: ECANCELED, the signal consumed. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sv[0] = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	kill(getpid(), SIGUSR1);
	r = vmct_warm_lock(dir, sv[0], &err);
	ok(r == -ECANCELED && err && strstr(err->msg, "signal 10"), "a signal ends the wait: %s",
	   err ? err->msg : "");
	err_free(&err);
	close(sv[0]);
	close(fd);
	fd = vmct_warm_lock(dir, -1, NULL);
	ok(fd >= 0, "the lock is free once its builder is gone");
	close(fd);
	ok(!path_exists(path("warm.lock")) && !path_exists(path(".lock")), "no lock file is made");
	ok(vmct_warm_lock(path("no/such/dir"), -1, &err) < 0 && err &&
	       strstr(err->msg, "no/such/dir"),
	   "a lock in a missing dir is an error naming it");
	err_free(&err);
}

static void test_frame(void)
{
	uint8_t seed[VMCT_SEED_MAX + 1], buf[VMCT_WARM_HDR + VMCT_SEED_MAX + 1];
	const uint8_t *s;
	uint64_t sec;
	uint32_t nsec, n;

	memset(seed, 0xa5, sizeof(seed));
	vmct_warm_encode(buf, 0x123456789ull, 999999999, seed, 64);
	ok(vmct_warm_parse(buf, VMCT_WARM_HDR + 64, &sec, &nsec, &s, &n) == 0 &&
	       sec == 0x123456789ull && nsec == 999999999 && n == 64 && !memcmp(s, seed, 64),
	   "a WARM frame round-trips");
	ok(vmct_warm_parse(buf, VMCT_WARM_HDR + VMCT_SEED_MIN - 1, &sec, &nsec, &s, &n) < 0,
	   "too little entropy is refused");
	vmct_warm_encode(buf, 1, 0, seed, VMCT_SEED_MAX);
	ok(vmct_warm_parse(buf, VMCT_WARM_HDR + VMCT_SEED_MAX + 1, &sec, &nsec, &s, &n) < 0,
	   "too much is refused");
	ok(vmct_warm_parse(buf, 3, &sec, &nsec, &s, &n) < 0, "a short payload is refused");
	vmct_warm_encode(buf, 1, 1000000000, seed, 64);
	ok(vmct_warm_parse(buf, VMCT_WARM_HDR + 64, &sec, &nsec, &s, &n) < 0,
	   "nanoseconds of a second or more are refused");
}

/*
 * A template's NIC and the container's network must agree before any VMM runs:
 * a NIC restored without the container's netns would make its TAP in ours.
 */
static void test_start_mismatch(void)
{
	struct vmct_warm nic = {.dir = "/t/warm-nic",
				.state = "/t/s",
				.mem = "/t/m",
				.disk_from = "/t/d",
				.vsock_from = "/t/v",
				.net_from = "warm0"};
	struct vmct_warm bare = nic;
	struct vmct_run_opts o = {.vmm = "/nonexistent/vmm", .disk = "/t/disk", .warm = &nic};
	struct err *err = NULL;
	pid_t vmm = -1;
	int pidfd = -1, conn = -1;

	bare.net_from = NULL;
	ok(vmct_warm_start(&o, "/tmp", -1, &vmm, &pidfd, &conn, &err) == -EINVAL && vmm == -1 &&
	       err && strstr(err->msg, "has a NIC") && !strchr(err->msg, '\n'),
	   "a template with a NIC, no network: refused, no VMM: %s", err ? err->msg : "");
	err_free(&err);
	o.tap = "tap0";
	ok(vmct_warm_start(&o, "/tmp", -1, &vmm, &pidfd, &conn, &err) == -EINVAL && vmm == -1,
	   "a TAP without the container's netns: refused, no VMM");
	err_free(&err);
	o.netns = "/run/netns/x";
	o.warm = &bare;
	ok(vmct_warm_start(&o, "/tmp", -1, &vmm, &pidfd, &conn, &err) == -EINVAL && vmm == -1 &&
	       err && strstr(err->msg, "has no NIC"),
	   "a NIC-less template for a container with a network: refused: %s", err ? err->msg : "");
	err_free(&err);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	test_key();
	test_load();
	test_lock();
	test_frame();
	test_start_mismatch();
	rm_rf_at(AT_FDCWD, dir, NULL);
	return tap_done();
}
