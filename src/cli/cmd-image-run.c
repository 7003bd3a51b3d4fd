/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola image run [--store D] [--rm] [-d] [--name N] [-e K=V] [-v SRC:DST[:OPTS]]
 *                 [-w DIR] [-u USER] [--memory SIZE] [--cpus N] [--pids-limit N]
 *                 [--read-only] [--network bridge|none|host|NAME|ns:PATH|container:NAME]
 *                 [--pid|--ipc|--uts private|host|ns:PATH|container:NAME]
 *                 [-p [IP:]HOST:CTR[/tcp|udp]] [--dns IP] [--add-host NAME:IP]
 *                 [--hostname NAME] [--network-alias NAME] [--sysctl K=V]
 *                 [--ulimit NAME=SOFT[:HARD]] [--tmpfs DEST[:OPTS]] [--mount ...]
 *                 [--vm [--vm-kernel FILE] [--vm-modules DIR]] IMAGE [CMD...]
 *
 * Makes a bundle from the image under the store and runs it with the OCI
 * runtime: $ISOLA_RUNTIME (default: this binary) --root <store>/run run.
 * With a bridge network (the default, "isola"), the container gets a netns of
 * its own made by src/net, attached by CNI plugins before the runtime starts
 * and detached when it exits (foreground) or on stop / rm (-d).
 * With --vm the process runs in a micro-VM instead (cmd-image-run-vm.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "config.h"
#include "fdutil.h"
#include "image-cli.h"
#include "jsonutil.h"
#include "log.h"
#include "net.h"
#include "parse.h"
#include "proto.h"
#include "envfile.h"
#include "spec.h"
#include "strv.h"

enum net_mode { NET_BRIDGE, NET_NONE, NET_HOST, NET_PATH, NET_CONTAINER };

struct run_args {
	struct img_run_opts o;
	const char *store, *image, *pull;
	char *image_resolved; /* the store's name for it */
	bool rm, detach, interactive, quiet, vm, net_given;
	const char *cidfile; /* --cidfile: written once the bundle is made */
	bool cidfile_written;
	int cidfile_dir; /* the directory it was made in (O_PATH), for undo_cidfile */
	struct image_vm_opts vmo;
	char id[65];
	enum net_mode net;
	const char *network; /* NET_BRIDGE: the network's name; NET_PATH: the netns */
	struct net_port ports[64];
	size_t n_ports;
	char **dns, **add_hosts, **aliases;
	char **env_files;	    /* --env-file's variables: before -e's, which win */
	char **cap_add, **cap_drop; /* CAP_X or ALL (cap_name) */
	char *netns_owned;	    /* the netns path we made (bridge) */
	/* --uts host: the host's name, for the bridge network's /etc files */
	char host_name[HOST_NAME_MAX + 1];
	size_t n_devices; /* --device's nodes, directories' included (IMG_DEVICES_MAX) */
	int lock_fd;
	pid_t add_pid; /* > 0: the child running the network's ADD (attach_begin) */
	/*
	 * container:NAME (o.ns_ctr): each target's namespace held open (-1: none), the
	 * /proc/<our pid>/fd path to it that config.json gets and its instance, for
	 * image.json (image_cli_ctr_ns_open).
	 */
	int ctr_fd[IMG_JOIN_N];
	char ctr_path[IMG_JOIN_N][64];
	char ctr_instance[IMG_JOIN_N][IMG_INSTANCE_LEN + 1];
	/* --ipc container:NAME: NAME's /dev/shm, cloned, for <bundle>/shm (-1: none). */
	int shm_tree;
	char *shm_dir;
	bool own_hostname_file; /* --network container:NAME: write <bundle>/hostname */
};

static void run_args_free(struct run_args *a)
{
	strv_free(a->o.env);
	strv_free(a->env_files);
	strv_free(a->cap_add);
	strv_free(a->cap_drop);
	strv_free(a->o.sysctls);
	strv_free(a->o.tmpfs);
	strv_free(a->o.ulimits);
	strv_free(a->o.devices);
	strv_free(a->o.labels);
	strv_free(a->o.group_add);
	strv_free(a->o.caps);
	json_decref(a->o.seccomp);
	strv_free(a->o.volumes);
	strv_free(a->dns);
	strv_free(a->add_hosts);
	strv_free(a->aliases);
	free(a->netns_owned);
	free(a->image_resolved);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	if (a->cidfile_dir >= 0)
		close(a->cidfile_dir);
	for (size_t i = 0; i < IMG_JOIN_N; i++)
		if (a->ctr_fd[i] >= 0)
			close(a->ctr_fd[i]);
	if (a->shm_tree >= 0)
		close(a->shm_tree);
	free(a->shm_dir);
}

/*
 * --security-opt: seccomp=unconfined (no filter), seccomp=FILE (an OCI
 * linux.seccomp object, checked when the container is made, as any
 * config.json's); no-new-privileges, which is on already; label=disable and
 * apparmor=unconfined, which turn off what isola does not apply.
 */
static int parse_security_opt(struct run_args *a, const char *v, const char *cmd)
{
	_cleanup_err_ struct err *err = NULL;
	json_t *profile = NULL;

	if (streq(v, "no-new-privileges") || streq(v, "no-new-privileges=true") ||
	    streq(v, "no-new-privileges:true")) {
		a->o.new_privileges = false;
		return 0;
	}
	/* podman's default, isola's opt-out: sudo or su of a non-root user works. */
	if (streq(v, "no-new-privileges=false") || streq(v, "no-new-privileges:false")) {
		a->o.new_privileges = true;
		return 0;
	}
	if (streq(v, "label=disable") || streq(v, "label:disable") ||
	    streq(v, "apparmor=unconfined") || streq(v, "apparmor:unconfined"))
		return 0;
	if (strncmp(v, "seccomp=", 8) && strncmp(v, "seccomp:", 8))
		return cli_usage_error(cmd,
				       "--security-opt `%.64s`: expected seccomp=unconfined, "
				       "seccomp=FILE, no-new-privileges[=true|false], "
				       "label=disable or apparmor=unconfined",
				       v);
	v += 8;
	json_decref(a->o.seccomp);
	a->o.seccomp = NULL;
	a->o.seccomp_unconfined = streq(v, "unconfined");
	if (a->o.seccomp_unconfined)
		return 0;
	if (json_load_file_capped(AT_FDCWD, v, 1u << 22, &profile, &err) < 0) {
		err_wrap(&err, "--security-opt seccomp");
		return cli_fail(&err);
	}
	if (!json_is_object(profile)) {
		json_decref(profile);
		return cli_usage_error(cmd, "--security-opt seccomp=`%.64s`: not a JSON object", v);
	}
	a->o.seccomp = profile;
	return 0;
}

/*
 * ns:PATH names a namespace of @type: opened (O_CLOEXEC), or -1 with the message printed.
 * PATH is opened O_PATH and must be on nsfs before it is opened for the type's ioctl: a
 * FIFO there would block isola for good, and opening a device has effects of its own (a
 * watchdog armed, a controlling tty taken).
 */
static int ns_path_open(enum img_join j, const char *path, const char *cmd)
{
	_cleanup_close_ int pfd = -1, fd = -1;
	const char *opt = img_join_kinds[j].opt, *why = NULL;
	char self[64], type[32];
	struct statfs sf;

	snprintf(type, sizeof(type), "not a%s %s namespace", j == IMG_JOIN_IPC ? "n" : "", opt);
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		why = strerror(errno);
	else if (fstatfs(pfd, &sf) < 0 || sf.f_type != NSFS_MAGIC)
		why = "not a namespace (a file of nsfs)";
	if (!why) {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
		fd = open(self, O_RDONLY | O_CLOEXEC);
		why = fd < 0						   ? strerror(errno)
		      : ioctl(fd, NS_GET_NSTYPE) != img_join_kinds[j].type ? type
									   : NULL;
	}
	if (why) {
		cli_usage_error(cmd, "--%s `ns:%.64s`: %s", opt, path, why);
		return -1;
	}
	return TAKE_FD(fd);
}

static int check_ns_path(enum img_join j, const char *path, const char *cmd)
{
	_cleanup_close_ int fd = ns_path_open(j, path, cmd);

	return fd < 0 ? EXIT_ISOLA : 0;
}

/*
 * The host name of the UTS namespace at path (ns:PATH, or container:NAME's, held open by
 * us), for /etc/hostname and /etc/hosts: read in a child that joins it.
 */
static int joined_uts_name(const char *path, char ret[static HOST_NAME_MAX + 1])
{
	_cleanup_close_ int fd = ns_path_open(IMG_JOIN_UTS, path, "run");
	_cleanup_close_ int rd = -1, wr = -1;
	int pfd[2];
	ssize_t n;
	pid_t pid;

	if (fd < 0 || pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	rd = pfd[0], wr = pfd[1];
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct utsname u;

		if (setns(fd, CLONE_NEWUTS) < 0 || uname(&u) < 0)
			_exit(1);
		_exit(write_all(wr, u.nodename, strnlen(u.nodename, HOST_NAME_MAX)) < 0);
	}
	close(TAKE_FD(wr));
	if (pid < 0)
		return -1;
	n = read(rd, ret, HOST_NAME_MAX);
	if (image_cli_runtime_wait(pid) != 0 || n <= 0) {
		cli_usage_error("run", "--uts: the host name of `%.64s`: unreadable", path);
		return -1;
	}
	ret[n] = '\0';
	return 0;
}

/* bridge | none | host | ns:PATH | container:NAME | NAME */
static int parse_network(struct run_args *a, const char *v, const char *cmd)
{
	a->network = NULL;
	a->o.ns_ctr[IMG_JOIN_NET] = NULL;
	if (streq(v, "bridge")) {
		a->net = NET_BRIDGE;
		a->network = NET_DEFAULT_NAME;
	} else if (streq(v, "none")) {
		a->net = NET_NONE;
	} else if (streq(v, "host")) {
		a->net = NET_HOST;
	} else if (!strncmp(v, "ns:", 3) && v[3] == '/') {
		/* The path is checked once the options are all read (--vm refuses it first). */
		a->net = NET_PATH;
		a->network = v + 3;
	} else if (!strncmp(v, "container:", 10) && v[10]) {
		a->net = NET_CONTAINER;
		a->o.ns_ctr[IMG_JOIN_NET] = v + 10;
	} else if (net_name_valid(v)) {
		a->net = NET_BRIDGE;
		a->network = v;
	} else {
		return cli_usage_error(cmd,
				       "--network `%s`: expected bridge, none, host, "
				       "ns:/PATH, container:NAME or a network name",
				       v);
	}
	return 0;
}

/*
 * --pid, --ipc, --uts MODE: private (a new namespace, the default), host (none in
 * config.json: the runtime's, the host's), ns:PATH, a namespace of that type to join
 * (checked here: a file that is not one would fail in the runtime, after the bundle is
 * made) or container:NAME, another running container's (opened once the store is known:
 * join_containers).
 */
static int parse_ns(struct run_args *a, enum img_join j, const char *v, bool *ret_host,
		    const char **ret_path, const char *cmd)
{
	const char *opt = img_join_kinds[j].opt;

	*ret_host = false;
	*ret_path = NULL;
	a->o.ns_ctr[j] = NULL;
	if (streq(v, "private"))
		return 0;
	if (streq(v, "host")) {
		*ret_host = true;
		return 0;
	}
	if (!strncmp(v, "container:", 10) && v[10]) {
		a->o.ns_ctr[j] = v + 10;
		return 0;
	}
	if (strncmp(v, "ns:", 3) || v[3] != '/')
		return cli_usage_error(cmd,
				       "--%s `%.64s`: expected private, host, ns:/PATH or "
				       "container:NAME",
				       opt, v);
	if (check_ns_path(j, v + 3, cmd))
		return EXIT_ISOLA;
	*ret_path = v + 3;
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

/* --log-opt max-size=SIZE (podman's; its other options are another log driver's). */
static int parse_log_opt(struct run_args *a, const char *v, const char *cmd)
{
	const char *size = strncmp(v, "max-size=", 9) ? NULL : v + 9;

	if (!size)
		return cli_usage_error(cmd, "--log-opt `%.64s`: only max-size=SIZE is supported",
				       v);
	if (streq(size, "-1")) {
		a->vmo.log_max = 0;
		return 0;
	}
	if (parse_size(size, &a->vmo.log_max) < 0 || a->vmo.log_max < IMAGE_LOG_MAX_MIN)
		return cli_usage_error(
		    cmd, "--log-opt max-size `%.64s`: expected a size of at least 64k, or -1",
		    size);
	return 0;
}

/* clang-format off */
const struct cli_opt cmd_image_run_opts[] = {
	{"store", CLI_LONG(1), "DIR", "the image store (default $ISOLA_STORE or " ISOLA_DEFAULT_STORE ")"},
	{"rm", CLI_LONG(2), NULL, "remove the container when it exits"},
	{"detach", 'd', NULL, "run in the background; print the container's name"},
	{"interactive", 'i', NULL, "keep stdin open (else the container reads /dev/null)"},
	{"tty", 't', NULL, "give the container a terminal"},
	{"name", CLI_LONG(3), "NAME", "the container's name (default: a random id)"},
	{"env", 'e', "KEY=VALUE", "set an environment variable; KEY alone: ours (repeatable)"},
	{"env-file", CLI_LONG(16), "FILE", "variables from FILE, KEY=VALUE a line (repeatable; -e wins)"},
	{"volume", 'v', "SRC:DST[:OPTS]", "bind mount a host path or a named volume (OPTS: ro, rw, rshared...; repeatable)"},
	{"mount", CLI_LONG(28), "type=TYPE,...", "bind, volume or tmpfs mount, podman's syntax (repeatable)"},
	{"shm-size", CLI_LONG(29), "SIZE", "the size of /dev/shm (default 64m)"},
	{"label", 'l', "KEY=VALUE", "a label, shown by inspect (repeatable)"},
	{"stop-signal", CLI_LONG(30), "SIG", "the signal stop sends first (default TERM)"},
	{"group-add", CLI_LONG(33), "GROUP", "a supplementary group: a name in the image's /etc/group or a gid (repeatable)"},
	{"cidfile", CLI_LONG(32), "FILE", "write the container's id to FILE (which must not exist)"},
	{"stop-timeout", CLI_LONG(31), "SECONDS", "how long stop waits before KILL (default 10)"},
	{"workdir", 'w', "DIR", "the working directory"},
	{"user", 'u', "USER[:GROUP]", "run as this user (name or id)"},
	{"entrypoint", CLI_LONG(4), "CMD", "replace the image's entrypoint (\"\": none)"},
	{"pull", CLI_LONG(5), "POLICY", "missing (default), always or never"},
	{"restart", CLI_LONG(6), "POLICY", "only \"no\": restarting needs a daemon"},
	{"network", CLI_LONG(7), "MODE", "bridge (default), none, host, a network name, ns:PATH, container:NAME"},
	{"publish", 'p', "[IP:]HOST:CTR[/PROTO]", "publish a container port (repeatable)"},
	{"dns", CLI_LONG(8), "IP", "a nameserver for /etc/resolv.conf (repeatable)"},
	{"add-host", CLI_LONG(9), "NAME:IP", "an /etc/hosts entry (repeatable)"},
	{"hostname", CLI_LONG(13), "NAME", "the container's host name (default: its name)"},
	{"pid", CLI_LONG(34), "MODE", "private (default), host, ns:PATH or container:NAME: the PID namespace"},
	{"ipc", CLI_LONG(35), "MODE", "private (default), host, ns:PATH or container:NAME: the IPC namespace"},
	{"uts", CLI_LONG(36), "MODE", "private (default), host, ns:PATH or container:NAME: the UTS namespace (host name)"},
	{"log-opt", CLI_LONG(37), "max-size=SIZE", "-d: the log starts again empty past SIZE (default 256m; -1: no limit)"},
	{"network-alias", CLI_LONG(15), "NAME", "another DNS name on a created network (repeatable)"},
	{"memory", 'm', "SIZE", "memory limit"},
	{"cpus", CLI_LONG(10), "N", "CPU limit (fractions allowed)"},
	{"pids-limit", CLI_LONG(11), "N", "process limit"},
	{"read-only", CLI_LONG(12), NULL, "a read-only root file system"},
	{"cap-add", CLI_LONG(17), "CAP", "add a capability (NET_ADMIN, CAP_NET_ADMIN or ALL) to the default set"},
	{"cap-drop", CLI_LONG(18), "CAP", "drop a capability (or ALL) from the default set"},
	{"security-opt", CLI_LONG(19), "OPT", "seccomp=unconfined|PROFILE.json; no-new-privileges[=false] (on by default); label=disable, apparmor=unconfined (no-ops)"},
	{"sysctl", CLI_LONG(23), "KEY=VALUE", "a namespaced sysctl (net.*, kernel.shm*, ...; repeatable)"},
	{"tmpfs", CLI_LONG(24), "DEST[:OPTS]", "mount a tmpfs (rw,noexec,nosuid,nodev unless OPTS say otherwise)"},
	{"ulimit", CLI_LONG(25), "NAME=SOFT[:HARD]", "a resource limit (nofile=1024:2048, core=-1; repeatable)"},
	{"device", CLI_LONG(26), "HOST[:CTR][:PERMS]", "give the container a host device (PERMS of rwm; repeatable)"},
	{"privileged", CLI_LONG(27), NULL, "every capability and device, no seccomp filter, no masked paths"},
	{"quiet", 'q', NULL, "no pull progress"},
	{"init", CLI_LONG(14), NULL, "run a minimal init as PID 1 (reaps, forwards signals)"},
	{"vm", CLI_LONG(20), NULL, "run the container in its own micro-VM (--memory, --cpus size the VM)"},
	{"vm-kernel", CLI_LONG(21), "FILE", "--vm: the guest kernel (default $ISOLA_VM_KERNEL or " ISOLA_VM_KERNEL_DEFAULT ")"},
	{"vm-modules", CLI_LONG(22), "DIR", "--vm: the kernel's lib/modules/VERSION (default: beside the kernel)"},
	{},
};
/* clang-format on */

static int push(char ***v, const char *s)
{
	return strv_push(v, s) < 0 ? cli_usage_error("run", "out of memory") : 0;
}

/* --cap-add/--cap-drop NAME: CAP_NAME in upper case (as podman: "net_admin" too), or ALL. */
static int cap_name(const char *opt, const char *arg, char ***list, const char *cmd)
{
	_cleanup_free_ char *s = NULL;

	if (!strcasecmp(arg, "all"))
		return push(list, "ALL");
	if (asprintf(&s, "%s%s", strncasecmp(arg, "CAP_", 4) ? "CAP_" : "", arg) < 0)
		return cli_usage_error(cmd, "out of memory");
	for (char *c = s; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	if (ct_cap_from_name(s) < 0)
		return cli_usage_error(cmd, "%s `%.64s`: not a capability", opt, arg);
	return push(list, s);
}

/*
 * The set --cap-add/--cap-drop make of the default one, by podman's rules:
 * drop ALL keeps only the added; add ALL starts from every capability we
 * have (our bounding set) less the dropped; else the default less the
 * dropped plus the added; one capability both added and dropped, or ALL
 * both, is refused.
 */
static int merge_caps(struct run_args *a, const char *cmd)
{
	bool add_all = strv_contains(a->cap_add, "ALL"),
	     drop_all = strv_contains(a->cap_drop, "ALL");
	_cleanup_json_ json_t *all = NULL;
	char **out = NULL;
	json_t *v;
	size_t i;

	if (!a->cap_add && !a->cap_drop)
		return 0;
	if (add_all && drop_all)
		return cli_usage_error(cmd, "--cap-add ALL with --cap-drop ALL");
	for (char **c = a->cap_add; c && *c; c++)
		if (!streq(*c, "ALL") && strv_contains(a->cap_drop, *c))
			return cli_usage_error(cmd, "%s: both --cap-add and --cap-drop", *c);
	if (add_all) {
		all = ct_caps_bounding();
		if (!all)
			return cli_usage_error(cmd, "out of memory");
		json_array_foreach (all, i, v)
			if (!strv_contains(a->cap_drop, json_string_value(v)) &&
			    strv_push(&out, json_string_value(v)) < 0)
				goto oom;
	} else if (!drop_all) {
		for (const char *const *c = img_default_caps; *c; c++)
			if (!strv_contains(a->cap_drop, *c) && strv_push(&out, *c) < 0)
				goto oom;
	}
	for (char **c = a->cap_add; c && *c; c++)
		if (!streq(*c, "ALL") && !strv_contains(out, *c) && strv_push(&out, *c) < 0)
			goto oom;
	/* Nothing left is an empty set, not the default. */
	if (!out && !(out = calloc(1, sizeof(char *))))
		goto oom;
	a->o.caps = out;
	return 0;
oom:
	strv_free(out);
	return cli_usage_error(cmd, "out of memory");
}

/*
 * --sysctl KEY=VALUE: only what a namespace of the container's keeps from the
 * host (runc's list, ct_sysctl_namespace); net.* needs its own network
 * namespace (check_sysctl_net, once --network is known).
 */
static int parse_sysctl(struct run_args *a, const char *v, const char *cmd)
{
	size_t kl = strcspn(v, "=");
	_cleanup_free_ char *k = strndup(v, kl);

	if (!k)
		return cli_usage_error(cmd, "out of memory");
	if (!v[kl] || !kl || k[0] == '.' || strstr(k, "..") || strpbrk(k, "/ \t\n"))
		return cli_usage_error(cmd, "--sysctl `%.64s`: expected KEY=VALUE", v);
	if (ct_sysctl_namespace(k) < 0)
		return cli_usage_error(cmd,
				       "--sysctl `%.64s`: not a namespaced sysctl (it would "
				       "change the host); net.*, fs.mqueue.*, kernel.msg*, "
				       "kernel.sem, kernel.shm*, kernel.hostname and "
				       "kernel.domainname are",
				       v);
	return push(&a->o.sysctls, v);
}

/*
 * A sysctl of a namespace the container shares with the host is the host's, and one it
 * joined from another container (container:NAME) that container's: refused.
 */
static int check_sysctl_ns(struct run_args *a, const char *cmd)
{
	for (char **s = a->o.sysctls; s && *s; s++) {
		_cleanup_free_ char *k = strndup(*s, strcspn(*s, "="));
		int t = k ? ct_sysctl_namespace(k) : -1;
		const char *opt = t == CT_NS_NET && a->net == NET_HOST ? "--network"
				  : t == CT_NS_IPC && a->o.host_ipc    ? "--ipc"
				  : t == CT_NS_UTS && a->o.host_uts    ? "--uts"
								       : NULL;
		enum img_join j = t == CT_NS_NET   ? IMG_JOIN_NET
				  : t == CT_NS_IPC ? IMG_JOIN_IPC
						   : IMG_JOIN_UTS;

		if (opt)
			return cli_usage_error(cmd,
					       "--sysctl `%.64s` with %s host: the container "
					       "has the host's %s namespace",
					       *s, opt, ct_ns_name(t));
		if (t >= 0 && a->o.ns_ctr[j])
			return cli_usage_error(cmd,
					       "--sysctl `%.64s` with --%s container:%s: the %s "
					       "namespace is that container's",
					       *s, img_join_kinds[j].opt, a->o.ns_ctr[j],
					       ct_ns_name(t));
	}
	return 0;
}

/* No UTS namespace of its own, no name of its own (podman refuses it too). */
static int check_ns_args(struct run_args *a, const char *cmd)
{
	if (a->o.hostname && (a->o.host_uts || a->o.utsns_path || a->o.ns_ctr[IMG_JOIN_UTS]))
		return cli_usage_error(cmd,
				       "--hostname with --uts %s%s: the container has no UTS "
				       "namespace of its own to name",
				       a->o.host_uts	 ? "host"
				       : a->o.utsns_path ? "ns:PATH"
							 : "container:",
				       a->o.ns_ctr[IMG_JOIN_UTS] ? a->o.ns_ctr[IMG_JOIN_UTS] : "");
	if (a->o.shm_size && a->o.host_ipc)
		return cli_usage_error(cmd, "--shm-size with --ipc host: /dev/shm is the host's");
	if (a->o.shm_size && a->o.ns_ctr[IMG_JOIN_IPC])
		return cli_usage_error(cmd,
				       "--shm-size with --ipc container:%s: /dev/shm is that "
				       "container's",
				       a->o.ns_ctr[IMG_JOIN_IPC]);
	return check_sysctl_ns(a, cmd);
}

/* --mount: the entry -v or --tmpfs would make (img_mount_parse); a volume's name as -v's. */
static int parse_mount(struct run_args *a, const char *v, const char *cmd)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *entry = NULL, *name = NULL;
	enum img_mount_kind kind;

	if (img_mount_parse(v, &kind, &entry, &err) < 0)
		return cli_fail(&err);
	if (kind == IMG_MOUNT_TMPFS)
		return push(&a->o.tmpfs, entry);
	name = entry[0] == '/' ? NULL : strndup(entry, strcspn(entry, ":"));
	if (entry[0] != '/' && (!name || !net_name_valid(name)))
		return cli_usage_error(cmd,
				       "--mount `%.64s`: a volume's name is [A-Za-z0-9_.-], at "
				       "most 32",
				       v);
	return push(&a->o.volumes, entry);
}

/*
 * --label KEY[=VALUE] (podman: KEY alone is an empty value).  Unlike podman, where the
 * last of a key wins silently, a key given twice is refused; keys and values are
 * bounded, and so is their number, since inspect prints them all.
 */
#define LABELS_MAX 256
static int parse_label(struct run_args *a, const char *v, const char *cmd)
{
	size_t kl = strcspn(v, "="), n = 0;

	if (!kl || kl > 256 || strlen(v + kl) > 4097)
		return cli_usage_error(cmd,
				       "--label `%.64s`: expected KEY=VALUE, KEY 1 to 256 bytes, "
				       "VALUE at most 4096",
				       v);
	for (size_t i = 0; i < kl; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return cli_usage_error(cmd, "--label `%.64s`: a control character in KEY",
					       v);
	/* Labels are JSON strings in image.json and the config: jansson takes UTF-8 only. */
	_cleanup_json_ json_t *as_json = json_string(v);

	if (!as_json)
		return cli_usage_error(cmd, "--label `%.64s`: not UTF-8", v);
	for (char **l = a->o.labels; l && *l; l++, n++)
		if (strcspn(*l, "=") == kl && !strncmp(*l, v, kl))
			return cli_usage_error(cmd, "--label `%.64s`: `%.*s` given twice", v,
					       (int)(kl > 64 ? 64 : kl), v);
	if (n >= LABELS_MAX)
		return cli_usage_error(cmd, "--label `%.64s`: at most %d labels", v, LABELS_MAX);
	return push(&a->o.labels, v);
}

/* --cidfile FILE: refused if FILE is there (as podman: another container may use it). */
static int parse_cidfile(struct run_args *a, const char *v, const char *cmd)
{
	struct stat st;

	if (!*v || strlen(v) >= 4096)
		return cli_usage_error(cmd, "--cidfile `%.64s`: expected a file name", v);
	if (lstat(v, &st) == 0 || errno != ENOENT)
		return cli_usage_error(cmd,
				       "--cidfile `%.64s`: it exists; another container may use "
				       "it, or remove it",
				       v);
	a->cidfile = v;
	return 0;
}

/* The id, without a newline (podman's file); O_EXCL decides a race with another run. */
static const char *cidfile_base(const struct run_args *a)
{
	const char *slash = strrchr(a->cidfile, '/');

	return slash ? slash + 1 : a->cidfile;
}

static int write_cidfile(struct run_args *a)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *dir = NULL;
	const char *base;
	size_t n = strlen(a->id);

	if (!a->cidfile)
		return 0;
	/* Made and (on failure) removed through one directory fd: a parent swapped for a
	 * symlink in between cannot point the root's unlink elsewhere. */
	base = cidfile_base(a);
	if (base == a->cidfile)
		dir = strdup(".");
	else
		dir = strndup(a->cidfile, base - a->cidfile > 1 ? base - a->cidfile - 1 : 1);
	if (!dir)
		return cli_usage_error("run", "out of memory");
	a->cidfile_dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fd = a->cidfile_dir < 0
		 ? -1
		 : openat(a->cidfile_dir, base,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return cli_usage_error("run", "--cidfile `%.64s`: %s", a->cidfile, strerror(errno));
	a->cidfile_written = true;
	if (write(fd, a->id, n) != (ssize_t)n || close(TAKE_FD(fd)) < 0)
		return cli_usage_error("run", "--cidfile `%.64s`: %s", a->cidfile,
				       strerror(errno ? errno : EIO));
	return 0;
}

/* A run that made nothing (its bundle removed for isola's own failure) keeps no cidfile. */
static void undo_cidfile(struct run_args *a)
{
	if (a->cidfile_written)
		unlinkat(a->cidfile_dir, cidfile_base(a), 0);
	a->cidfile_written = false;
}

static int count_node(const struct img_device *d, void *data)
{
	(void)d;
	(void)data;
	return 0;
}

/* --device HOST[:CTR][:PERMS]: a node, or a directory's nodes, all counted together. */
static int parse_device(struct run_args *a, const char *v, const char *cmd)
{
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ struct img_device *d = malloc(sizeof(*d));
	size_t left = IMG_DEVICES_MAX - a->n_devices;
	int n = 1;

	if (!d)
		return cli_usage_error(cmd, "out of memory");
	if (img_device_parse(v, d, &err) < 0)
		return cli_fail(&err);
	if (d->type == 'd' && (n = img_device_dir_each(v, d, left, count_node, NULL, &err)) < 0)
		return cli_fail(&err);
	if ((size_t)n > left)
		return cli_usage_error(cmd, "--device `%.64s`: more than %d devices in all", v,
				       IMG_DEVICES_MAX);
	a->n_devices += (size_t)n;
	return push(&a->o.devices, v);
}

static int parse_policy(struct run_args *a, int c, const char *v, const char *cmd)
{
	if (c == CLI_LONG(6)) {
		if (!streq(v, "no"))
			return cli_usage_error(cmd,
					       "--restart `%s`: restarting a container needs a "
					       "daemon and isola has none; run it under a "
					       "supervisor (systemd, runit) instead",
					       v);
		return 0;
	}
	if (!streq(v, "missing") && !streq(v, "always") && !streq(v, "never"))
		return cli_usage_error(cmd, "--pull `%s`: expected missing, always or never", v);
	a->pull = v;
	return 0;
}

static int parse_opt(struct run_args *a, int c, const char *cmd)
{
	_cleanup_err_ struct err *err = NULL;

	switch (c) {
	case CLI_LONG(1):
		a->store = optarg;
		return 0;
	case CLI_LONG(2):
		a->rm = true;
		return 0;
	case 'd':
		a->detach = true;
		return 0;
	case 'i':
		a->interactive = true;
		return 0;
	case 't':
		a->o.terminal = true;
		return 0;
	case 'q':
		a->quiet = true;
		return 0;
	case CLI_LONG(3):
		/* Refused here, not cut to fit: a cut name is another container's. */
		if (!img_container_name_valid(optarg))
			return cli_usage_error(
			    cmd, "--name `%.80s`: use [A-Za-z0-9_.-], at most 64", optarg);
		a->o.name = optarg;
		return 0;
	case 'e':
		return envfile_push_arg("-e", optarg, &a->o.env, &err) < 0 ? cli_fail(&err) : 0;
	case CLI_LONG(16):
		return envfile_read(optarg, &a->env_files, &err) < 0 ? cli_fail(&err) : 0;
	case 'v':
		return push(&a->o.volumes, optarg);
	case 'w':
		a->o.workdir = optarg;
		return 0;
	case 'u':
		a->o.user = optarg;
		return 0;
	case CLI_LONG(4):
		a->o.entrypoint = optarg;
		return 0;
	case CLI_LONG(5):
	case CLI_LONG(6):
		return parse_policy(a, c, optarg, cmd);
	case CLI_LONG(12):
		a->o.read_only = true;
		return 0;
	case CLI_LONG(17):
		return cap_name("--cap-add", optarg, &a->cap_add, cmd);
	case CLI_LONG(18):
		return cap_name("--cap-drop", optarg, &a->cap_drop, cmd);
	case CLI_LONG(19):
		return parse_security_opt(a, optarg, cmd);
	case CLI_LONG(23):
		return parse_sysctl(a, optarg, cmd);
	case CLI_LONG(24):
		if (img_tmpfs_check(optarg, &err) < 0)
			return cli_fail(&err);
		return push(&a->o.tmpfs, optarg);
	case CLI_LONG(25): {
		const char *type;
		uint64_t soft, hard;

		if (img_ulimit_parse(optarg, &type, &soft, &hard, &err) < 0)
			return cli_fail(&err);
		return push(&a->o.ulimits, optarg);
	}
	case CLI_LONG(27):
		a->o.privileged = true;
		return 0;
	case CLI_LONG(28):
		return parse_mount(a, optarg, cmd);
	case 'l':
		return parse_label(a, optarg, cmd);
	case CLI_LONG(30):
		if (parse_signal(optarg, &a->o.stop_signal) < 0)
			return cli_usage_error(cmd, "--stop-signal `%.64s`: not a signal", optarg);
		return 0;
	case CLI_LONG(31):
		if (parse_int(optarg, &a->o.stop_timeout) < 0 || a->o.stop_timeout < 0 ||
		    a->o.stop_timeout > IMAGE_STOP_TIMEOUT_MAX)
			return cli_usage_error(
			    cmd, "--stop-timeout `%.64s`: expected seconds, at most %d", optarg,
			    IMAGE_STOP_TIMEOUT_MAX);
		a->o.has_stop_timeout = true;
		return 0;
	case CLI_LONG(32):
		return parse_cidfile(a, optarg, cmd);
	case CLI_LONG(33):
		/* A name is looked up in the image when the bundle is made. */
		if (!*optarg || strlen(optarg) > 64 || strpbrk(optarg, ":,/ \t\n"))
			return cli_usage_error(
			    cmd, "--group-add `%.64s`: expected a group name or gid", optarg);
		return push(&a->o.group_add, optarg);
	case CLI_LONG(29):
		if (img_tmpfs_size_parse(optarg, &a->o.shm_size) < 0)
			return cli_usage_error(
			    cmd, "--shm-size `%.64s`: expected a size from 1 to 1048576T", optarg);
		return 0;
	case CLI_LONG(26):
		return parse_device(a, optarg, cmd);
	case 'm':
		if (parse_size(optarg, &a->o.memory) < 0)
			return cli_usage_error(cmd, "--memory `%s`: expected a size", optarg);
		return 0;
	case CLI_LONG(10):
		if (parse_cpus(optarg, &a->o.cpus_milli) < 0)
			return cli_usage_error(cmd, "--cpus `%s`: expected a number", optarg);
		return 0;
	case CLI_LONG(11):
		if (parse_i64(optarg, &a->o.pids_limit) < 0 || a->o.pids_limit < -1)
			return cli_usage_error(cmd, "--pids-limit `%s`: expected a number", optarg);
		return 0;
	case CLI_LONG(7):
		a->net_given = true;
		return parse_network(a, optarg, cmd);
	case CLI_LONG(20):
		a->vm = true;
		return 0;
	case CLI_LONG(21):
		a->vmo.kernel = optarg;
		return 0;
	case CLI_LONG(22):
		a->vmo.modules = optarg;
		return 0;
	case 'p':
		return parse_publish(a, optarg, cmd);
	case CLI_LONG(8):
		return push(&a->dns, optarg);
	case CLI_LONG(9):
		return push(&a->add_hosts, optarg);
	case CLI_LONG(15):
		return push(&a->aliases, optarg);
	case CLI_LONG(14):
		a->o.init = true;
		return 0;
	case CLI_LONG(13):
		if (!hostname_valid(optarg, HOSTNAME_MAX))
			return cli_usage_error(
			    cmd,
			    "--hostname `%.64s`: expected 1 to %d letters, digits, "
			    "'-', '.' or '_'",
			    optarg, HOSTNAME_MAX);
		a->o.hostname = optarg;
		return 0;
	case CLI_LONG(34):
		return parse_ns(a, IMG_JOIN_PID, optarg, &a->o.host_pid, &a->o.pidns_path, cmd);
	case CLI_LONG(35):
		return parse_ns(a, IMG_JOIN_IPC, optarg, &a->o.host_ipc, &a->o.ipcns_path, cmd);
	case CLI_LONG(36):
		return parse_ns(a, IMG_JOIN_UTS, optarg, &a->o.host_uts, &a->o.utsns_path, cmd);
	case CLI_LONG(37):
		return parse_log_opt(a, optarg, cmd);
	default:
		return 1;
	}
}

/*
 * What --vm does not do yet (docs/vm-containers.md): say so rather than ignore it.  The
 * VM's NIC is on a bridge network, attached as a plain container's (docs/vm-containers.md
 * "Networking"); a VM has its own kernel, so it cannot share the host's network stack.
 */
static int check_vm_args(struct run_args *a, const char *cmd)
{
	size_t n = 0;

	/* --init: the agent's own init, not isola-init bind-mounted at /dev/init. */
	a->vmo.init = a->o.init;
	a->o.init = false;
	/* -v: a host directory (or a named volume) is shared live; a file cannot be. */
	for (char **v = a->o.volumes; v && *v; v++, n++) {
		_cleanup_free_ char *src = strndup(*v, strcspn(*v, ":"));
		struct stat st;

		if (src && src[0] == '/' && stat(src, &st) == 0 && !S_ISDIR(st.st_mode))
			return cli_usage_error(
			    cmd,
			    "-v `%s`: with --vm only a directory can be shared "
			    "(the root disk is the image's); share its directory",
			    *v);
		if (n >= VMCT_FS_MAX)
			return cli_usage_error(cmd, "-v `%s`: at most %u volumes with --vm", *v,
					       VMCT_FS_MAX);
	}
	if (a->o.privileged)
		return cli_usage_error(cmd, "--privileged with --vm: the VM is the boundary; the "
					    "host's devices are not passed through");
	if (a->o.devices)
		return cli_usage_error(cmd, "--device with --vm: the VM has its own devices, the "
					    "host's are not passed through");
	if (a->o.host_pid || a->o.host_ipc || a->o.host_uts || a->o.pidns_path || a->o.ipcns_path ||
	    a->o.utsns_path || a->o.ns_ctr[IMG_JOIN_PID] || a->o.ns_ctr[IMG_JOIN_IPC] ||
	    a->o.ns_ctr[IMG_JOIN_UTS])
		return cli_usage_error(cmd, "--pid, --ipc or --uts other than private with --vm: "
					    "the VM has its own kernel and namespaces");
	if (a->net == NET_CONTAINER)
		return cli_usage_error(cmd,
				       "--network container:%s with --vm: a VM has its own "
				       "kernel and network stack, it cannot share a container's",
				       a->o.ns_ctr[IMG_JOIN_NET]);
	if (a->net == NET_HOST)
		return cli_usage_error(cmd,
				       "--network host with --vm: a VM has its own kernel and "
				       "network stack, it cannot share the host's; use bridge, "
				       "a network name or none");
	if (a->net == NET_PATH)
		return cli_usage_error(cmd,
				       "--network ns:PATH with --vm: the VM needs an address "
				       "from a CNI network; use bridge, a network name or none");
	a->vmo.memory = a->o.memory;
	a->vmo.cpus = (a->o.cpus_milli + 999) / 1000;
	a->vmo.interactive = a->interactive;
	/* The VM is the limit: no cgroup limits inside or around it in this slice. */
	a->o.memory = 0;
	a->o.cpus_milli = 0;
	if (a->vmo.cpus > 64)
		return cli_usage_error(cmd, "--cpus with --vm: at most 64");
	return 0;
}

/*
 * --network container:NAME: the network is NAME's, with its ports, names and /etc files,
 * so what would change them is refused (as podman refuses it), each by name.
 */
static int check_container_net(const struct run_args *a, const char *cmd)
{
	const char *opt = a->n_ports	  ? "-p"
			  : a->dns	  ? "--dns"
			  : a->add_hosts  ? "--add-host"
			  : a->aliases	  ? "--network-alias"
			  : a->o.hostname ? "--hostname"
					  : NULL;

	if (!opt)
		return 0;
	return cli_usage_error(cmd,
			       "%s with --network container:%s: the network and its /etc files "
			       "are that container's",
			       opt, a->o.ns_ctr[IMG_JOIN_NET]);
}

/* 0: go on; else the exit code (0 after --help is returned as -1). */
static int parse_args(struct run_args *a, int argc, char **argv)
{
	struct cli_parser p;
	int c, r;

	cli_parser_init(&p, argv[0], cmd_image_run_opts);
	while ((c = cli_parse(&p, argc, argv)) > 0) {
		r = parse_opt(a, c, argv[0]);
		if (r)
			return EXIT_ISOLA;
	}
	if (c < 0)
		return p.exit_code ? EXIT_ISOLA : -1;
	if (optind >= argc) {
		cli_usage_error(argv[0], "expected an image");
		return EXIT_ISOLA;
	}
	a->image = argv[optind];
	a->o.args = argv + optind + 1;
	/* As docker: the files' variables first, then -e's, the later winning (merge_env). */
	for (size_t i = 0; a->o.env && a->o.env[i]; i++)
		if (push(&a->env_files, a->o.env[i]))
			return EXIT_ISOLA;
	strv_free(a->o.env);
	a->o.env = TAKE_PTR(a->env_files);
	/* --privileged: every capability we have (less --cap-drop's), no filter unless one is
	 * given. */
	if (a->o.privileged && !strv_contains(a->cap_add, "ALL") && push(&a->cap_add, "ALL"))
		return EXIT_ISOLA;
	if (a->o.privileged && !a->o.seccomp)
		a->o.seccomp_unconfined = true;
	r = merge_caps(a, argv[0]);
	if (r)
		;
	else if (a->net == NET_CONTAINER)
		r = check_container_net(a, argv[0]);
	if (r)
		;
	else if (a->net != NET_BRIDGE && a->n_ports)
		r = cli_usage_error(argv[0], "-p needs a bridge network (--network bridge|NAME)");
	else if (a->net != NET_BRIDGE && (a->dns || a->add_hosts || a->aliases))
		r = cli_usage_error(argv[0],
				    "--dns, --add-host and --network-alias need a bridge network");
	else if (a->o.terminal && a->detach)
		r = cli_usage_error(argv[0], "-t with -d: holding a detached terminal needs a "
					     "daemon, and isola has none");
	if (!r)
		r = check_ns_args(a, argv[0]);
	if (!r && a->vm)
		r = check_vm_args(a, argv[0]);
	if (!r && a->net == NET_PATH)
		r = check_ns_path(IMG_JOIN_NET, a->network, argv[0]);
	return r ? EXIT_ISOLA : 0;
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

/*
 * INT, TERM, HUP or QUIT while the container is being made (a pull, the network's ADD, the
 * bundle): the work stops at its next step (a pull at once), what was made goes, and we die
 * of the signal, as a shell expects of a command it stopped.  From the hand-over on
 * (stop_hold()) they are held: the runtime's proxy or the VM's relay takes them over and
 * passes them to the container; after it, they must not cut its clean-up short.
 */
static const int stop_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static volatile sig_atomic_t stop_sig, stop_armed;

static void on_stop(int sig)
{
	int saved = errno;

	/* Nothing made yet (a wait for the store's lock, say): the end at once, as ever. */
	if (!stop_armed) {
		signal(sig, SIG_DFL);
		raise(sig); /* delivered when this handler returns */
		errno = saved;
		return;
	}
	if (!stop_sig)
		stop_sig = sig;
	/* A rootless run's child makes the container (a pull): it stops too, and undoes. */
	if (image_cli_store_child > 0)
		kill(image_cli_store_child, sig);
	errno = saved;
}

/* Not one ignored since we started (nohup's HUP, a shell's INT for `&`): it stays so. */
static void stop_catch(void)
{
	struct sigaction sa = {.sa_handler = on_stop, .sa_flags = SA_RESTART}, old;

	for (size_t i = 0; i < ARRAY_SIZE(stop_sigs); i++)
		if (sigaction(stop_sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(stop_sigs[i], &sa, NULL);
}

/* Held from here to our exit (children unblock them: image_cli_runtime_spawn ...). */
static bool stop_hold(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(stop_sigs); i++)
		sigaddset(&set, stop_sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return stop_sig != 0;
}

/*
 * After the clean-up: the signal that stopped the setup ends us, else code is ours.
 * QUIT's default would dump a core of a process that did nothing wrong: 131 instead.
 */
static int stop_exit(int code)
{
	int sig = stop_sig;
	sigset_t set;

	if (!sig)
		return code;
	if (sig == SIGQUIT)
		return 128 + sig;
	fflush(NULL);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	return 128 + sig;
}

/* Run the bundle; a detached container's stdio goes to <bundle>/ctr.log. */
/*
 * The runtime's own failure (before the container's process ran) is 125, as podman's;
 * it is told from the container's exit status by the pid file, written once it runs.
 */
static int fg_code(int code, const char *pidfile)
{
	if (code < 0 || (code != 0 && !path_exists(pidfile)))
		return EXIT_ISOLA;
	return code;
}

/*
 * The runtime's foreground run died of a signal (one passed on before it could pass
 * it on itself): what it made, an init waiting to start included, goes, quietly.
 */
static void runtime_forget(const char *store, const char *id)
{
	const char *del[] = {"delete", "--force", id, NULL};
	_cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	image_cli_runtime(store, del, -1, null, null);
}

static int run_runtime(const char *store, const char *bundle, const struct run_args *a)
{
	bool killed = false;
	char pidfile[4096];
	const char *fg[] = {"run", "--bundle", bundle, "--pid-file", pidfile, a->id, NULL};
	const char *bg[] = {"run", "--bundle", bundle, "--detach", a->id, NULL};
	_cleanup_free_ char *log = NULL;
	_cleanup_close_ int null = -1, out = -1;
	pid_t logger;
	int code;

	snprintf(pidfile, sizeof(pidfile), "%s/init.pid", bundle);
	unlink(pidfile);
	if (!a->detach && a->o.terminal) {
		char sock[4096];
		const char *tty[] = {"run", "--bundle",	  bundle,  "--console-socket",
				     sock,  "--pid-file", pidfile, a->id,
				     NULL};

		/* Not in the bundle: sun_path holds 108 bytes. */
		snprintf(sock, sizeof(sock), "/tmp/isola-console-%d.sock", (int)getpid());
		code = image_cli_runtime_tty(store, tty, sock, &killed);
		if (killed)
			runtime_forget(store, a->id);
		return fg_code(code, pidfile);
	}
	if (!a->detach) {
		/* Without -i the container reads /dev/null, as podman's does. */
		null = a->interactive ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
		code = image_cli_runtime_fg(store, fg, null, &killed);
		if (killed)
			runtime_forget(store, a->id);
		return fg_code(code, pidfile);
	}
	if (asprintf(&log, "%s/ctr.log", bundle) < 0)
		return EXIT_ISOLA;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	logger = null < 0 ? -1 : image_cli_logger(log, a->vmo.log_max, &out);
	if (logger < 0) {
		log_error("log `%s`: %s", log, strerror(errno));
		return EXIT_ISOLA;
	}
	code = image_cli_runtime_detached(store, bg, null, out, out);
	if (code == 0) {
		printf("%s\n", a->id);
		return 0;
	}
	/* The runtime's error went to the log, which goes with the bundle: show it. */
	close(out);
	out = -1;
	image_cli_log_replay(log, logger);
	return EXIT_ISOLA;
}

/*
 * -d --rm: a process of its own waits for the container's init to end, then runs `isola
 * rm -f` -- unless the name is another container's by then (its image.json's instance is
 * not the one made here).  podman's exit command, without a conmon.
 */
static void spawn_remover(const char *store, const char *id)
{
	char inst[IMG_INSTANCE_LEN + 1], now[IMG_INSTANCE_LEN + 1];
	_cleanup_free_ char *st = NULL, *again = NULL;
	_cleanup_close_ int pfd = -1;
	pid_t pid = 0, pid2 = 0;

	image_cli_container_instance(store, id, inst);
	st = image_cli_container_status(store, id, &pid);
	if (pid > 0)
		pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* The init that pfd names is the container's if the state still says so after it. */
	again = image_cli_container_status(store, id, &pid2);
	if (pfd >= 0 && (pid2 != pid || !again || !streq(again, st ? st : "")))
		close(TAKE_FD(pfd)); /* it ended meanwhile: remove now */
	if (image_cli_watcher(pfd) != 0)
		return;
	image_cli_container_instance(store, id, now);
	if (!*inst || !streq(inst, now))
		_exit(0);
	/* rm checks the instance again, under the locks (rm_one). */
	if (setenv(IMAGE_RM_INSTANCE_ENV, inst, 1) < 0)
		_exit(1);
	execl("/proc/self/exe", "isola", "rm", "-f", "--store", store, id, (char *)NULL);
	_exit(127);
}

/*
 * -v NAME:/DST: a named volume, <store>/volumes/NAME/_data, made on first use and kept
 * after the container (podman's layout).  Rewritten to the path before the spec is made.
 */
static int named_volumes(struct run_args *a, const char *store)
{
	for (size_t i = 0; a->o.volumes && a->o.volumes[i]; i++) {
		char *v = a->o.volumes[i], *colon = strchr(v, ':'), *nv = NULL, p[4096];
		_cleanup_free_ char *name = NULL;

		if (v[0] == '/' || !colon)
			continue;
		name = strndup(v, colon - v);
		if (!name || !net_name_valid(name))
			return cli_usage_error("run",
					       "-v `%s`: a volume name is [A-Za-z0-9_.-], "
					       "at most 32, or a source is an absolute path",
					       v);
		snprintf(p, sizeof(p), "%s/volumes", store);
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return cli_usage_error("run", "mkdir `%s`: %s", p, strerror(errno));
		snprintf(p, sizeof(p), "%s/volumes/%s", store, name);
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return cli_usage_error("run", "mkdir `%s`: %s", p, strerror(errno));
		snprintf(p, sizeof(p), "%s/volumes/%s/_data", store, name);
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return cli_usage_error("run", "mkdir `%s`: %s", p, strerror(errno));
		if (asprintf(&nv, "%s%s", p, colon) < 0)
			return 1;
		free(v);
		a->o.volumes[i] = nv;
	}
	return 0;
}

/* isola-init: next to this binary (a build tree), else in libexecdir. */
static int plan_init(struct run_args *a)
{
	_cleanup_free_ char *self = realpath("/proc/self/exe", NULL);
	char p[4096], *slash;

	if (!a->o.init)
		return 0;
	snprintf(p, sizeof(p), "%s", self ? self : "");
	slash = strrchr(p, '/');
	if (slash)
		snprintf(slash + 1, sizeof(p) - (slash + 1 - p), "isola-init");
	if (!slash || access(p, X_OK) < 0)
		snprintf(p, sizeof(p), "%s/isola-init", ISOLA_LIBEXECDIR);
	if (access(p, X_OK) < 0)
		return cli_usage_error("run", "--init: isola-init not found next to isola or in %s",
				       ISOLA_LIBEXECDIR);
	strncat(p, ":/dev/init:ro", sizeof(p) - strlen(p) - 1);
	return push(&a->o.volumes, p);
}

/* Whether a -v (SRC:DST[:OPTS]) already mounts on dst ("/etc//hosts/" is "/etc/hosts"). */
static bool user_mounts(const struct run_args *a, const char *dst)
{
	for (size_t i = 0; a->o.volumes && a->o.volumes[i]; i++) {
		const char *d = strchr(a->o.volumes[i], ':');
		char norm[4096];
		size_t n = 0;

		for (; d && *++d && *d != ':' && n + 1 < sizeof(norm);)
			if (*d != '/' || !n || norm[n - 1] != '/')
				norm[n++] = *d;
		while (n > 1 && norm[n - 1] == '/')
			n--;
		norm[n] = '\0';
		if (d && streq(norm, dst))
			return true;
	}
	return false;
}

/*
 * --network container:NAME: NAME's /etc/resolv.conf and /etc/hosts (its bridge network's;
 * without them the image's stay), bound read-only: shared, as podman shares them, but NAME's
 * to change.  /etc/hostname: NAME's with its UTS namespace (--uts container:NAME), else,
 * with a UTS namespace of our own, our name (written by attach()).  No CNI ADD or DEL.
 */
static int plan_shared_files(struct run_args *a, const char *store)
{
	static const char *const files[] = {"resolv.conf", "hosts", "hostname"};
	const char *t = a->o.ns_ctr[IMG_JOIN_NET], *uts = a->o.ns_ctr[IMG_JOIN_UTS];
	char dst[64], src[4096], v[8192];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		bool own = streq(files[i], "hostname") && !(uts && streq(uts, t));

		snprintf(dst, sizeof(dst), "/etc/%s", files[i]);
		if (user_mounts(a, dst) || (own && (uts || a->o.host_uts || a->o.utsns_path)))
			continue;
		snprintf(src, sizeof(src), "%s/containers/%s/%s", store, own ? a->id : t, files[i]);
		if (!own && !path_exists(src))
			continue;
		if (own) {
			a->o.hostname = a->o.name ? a->o.name : a->id;
			a->own_hostname_file = true;
		}
		snprintf(v, sizeof(v), "%s:%s%s", src, dst, own ? "" : ":ro");
		if (strv_push(&a->o.volumes, v) < 0)
			return 1;
	}
	return 0;
}

/* Bridge networking: the netns path goes into config.json, the /etc files are bind mounts. */
static int plan_network(struct run_args *a, const char *store)
{
	static const char *const files[] = {"resolv.conf", "hosts", "hostname"};
	char v[4096];

	a->o.host_network = a->net == NET_HOST;
	if (a->net == NET_PATH)
		a->o.netns_path = a->network;
	if (a->net == NET_CONTAINER)
		return plan_shared_files(a, store);
	if (a->net != NET_BRIDGE)
		return 0;
	/*
	 * --uts host: the host's name in /etc/hostname and /etc/hosts (podman's); --uts
	 * ns:PATH or container:NAME: that namespace's (its host name is what the container has).
	 */
	if (!a->o.hostname && a->o.host_uts &&
	    gethostname(a->host_name, sizeof(a->host_name) - 1) == 0)
		a->o.hostname = a->host_name;
	if (!a->o.hostname && a->o.utsns_path) {
		if (joined_uts_name(a->o.utsns_path, a->host_name) < 0)
			return 1;
		a->o.hostname = a->host_name;
	}
	if (!a->o.hostname)
		a->o.hostname = a->o.name ? a->o.name : a->id;
	a->netns_owned = net_netns_path(store, a->id);
	if (!a->netns_owned)
		return 1;
	a->o.netns_path = a->netns_owned;
	a->o.netns_private = true;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(v, sizeof(v), "/etc/%s", files[i]);
		if (user_mounts(a, v)) /* the user's file wins, as with podman */
			continue;
		snprintf(v, sizeof(v), "%s/containers/%s/%s:/etc/%s", store, a->id, files[i],
			 files[i]);
		if (strv_push(&a->o.volumes, v) < 0)
			return 1;
	}
	return 0;
}

static int fail(struct err **err);

static struct net_attach_opts attach_opts(const struct run_args *a)
{
	return (struct net_attach_opts){
	    .network = a->network,
	    .ports = a->ports,
	    .n_ports = a->n_ports,
	    .hostname = a->o.hostname,
	    .dns = a->dns,
	    .add_hosts = a->add_hosts,
	    .aliases = a->aliases,
	    .lock_fd = a->lock_fd,
	};
}

/*
 * Bridge networking: the network's ADD (CNI plugins, a third of a `run --rm -p`) runs in a
 * child while this process makes the bundle; the /etc files, which go into the bundle,
 * follow in attach().  The lock, held until we exit, keeps a concurrent `network prune`
 * off this container.  The child prints its own error.
 */
static int attach_begin(struct run_args *a, const char *store)
{
	_cleanup_err_ struct err *err = NULL;
	struct net_attach_opts no = attach_opts(a);

	if (a->net != NET_BRIDGE || a->o.rootless)
		return 0;
	a->lock_fd = net_lock(store, a->id, &err);
	if (a->lock_fd < 0)
		return fail(&err);
	fflush(NULL);
	a->add_pid = fork();
	if (a->add_pid < 0) {
		log_error("fork: %s", strerror(errno));
		return EXIT_ISOLA;
	}
	if (a->add_pid == 0) {
		/*
		 * The container's lock stays held as long as ADD runs (a killed parent must not
		 * let a prune race it), as fd 3; nothing else (the store's lock is the parent's).
		 * A group of its own: a terminal's ^C does not cut ADD (or its plugins) short;
		 * the parent, stopped by it, undoes ADD once it is done (stop_catch()).  Its
		 * error goes to the terminal even from the background (`stty tostop`).
		 */
		setpgid(0, 0);
		signal(SIGTTOU, SIG_IGN);
		if (a->lock_fd != 3 && dup2(a->lock_fd, 3) < 0)
			_exit(EXIT_ISOLA);
		fcntl(3, F_SETFD, FD_CLOEXEC);
		close_fds_from(4);
		no.lock_fd = 3;
		_exit(net_attach_add(store, a->id, &no, &err) < 0 ? fail(&err) : 0);
	}
	return 0;
}

/* The ADD child's end; true if it succeeded. */
static bool attach_wait(struct run_args *a)
{
	int status;

	if (a->add_pid <= 0)
		return false;
	while (waitpid(a->add_pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	a->add_pid = 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int attach(struct run_args *a, const char *store, const char *bundle)
{
	_cleanup_err_ struct err *err = NULL;
	struct net_attach_opts no = attach_opts(a);
	_cleanup_close_ int dir = -1;
	char name[HOST_NAME_MAX + 2];

	/* --network container:NAME with a UTS namespace of its own: /etc/hostname is ours. */
	if (a->own_hostname_file) {
		snprintf(name, sizeof(name), "%s\n", a->o.hostname);
		dir = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0) {
			log_error("open `%s`: %s", bundle, strerror(errno));
			return EXIT_ISOLA;
		}
		if (write_file_atomic_at(dir, "hostname", name, strlen(name), 0644, &err) < 0)
			return fail(&err);
		return 0;
	}
	if (a->net != NET_BRIDGE)
		return 0;
	if (!attach_wait(a))
		return EXIT_ISOLA; /* the child said why and undid its part */
	return net_attach_files(store, a->id, &no, bundle, &err) < 0 ? fail(&err) : 0;
}

static int remove_bundle_files(const struct run_args *a)
{
	/* Rootless: through the store's user namespace (its upper dir holds subordinate ids). */
	return image_cli_bundle_remove(a->store, a->id);
}

/*
 * The network's DEL and the bundle's removal side by side: DEL mostly waits (for the
 * plugins' iptables commits, then for the DNS responder to go), the unmount and rm of
 * the bundle are work.  Both are done before this returns.
 */
static int remove_bundle(struct run_args *a, const char *store)
{
	_cleanup_err_ struct err *err = NULL;
	pid_t pid = -1;
	int r;

	attach_wait(a); /* an ADD still running is undone below, not raced */
	if (a->net == NET_BRIDGE) {
		fflush(NULL);
		pid = fork();
		if (pid == 0)
			_exit(remove_bundle_files(a));
	}
	if (net_detach(store, a->id, a->lock_fd, &err) < 0)
		cli_fail(&err);
	if (pid < 0)
		return remove_bundle_files(a);
	r = image_cli_runtime_wait(pid);
	return r < 0 ? 1 : r;
}

/*
 * Short names ("busybox", "library/debian": no registry host in the first component) are
 * tried against unqualified-search-registries of $ISOLA_REGISTRIES_CONF (default
 * /etc/containers/registries.conf, podman's file), in order; without a list, docker.io.
 * "localhost/NAME" names a local image and is never pulled from anywhere else.
 */
static bool is_short_name(const char *ref)
{
	size_t n = strcspn(ref, "/");

	if (!ref[n])
		return true;
	return !memchr(ref, '.', n) && !memchr(ref, ':', n) && strncmp(ref, "localhost", n);
}

static char **search_registries(void)
{
	const char *conf = getenv("ISOLA_REGISTRIES_CONF");
	_cleanup_fclose_ FILE *f = fopen(conf ? conf : "/etc/containers/registries.conf", "re");
	char line[4096], **out = NULL;

	while (f && fgets(line, sizeof(line), f)) {
		char *l = line + strspn(line, " \t"), *q, *e;

		if (strncmp(l, "unqualified-search-registries", 29))
			continue;
		for (q = strchr(l, '"'); q && (e = strchr(q + 1, '"')); q = strchr(e + 1, '"')) {
			*e = '\0';
			if (q[1] && !strpbrk(q + 1, "/ ") && strv_push(&out, q + 1) < 0)
				break;
		}
	}
	return out;
}

/* The names to look up and pull, in order: a short name is first a local one. */
static char **candidates(const char *image)
{
	bool short_name = is_short_name(image);
	_cleanup_strv_ char **regs = short_name ? search_registries() : NULL;
	char **out = NULL, buf[1024];

	if (short_name) {
		snprintf(buf, sizeof(buf), "localhost/%s", image);
		strv_push(&out, buf);
	}
	for (size_t i = 0; regs && regs[i]; i++) {
		if (streq(regs[i], "localhost"))
			continue;
		snprintf(buf, sizeof(buf), "%s/%s", regs[i], image);
		strv_push(&out, buf);
	}
	if (!regs || !regs[0])
		strv_push(&out, image);
	return out;
}

/*
 * The image in the store, pulled first as the policy says: missing (when not there),
 * always, never.  The error names the store and the registries tried.
 */
static int ensure_image(struct run_args *a, struct img_store *s, struct err **err)
{
	_cleanup_json_ json_t *idx = NULL;
	_cleanup_strv_ char **names = candidates(a->image);
	_cleanup_free_ char *pulled = NULL, *tried = NULL;
	const char *found;
	json_t *entry;
	int r;

	if (!names)
		return err_make(err, ENOMEM, "image name");
	r = img_index_load(s, &idx, err);
	if (r < 0)
		return r;
	for (size_t i = 0; names[i] && !streq(a->pull, "always"); i++)
		if (img_index_find(idx, names[i], &found, &entry, NULL) >= 0) {
			a->image_resolved = strdup(names[i]);
			return 0;
		}
	if (streq(a->pull, "never"))
		return err_make(err, 0,
				"image `%s` not found in the store %s; pull it with 'isola pull "
				"%s' or use --pull always",
				a->image, s->path, a->image);
	r = -ENOENT;
	for (size_t i = 0; names[i]; i++) {
		struct img_ref ref = {};
		char *t = NULL;

		/* localhost/NAME is a local image: never pulled. */
		if (img_ref_parse(names[i], &ref, NULL) < 0 || streq(ref.registry, "localhost")) {
			img_ref_free(&ref);
			continue;
		}
		err_free(err);
		r = image_cli_pull(s, names[i], a->quiet, &stop_sig, &pulled, err);
		if (r >= 0 || stop_sig) {
			img_ref_free(&ref);
			if (r < 0)
				return r; /* stopped: no next registry */
			a->image_resolved = TAKE_PTR(pulled);
			return 0;
		}
		if (asprintf(&t, "%s%s%s", tried ? tried : "", tried ? ", " : "", ref.registry) >=
		    0) {
			free(tried);
			tried = t;
		}
		img_ref_free(&ref);
	}
	if (!tried)
		return err_make(err, 0, "image `%s` not found in the store %s", a->image, s->path);
	return err_wrap(err, "image `%s` not found in the store %s; pulling it from %s failed",
			a->image, s->path, tried);
}

/* Does path (absolute, normalized) lie on or below one of the spec's mount destinations? */
static bool under_mount(json_t *mounts, const char *path)
{
	json_t *m;
	size_t i;

	json_array_foreach (mounts, i, m) {
		const char *d = json_string_value(json_object_get(m, "destination"));
		size_t n = d ? strlen(d) : 0;

		while (n > 1 && d[n - 1] == '/')
			n--;
		if (n && !strncmp(path, d, n) && (path[n] == '\0' || path[n] == '/' || n == 1))
			return true;
	}
	return false;
}

/*
 * Would the runtime find @p (absolute) in a mount?  Lexically, with "//" and "/./"
 * folded (a "..": it may, say so), and by where its directory really is in the
 * image: /usr/local/bin may be a symlink to a volume's /opt/bin.
 */
static bool in_mount(int root, const char *rootpath, json_t *mounts, const char *p)
{
	char norm[4096], real[4096], fdp[64], *o = norm, *slash;
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT};
	_cleanup_close_ int fd = -1;
	size_t rl = strlen(rootpath);
	ssize_t n;

	for (const char *c = p; *c && o < norm + sizeof(norm) - 1; c++) {
		if (*c == '/' && (c[1] == '/' || (c[1] == '.' && (c[2] == '/' || !c[2]))))
			c += c[1] == '.'; /* skip "/" of "//", "/." of "/./" */
		else
			*o++ = *c;
	}
	*o = '\0';
	if (strstr(norm, "/../") ||
	    !strcmp(norm + (strlen(norm) > 3 ? strlen(norm) - 3 : 0), "/.."))
		return true;
	if (under_mount(mounts, norm))
		return true;
	slash = strrchr(norm, '/');
	if (!slash || slash == norm)
		return false;
	*slash = '\0';
	fd = syscall(SYS_openat2, root, norm, &how, sizeof(how));
	snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", fd);
	if (fd < 0 || (n = readlink(fdp, real, sizeof(real) - 1)) < 0)
		return false;
	real[n] = '\0';
	if (strncmp(real, rootpath, rl) || (real[rl] != '/' && real[rl] != '\0'))
		return false;
	return under_mount(mounts, real[rl] ? real + rl : "/");
}

/*
 * Resolve name in the rootfs as execvp would (PATH from the env, a relative name or
 * PATH entry from cwd), never leaving it: 0 found, -ENOENT, -EACCES, or 1 when the
 * answer is in a mount (a volume's file, a tmpfs) that only the runtime will see.
 */
static int find_exec(int root, const char *rootpath, const char *name, const char *path,
		     const char *cwd, json_t *mounts)
{
	_cleanup_free_ char *dirs = strdup(path ? path
						: "/usr/local/sbin:/usr/local/bin:"
						  "/usr/sbin:/usr/bin:/sbin:/bin");
	char *save = NULL, p[4096];
	struct stat st;
	int found = -ENOENT;

	if (!dirs)
		return -ENOMEM;
	for (char *d = strchr(name, '/') ? "" : strtok_r(dirs, ":", &save); d;
	     d = strchr(name, '/') ? NULL : strtok_r(NULL, ":", &save)) {
		struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
		_cleanup_close_ int fd = -1;

		if (name[0] == '/')
			snprintf(p, sizeof(p), "%s", name);
		else if (d[0] == '/')
			snprintf(p, sizeof(p), "%s/%s", d, name);
		else
			snprintf(p, sizeof(p), "%s/%s%s%s", cwd, d, *d ? "/" : "", name);
		if (in_mount(root, rootpath, mounts, p))
			return 1;
		fd = syscall(SYS_openat2, root, p, &how, sizeof(how));
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		if (S_ISREG(st.st_mode) && (st.st_mode & 0111))
			return 0;
		found = -EACCES;
	}
	return found;
}

/*
 * Check the command before the runtime runs it, for podman's exit codes: 127 when it
 * is not found, 126 when it is not an executable file.  A lookup that reaches into a
 * mount (`-v /host/tool:/usr/local/bin/tool`) is left to the runtime.
 */
static int check_command(const char *bundle)
{
	_cleanup_json_ json_t *spec = NULL;
	_cleanup_close_ int root = -1;
	_cleanup_free_ char *rootpath = NULL;
	const char *arg0, *path = NULL, *cwd;
	char p[4096];
	json_t *env, *v, *args, *proc;
	size_t i;
	int r;

	snprintf(p, sizeof(p), "%s/config.json", bundle);
	if (json_load_file_capped(AT_FDCWD, p, 1u << 22, &spec, NULL) < 0)
		return 0;
	proc = json_object_get(spec, "process");
	args = json_object_get(proc, "args");
	arg0 = json_string_value(json_array_get(args, 0));
	/* Under --init, the command follows "/dev/init --". */
	if (arg0 && streq(arg0, "/dev/init"))
		arg0 = json_string_value(json_array_get(args, 2));
	cwd = json_string_value(json_object_get(proc, "cwd"));
	env = json_object_get(proc, "env");
	json_array_foreach (env, i, v)
		if (json_is_string(v) && !strncmp(json_string_value(v), "PATH=", 5))
			path = json_string_value(v) + 5;
	snprintf(p, sizeof(p), "%s/rootfs", bundle);
	root = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rootpath = realpath(p, NULL);
	if (!arg0 || root < 0 || !rootpath)
		return 0;
	r = find_exec(root, rootpath, arg0, path, cwd && cwd[0] == '/' ? cwd : "/",
		      json_object_get(spec, "mounts"));
	if (r == -ENOENT) {
		log_error("exec `%s`: executable file not found in $PATH", arg0);
		return EXIT_NOT_FOUND;
	}
	if (r == -EACCES) {
		log_error("exec `%s`: permission denied (not an executable file)", arg0);
		return EXIT_NOT_EXEC;
	}
	return 0;
}

static int fail(struct err **err)
{
	cli_fail(err);
	return EXIT_ISOLA;
}

/*
 * A name in use is refused before anything is made under it, the network's ADD
 * included (podman: "the container name is already in use").  The bundle's
 * exclusive mkdir still decides a race between two runs of one name.
 */
static int name_free(const struct run_args *a, const char *store)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/containers/%s", store, a->id);
	if (access(p, F_OK) == 0 || errno != ENOENT)
		return cli_usage_error("run", "the container name `%s` is already in use (%s)",
				       a->id, p);
	return 0;
}

/*
 * container:NAME: each target's namespace opened from its init and checked
 * (image_cli_ctr_ns_open); config.json joins it by the fd we hold.  Before anything is
 * made: an error leaves nothing behind.
 */
static int join_containers(struct run_args *a)
{
	const char **path[IMG_JOIN_N] = {&a->o.pidns_path, &a->o.ipcns_path, &a->o.utsns_path,
					 &a->o.netns_path};
	_cleanup_free_ char *store = NULL;
	int r;

	for (size_t i = 0; i < IMG_JOIN_N; i++) {
		_cleanup_close_ int mntns = -1;

		if (!a->o.ns_ctr[i])
			continue;
		if (!store && !(store = realpath(img_store_default_path(a->store), NULL)))
			return cli_usage_error("run",
					       "--%s container:%.255s: no container `%.255s` "
					       "in the store %s",
					       img_join_kinds[i].opt, a->o.ns_ctr[i],
					       a->o.ns_ctr[i], img_store_default_path(a->store));
		r = image_cli_ctr_ns_open(store, a->id, i, a->o.ns_ctr[i], &a->ctr_fd[i],
					  a->ctr_path[i], a->ctr_instance[i],
					  i == IMG_JOIN_IPC ? &mntns : NULL);
		if (r)
			return r;
		*path[i] = a->ctr_path[i];
		a->o.ns_ctr_instance[i] = a->ctr_instance[i];
		if (i != IMG_JOIN_IPC)
			continue;
		/* Its POSIX shared memory too: NAME's /dev/shm, mounted once the bundle is made. */
		if (asprintf(&a->shm_dir, "%s/containers/%s/shm", store, a->id) < 0) {
			a->shm_dir = NULL;
			return EXIT_ISOLA;
		}
		r = image_cli_ctr_shm_open(a->o.ns_ctr[i], mntns, &a->shm_tree, &a->o.shm_ro);
		if (r)
			return r;
		a->o.shm_source = a->shm_dir;
	}
	return 0;
}

/* Pull if needed, make the bundle; the store is unlocked on return. */
static int prepare(struct run_args *a, char **ret_store, char **ret_bundle)
{
	_cleanup_err_ struct err *err = NULL;
	struct img_store *s = NULL;
	int r;

	if (image_cli_open_store(a->store, &s))
		return EXIT_ISOLA;
	*ret_store = realpath(s->path, NULL);
	r = *ret_store ? name_free(a, *ret_store) : 1;
	if (r == 0)
		r = plan_network(a, *ret_store);
	/* From here on something is made that a signal must undo (stop_catch()). */
	stop_armed = 1;
	if (r == 0)
		r = attach_begin(a, *ret_store);
	if (r == 0)
		r = named_volumes(a, *ret_store);
	if (r == 0)
		r = plan_init(a);
	/* Stopped (stop_catch()): before the image, or before the bundle, nothing of it made. */
	if (r == 0 && stop_sig)
		r = EXIT_ISOLA;
	if (r == 0)
		r = ensure_image(a, s, &err) < 0 ? EXIT_ISOLA : 0;
	if (r == 0 && stop_sig)
		r = EXIT_ISOLA;
	if (r == 0 && img_bundle_create(s, a->image_resolved, a->id, &a->o, ret_bundle, &err) < 0)
		r = EXIT_ISOLA;
	img_store_close(s);
	if (r && err)
		cli_fail(&err);
	return r ? EXIT_ISOLA : 0;
}

/*
 * Rootless (not root): the bundle is made as root of the store's user namespace, in a
 * mount namespace of its own where the overlay is mounted only to read the image's
 * users and check the command; the container mounts it again as root of its own user
 * namespace with the same map.  No bridge network (CNI needs root): none by default.
 */
static int rootless_args(struct run_args *a, const char *cmd)
{
	struct ct_idmap m[2];

	if (a->vm)
		return cli_usage_error(cmd, "--vm is not supported rootless yet");
	if (a->o.group_add)
		return cli_usage_error(cmd, "--group-add is not supported rootless: the "
					    "container keeps no supplementary groups");
	/* /proc and mqueue cannot be mounted for namespaces a user namespace does not own. */
	if (a->o.host_pid || a->o.host_ipc)
		return cli_usage_error(cmd,
				       "--%s host is not supported rootless: the container's "
				       "user namespace cannot mount the host's %s",
				       a->o.host_pid ? "pid" : "ipc",
				       a->o.host_pid ? "/proc" : "mqueue");
	if (a->o.pidns_path || a->o.ipcns_path || a->o.utsns_path)
		return cli_usage_error(cmd, "--pid, --ipc or --uts ns:PATH is not supported "
					    "rootless: joining needs privilege over the namespace");
	for (size_t i = 0; i < IMG_JOIN_N; i++)
		if (a->o.ns_ctr[i])
			return cli_usage_error(cmd,
					       "--%s container:%s is not supported rootless: "
					       "joining needs privilege over the namespace",
					       img_join_kinds[i].opt, a->o.ns_ctr[i]);
	if (a->net == NET_BRIDGE && a->net_given)
		return cli_usage_error(cmd,
				       "--network %s: a bridge network needs root (CNI "
				       "plugins); rootless, use none or host",
				       a->network);
	if (a->net == NET_BRIDGE)
		a->net = NET_NONE, a->network = NULL;
	a->o.rootless = true;
	a->o.n_uid_maps = ct_rootless_idmap(false, m);
	for (size_t i = 0; i < a->o.n_uid_maps; i++)
		a->o.uid_maps[i] = (struct img_idmap){m[i].container_id, m[i].host_id, m[i].size};
	a->o.n_gid_maps = ct_rootless_idmap(true, m);
	for (size_t i = 0; i < a->o.n_gid_maps; i++)
		a->o.gid_maps[i] = (struct img_idmap){m[i].container_id, m[i].host_id, m[i].size};
	return 0;
}

static int prepare_rootless(void *data)
{
	struct run_args *a = data;
	_cleanup_free_ char *store = NULL, *bundle = NULL;
	int r;

	/* Armed again by prepare() once it holds the store (the parent is, for us). */
	stop_armed = 0;
	if (stop_sig)
		return EXIT_ISOLA; /* passed on by the parent while we were being set up */
	if (unshare(CLONE_NEWNS) < 0) {
		log_error("mount namespace: %s", strerror(errno));
		return EXIT_ISOLA;
	}
	r = prepare(a, &store, &bundle);
	if (r == 0 && (r = check_command(bundle)) == 0 && stop_sig)
		r = EXIT_ISOLA; /* stopped (a ^C reaches us too): the bundle goes */
	if (r != 0 && bundle)
		image_cli_bundle_remove(a->store, a->id);
	return r;
}

static int image_run(struct cli_globals *g, int argc, char **argv)
{
	_cleanup_(run_args_free) struct run_args a = {.lock_fd = -1,
						      .cidfile_dir = -1,
						      .pull = "missing",
						      .ctr_fd = {-1, -1, -1, -1},
						      .shm_tree = -1,
						      .vmo.log_max = IMAGE_LOG_MAX_DEFAULT};
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *bundle = NULL, *store = NULL;
	const char *def = getenv("ISOLA_NETWORK");
	int r, code = 0;

	if (parse_network(&a, def && *def ? def : "bridge", "ISOLA_NETWORK"))
		return EXIT_ISOLA;
	/* isola-vm runs every container in a micro-VM: `run IMAGE` is `run --vm IMAGE`. */
	a.vm = g->vm_name;
	r = parse_args(&a, argc, argv);
	if (r)
		return r < 0 ? 0 : r;
	make_id(&a);
	if (geteuid() != 0 && rootless_args(&a, argv[0]))
		return EXIT_ISOLA;
	if (join_containers(&a))
		return EXIT_ISOLA;
	stop_catch();
	if (a.o.rootless) {
		/* The child makes the bundle: a signal meanwhile is undone after it. */
		stop_armed = 1;
		r = image_cli_store_call(prepare_rootless, &a);
		if (r)
			return r;
		store = realpath(img_store_default_path(a.store), NULL);
		if (!store || asprintf(&bundle, "%s/containers/%s", store, a.id) < 0)
			return EXIT_ISOLA;
	} else {
		r = prepare(&a, &store, &bundle);
		/*
		 * No bundle: undo the network's part alone, and only if our ADD made it.  A
		 * failed ADD undid its own part; what is there then (the netns of a
		 * container of this name that raced us) is not ours to delete.
		 */
		if (r && a.add_pid > 0 && store && attach_wait(&a) &&
		    net_detach(store, a.id, a.lock_fd, &err) < 0)
			cli_fail(&err);
		if (r)
			return r;
		r = check_command(bundle);
	}
	if (r == 0 && write_cidfile(&a))
		r = EXIT_ISOLA; /* the bundle is removed below */
	if (r == 0 && a.vm) {
		/* Attached as a plain container; the VM joins the netns (cmd-image-run-vm.c). */
		a.vmo.network = a.net == NET_BRIDGE;
		a.vmo.id = a.id;
	}
	if (r == 0 && !a.vm && a.shm_tree >= 0)
		r = image_cli_ctr_shm_attach(a.shm_tree, a.shm_dir);
	if (r == 0)
		r = attach(&a, store, bundle);
	if (stop_hold())
		r = EXIT_ISOLA; /* stopped while it was made: it goes */
	if (r) {
		undo_cidfile(&a);
		remove_bundle(&a, store);
		return r;
	}
	if (a.vm && a.detach) {
		/* The bundle stays (config, log) until rm, or the end with --rm. */
		code = image_run_vm_detached(store, bundle, a.id, &a.vmo, a.rm);
		if (code != 0) {
			undo_cidfile(&a);
			remove_bundle(&a, store);
		}
		return code;
	}
	if (a.vm) {
		code = image_run_vm(store, bundle, &a.vmo);
		/* The VM's writes live in its tmpfs: nothing of it outlives the run. */
		remove_bundle(&a, store);
		return code;
	}
	code = run_runtime(store, bundle, &a);
	if (a.detach && code == 0 && a.rm)
		spawn_remover(store, a.id);
	if (a.detach && code != 0) {
		undo_cidfile(&a);
		remove_bundle(&a, store);
	} else if (a.rm && !a.detach)
		remove_bundle(&a, store);
	else if (!a.detach && net_detach(store, a.id, a.lock_fd, &err) < 0)
		cli_fail(&err);
	return code;
}

int cmd_image_run(struct cli_globals *g, int argc, char **argv)
{
	return stop_exit(image_run(g, argc, argv));
}
