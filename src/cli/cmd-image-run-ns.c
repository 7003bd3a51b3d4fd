/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run IMAGE --pid, --ipc, --uts, --network container:NAME: join a namespace of another
 * running container of the store (docs/images.md).
 *
 * The target is named by its init's pid, which the runtime's state gives; that pid can
 * end and be reused by another process before we open /proc/PID/ns/TYPE.  So the state
 * is asked before and again after the open: if the same init (the runtime compares its
 * start time, as runc does) still runs with that pid, the process we opened through was
 * it.  The runtime then gets /proc/<our pid>/fd/<fd>: it opens what was checked, not a
 * path that names whichever process holds the pid by then.  We outlive its `run`
 * (foreground: the container; -d: until the process runs), and the fd is O_CLOEXEC, so
 * neither the runtime nor the container inherits it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image-cli.h"
#include "log.h"
#include "oci.h"

/* The target's init pid if it is running (or paused), else 0 with *ret_status said. */
static pid_t target_pid(const char *store, const char *target, char **ret_status)
{
	pid_t pid = 0;
	char *st = image_cli_container_status(store, target, &pid);

	if (st && (streq(st, "running") || streq(st, "paused")) && pid > 0) {
		free(st);
		return pid;
	}
	*ret_status = st;
	return 0;
}

/* A target that can be joined: in the store, not the joiner, not a VM's. */
static int check_target(const char *store, const char *self, const char *opt, const char *target)
{
	char p[4096];

	if (!image_cli_container_name_plain(target) || strlen(target) > 255 ||
	    snprintf(p, sizeof(p), "%s/containers/%s", store, target) >= (int)sizeof(p) ||
	    !path_exists(p))
		return cli_usage_error("run",
				       "%s container:%.255s: no container `%.255s` in the "
				       "store %s",
				       opt, target, target, store);
	if (streq(target, self))
		return cli_usage_error("run",
				       "%s container:%s: a container cannot join its own "
				       "namespaces",
				       opt, target);
	snprintf(p, sizeof(p), "%s/run", store);
	if (vmct_oci_is_vm(p, target))
		return cli_usage_error("run",
				       "%s container:%s: it runs in a micro-VM; its "
				       "namespaces are its guest kernel's",
				       opt, target);
	return 0;
}

int image_cli_ctr_ns_open(const char *store, const char *self, enum img_join j, const char *target,
			  int *ret_fd, char ret_path[static 64],
			  char ret_instance[static IMG_INSTANCE_LEN + 1], int *ret_mntns)
{
	const struct img_join_kind *k = &img_join_kinds[j];
	_cleanup_free_ char *st = NULL;
	_cleanup_close_ int fd = -1, mnt = -1;
	char p[64], opt[16], inst[IMG_INSTANCE_LEN + 1];
	pid_t pid, again;
	bool gone;

	snprintf(opt, sizeof(opt), "--%s", k->opt);
	if (check_target(store, self, opt, target))
		return EXIT_ISOLA;
	/* Read first and again last: the same instance throughout, not one given its name. */
	image_cli_container_instance(store, target, ret_instance);
	pid = target_pid(store, target, &st);
	if (!pid)
		return cli_usage_error("run", "%s container:%s: the container is not running (%s)",
				       opt, target, st ? st : "unknown");
	snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, k->ns);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && ret_mntns) {
		snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
		mnt = open(p, O_RDONLY | O_CLOEXEC);
	}
	gone = fd < 0 || (ret_mntns && mnt < 0);
	/* ENOENT/ESRCH: the init ended in between; the state check below says so. */
	if (gone && errno != ENOENT && errno != ESRCH)
		return cli_usage_error("run", "%s container:%s: open `%s`: %s", opt, target, p,
				       strerror(errno));
	again = target_pid(store, target, &st);
	image_cli_container_instance(store, target, inst);
	if (gone || again != pid || !streq(inst, ret_instance))
		return cli_usage_error("run",
				       "%s container:%s: the container stopped while "
				       "being joined",
				       opt, target);
	if (ioctl(fd, NS_GET_NSTYPE) != k->type)
		return cli_usage_error("run", "%s container:%s: `%s` is not its %s namespace", opt,
				       target, p, k->ns);
	snprintf(ret_path, 64, "/proc/%d/fd/%d", (int)getpid(), fd);
	*ret_fd = TAKE_FD(fd);
	if (ret_mntns)
		*ret_mntns = TAKE_FD(mnt);
	return 0;
}

/*
 * In a child: NAME's /dev/shm, cloned (detached, that mount only) in its mount namespace
 * and sent back over s.  A container can make its /dev/shm anything: a symbolic link is
 * not followed (its root is then NAME's rootfs, but the path is resolved by us as root)
 * and only a tmpfs is taken.  The clone is set private (NAME's later mounts below its
 * /dev/shm reach neither the host nor the joiner), nosuid, nodev and noexec, and
 * read-only if NAME has it so: the joiner never gets more than NAME has.
 */
static int shm_clone(const char *target, int mntns, int s)
{
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	struct mount_attr attr = {.attr_set =
				      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
				  .propagation = MS_PRIVATE};
	_cleanup_close_ int dir = -1, tree = -1;
	struct statfs sf;
	bool ro;

	if (setns(mntns, CLONE_NEWNS) < 0)
		return cli_usage_error("run", "--ipc container:%s: enter its mount namespace: %s",
				       target, strerror(errno));
	dir = (int)syscall(SYS_openat2, AT_FDCWD, "/dev/shm", &how, sizeof(how));
	if (dir < 0)
		return cli_usage_error("run", "--ipc container:%s: its /dev/shm: %s", target,
				       errno == ELOOP ? "a symbolic link" : strerror(errno));
	if (fstatfs(dir, &sf) < 0 || sf.f_type != TMPFS_MAGIC)
		return cli_usage_error("run", "--ipc container:%s: its /dev/shm is not a tmpfs",
				       target);
	ro = sf.f_flags & ST_RDONLY;
	if (ro)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	tree = open_tree(dir, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0 ||
	    syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ||
	    (errno = -fd_send(s, tree, ro ? "r" : "w", 1)) != 0)
		return cli_usage_error("run", "--ipc container:%s: clone its /dev/shm: %s", target,
				       strerror(errno));
	return 0;
}

int image_cli_ctr_shm_open(const char *target, int mntns, int *ret_tree, bool *ret_ro)
{
	_cleanup_close_ int mine = -1, theirs = -1;
	int sv[2], r;
	char ro = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return cli_usage_error("run", "socketpair: %s", strerror(errno));
	mine = sv[0], theirs = sv[1];
	fflush(NULL);
	/* setns(CLONE_NEWNS) wants a process of its own (no thread sharing its fs). */
	pid = fork();
	if (pid < 0)
		return cli_usage_error("run", "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(shm_clone(target, mntns, theirs));
	close(TAKE_FD(theirs));
	if (image_cli_runtime_wait(pid) != 0)
		return EXIT_ISOLA; /* the child said why */
	r = (int)fd_recv(mine, &ro, 1, ret_tree);
	if (r >= 0 && r != 1) {
		close(*ret_tree);
		r = -EPROTO;
	}
	if (r < 0)
		return cli_usage_error("run", "--ipc container:%s: its /dev/shm: %s", target,
				       strerror(-r));
	*ret_ro = ro == 'r';
	return 0;
}

int image_cli_ctr_shm_attach(int tree, const char *dest)
{
	if (mkdir(dest, 0700) < 0 && errno != EEXIST)
		return cli_usage_error("run", "mkdir `%s`: %s", dest, strerror(errno));
	if (move_mount(tree, "", AT_FDCWD, dest, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cli_usage_error("run", "mount `%s`: %s", dest, strerror(errno));
	return 0;
}
