/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /etc/subuid parsing and when a map needs newuidmap (userns.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "spec.h"
#include "tap.h"

static char file[] = "/tmp/isola-test-subuid.XXXXXX";

static int range(const char *content, const char *name, uint32_t id, uint32_t *s, uint32_t *c)
{
	struct err *err = NULL;
	int r;

	write_file_at(AT_FDCWD, file, content, &err);
	err_free(&err);
	*s = *c = 0;
	r = ct_subid_range(file, name, id, s, c, &err);
	err_free(&err);
	return r;
}

int main(void)
{
	struct ct_idmap own = {0, 1000, 1}, two[] = {{0, 1000, 1}, {1, 100000, 65536}};
	uint32_t s, c;
	int fd = mkstemp(file);

	if (fd < 0)
		return 1;
	close(fd);
	is_int(range("alice:100000:65536\n", "alice", 1000, &s, &c), 1, "by name");
	ok(s == 100000 && c == 65536, "range read");
	is_int(range("bob:1:2\n1000:200000:10\n", "alice", 1000, &s, &c), 1, "by uid");
	ok(s == 200000 && c == 10, "the uid's line");
	is_int(range("alice:5:6\nalice:7:8\n", "alice", 1000, &s, &c), 1, "first line wins");
	ok(s == 5 && c == 6, "first range");
	is_int(range("alice:100000\nalice\n:::\n", "alice", 1000, &s, &c), 0, "short lines");
	is_int(range("alice:-1:10\nalice:1:0\nalice:x:1\n", "alice", 1000, &s, &c), 0,
	       "bad numbers, empty range");
	is_int(range("alice:4294967290:100\n", "alice", 1000, &s, &c), 0,
	       "a range past the last id");
	is_int(range("alice:4294967295:1\n", "alice", 1000, &s, &c), 0, "(uid_t)-1 refused");
	is_int(range("# alice:1:2\nalicex:1:2\n", "alice", 1000, &s, &c), 0,
	       "comments and longer names do not match");
	is_int(range("", NULL, 1000, &s, &c), 0, "empty file");
	unlink(file);
	is_int(ct_subid_range(file, "alice", 1000, &s, &c, NULL), 0, "no file: no range");
	ok(!ct_idmap_needs_helper(&own, 1, 1000), "our own id alone: no helper");
	ok(ct_idmap_needs_helper(&own, 1, 1001), "another id: helper");
	ok(ct_idmap_needs_helper(two, 2, 1000), "a subordinate range: helper");
	return tap_done();
}
