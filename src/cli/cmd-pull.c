/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola pull [--store DIR] [--insecure] [--authfile FILE] [--quiet]
 *            [--timeout-base SECONDS] [--min-rate BYTES/s] REF
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "image-cli.h"
#include "opt.h"
#include "parse.h"

struct pull_progress {
	bool tty, quiet;
	char digest[20];
};

struct pull_call {
	const char *ref;
	const struct img_pull_opts *o;
};

int image_cli_open_store(const char *opt, struct img_store **ret)
{
	_cleanup_err_ struct err *err = NULL;

	if (img_store_open(img_store_default_path(opt), ret, &err) < 0)
		return cli_fail(&err);
	return 0;
}

int image_cli_open_store_shared(const char *opt, struct img_store **ret)
{
	_cleanup_err_ struct err *err = NULL;

	if (img_store_open_shared(img_store_default_path(opt), ret, &err) < 0)
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

const struct cli_opt cmd_pull_opts[] = {
    {"store", CLI_LONG(1), "DIR", "the image store (default " ISOLA_DEFAULT_STORE ")"},
    {"insecure", CLI_LONG(2), NULL, "plain HTTP, or HTTPS without verifying the certificate"},
    {"authfile", CLI_LONG(3), "FILE", "registry credentials (default $REGISTRY_AUTH_FILE)"},
    {"quiet", 'q', NULL, "no progress output"},
    {"timeout-base", CLI_LONG(4), "SECONDS",
     "each blob's deadline before its size is counted (60)"},
    {"min-rate", CLI_LONG(5), "SIZE",
     "slowest accepted rate per second, added to the deadline (64K)"},
    {},
};

/* Device nodes a rootless unpack left out: say so once. */
void image_cli_note_skipped(struct img_store *s)
{
	if (s->skipped_devices)
		fprintf(stderr,
			"note: %u device node%s in the image left out: a user namespace cannot "
			"make them (rootless)\n",
			s->skipped_devices, s->skipped_devices == 1 ? "" : "s");
	s->skipped_devices = 0;
}

/* Pull and import: open the store, add the image, note what the unpack left out, close the
 * store, then print the image's name or the error.  An exit code. */
int image_cli_add(void *data)
{
	const struct image_cli_add_call *call = data;
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *name = NULL;
	struct img_store *s = NULL;
	int r;

	r = image_cli_open_store(call->store, &s);
	if (r)
		return r;
	r = call->add(s, call->arg, &name, &err);
	image_cli_note_skipped(s);
	img_store_close(s);
	if (r < 0)
		return cli_fail(&err);
	printf("%s\n", name);
	return 0;
}

static int pull_add(struct img_store *s, const void *arg, char **ret_name, struct err **err)
{
	const struct pull_call *pc = arg;

	return img_pull(s, pc->ref, pc->o, ret_name, err);
}

int cmd_pull(struct cli_globals *g, int argc, char **argv)
{
	struct cli_parser cp;
	struct pull_progress p = {.tty = isatty(STDERR_FILENO)};
	struct img_pull_opts o = {
	    .progress = on_progress, .progress_data = &p, .authfile = getenv("REGISTRY_AUTH_FILE")};
	const char *store = NULL;
	uint64_t v;
	int c;

	cli_parser_init(&cp, argv[0], cmd_pull_opts);
	while ((c = cli_parse(&cp, argc, argv)) > 0) {
		switch (c) {
		case CLI_LONG(1):
			store = optarg;
			break;
		case CLI_LONG(2):
			o.insecure = true;
			break;
		case CLI_LONG(3):
			o.authfile = optarg;
			break;
		case 'q':
			p.quiet = true;
			break;
		case CLI_LONG(4):
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > 86400)
				return cli_usage_error(
				    argv[0], "--timeout-base `%s`: expected 1..86400 seconds",
				    optarg);
			o.timeout_base = v;
			break;
		case CLI_LONG(5):
			if (parse_size(optarg, &v) < 0 || v == 0)
				return cli_usage_error(
				    argv[0],
				    "--min-rate `%s`: expected a size per second, such as 64K",
				    optarg);
			o.min_rate = v;
			break;
		}
	}
	if (c < 0)
		return cp.exit_code;
	if (argc - optind != 1)
		return cli_usage_error(argv[0], "expected one image reference");
	return image_cli_store_call(
	    image_cli_add,
	    &(struct image_cli_add_call){store, pull_add, &(struct pull_call){argv[optind], &o}});
}

int image_cli_pull(struct img_store *s, const char *ref, bool quiet,
		   const volatile sig_atomic_t *cancel, char **ret_name, struct err **err)
{
	struct pull_progress p = {.tty = isatty(STDERR_FILENO), .quiet = quiet};
	struct img_pull_opts o = {.progress = on_progress,
				  .progress_data = &p,
				  .authfile = getenv("REGISTRY_AUTH_FILE"),
				  .cancel = cancel};

	int r = img_pull(s, ref, &o, ret_name, err);

	image_cli_note_skipped(s);
	return r;
}
