/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The static isola's lazylib (src/lib/lazylib-static.c, linked here as in the static
 * binary): no library can be loaded, so a path that needs libcrypto but was routed to the
 * static binary by mistake fails with one error naming the library and what needed it --
 * it used to abort().
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "err.h"
#include "fdutil.h"
#include "image.h"
#include "tap.h"
#include "vmct.h"

static bool names_libcrypto(const struct err *err)
{
	return err && strstr(err->msg, "libcrypto.so.3") && strstr(err->msg, "isola-dl");
}

static void test_errors(void)
{
	char dir[] = "/tmp/test-lazylib-static-XXXXXX", agent[64], cache[64];
	char d[IMG_DIGEST_LEN + 1];
	struct err *err = NULL;
	_cleanup_close_ int fd = -1;
	char *initrd = NULL;

	ok(img_sha256_digest("abc", 3, d, &err) < 0 && names_libcrypto(err),
	   "img_sha256_digest: an error naming libcrypto: %s", err ? err->msg : "");
	err_free(&err);
	ok(!img_hasher_new(&err) && names_libcrypto(err), "img_hasher_new: %s",
	   err ? err->msg : "");
	err_free(&err);
	if (!mkdtemp(dir)) {
		ok(0, "temp dir");
		return;
	}
	snprintf(agent, sizeof(agent), "%s/agent", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	fd = open(agent, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	ok(fd >= 0 && write(fd, "#!/bin/sh\n", 10) == 10, "an agent");
	ok(vmct_initramfs_get(cache, agent, NULL, &initrd, &err) < 0 && names_libcrypto(err) &&
	       strstr(err->msg, "agent"),
	   "a VM container's initramfs: the error says what needed libcrypto: %s",
	   err ? err->msg : "");
	ok(!initrd && access(cache, F_OK) < 0, "and leaves nothing behind");
	err_free(&err);
	unlink(agent);
	rmdir(dir);
}

/* A stub reached without a load (a bug): one line naming both, exit 127, no SIGABRT. */
static void test_stub(void)
{
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	int p[2], status = 0;
	pid_t pid;

	if (pipe(p) < 0) {
		ok(0, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		SHA256_CTX c;

		dup2(p[1], 2);
		SHA256_Init(&c);
		_exit(0);
	}
	close(p[1]);
	read_all_fd(p[0], 4096, &out, &len);
	close(p[0]);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 127,
	   "a stub exits 127, not by a signal (%#x)", status);
	ok(out && strstr(out, "SHA256_Init needs libcrypto.so.3") &&
	       strchr(out, '\n') == out + len - 1,
	   "with one line naming the function and the library: %s", out ? out : "");
}

int main(void)
{
	test_errors();
	test_stub();
	return tap_done();
}
