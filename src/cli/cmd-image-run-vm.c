/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isola run --vm [--vm-kernel FILE] [--vm-modules DIR] [--cpus N] [--memory SIZE] IMAGE [CMD...]
 *
 * The bundle run IMAGE made (config.json, the overlay rootfs) runs inside a
 * micro-VM instead (docs/vm-containers.md): the rootfs becomes a cached ext4
 * disk, isola-agent and the kernel's modules a cached initramfs, and
 * src/vmct boots `isola vm run` with both and relays the process's stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "fdutil.h"
#include "image-cli.h"
#include "jsonutil.h"
#include "log.h"
#include "net.h"
#include "oci.h"
#include "seccomp.h"
#include "state.h"
#include "strv.h"
#include "vmct.h"

#define VM_DEFAULT_MEMORY (256ull << 20)
#define VM_MEMORY_MIN	  (64ull << 20)
#define VM_BOOT_TIMEOUT	  600

/* config.json's process (vmct_oci_load_process); strings point into *spec. */
int image_vm_load_process(const char *bundle, json_t **spec, struct vmct_config *c,
			  struct err **err)
{
	char p[PATH_MAX];
	int r;

	snprintf(p, sizeof(p), "%s/config.json", bundle);
	r = json_load_file_capped(AT_FDCWD, p, 1u << 22, spec, err);
	if (r >= 0 && vmct_oci_load_process(json_object_get(*spec, "process"), c, err) < 0)
		r = err_wrap(err, "`%s`", p);
	if (r < 0)
		return r;
	if (c->tty) /* our terminal's size (0 x 0, the guest's default, when none) */
		vmct_term_size(isatty(STDIN_FILENO) ? STDIN_FILENO : STDOUT_FILENO, &c->rows,
			       &c->cols);
	return 0;
}

/* The image's layer chain, hashed: the root disk's cache key. */
static int layers_key(const char *bundle, char ret[VMCT_ROOTFS_KEY_LEN + 1], struct err **err)
{
	_cleanup_json_ json_t *meta = NULL;
	char p[PATH_MAX];
	int r;

	snprintf(p, sizeof(p), "%s/image.json", bundle);
	r = json_load_file_capped(AT_FDCWD, p, 1u << 20, &meta, err);
	if (r >= 0 && vmct_rootfs_key(json_object_get(meta, "layers"), ret, err) < 0)
		r = err_wrap(err, "`%s`", p);
	return r;
}

static int find_kernel(const struct image_vm_opts *vo, const char **ret, struct err **err)
{
	const char *k = vo->kernel ? vo->kernel : getenv("ISOLA_VM_KERNEL");

	if (!k || !*k)
		k = ISOLA_VM_KERNEL_DEFAULT;
	if (access(k, R_OK) < 0)
		return err_make(err, errno,
				"guest kernel `%s` (give --vm-kernel FILE or $ISOLA_VM_KERNEL: "
				"a bzImage such as Debian's linux-image-cloud-amd64 unpacked "
				"with dpkg-deb -x)",
				k);
	*ret = k;
	return 0;
}

/* $ISOLA_VMM: what runs `vm run`/`vm restore` (the host tests' fake VMM), else this binary. */
static char *vmm_path(void)
{
	const char *env = getenv("ISOLA_VMM");

	return env && *env ? strdup(env) : realpath("/proc/self/exe", NULL);
}

/*
 * The initramfs and root disk, built on first use under <store>/vm; *ret_lock holds the
 * disk's shared flock (prune leaves it alone) until the VMM has its own.
 */
static int vm_files(const char *store, const char *bundle, const struct image_vm_opts *vo,
		    const char *kernel, char **ret_initrd, char **ret_disk, int *ret_lock,
		    struct err **err)
{
	_cleanup_free_ char *agent = vmct_find_agent(), *moddir = NULL, *cache = NULL,
			    *rootfs = NULL;
	char key[VMCT_ROOTFS_KEY_LEN + 1];
	int r;

	if (!agent)
		return err_make(err, ENOENT, "isola-agent not found next to isola or in %s",
				ISOLA_LIBEXECDIR);
	if (vo->modules)
		moddir = strdup(vo->modules);
	else
		moddir = vmct_moddir_for(kernel);
	if (asprintf(&cache, "%s/vm", store) < 0 || asprintf(&rootfs, "%s/rootfs", bundle) < 0)
		return err_make(err, ENOMEM, "paths");
	r = vmct_initramfs_get(cache, agent, moddir, ret_initrd, err);
	if (r >= 0)
		r = layers_key(bundle, key, err);
	if (r >= 0)
		r = vmct_rootfs_get(cache, key, rootfs, ret_disk, ret_lock, err);
	return r;
}

/* What the guest's NIC needs, owned here (docs/vm-containers.md "Networking"). */
struct vm_net {
	char *netns, *hosts, *resolv, *hostname;
	char net[VMCT_OCI_NIC_ARG];
	struct vmct_oci_nic nic;
};

static void vm_net_free(struct vm_net *n)
{
	free(n->netns);
	free(n->hosts);
	free(n->resolv);
	free(n->hostname);
}

/*
 * The container was attached as a plain one (CNI ADD into its netns): join a TAP there
 * to its eth0, and give the guest eth0's address, MAC and MTU (n->nic) and the bundle's
 * /etc files.  The VMM runs in the netns.
 */
static int vm_network(const char *store, const char *bundle, const struct image_vm_opts *vo,
		      struct vm_net *n, struct err **err)
{
	static const char *const names[] = {"hosts", "resolv.conf", "hostname"};
	char **bufs[] = {&n->hosts, &n->resolv, &n->hostname};
	struct net_vm_iface v;
	char p[PATH_MAX];
	int r;

	r = net_vm_link(store, vo->id, &v, err);
	if (r < 0)
		return err_wrap(err, "the VM's network");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", bundle, names[i]);
		r = read_file_at(AT_FDCWD, p, VMCT_FILE_MAX, bufs[i], NULL, err);
		if (r < 0)
			return r;
	}
	n->netns = net_netns_path(store, vo->id);
	if (!n->netns)
		return err_make(err, ENOMEM, "netns");
	vmct_oci_nic_make(&v, n->netns, NET_VM_TAP, n->net, &n->nic);
	return 0;
}

/* The NIC and files of vm_network for a foreground run's VM. */
static void vm_net_apply(const struct vm_net *n, struct vmct_config *proc, struct vmct_run_opts *o)
{
	proc->net = n->nic.cfg;
	proc->etc_hosts = n->hosts;
	proc->etc_resolv = n->resolv;
	proc->etc_hostname = n->hostname;
	o->netns = n->nic.netns;
	o->net = n->nic.vmm_net;
	o->tap = n->nic.tap;
}

/* config.json's hostname, for the guest's UTS name (at most 64 bytes there). */
static int vm_hostname(json_t *spec, struct vmct_config *proc, struct err **err)
{
	const char *h = json_string_value(json_object_get(spec, "hostname"));

	if (!h || !*h)
		return 0;
	if (strlen(h) > VMCT_HOSTNAME_MAX)
		return err_make(err, 0, "--hostname `%s`: at most %u bytes in a VM", h,
				VMCT_HOSTNAME_MAX);
	proc->hostname = (char *)h;
	return 0;
}

/*
 * config.json's mounts (-v): what the agent mounts (tmpfs, mqueue, the shared
 * directories' virtiofs) and the VMM's shares.  A file bind other than the
 * network's /etc files is refused: the root disk is the image's shared one.
 */
static int vm_mounts(json_t *spec, const char *bundle, struct vmct_oci_mounts *m,
		     struct vmct_config *proc, struct vmct_run_opts *o, struct err **err)
{
	const char *left;
	int r = vmct_oci_mounts_plan(json_object_get(spec, "mounts"), bundle, m, err);

	if (r < 0)
		return err_wrap(err, "`%s/config.json`", bundle);
	left = vmct_oci_mounts_file_left(m, proc->etc_hosts, proc->etc_resolv, proc->etc_hostname);
	if (left)
		return err_make(err, 0,
				"-v `%s`: a file cannot be shared with a VM (its root disk is the "
				"image's); share its directory",
				left);
	proc->mounts = m->guest;
	o->shares = m->shares;
	o->n_shares = (unsigned)m->n_shares;
	return 0;
}

static void mark_started(void *arg)
{
	*(bool *)arg = true;
}

/*
 * The warm path (src/vmct/warm.c): restore the template of this kernel,
 * initrd, memory and cpus (built on first use).  A failure before the
 * process started leaves a one-line note and *ret_fallback set: the caller
 * boots cold.  Once the process ran, its result is the run's.
 */
static int run_warm(const char *store, struct vmct_run_opts *o, int *ret_status, bool *ret_fallback,
		    struct err **err)
{
	_cleanup_free_ char *cache = NULL;
	struct vmct_warm w = {};
	bool started = false;
	int r;

	*ret_fallback = false;
	if (asprintf(&cache, "%s/vm", store) < 0)
		return err_make(err, ENOMEM, "path");
	r = vmct_warm_get_blocking(cache, o, &w, err);
	if (r >= 0) {
		o->warm = &w;
		o->config_sent = mark_started;
		o->hook_arg = &started;
		r = vmct_run(o, ret_status, err);
		o->warm = NULL;
		o->config_sent = NULL;
		o->hook_arg = NULL;
	}
	vmct_warm_free(&w);
	if (r < 0 && !started && err_code(*err) != -ECANCELED) {
		log_warn("run --vm: no warm start (%s); booting the VM cold",
			 strtok((*err)->msg, "\n"));
		err_free(err);
		*ret_fallback = true;
		return 0;
	}
	return r;
}

static const char *fg_note_path(const char *bundle, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" IMAGE_VM_FG_NOTE, bundle);
	return buf;
}

/* This process is the container's while its VM runs: ps, stop and rm find it here. */
static int write_fg_note(const char *bundle, struct err **err)
{
	_cleanup_close_ int dfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char line[64];

	if (dfd < 0)
		return err_make(err, errno, "open `%s`", bundle);
	snprintf(line, sizeof(line), "%d %llu\n", (int)getpid(),
		 (unsigned long long)ct_proc_start_time(getpid()));
	return write_file_atomic_at(dfd, IMAGE_VM_FG_NOTE, line, strlen(line), 0600, err);
}

int image_run_vm(const char *store, const char *bundle, const struct image_vm_opts *vo)
{
	char p[PATH_MAX];
	_cleanup_(vm_net_free) struct vm_net net = {};
	_cleanup_(vmct_oci_mounts_free) struct vmct_oci_mounts mounts = {};
	_cleanup_err_ struct err *err = NULL;
	_cleanup_json_ json_t *spec = NULL;
	_cleanup_free_ char *initrd = NULL, *disk = NULL, *self = vmm_path(), *note = NULL;
	_cleanup_close_ int null = -1, disk_lock = -1;
	struct vmct_config proc = {};
	struct ct_seccomp *seccomp = NULL; /* proc.seccomp points into it */
	struct vmct_run_opts o = {
	    .vmm = self,
	    .memory = vo->memory ? vo->memory : VM_DEFAULT_MEMORY,
	    .cpus = vo->cpus ? vo->cpus : 1,
	    .proc = &proc,
	    .in_fd = vo->interactive ? STDIN_FILENO : -1,
	    .out_fd = STDOUT_FILENO,
	    .err_fd = STDERR_FILENO,
	    .boot_timeout_s = VM_BOOT_TIMEOUT,
	};
	int r, status = EXIT_ISOLA;
	bool cold = true;

	if (o.memory < VM_MEMORY_MIN) {
		log_error("run --vm: --memory %llu: at least 64M", (unsigned long long)o.memory);
		return EXIT_ISOLA;
	}
	r = self ? 0 : err_make(&err, errno, "/proc/self/exe");
	if (r >= 0)
		r = image_vm_load_process(bundle, &spec, &proc, &err);
	proc.init = vo->init;
	if (r >= 0)
		r = vmct_oci_load_paths(spec, &proc, &err);
	if (r >= 0)
		r = vmct_oci_load_sysctls(spec, &proc, &err);
	/* config.json's filter (run IMAGE's default one), as -d's monitor loads it. */
	if (r >= 0)
		r = vmct_oci_load_seccomp(spec, &seccomp, &proc, &err);
	if (r >= 0)
		r = vm_hostname(spec, &proc, &err);
	if (r >= 0)
		r = find_kernel(vo, &o.kernel, &err);
	if (r >= 0)
		r = vm_files(store, bundle, vo, o.kernel, &initrd, &disk, &disk_lock, &err);
	o.initrd = initrd;
	o.disk = disk;
	if (r >= 0 && asprintf(&note, "%s/" IMAGE_VM_VSOCK_NOTE, bundle) < 0)
		r = err_make(&err, ENOMEM, "path");
	o.vsock_note = note;
	if (r >= 0)
		r = write_fg_note(bundle, &err);
	if (r >= 0 && vo->network && (r = vm_network(store, bundle, vo, &net, &err)) >= 0)
		vm_net_apply(&net, &proc, &o);
	if (r >= 0)
		r = vm_mounts(spec, bundle, &mounts, &proc, &o, &err);
	/* A vanished reader of our output (or the VMM's socket) must not end us. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * A container with a network restores a template with a NIC, one without
	 * none; one with N volumes a template with N shares (warm.c).
	 */
	if (r >= 0 && vmct_warm_wanted())
		r = run_warm(store, &o, &status, &cold, &err);
	if (r >= 0 && cold)
		r = vmct_run(&o, &status, &err);
	free(proc.argv);
	free(proc.env);
	strv_free(proc.paths);
	strv_free(proc.sysctls);
	ct_seccomp_free(seccomp);
	unlinkat(AT_FDCWD, fg_note_path(bundle, p, sizeof(p)), 0);
	if (r < 0) {
		cli_fail(&err);
		return EXIT_ISOLA;
	}
	return status;
}

/*
 * --rm with -d, or a network: a process of its own waits for the monitor to end, then
 * runs `isola rm -f` (--rm), or leaves the network (CNI DEL, the netns and with it the
 * TAP) -- unless the name has a new container by then (vm.json names another monitor).
 * podman's exit command, without a conmon.
 */
static void spawn_watcher(const char *store, const char *root, const char *id, pid_t mon, bool rm)
{
	_cleanup_close_ int pfd = syscall(SYS_pidfd_open, mon, 0);
	uint64_t start, now_start;
	pid_t now;

	vmct_oci_monitor(root, id, &now, &start);
	if (pfd < 0 || now != mon || image_cli_watcher(pfd) != 0)
		return;
	vmct_oci_monitor(root, id, &now, &now_start);
	if (now != mon || now_start != start)
		_exit(0);
	if (!rm)
		_exit(net_detach(store, id, -1, NULL) < 0 ? 1 : 0);
	execl("/proc/self/exe", "isola", "rm", "-f", "--store", store, id, (char *)NULL);
	_exit(127);
}

/* The monitor's stdio: /dev/null, the log (its logger's pid in *ret_logger). */
static int open_log(const char *bundle, uint64_t max, struct vmct_oci_image *img, pid_t *ret_logger,
		    struct err **err)
{
	_cleanup_free_ char *log = NULL;
	int out = -1;

	if (asprintf(&log, "%s/ctr.log", bundle) < 0)
		return err_make(err, ENOMEM, "path");
	img->stdio[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (img->stdio[0] < 0)
		return err_make(err, errno, "/dev/null");
	*ret_logger = image_cli_logger(log, max, &out);
	if (*ret_logger < 0)
		return err_make(err, -*ret_logger, "log `%s`", log);
	img->stdio[1] = img->stdio[2] = out;
	return 0;
}

/* The monitor's note that a warm start fell back to a cold boot. */
static void detached_warn(const char *note)
{
	log_warn("run --vm -d: %s", note);
}

/* The network's NIC and files (vm_network) and config.json's hostname, for the monitor. */
static int detached_network(const char *store, const char *bundle, const struct image_vm_opts *vo,
			    struct vm_net *n, json_t **spec, struct vmct_oci_image *img,
			    struct err **err)
{
	struct vmct_config c = {};
	char p[PATH_MAX];
	int r;

	snprintf(p, sizeof(p), "%s/config.json", bundle);
	r = json_load_file_capped(AT_FDCWD, p, 1u << 22, spec, err);
	if (r >= 0)
		r = vm_hostname(*spec, &c, err);
	if (r < 0)
		return r;
	img->hostname = c.hostname;
	if (!vo->network)
		return 0;
	r = vm_network(store, bundle, vo, n, err);
	if (r < 0)
		return r;
	img->nic = &n->nic;
	img->etc_hosts = n->hosts;
	img->etc_resolv = n->resolv;
	img->etc_hostname = n->hostname;
	return 0;
}

int image_run_vm_detached(const char *store, const char *bundle, const char *id,
			  const struct image_vm_opts *vo, bool rm)
{
	_cleanup_(vm_net_free) struct vm_net net = {};
	_cleanup_json_ json_t *spec = NULL;
	_cleanup_err_ struct err *err = NULL;
	_cleanup_free_ char *initrd = NULL, *disk = NULL, *root = NULL, *note = NULL, *cache = NULL;
	struct vmct_oci_image img = {
	    .sel = {.vm = true,
		    .modules = vo->modules,
		    .memory = vo->memory ? vo->memory : VM_DEFAULT_MEMORY,
		    .cpus = vo->cpus ? vo->cpus : 1,
		    .init = vo->init},
	    .stdio = {-1, -1, -1},
	};
	struct vmct_oci_create_opts co = {
	    .id = id, .bundle = bundle, .image = &img, .warn = detached_warn};
	pid_t logger = -1, mon = -1;
	_cleanup_close_ int disk_lock = -1;
	int r;

	if (img.sel.memory < VM_MEMORY_MIN) {
		log_error("run --vm: --memory %llu: at least 64M",
			  (unsigned long long)img.sel.memory);
		return EXIT_ISOLA;
	}
	r = find_kernel(vo, &img.sel.kernel, &err);
	if (r >= 0)
		r = vm_files(store, bundle, vo, img.sel.kernel, &initrd, &disk, &disk_lock, &err);
	if (r >= 0)
		r = detached_network(store, bundle, vo, &net, &spec, &img, &err);
	if (r >= 0 && (asprintf(&root, "%s/run", store) < 0 ||
		       asprintf(&note, "%s/" IMAGE_VM_VSOCK_NOTE, bundle) < 0 ||
		       asprintf(&cache, "%s/vm", store) < 0))
		r = err_make(&err, ENOMEM, "paths");
	img.initrd = initrd;
	img.disk = disk;
	img.vsock_note = note;
	img.cache = cache; /* the templates of run --vm: the same key, the same template */
	co.root = root;
	if (r >= 0)
		r = open_log(bundle, vo->log_max, &img, &logger, &err);
	signal(SIGPIPE, SIG_IGN);
	if (r >= 0)
		r = vmct_oci_create(&co, &mon, &err);
	/* The log's writers are the monitor's stdout and stderr now: its end ends the logger. */
	if (img.stdio[1] >= 0)
		close(img.stdio[1]);
	if (img.stdio[0] >= 0)
		close(img.stdio[0]);
	if (r >= 0 && (r = vmct_oci_start(root, id, &err)) < 0)
		vmct_oci_delete(root, id, true, NULL);
	if (r < 0) {
		while (logger > 0 && waitpid(logger, NULL, 0) < 0 && errno == EINTR)
			;
		cli_fail(&err);
		return EXIT_ISOLA;
	}
	if (rm || vo->network)
		spawn_watcher(store, root, id, mon, rm);
	printf("%s\n", id);
	return 0;
}
