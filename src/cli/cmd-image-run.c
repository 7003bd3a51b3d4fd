/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola image run [--store D] [--rm] [-d] [--name N] [-e K=V] [-v SRC:DST[:ro]]
 *                 [-w DIR] [-u USER] [--memory SIZE] [--cpus N] [--pids-limit N]
 *                 [--read-only] [--network bridge|none|host|NAME|ns:PATH]
 *                 [-p [IP:]HOST:CTR[/tcp|udp]] [--dns IP] [--add-host NAME:IP]
 *                 [--hostname NAME] IMAGE [CMD...]
 *
 * Makes a bundle from the image under the store and runs it with the OCI
 * runtime: $ISOLA_RUNTIME (default: this binary) --root <store>/run run.
 * With a bridge network (the default, "isola"), the container gets a netns of
 * its own made by src/net, attached by CNI plugins before the runtime starts
 * and detached when it exits (foreground) or on stop / rm (-d).
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
#include "net.h"
#include "parse.h"
#include "strv.h"

enum net_mode { NET_BRIDGE, NET_NONE, NET_HOST, NET_PATH };

struct run_args {
	struct img_run_opts o;
	const char *store, *image;
	bool rm, detach;
	char id[65];
	enum net_mode net;
	const char *network; /* NET_BRIDGE: the network's name; NET_PATH: the netns */
	struct net_port ports[64];
	size_t n_ports;
	char **dns, **add_hosts;
	char *netns_owned; /* the netns path we made (bridge) */
	int lock_fd;
};

static void run_args_free(struct run_args *a)
{
	strv_free(a->o.env);
	strv_free(a->o.volumes);
	strv_free(a->dns);
	strv_free(a->add_hosts);
	free(a->netns_owned);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
}

/* bridge | none | host | ns:PATH | NAME */
static int parse_network(struct run_args *a, const char *v, const char *cmd)
{
	a->network = NULL;
	if (streq(v, "bridge")) {
		a->net = NET_BRIDGE;
		a->network = NET_DEFAULT_NAME;
	} else if (streq(v, "none")) {
		a->net = NET_NONE;
	} else if (streq(v, "host")) {
		a->net = NET_HOST;
	} else if (!strncmp(v, "ns:", 3) && v[3] == '/') {
		a->net = NET_PATH;
		a->network = v + 3;
	} else if (net_name_valid(v)) {
		a->net = NET_BRIDGE;
		a->network = v;
	} else {
		return cli_usage_error(cmd,
				       "--network `%s`: expected bridge, none, host, "
				       "ns:/PATH or a network name",
				       v);
	}
	return 0;
}

static int parse_publish(struct run_args *a, const char *v, const char *cmd)
{
	_cleanup_err_ struct err *err = NULL;

	if (a->n_ports == ARRAY_SIZE(a->ports))
		return cli_usage_error(cmd, "-p: at most %zu ports", ARRAY_SIZE(a->ports));
	if (net_port_parse(v, &a->ports[a->n_ports], &err) < 0)
		return cli_fail(&err);
	a->n_ports++;
	return 0;
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
	case 'P':
		if (parse_i64(optarg, &a->o.pids_limit) < 0 || a->o.pids_limit < -1)
			return cli_usage_error(cmd, "--pids-limit `%s`: expected a number", optarg);
		break;
	case 'N':
		return parse_network(a, optarg, cmd);
	case 'p':
		return parse_publish(a, optarg, cmd);
	case 'D':
		return strv_push(&a->dns, optarg) < 0 ? 1 : 0;
	case 'A':
		return strv_push(&a->add_hosts, optarg) < 0 ? 1 : 0;
	case 'H':
		a->o.hostname = optarg;
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
		{ "pids-limit", required_argument, NULL, 'P' },
		{ "publish", required_argument, NULL, 'p' },
		{ "dns", required_argument, NULL, 'D' },
		{ "add-host", required_argument, NULL, 'A' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "network", required_argument, NULL, 'N' },
		{ "tty", no_argument, NULL, 't' },
		{},
	};
	/* clang-format on */
	int c, r;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+dte:v:w:u:m:p:", opts, NULL)) != -1) {
		r = parse_opt(a, c, argv[0]);
		if (r)
			return r;
	}
	if (optind >= argc)
		return cli_usage_error(argv[0], "expected an image");
	a->image = argv[optind];
	a->o.args = argv + optind + 1;
	if (a->net != NET_BRIDGE && a->n_ports)
		return cli_usage_error(argv[0],
				       "-p needs a bridge network (--network bridge|NAME)");
	if (a->net != NET_BRIDGE && (a->dns || a->add_hosts))
		return cli_usage_error(argv[0], "--dns and --add-host need a bridge network");
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

/* Bridge networking: the netns path goes into config.json, the /etc files are bind mounts. */
static int plan_network(struct run_args *a, const char *store)
{
	static const char *const files[] = {"resolv.conf", "hosts", "hostname"};
	char v[4096];

	a->o.host_network = a->net == NET_HOST;
	if (a->net == NET_PATH)
		a->o.netns_path = a->network;
	if (a->net != NET_BRIDGE)
		return 0;
	if (!a->o.hostname)
		a->o.hostname = a->o.name ? a->o.name : a->id;
	a->netns_owned = net_netns_path(store, a->id);
	if (!a->netns_owned)
		return 1;
	a->o.netns_path = a->netns_owned;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(v, sizeof(v), "%s/containers/%s/%s:/etc/%s", store, a->id, files[i],
			 files[i]);
		if (strv_push(&a->o.volumes, v) < 0)
			return 1;
	}
	return 0;
}

static int attach(struct run_args *a, const char *store, const char *bundle, struct err **err)
{
	struct net_attach_opts no = {
	    .network = a->network,
	    .ports = a->ports,
	    .n_ports = a->n_ports,
	    .hostname = a->o.hostname,
	    .dns = a->dns,
	    .add_hosts = a->add_hosts,
	};

	if (a->net != NET_BRIDGE)
		return 0;
	/* Held until we exit: a concurrent `network prune` leaves this one alone. */
	a->lock_fd = net_lock(store, a->id, err);
	if (a->lock_fd < 0)
		return a->lock_fd;
	return net_attach(store, a->id, &no, bundle, err);
}

static int remove_bundle(const struct run_args *a, const char *store)
{
	_cleanup_err_ struct err *err = NULL;
	struct img_store *s = NULL;
	int r;

	if (net_detach(store, a->id, &err) < 0)
		cli_fail(&err);
	r = image_cli_open_store(a->store, &s);
	if (r)
		return r;
	if (img_bundle_remove(s, a->id, &err) < 0)
		cli_fail(&err);
	img_store_close(s);
	return 0;
}

int cmd_image_run(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_(run_args_free) struct run_args a = {.o.pids_limit = 0, .lock_fd = -1};
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *bundle = NULL, *store = NULL;
	const char *def = getenv("ISOLA_NETWORK");
	struct img_store *s = NULL;
	int r, code;

	r = parse_network(&a, def && *def ? def : "bridge", "ISOLA_NETWORK");
	if (r == 0)
		r = parse_args(&a, argc, argv);
	if (r)
		return r;
	make_id(&a);
	r = image_cli_open_store(a.store, &s);
	if (r)
		return r;
	store = realpath(s->path, NULL);
	r = store ? plan_network(&a, store) : 1;
	if (r) {
		img_store_close(s);
		return r;
	}
	r = img_bundle_create(s, a.image, a.id, &a.o, &bundle, &err);
	/* Let go of the lock while the container runs. */
	img_store_close(s);
	if (r < 0)
		return cli_fail(&err);
	if (attach(&a, store, bundle, &err) < 0) {
		remove_bundle(&a, store);
		return cli_fail(&err);
	}
	code = run_runtime(store, bundle, &a);
	if (a.detach && code != 0)
		remove_bundle(&a, store);
	else if (a.rm && !a.detach)
		remove_bundle(&a, store);
	else if (!a.detach && net_detach(store, a.id, &err) < 0)
		cli_fail(&err);
	return code;
}
