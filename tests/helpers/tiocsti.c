/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tiocsti: push "echo INJECTED" and a newline into the terminal on stdin with
 * TIOCSTI, as a hostile container process would to make its caller's shell
 * run a command (bubblewrap's CVE-2017-5226).  Prints what the kernel said,
 * then "tiocsti-done".  Built static by the test that uses it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

int main(void)
{
	static const char line[] = "echo INJECTED\n";
	int err = 0;

	for (size_t i = 0; i < strlen(line) && !err; i++)
		if (ioctl(0, TIOCSTI, &line[i]) < 0)
			err = errno;
	printf("tiocsti: %s\ntiocsti-done\n", err ? strerror(err) : "pushed");
	return 0;
}
