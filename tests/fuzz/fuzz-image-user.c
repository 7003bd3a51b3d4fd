/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the user an image's container runs as.  The image's
 * /etc/passwd and /etc/group are the image author's, so hostile; with the
 * user spec (`-u`, or the image's User) they go through img_spec_generate,
 * which resolves names, the primary group and the supplementary groups.
 *
 * Input: the user spec up to the first '\n', then /etc/passwd up to the first
 * NUL byte, then /etc/group.  The files are written to a directory made once,
 * the image's root for the run.  A success has ids in 0..4294967294 and at
 * most 256 distinct additionalGids, none of them the primary gid; a failure
 * always says why.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int root_fd = -1, passwd_fd = -1, group_fd = -1;
static char root_path[] = "/tmp/fuzz-image-user.XXXXXX";

static void teardown(void)
{
	unlinkat(root_fd, "etc/passwd", 0);
	unlinkat(root_fd, "etc/group", 0);
	unlinkat(root_fd, "etc", AT_REMOVEDIR);
	rmdir(root_path);
}

static int file_in(int dir, const char *name)
{
	return openat(dir, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
}

static void setup(void)
{
	int etc;

	if (!mkdtemp(root_path))
		abort();
	root_fd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || mkdirat(root_fd, "etc", 0755) < 0)
		abort();
	etc = openat(root_fd, "etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	passwd_fd = file_in(etc, "passwd");
	group_fd = file_in(etc, "group");
	if (etc < 0 || passwd_fd < 0 || group_fd < 0)
		abort();
	close(etc);
	atexit(teardown);
}

static void put(int fd, const uint8_t *p, size_t n)
{
	if (ftruncate(fd, 0) < 0 || pwrite(fd, p, n, 0) != (ssize_t)n)
		abort();
}

static json_int_t int_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		abort();
	return json_integer_value(v);
}

static void check(json_t *spec)
{
	json_t *user = json_object_get(json_object_get(spec, "process"), "user");
	json_t *groups = json_object_get(user, "additionalGids"), *g, *h;
	json_int_t uid = int_at(user, "uid"), gid = int_at(user, "gid");
	size_t i, j;

	if (uid < 0 || uid > 4294967294 || gid < 0 || gid > 4294967294)
		abort();
	if (!groups)
		return;
	if (!json_is_array(groups) || json_array_size(groups) == 0 || json_array_size(groups) > 256)
		abort();
	json_array_foreach (groups, i, g) {
		json_int_t v = json_is_integer(g) ? json_integer_value(g) : -1;

		if (v < 0 || v > 4294967294 || v == gid)
			abort();
		json_array_foreach (groups, j, h)
			if (j != i && json_integer_value(h) == v)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char config[] = "{\"config\": {\"Cmd\": [\"/bin/true\"]}}";
	const uint8_t *nl = memchr(data, '\n', size), *files, *nul;
	struct img_run_opts o = {};
	json_t *spec = NULL;
	struct err *e = NULL;
	char *user;
	size_t rest;

	if (root_fd < 0)
		setup();
	if (!nl)
		return 0;
	user = strndup((const char *)data, nl - data);
	if (!user)
		return 0;
	files = nl + 1;
	rest = size - (files - data);
	nul = memchr(files, '\0', rest);
	put(passwd_fd, files, nul ? (size_t)(nul - files) : rest);
	put(group_fd, nul ? nul + 1 : files, nul ? rest - (nul + 1 - files) : 0);
	o.user = user;
	if (img_spec_generate(config, sizeof(config) - 1, &o, root_fd, &spec, &e) < 0) {
		if (!e || spec)
			abort();
		err_free(&e);
	} else {
		check(spec);
		json_decref(spec);
	}
	free(user);
	return 0;
}
