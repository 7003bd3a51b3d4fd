/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola vm update VM [--balloon MIB | --memory MIB] [--balloon-stats SECONDS] [--show]
 *                    [--disk ID=PATH]...
 *
 * Resize a running VM through its balloon: --balloon sets the balloon's
 * target (MiB taken from the guest), --memory the memory left to the guest
 * (the balloon takes the rest of the VM's RAM).  --balloon-stats sets the
 * statistics polling interval (0 stops it); --show prints the balloon's
 * statistics (GET /balloon/statistics) afterwards.  --disk gives the drive
 * ID (as GET /vm/config names it: disk0... for `vm run --disk`) a new backing
 * file, PATH (PATCH /drives/ID; relative to this directory).  VM is an id or
 * a socket path, as for `isola vm info`.
 */
#include <errno.h>
#include <limits.h>
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

enum { OPT_BALLOON = CLI_LONG(1), OPT_MEMORY, OPT_STATS, OPT_SHOW, OPT_DISK };

#define MAX_DISK_OPTS 16

/* clang-format off */
const struct cli_opt cmd_vm_update_opts[] = {
	{"balloon", OPT_BALLOON, "MIB", "inflate or deflate the balloon to MIB"},
	{"memory", OPT_MEMORY, "MIB", "leave the guest MIB (sets the balloon to the rest)"},
	{"balloon-stats", OPT_STATS, "SECONDS", "poll the guest's memory statistics every SECONDS (0: off)"},
	{"show", OPT_SHOW, NULL, "print the balloon's statistics"},
	{"disk", OPT_DISK, "ID=PATH", "back drive ID by PATH from now on (repeatable)"},
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

/* PATCH /drives/ID {"drive_id": ID, "path_on_host": PATH made absolute}. */
static int swap_disk(const char *vm, const char *arg, struct err **err)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *id = NULL, *abs = NULL, *body = NULL, *route = NULL;
	_cleanup_json_ json_t *j = NULL;
	char cwd[PATH_MAX];

	if (!eq || eq == arg || !eq[1])
		return err_make(err, EINVAL, "--disk `%s`: expected ID=PATH", arg);
	id = strndup(arg, eq - arg);
	if (eq[1] == '/')
		abs = strdup(eq + 1);
	else if (!getcwd(cwd, sizeof(cwd)))
		return err_make(err, errno, "--disk: the current directory");
	else if (asprintf(&abs, "%s/%s", cwd, eq + 1) < 0)
		abs = NULL;
	if (!id || !abs)
		return err_make(err, ENOMEM, "--disk");
	j = json_pack("{s:s, s:s}", "drive_id", id, "path_on_host", abs);
	body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (!body || asprintf(&route, "/drives/%s", id) < 0)
		return err_make(err, ENOMEM, "--disk");
	return vm_api_request(vm, "PATCH", route, body, NULL, err);
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
	const char *disks[MAX_DISK_OPTS];
	unsigned n_disks = 0;
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
		else if (c == OPT_DISK && n_disks == MAX_DISK_OPTS)
			r = err_make(&err, E2BIG, "--disk: at most %d", MAX_DISK_OPTS);
		else if (c == OPT_DISK)
			disks[n_disks++] = optarg;
	}
	if (c < 0)
		return p.exit_code;
	if (r >= 0 && balloon >= 0 && memory >= 0)
		r = err_make(&err, EINVAL, "--balloon and --memory exclude each other");
	if (r >= 0 && optind + 1 != argc)
		r = err_make(&err, EINVAL,
			     "usage: vm update [--balloon MIB | --memory MIB] "
			     "[--balloon-stats SECONDS] [--show] [--disk ID=PATH]... VM");
	if (r >= 0 && balloon < 0 && memory < 0 && stats < 0 && !show && !n_disks)
		r = err_make(&err, EINVAL,
			     "vm update: nothing to do (--balloon, --memory, "
			     "--balloon-stats, --show or --disk)");
	for (unsigned i = 0; r >= 0 && i < n_disks; i++)
		r = swap_disk(argv[optind], disks[i], &err);
	if (r >= 0)
		r = update(argv[optind], balloon, memory, stats, show, &err);
	if (r < 0) {
		err_wrap(&err, "vm update");
		return cli_fail(&err);
	}
	return 0;
}
