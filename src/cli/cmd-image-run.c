/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola image run [--store D] [--rm] [-d] [--name N] [-e K=V] [-v SRC:DST[:ro]]
 *                 [-w DIR] [-u USER] [--memory SIZE] [--cpus N] [--pids-limit N]
 *                 [--read-only] [--network none|host] IMAGE [CMD...]
 *
 * Makes a bundle from the image under the store and runs it with the OCI
 * runtime: $ISOLA_RUNTIME (default: this binary) --root <store>/run run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cleanup.h"
#include "image-cli.h"
#include "parse.h"
#include "strv.h"

struct run_args {
	struct img_run_opts o;
	const char *store, *image;
	bool rm, detach;
	char id[65];
};

static void run_args_free(struct run_args *a)
{
	strv_free(a->o.env);
	strv_free(a->o.volumes);
}

static int parse_cpus(const char *s, uint64_t *ret)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || d <= 0 || d > 4096)
		return -EINVAL;
	*ret = (uint64_t)(d * 1000);
	return 0;
}

static int parse_opt(struct run_args *a, int c, const char *cmd)
{
	switch (c) {
	case 's':
		a->store = optarg;
		break;
	case 'R':
		a->rm = true;
		break;
	case 'd':
		a->detach = true;
		break;
	case 'n':
		a->o.name = optarg;
		break;
	case 'e':
		if (strv_push(&a->o.env, optarg) < 0)
			return 1;
		break;
	case 'v':
		if (strv_push(&a->o.volumes, optarg) < 0)
			return 1;
		break;
	case 'w':
		a->o.workdir = optarg;
		break;
	case 'u':
		a->o.user = optarg;
		break;
	case 'r':
		a->o.read_only = true;
		break;
	case 't':
		a->o.terminal = true;
		break;
	case 'm':
		if (parse_size(optarg, &a->o.memory) < 0)
			return cli_usage_error(cmd, "--memory `%s`: expected a size", optarg);
		break;
	case 'c':
		if (parse_cpus(optarg, &a->o.cpus_milli) < 0)
			return cli_usage_error(cmd, "--cpus `%s`: expected a number", optarg);
		break;
	case 'p':
		if (parse_i64(optarg, &a->o.pids_limit) < 0 || a->o.pids_limit < -1)
			return cli_usage_error(cmd, "--pids-limit `%s`: expected a number", optarg);
		break;
	case 'N':
		if (!streq(optarg, "none") && !streq(optarg, "host"))
			return cli_usage_error(cmd, "--network `%s`: expected none or host",
					       optarg);
		a->o.host_network = streq(optarg, "host");
		break;
	default:
		return 1;
	}
	return 0;
}

static int parse_args(struct run_args *a, int argc, char **argv)
{
	/* clang-format off */
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "rm", no_argument, NULL, 'R' },
		{ "detach", no_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "env", required_argument, NULL, 'e' },
		{ "volume", required_argument, NULL, 'v' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "pids-limit", required_argument, NULL, 'p' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "network", required_argument, NULL, 'N' },
		{ "tty", no_argument, NULL, 't' },
		{},
	};
	/* clang-format on */
	int c, r;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+dte:v:w:u:m:", opts, NULL)) != -1) {
		r = parse_opt(a, c, argv[0]);
		if (r)
			return r;
	}
	if (optind >= argc)
		return cli_usage_error(argv[0], "expected an image");
	a->image = argv[optind];
	a->o.args = argv + optind + 1;
	return 0;
}

static void make_id(struct run_args *a)
{
	unsigned char rnd[6] = {};

	if (a->o.name) {
		snprintf(a->id, sizeof(a->id), "%s", a->o.name);
		return;
	}
	if (getrandom(rnd, sizeof(rnd), 0) < 0)
		memset(rnd, (int)getpid(), sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(a->id + 2 * i, 3, "%02x", rnd[i]);
}

/* Run the bundle; a detached container's stdio goes to <bundle>/ctr.log. */
static int run_runtime(const char *store, const char *bundle, const struct run_args *a)
{
	const char *fg[] = {"run", "--bundle", bundle, a->id, NULL};
	const char *bg[] = {"run", "--bundle", bundle, "--detach", a->id, NULL};
	_cleanup_free_ char *log = NULL;
	_cleanup_close_ int null = -1, out = -1;
	int code;

	if (!a->detach) {
		code = image_cli_runtime(store, fg, -1, -1, -1);
		return code < 0 ? 1 : code;
	}
	if (asprintf(&log, "%s/ctr.log", bundle) < 0)
		return 1;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (null < 0 || out < 0) {
		log_error("open `%s`: %s", log, strerror(errno));
		return 1;
	}
	code = image_cli_runtime(store, bg, null, out, out);
	if (code == 0)
		printf("%s\n", a->id);
	return code < 0 ? 1 : code;
}

int cmd_image_run(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_(run_args_free) struct run_args a = {.o.pids_limit = 0};
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *bundle = NULL, *store = NULL;
	struct img_store *s = NULL;
	int r, code;

	r = parse_args(&a, argc, argv);
	if (r)
		return r;
	make_id(&a);
	r = image_cli_open_store_shared(a.store, &s);
	if (r)
		return r;
	r = img_bundle_create(s, a.image, a.id, &a.o, &bundle, &err);
	store = realpath(s->path, NULL);
	/* Let go of the lock while the container runs. */
	img_store_close(s);
	if (r < 0)
		return cli_fail(&err);
	if (!store)
		return 1;
	code = run_runtime(store, bundle, &a);
	if (a.rm && !a.detach) {
		r = image_cli_open_store(a.store, &s);
		if (r)
			return r;
		if (img_bundle_remove(s, a.id, &err) < 0)
			cli_fail(&err);
		img_store_close(s);
	}
	return code;
}
