/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: `run IMAGE --mount type=bind|volume|tmpfs,KEY[=VALUE],...`, a
 * string from the command line (or a compose file or script that builds it).
 * img_mount_parse turns it into the entry -v or --tmpfs takes, which is split on ':'
 * again later, so an accepted mount must give exactly that shape:
 *   bind, volume: SRC:DST:ro|rw[,PROPAGATION]
 *   tmpfs:        DST:exec[,ro][,size=N][,mode=M]
 * with DST absolute and neither path holding a ':'.  A refusal always says why.
 * The input's first line also goes through img_tmpfs_size_parse (1 byte to 1 EiB).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count(const char *s, char c)
{
	size_t n = 0;

	for (; (s = strchr(s, c)); s++)
		n++;
	return n;
}

static void check_entry(enum img_mount_kind kind, const char *e)
{
	const char *dst = e;

	if (!e)
		abort();
	if (kind == IMG_MOUNT_TMPFS) {
		if (count(e, ':') != 1 || strncmp(strchr(e, ':'), ":exec", 5))
			abort();
	} else if (kind == IMG_MOUNT_VOLUME) {
		const char *mode;

		if (count(e, ':') != 2 || e[0] == ':')
			abort();
		dst = strchr(e, ':') + 1;
		mode = strchr(dst, ':') + 1;
		if (strncmp(mode, "ro", 2) && strncmp(mode, "rw", 2))
			abort();
		if (mode[2] && mode[2] != ',')
			abort();
	} else {
		abort();
	}
	/* An absolute target, never "/" itself. */
	if (dst[0] != '/' || dst[strspn(dst, "/")] == ':')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size), *nl;
	/* No kind: an accepted mount must set one. */
	enum img_mount_kind kind = (enum img_mount_kind)(IMG_MOUNT_TMPFS + 1);
	struct err *err = NULL;
	char *entry = NULL;
	uint64_t bytes;

	if (!s)
		return 0;
	if (img_mount_parse(s, &kind, &entry, &err) == 0) {
		if (err)
			abort();
		check_entry(kind, entry);
	} else if (!err || entry) {
		abort();
	}
	free(entry);
	err_free(&err);
	nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
	if (img_tmpfs_size_parse(s, &bytes) == 0 && (bytes == 0 || bytes > (1ULL << 60)))
		abort();
	free(s);
	return 0;
}
