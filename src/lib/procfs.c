/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "parse.h"
#include "procfs.h"

/*
 * /proc/<pid>/stat into buf; *ret points at field 3 (the state), after the
 * command name, which may itself hold spaces and parentheses.  -errno of the
 * open, or -ESRCH for an empty or unparsable file (the process went away).
 */
static int read_stat(pid_t pid, char *buf, size_t len, char **ret)
{
	char path[64], *p;
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* "pid (comm) S ..." */
	if (!p || p[1] != ' ' || !p[2])
		return -ESRCH;
	*ret = p + 2;
	return 0;
}

static bool zombie_or_dead(const char *state)
{
	return *state == 'Z' || *state == 'X';
}

int proc_stat_field(pid_t pid, int field, uint64_t *ret)
{
	char buf[1024], *p;

	if (read_stat(pid, buf, sizeof(buf), &p) < 0 || zombie_or_dead(p))
		return -1;
	for (int f = 3; f < field && p; f++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -1;
	*strchrnul(p, ' ') = 0;
	return parse_u64(p, ret);
}

bool proc_exited(pid_t pid)
{
	char buf[256], *p;
	int r = read_stat(pid, buf, sizeof(buf), &p);

	if (r < 0)
		return r == -ENOENT || r == -ESRCH;
	return zombie_or_dead(p);
}
