/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "envfile.h"
#include "fdutil.h"
#include "strv.h"

#define BLANKS " \t\v\f\r"

/*
 * KEY=VALUE as it is; KEY alone takes our value, if we have one (docker and
 * podman skip it otherwise).  -1 on ENOMEM.
 */
static int push_kv(const char *arg, char ***env)
{
	_cleanup_free_ char *kv = NULL;
	const char *v;

	if (strchr(arg, '='))
		return strv_push(env, arg);
	v = getenv(arg);
	if (!v)
		return 0;
	if (asprintf(&kv, "%s=%s", arg, v) < 0)
		return -1;
	return strv_push(env, kv);
}

/* One line (NUL-terminated, no '\n'); 0, or an error naming line @n. */
static int one_line(const char *path, size_t n, char *line, char ***env, struct err **err)
{
	size_t key_len;

	line += strspn(line, BLANKS);
	/* A file written on Windows ends its lines with "\r\n". */
	if (*line && line[strlen(line) - 1] == '\r')
		line[strlen(line) - 1] = '\0';
	if (!*line || *line == '#')
		return 0;
	key_len = strcspn(line, "=");
	if (key_len == 0)
		return err_make(err, 0, "--env-file `%s`, line %zu: no variable name before '='",
				path, n);
	if (strcspn(line, BLANKS) < key_len)
		return err_make(err, 0,
				"--env-file `%s`, line %zu: variable `%.*s` contains a blank", path,
				n, (int)(key_len > 64 ? 64 : key_len), line);
	return push_kv(line, env) < 0 ? err_make(err, ENOMEM, "--env-file") : 0;
}

int envfile_push_arg(const char *opt, const char *arg, char ***env, struct err **err)
{
	if (!*arg || *arg == '=')
		return err_make(err, 0, "%s `%.64s`: expected KEY=VALUE or KEY", opt, arg);
	return push_kv(arg, env) < 0 ? err_make(err, ENOMEM, "%s", opt) : 0;
}

int envfile_read(const char *path, char ***env, struct err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len, n = 0;
	char *line, *next;
	int r;

	r = read_file_at(AT_FDCWD, path, ENVFILE_MAX, &text, &len, err);
	if (r < 0)
		return err_wrap(err, "--env-file");
	if (memchr(text, '\0', len))
		return err_make(err, 0, "--env-file `%s`: a NUL byte (not a text file)", path);
	line = text;
	/* A UTF-8 byte order mark, as some editors write it. */
	if (len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3))
		line += 3;
	for (; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line && !next)
			break;
		r = one_line(path, ++n, line, env, err);
		if (r < 0)
			return r;
	}
	return 0;
}
