/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rootless id maps beyond the caller's own id: the subordinate ranges that
 * /etc/subuid and /etc/subgid grant a user, and writing a map through the
 * setuid newuidmap/newgidmap helpers (shadow's uidmap package), which check
 * it against those files, as podman does.  The kernel alone lets an
 * unprivileged process map only its own id.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "parse.h"
#include "spec.h"

#define SUBID_FILE_MAX (1u << 20)

/* "NAME-or-UID:START:COUNT" for this user?  Fills start and count. */
static bool subid_line(char *line, const char *name, uint32_t id, uint32_t *start, uint32_t *count)
{
	char *who = line, *s = strchr(line, ':'), *c;
	uint32_t n;

	if (!s || !(c = strchr(s + 1, ':')))
		return false;
	*s++ = 0;
	*c++ = 0;
	if (!(name && streq(who, name)) && !(parse_id(who, &n) == 0 && n == id))
		return false;
	return parse_id(s, start) == 0 && parse_id(c, count) == 0 && *count > 0 &&
	       (uint64_t)*start + *count - 1 <= ID_MAX;
}

int ct_subid_range(const char *file, const char *name, uint32_t id, uint32_t *ret_start,
		   uint32_t *ret_count, struct err **err)
{
	_cleanup_free_ char *data = NULL;
	char *save = NULL;
	int r;

	r = read_file_at(AT_FDCWD, file, SUBID_FILE_MAX, &data, NULL, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return err_make(err, r, "read `%s`", file);
	for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		uint32_t start, count;

		if (l[0] != '#' && subid_line(l, name, id, &start, &count)) {
			*ret_start = start;
			*ret_count = count;
			return 1;
		}
	}
	return 0;
}

/* name found in $PATH (or /usr/bin:/bin) as an executable? */
static bool have_cmd(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/bin:/bin");
	char *save = NULL, p[4096];

	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
		if (snprintf(p, sizeof(p), "%s/%s", d, name) < (int)sizeof(p) &&
		    access(p, X_OK) == 0)
			return true;
	return false;
}

/* Weak: NSS loads modules with dlopen, which the static isola has not (src/cli/dynamic.c). */
#pragma weak getpwuid

size_t ct_rootless_idmap(bool gid, struct ct_idmap ret[2])
{
	uint32_t own = gid ? getgid() : getuid(), start, count;
	struct passwd *pw = getpwuid ? getpwuid(getuid()) : NULL;

	ret[0] = (struct ct_idmap){.container_id = 0, .host_id = own, .size = 1};
	if (!have_cmd(gid ? "newgidmap" : "newuidmap") ||
	    ct_subid_range(gid ? "/etc/subgid" : "/etc/subuid", pw ? pw->pw_name : NULL, own,
			   &start, &count, NULL) <= 0)
		return 1;
	ret[1] = (struct ct_idmap){.container_id = 1, .host_id = start, .size = count};
	return 2;
}

bool ct_idmap_needs_helper(const struct ct_idmap *m, size_t n, uint32_t own)
{
	return n > 1 || (n == 1 && (m[0].host_id != own || m[0].size != 1));
}

/* Run helper PID C H S ... with its stderr in buf; its exit status, or 127 if not found. */
static int run_helper(const char *helper, pid_t pid, const struct ct_idmap *m, size_t n, char *buf,
		      size_t len, struct err **err)
{
	_cleanup_free_ char **argv = calloc(2 + 3 * n + 1, sizeof(char *));
	_cleanup_free_ char *nums = malloc((1 + 3 * n) * 12);
	int p[2], status;
	size_t got = 0;
	pid_t child;
	ssize_t k;

	if (!argv || !nums)
		return err_make(err, ENOMEM, "%s", helper);
	argv[0] = (char *)helper;
	for (size_t i = 0; i < 1 + 3 * n; i++) {
		const struct ct_idmap *e = i ? &m[(i - 1) / 3] : NULL;
		uint32_t v = !e			? (uint32_t)pid
			     : (i - 1) % 3 == 0 ? e->container_id
			     : (i - 1) % 3 == 1 ? e->host_id
						: e->size;

		snprintf(nums + i * 12, 12, "%u", v);
		argv[1 + i] = nums + i * 12;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_make(err, errno, "pipe");
	child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return err_make(err, errno, "fork");
	}
	if (child == 0) {
		dup2(p[1], 2);
		execvp(helper, argv);
		_exit(127);
	}
	close(p[1]);
	while (got < len - 1 && (k = read(p[0], buf + got, len - 1 - got)) > 0)
		got += (size_t)k;
	close(p[0]);
	buf[got] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (waitpid(child, &status, 0) < 0)
		return err_make(err, errno, "wait for %s", helper);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int ct_idmap_write_helper(pid_t pid, bool gid, const struct ct_idmap *m, size_t n, struct err **err)
{
	const char *helper = gid ? "newgidmap" : "newuidmap";
	const char *what = gid ? "linux.gidMappings" : "linux.uidMappings";
	char msg[512];
	int r = run_helper(helper, pid, m, n, msg, sizeof(msg), err);

	if (r < 0)
		return r;
	if (r == 127)
		return err_make(err, ENOENT,
				"config.json: %s: mapping more than our own id needs %s "
				"(package uidmap), which is not installed",
				what, helper);
	if (r != 0)
		return err_make(err, EPERM, "config.json: %s: %s refused the map: %s", what, helper,
				*msg ? msg : "no reason given");
	return 0;
}
