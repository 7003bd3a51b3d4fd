/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isola pull [--store DIR] [--insecure] [--authfile FILE] [--quiet] REF */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "image-cli.h"

struct pull_progress {
	bool tty, quiet;
	char digest[20];
};

int image_cli_open_store(const char *opt, struct img_store **ret)
{
	_cleanup_err_ struct err *err = NULL;

	if (img_store_open(img_store_default_path(opt), ret, &err) < 0)
		return cli_fail(&err);
	return 0;
}

static void on_progress(void *data, enum img_progress_kind kind, const char *digest, uint64_t done,
			uint64_t total)
{
	struct pull_progress *p = data;

	if (p->quiet)
		return;
	if (digest)
		snprintf(p->digest, sizeof(p->digest), "%.12s", img_digest_hex(digest));
	switch (kind) {
	case IMG_PROGRESS_START:
		if (!p->tty)
			fprintf(stderr, "Fetching blob %s (%llu bytes)\n", p->digest,
				(unsigned long long)total);
		break;
	case IMG_PROGRESS_BYTES:
		if (p->tty)
			fprintf(stderr, "\rFetching blob %s: %llu / %llu KiB   ", p->digest,
				(unsigned long long)done >> 10, (unsigned long long)total >> 10);
		break;
	case IMG_PROGRESS_DONE:
		fprintf(stderr, "%sBlob %s done%s\n", p->tty ? "\r" : "", p->digest,
			p->tty ? "                         " : "");
		break;
	case IMG_PROGRESS_EXISTS:
		fprintf(stderr, "Blob %s already present\n", p->digest);
		break;
	case IMG_PROGRESS_UNPACK:
		fprintf(stderr, "Unpacking layers of manifest %s\n", p->digest);
		break;
	}
}

int cmd_pull(struct cli_globals *g, int argc, char **argv)
{
	/* clang-format off */
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "authfile", required_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{},
	};
	/* clang-format on */
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *name = NULL;
	struct pull_progress p = {.tty = isatty(STDERR_FILENO)};
	struct img_pull_opts o = {
	    .progress = on_progress, .progress_data = &p, .authfile = getenv("REGISTRY_AUTH_FILE")};
	const char *store = NULL;
	struct img_store *s = NULL;
	int c, r;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+q", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			store = optarg;
			break;
		case 'k':
			o.insecure = true;
			break;
		case 'a':
			o.authfile = optarg;
			break;
		case 'q':
			p.quiet = true;
			break;
		default:
			return 1;
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(argv[0], "expected one image reference");
	r = image_cli_open_store(store, &s);
	if (r)
		return r;
	r = img_pull(s, argv[optind], &o, &name, &err);
	img_store_close(s);
	if (r < 0)
		return cli_fail(&err);
	printf("%s\n", name);
	return 0;
}

int image_cli_pull(struct img_store *s, const char *ref, bool quiet, char **ret_name,
		   struct err **err)
{
	struct pull_progress p = {.tty = isatty(STDERR_FILENO), .quiet = quiet};
	struct img_pull_opts o = {
	    .progress = on_progress, .progress_data = &p, .authfile = getenv("REGISTRY_AUTH_FILE")};

	return img_pull(s, ref, &o, ret_name, err);
}
