/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The static isola and its dynamic twin (docs/performance.md, "Peak RSS").
 *
 * Where the build allows it, `isola` is linked static-pie: the runtime and the VMM then map
 * no shared object and touch only the libc functions they call (peak RSS of `run` ~1.4 MB
 * instead of ~2.2, of which ~1.3 MB were libc and ld.so pages).  libcurl, libarchive and
 * libcrypto are loaded with dlopen(), which a static binary cannot do safely (a second libc
 * beside the linked one), so every command that may load one runs in isola-dl: the same
 * sources linked dynamically, next to isola in a build tree, else in libexecdir/isola.  The
 * static binary execs it before it does anything: at dispatch (image, network and
 * migration commands, isola-vm), and where a command's form decides it (`run IMAGE`,
 * `exec` into an image's container, `vm run --api-sock`, whose API can start a keyed
 * migration).  A path missed here fails with lazylib's error, never with a second libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "lazylib.h"
#include "cleanup.h"

#define DYNAMIC_NAME "isola-dl"

bool cli_static_command(const char *cmd, const char *sub)
{
	static const char *const own[] = {
	    "spec",	"create", "start",  "run", "state",  "kill",   "delete", "list", "exec",
	    "features", "pause",  "resume", "ps",  "update", "events", "help",	 "__doc"};

	if (streq(cmd, "vm"))
		return !sub || (!streq(sub, "migrate") && !streq(sub, "receive"));
	for (size_t i = 0; i < ARRAY_SIZE(own); i++)
		if (streq(cmd, own[i]))
			return true;
	return false;
}

/* The command line as the kernel holds it, NUL-separated (at most 4 MiB), as an argv. */
static char **read_cmdline(void)
{
	_cleanup_close_ int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0, n = 0;
	char **argv;
	ssize_t got;

	if (fd < 0)
		return NULL;
	for (;;) {
		if (len + 1 >= cap) {
			char *b =
			    cap < (4u << 20) ? realloc(buf, cap = cap ? cap * 2 : 4096) : NULL;

			if (!b)
				return NULL;
			buf = b;
		}
		got = read(fd, buf + len, cap - 1 - len);
		if (got < 0)
			return NULL;
		if (got == 0)
			break;
		len += got;
	}
	if (len == 0)
		return NULL;
	buf[len] = 0;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		n++;
	argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		return NULL;
	argv[0] = TAKE_PTR(buf); /* argv[0] starts the buffer: the one allocation to own */
	for (size_t i = strlen(argv[0]) + 1, k = 1; i < len; i += strlen(argv[0] + i) + 1)
		argv[k++] = argv[0] + i;
	return argv;
}

int cli_run_dynamic(const struct cli_globals *g)
{
	char path[PATH_MAX], **argv;
	ssize_t n;
	char *slash;

	if (!lazylib_static_binary())
		return 0;
	argv = read_cmdline();
	if (!argv) {
		fprintf(stderr, "isola: cannot read /proc/self/cmdline to run %s\n", DYNAMIC_NAME);
		return 127;
	}
	n = readlink("/proc/self/exe", path, sizeof(path) - sizeof(DYNAMIC_NAME) - 1);
	slash = n > 0 ? memrchr(path, '/', n) : NULL;
	if (slash) {
		memcpy(slash + 1, DYNAMIC_NAME, sizeof(DYNAMIC_NAME));
		execv(path, argv);
	}
	snprintf(path, sizeof(path), "%s/%s", ISOLA_LIBEXECDIR, DYNAMIC_NAME);
	execv(path, argv);
	fprintf(stderr, "isola: this command runs in %s, not found next to isola or in %s: %s\n",
		DYNAMIC_NAME, ISOLA_LIBEXECDIR, strerror(errno));
	return 127;
}
