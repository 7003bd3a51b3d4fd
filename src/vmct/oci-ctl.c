/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * start, kill and delete of a VM container in the OCI mode
 * (docs/vm-containers.md): start asks the monitor over ctl.sock, kill signals
 * the monitor, delete kills the monitor and its VMM and removes the files.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "oci-internal.h"
#include "oci.h"
#include "parse.h"
#include "state.h"
#include "vmct.h"

#define START_WAIT_MS 60000
#define GONE_WAIT_MS  10000

struct vm_info {
	pid_t monitor, vmm;
	uint64_t monitor_start, vmm_start;
	char dir[256];
};

bool vmct_oci_is_vm(const char *root, const char *id)
{
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), dfd = -1;

	if (rfd < 0 || ct_id_validate(id, NULL) < 0)
		return false;
	dfd = openat(rfd, id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return dfd >= 0 && faccessat(dfd, VMCT_OCI_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static void read_info(int dirfd, struct vm_info *vi)
{
	_cleanup_json_ json_t *j = NULL;
	const char *dir;

	memset(vi, 0, sizeof(*vi));
	if (json_load_file_capped(dirfd, VMCT_OCI_FILE, 4096, &j, NULL) < 0)
		return;
	vi->monitor = json_integer_value(json_object_get(j, "monitor"));
	vi->vmm = json_integer_value(json_object_get(j, "vmm"));
	vi->monitor_start = json_integer_value(json_object_get(j, "monitorStart"));
	vi->vmm_start = json_integer_value(json_object_get(j, "vmmStart"));
	dir = json_string_value(json_object_get(j, "dir"));
	snprintf(vi->dir, sizeof(vi->dir), "%s", dir ? dir : "");
}

/* <root>/<id> of a VM container, unlocked (readers only), or -1. */
static int vm_dir(const char *root, const char *id)
{
	_cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (rfd < 0 || ct_id_validate(id, NULL) < 0 || !vmct_oci_is_vm(root, id))
		return -1;
	return openat(rfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

void vmct_oci_monitor(const char *root, const char *id, pid_t *ret_pid, uint64_t *ret_start)
{
	_cleanup_close_ int dfd = vm_dir(root, id);
	struct vm_info vi = {};

	if (dfd >= 0)
		read_info(dfd, &vi);
	*ret_pid = vi.monitor;
	*ret_start = vi.monitor_start;
}

int vmct_oci_exit_status(const char *root, const char *id, int *ret_status)
{
	_cleanup_close_ int dfd = vm_dir(root, id);
	_cleanup_free_ char *text = NULL;
	struct vm_info vi;
	int status;

	if (dfd < 0)
		return -ENOENT;
	if (read_file_at(dfd, VMCT_OCI_EXIT, 16, &text, NULL, NULL) >= 0) {
		*strchrnul(text, '\n') = '\0';
		if (parse_int(text, &status) < 0 || status < 0 || status > 255)
			return -EINVAL;
		*ret_status = status;
		return 0;
	}
	read_info(dfd, &vi);
	if (vi.monitor > 0 && ct_proc_start_time(vi.monitor) == vi.monitor_start)
		return -EBUSY;
	/* Gone without a word: SIGKILLed (the VMM died with it, PR_SET_PDEATHSIG). */
	*ret_status = 128 + SIGKILL;
	return 0;
}

/* A pidfd for @pid if it is still the process that started at @start; -1 if gone. */
static int pidfd_if_same(pid_t pid, uint64_t start)
{
	int fd;

	if (pid <= 0 || !start)
		return -1;
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0 && ct_proc_start_time(pid) != start) {
		close(fd);
		return -1;
	}
	return fd;
}

/* SIGKILL and wait until it is gone (a zombie counts), up to GONE_WAIT_MS. */
static int kill_wait(pid_t pid, uint64_t start)
{
	_cleanup_close_ int fd = pidfd_if_same(pid, start);
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (fd < 0)
		return 0;
	syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	return poll(&p, 1, GONE_WAIT_MS) == 1 ? 0 : -ETIMEDOUT;
}

void vmct_oci_rm_sockdir(const char *dir, pid_t vmm)
{
	const char *name = dir + strlen(VMCT_SOCKDIR_PREFIX);

	(void)vmm;
	/* Only what host.c makes: /tmp/isola-vmct-XXXXXX, one level. */
	if (strncmp(dir, VMCT_SOCKDIR_PREFIX, strlen(VMCT_SOCKDIR_PREFIX)) != 0 || !*name ||
	    strchr(name, '/') || strstr(name, ".."))
		return;
	rm_rf_at(AT_FDCWD, dir, NULL);
}

static int open_vm(const char *root, const char *id, int *dirfd, struct ct_state *st,
		   enum ct_status *status, struct err **err)
{
	int r = ct_state_open_dir(root, id, dirfd, err);

	if (r >= 0)
		r = ct_state_read(*dirfd, id, st, err);
	if (r < 0)
		return r;
	*status = ct_state_status(*dirfd, st);
	return 0;
}

/* One request to the monitor over ctl.sock; its one-line answer must be "ok". */
static int request(int dirfd, const char *id, const char *req, struct err **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct pollfd p = {.events = POLLIN};
	char buf[1024];
	size_t len = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd, VMCT_OCI_CTL);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err_make(err, errno, "container `%s`: the VM's monitor", id);
	if (write_all(fd, req, strlen(req)) < 0)
		return err_make(err, errno, "container `%s`: the VM's monitor", id);
	p.fd = fd;
	while (len < sizeof(buf) - 1 && !memchr(buf, '\n', len)) {
		ssize_t n;

		if (poll(&p, 1, START_WAIT_MS) <= 0)
			return err_make(err, ETIMEDOUT, "container `%s`: no answer from the VM",
					id);
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*strchrnul(buf, '\n') = '\0';
	if (streq(buf, "ok"))
		return 0;
	return err_make(err, 0, "container `%s`: %s", id,
			strncmp(buf, "error: ", 7) == 0 ? buf + 7 : "the VM's monitor ended");
}

int vmct_oci_start(const char *root, const char *id, struct err **err)
{
	_cleanup_close_ int dirfd = -1;
	struct ct_state st = {};
	enum ct_status status;
	int r;

	r = open_vm(root, id, &dirfd, &st, &status, err);
	if (r >= 0 && status != CT_CREATED)
		r = err_make(err, 0, "cannot start a container that is %s", ct_status_name(status));
	if (r >= 0)
		r = request(dirfd, id, "start\n", err);
	ct_state_clear(&st);
	return r;
}

int vmct_oci_kill(const char *root, const char *id, int sig, struct err **err)
{
	_cleanup_close_ int dirfd = -1, pfd = -1;
	struct ct_state st = {};
	enum ct_status status;
	int r;

	r = open_vm(root, id, &dirfd, &st, &status, err);
	if (r < 0)
		return r;
	if (sig != SIGKILL && !vmct_signal_relayed(sig))
		r = err_make(err, EINVAL,
			     "container `%s`: signal %d cannot be sent into a VM (HUP INT QUIT "
			     "TERM USR1 USR2 WINCH ALRM KILL can)",
			     id, sig);
	else if (status == CT_STOPPED || (pfd = pidfd_if_same(st.pid, st.start_time)) < 0)
		r = err_make(err, ESRCH, "container `%s` is not running", id);
	else if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0)
		r = err_make(err, errno, "kill container `%s`", id);
	ct_state_clear(&st);
	return r;
}

/* The monitor, then its VMM, gone; their cgroup, the socket dir and the state dir removed. */
static int remove_vm(const char *root, const char *id, int dirfd, struct err **err)
{
	_cleanup_json_ json_t *cgj = ct_state_read_cgroup(dirfd);
	struct ct_cgroup *cg = NULL;
	struct vm_info vi;
	int r;

	read_info(dirfd, &vi);
	/* A paused VM is thawed first: a frozen task does not die of SIGKILL (v1 freezer). */
	if (cgj && ct_cgroup_from_json(cgj, &cg, NULL) == 0)
		ct_cgroup_freeze(cg, false, NULL);
	if (kill_wait(vi.monitor, vi.monitor_start) < 0 || kill_wait(vi.vmm, vi.vmm_start) < 0) {
		ct_cgroup_free(cg);
		return err_make(err, ETIMEDOUT, "container `%s`: the VM did not stop", id);
	}
	r = cg ? ct_cgroup_destroy(cg, err) : 0;
	ct_cgroup_free(cg);
	if (r < 0)
		return err_wrap(err, "container `%s`", id);
	if (vi.dir[0])
		vmct_oci_rm_sockdir(vi.dir, vi.vmm);
	/* The TAP and tc qdisc we added to the engine's netns (the rest is the engine's). */
	vmct_oci_netns_unlink(dirfd);
	return ct_state_remove_dir(root, id, err);
}

int vmct_oci_delete(const char *root, const char *id, bool force, struct err **err)
{
	_cleanup_close_ int dirfd = -1;
	struct ct_state st = {};
	enum ct_status status;
	int r;

	r = open_vm(root, id, &dirfd, &st, &status, err);
	if (r < 0 && force && dirfd >= 0) {
		/* No readable state.json: what vm.json names is still removed. */
		err_free(err);
		return remove_vm(root, id, dirfd, err);
	}
	if (r >= 0 && status == CT_RUNNING && !force)
		r = err_make(err, 0, "cannot delete container `%s` that is not stopped: running",
			     id);
	if (r >= 0)
		r = remove_vm(root, id, dirfd, err);
	ct_state_clear(&st);
	return r;
}

int vmct_oci_vsock(const char *root, const char *id, char **ret_uds, char **ret_bundle,
		   struct err **err)
{
	_cleanup_close_ int dirfd = -1;
	_cleanup_free_ char *uds = NULL, *bundle = NULL;
	struct ct_state st = {};
	enum ct_status status;
	struct vm_info vi;
	int r;

	r = open_vm(root, id, &dirfd, &st, &status, err);
	if (r < 0)
		return r;
	if (status != CT_RUNNING)
		r = err_make(err, 0, "cannot exec in a %s container", ct_status_name(status));
	if (r >= 0) {
		read_info(dirfd, &vi);
		if (!vi.dir[0] || asprintf(&uds, "%s/v.sock", vi.dir) < 0 ||
		    !(bundle = strdup(st.bundle)))
			r = err_make(err, 0, "container `%s`: %s holds no VM socket dir", id,
				     VMCT_OCI_FILE);
	}
	ct_state_clear(&st);
	if (r < 0)
		return r;
	*ret_uds = TAKE_PTR(uds);
	if (ret_bundle)
		*ret_bundle = TAKE_PTR(bundle);
	return 0;
}
