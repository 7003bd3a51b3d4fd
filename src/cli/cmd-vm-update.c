/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola vm update VM [--balloon MIB | --memory MIB] [--balloon-stats SECONDS] [--show]
 *
 * Resize a running VM through its balloon: --balloon sets the balloon's
 * target (MiB taken from the guest), --memory the memory left to the guest
 * (the balloon takes the rest of the VM's RAM).  --balloon-stats sets the
 * statistics polling interval (0 stops it); --show prints the balloon's
 * statistics (GET /balloon/statistics) afterwards.  VM is an id or a socket
 * path, as for `isola vm info`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "vm-cli.h"
#include "cleanup.h"
#include "cli.h"
#include "opt.h"
#include "vm-cli.h"
#include "jsonutil.h"
#include "parse.h"

enum { OPT_BALLOON = CLI_LONG(1), OPT_MEMORY, OPT_STATS, OPT_SHOW };

/* clang-format off */
const struct cli_opt cmd_vm_update_opts[] = {
	{"balloon", OPT_BALLOON, "MIB", "inflate or deflate the balloon to MIB"},
	{"memory", OPT_MEMORY, "MIB", "leave the guest MIB (sets the balloon to the rest)"},
	{"balloon-stats", OPT_STATS, "SECONDS", "poll the guest's memory statistics every SECONDS (0: off)"},
	{"show", OPT_SHOW, NULL, "print the balloon's statistics"},
	{},
};
/* clang-format on */

/* The balloon size that leaves `mib` MiB to the guest of VM. */
static int balloon_for_memory(const char *vm, uint64_t mib, uint64_t *ret, struct err **err)
{
	_cleanup_free_ char *body = NULL;
	_cleanup_json_ json_t *j = NULL;
	uint64_t total = 0;
	int r = vm_api_request(vm, "GET", "/", NULL, &body, err);

	if (r < 0)
		return r;
	j = json_loads(body, 0, NULL);
	if (!j)
		return err_make(err, EPROTO, "GET /: not JSON");
	r = json_get_u64(j, "GET /", "mem_size_mib", &total, err);
	if (r < 0)
		return r;
	if (mib > total)
		return err_make(err, EINVAL, "--memory %llu: the VM has only %llu MiB",
				(unsigned long long)mib, (unsigned long long)total);
	*ret = total - mib;
	return 0;
}

static int update(const char *vm, int64_t balloon, int64_t memory, int64_t stats, bool show,
		  struct err **err)
{
	_cleanup_free_ char *resp = NULL;
	uint64_t target = balloon;
	char body[96];
	int r = 0;

	if (memory >= 0)
		r = balloon_for_memory(vm, memory, &target, err);
	if (r >= 0 && (balloon >= 0 || memory >= 0)) {
		snprintf(body, sizeof(body), "{\"amount_mib\":%llu}", (unsigned long long)target);
		r = vm_api_request(vm, "PATCH", "/balloon", body, NULL, err);
	}
	if (r >= 0 && stats >= 0) {
		snprintf(body, sizeof(body), "{\"stats_polling_interval_s\":%lld}",
			 (long long)stats);
		r = vm_api_request(vm, "PATCH", "/balloon/statistics", body, NULL, err);
	}
	if (r >= 0 && show)
		r = vm_api_request(vm, "GET", "/balloon/statistics", NULL, &resp, err);
	if (r >= 0 && resp)
		printf("%s\n", resp);
	return r;
}

/* MiB up to 64 GiB (the VM limit), or seconds up to an hour. */
static int parse_num(const char *opt, const char *v, int64_t *ret, struct err **err)
{
	bool secs = streq(opt, "balloon-stats");
	uint64_t n, max = secs ? 3600 : 64ULL << 10;

	if (parse_u64(v, &n) < 0 || n > max)
		return err_make(err, EINVAL, "--%s `%s`: expected %s (0..%llu)", opt, v,
				secs ? "seconds" : "MiB", (unsigned long long)max);
	*ret = (int64_t)n;
	return 0;
}

int cmd_vm_update(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_err_ struct err *err = NULL;
	int64_t balloon = -1, memory = -1, stats = -1;
	bool show = false;
	struct cli_parser p;
	int c, r = 0;

	(void)g;
	cli_parser_init(&p, argv[0], cmd_vm_update_opts);
	cli_parser_permute(&p);
	while (r >= 0 && (c = cli_parse(&p, argc, argv)) > 0) {
		if (c == OPT_BALLOON)
			r = parse_num("balloon", optarg, &balloon, &err);
		else if (c == OPT_MEMORY)
			r = parse_num("memory", optarg, &memory, &err);
		else if (c == OPT_STATS)
			r = parse_num("balloon-stats", optarg, &stats, &err);
		else if (c == OPT_SHOW)
			show = true;
	}
	if (c < 0)
		return p.exit_code;
	if (r >= 0 && balloon >= 0 && memory >= 0)
		r = err_make(&err, EINVAL, "--balloon and --memory exclude each other");
	if (r >= 0 && optind + 1 != argc)
		r = err_make(&err, EINVAL,
			     "usage: vm update [--balloon MIB | --memory MIB] "
			     "[--balloon-stats SECONDS] [--show] VM");
	if (r >= 0 && balloon < 0 && memory < 0 && stats < 0 && !show)
		r = err_make(&err, EINVAL,
			     "vm update: nothing to do (--balloon, --memory, "
			     "--balloon-stats or --show)");
	if (r >= 0)
		r = update(argv[optind], balloon, memory, stats, show, &err);
	if (r < 0) {
		err_wrap(&err, "vm update");
		return cli_fail(&err);
	}
	return 0;
}
