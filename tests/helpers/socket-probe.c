/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * socket-probe: which socket families a process may open, for the
 * integration tests (busybox has no way to ask for AF_VSOCK).  Built static
 * by the test and bound into a container.
 *
 *   socket-probe unix|inet|vsock ...
 *
 * Prints a line per family, "FAMILY ok" or "FAMILY <strerror>"; exits 0.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int family = !strcmp(argv[i], "unix")	 ? AF_UNIX
			     : !strcmp(argv[i], "inet")	 ? AF_INET
			     : !strcmp(argv[i], "vsock") ? AF_VSOCK
							 : -1;
		int fd = family < 0 ? -1 : socket(family, SOCK_STREAM, 0);

		if (family < 0)
			errno = EINVAL;
		printf("%s %s\n", argv[i], fd >= 0 ? "ok" : strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return 0;
}
