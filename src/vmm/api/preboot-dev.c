/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pre-boot configuration routes (Firecracker's swagger shapes) turned
 * into typed vm_config calls.  Files are checked when they are PUT: they
 * exist and open with the mode the VM will use (a read-only drive O_RDONLY),
 * so a mistake is a 400 naming the field now rather than a failed boot.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cleanup.h"
#include "fdutil.h"
#include "jsonutil.h"
#include "preboot.h"

/*
 * Not through a /proc magic link (/proc/self/fd/N): that is one of the VMM's
 * own files (guest memory, a snapshot), not one the client names.
 */
int api_open_file(const char *path, int flags, bool dev, const char *field, int *ret_fd,
		  struct err **err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!*path)
		return err_make(err, EINVAL, "%s: empty path", field);
	fd = open_no_magiclinks(path, flags);
	if (fd < 0 && errno == ELOOP)
		return err_make(err, ELOOP, "%s `%s`: through a /proc magic link, or a loop", field,
				path);
	if (fd < 0)
		return err_make(err, errno, "%s `%s`", field, path);
	if (fstat(fd, &st) < 0)
		return err_make(err, errno, "%s `%s`", field, path);
	if (!S_ISREG(st.st_mode) && !(dev && S_ISBLK(st.st_mode)))
		return err_make(err, EINVAL, "%s `%s`: not a regular file%s", field, path,
				dev ? " or a block device" : "");
	/* Blocking I/O from here on (O_NONBLOCK only kept a FIFO from hanging the open). */
	if (fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return err_make(err, errno, "%s `%s`", field, path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* path opens with flags and is a regular file (or a block device when dev). */
static int check_file(const char *path, int flags, bool dev, const char *field, struct err **err)
{
	_cleanup_close_ int fd = -1;

	return api_open_file(path, flags, dev, field, &fd, err);
}

int pb_boot_source(struct vm_config *cfg, json_t *j, struct err **err)
{
	const char *kernel = NULL, *args = NULL, *initrd = NULL;
	int r;

	r = json_get_string(j, "body", "kernel_image_path", true, &kernel, err);
	if (r >= 0)
		r = json_get_string(j, "body", "boot_args", false, &args, err);
	if (r >= 0)
		r = json_get_string(j, "body", "initrd_path", false, &initrd, err);
	if (r >= 0)
		r = check_file(kernel, O_RDONLY, false, "body.kernel_image_path", err);
	if (r >= 0 && initrd)
		r = check_file(initrd, O_RDONLY, false, "body.initrd_path", err);
	if (r < 0)
		return r;
	/* A PUT replaces the boot source: what it leaves out is unset. */
	free(cfg->cmdline);
	free(cfg->initrd);
	cfg->cmdline = cfg->initrd = NULL;
	return vm_config_set_boot_source(cfg, kernel, args, initrd, "body", err);
}

/* PUT (all fields, the rest to defaults) or PATCH (only those given). */
int pb_machine_config(struct vm_config *cfg, json_t *j, bool patch, struct err **err)
{
	uint32_t cpus = 0;
	uint64_t mib = 0;
	const char *huge = "None", *tmpl = "None";
	struct vm_machine_cfg m = {
	    .has_cpus = json_object_get(j, "vcpu_count") != NULL,
	    .has_memory = json_object_get(j, "mem_size_mib") != NULL,
	    .has_smt = json_object_get(j, "smt") != NULL,
	    .has_track_dirty_pages = !patch || json_object_get(j, "track_dirty_pages"),
	    .has_hugepages = !patch || json_object_get(j, "huge_pages"),
	};
	int r;

	r = json_get_u32(j, "body", "vcpu_count", &cpus, err);
	if (r >= 0)
		r = json_get_u64(j, "body", "mem_size_mib", &mib, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "smt", &m.smt, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "track_dirty_pages", &m.track_dirty_pages, err);
	if (r >= 0)
		r = json_get_string(j, "body", "huge_pages", false, &huge, err);
	if (r >= 0)
		r = json_get_string(j, "body", "cpu_template", false, &tmpl, err);
	if (r < 0)
		return r;
	if (!patch && (!m.has_cpus || !m.has_memory))
		return err_make(err, EINVAL, "body: vcpu_count and mem_size_mib are required");
	if (!streq(tmpl, "None"))
		return err_make(err, EINVAL,
				"body.cpu_template: only \"None\" (isola has no CPU templates)");
	if (!streq(huge, "None") && !streq(huge, "2M"))
		return err_make(err, EINVAL, "body.huge_pages: expected \"None\" or \"2M\"");
	m.cpus = cpus;
	m.memory = mib > (VM_MAX_MEMORY >> 20) ? UINT64_MAX : mib << 20;
	m.hugepages = streq(huge, "2M");
	return vm_config_set_machine(cfg, &m, &vm_machine_api, err);
}

static int dev_id(char dst[VM_MAX_DEV_ID + 1], const char *path_id, json_t *j, const char *key,
		  struct err **err)
{
	const char *id = NULL;
	int r = json_get_string(j, "body", key, true, &id, err);

	if (r < 0)
		return r;
	if (!streq(id, path_id))
		return err_make(err, EINVAL, "body.%s `%s` differs from the path's `%s`", key, id,
				path_id);
	if (!*id || strlen(id) > VM_MAX_DEV_ID)
		return err_make(err, EINVAL, "body.%s: 1..%d bytes", key, VM_MAX_DEV_ID);
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			return err_make(err, EINVAL, "body.%s: only letters, digits, _ and -", key);
	strcpy(dst, id);
	return 0;
}

int pb_drive(struct vm_config *cfg, const char *id, json_t *j, struct err **err)
{
	struct vm_disk_cfg d = {0};
	const char *path = NULL, *cache = "Unsafe", *engine = "Sync", *partuuid = NULL;
	bool root = false;
	int r;

	r = dev_id(d.id, id, j, "drive_id", err);
	if (r >= 0 && json_object_get(j, "socket"))
		r = err_make(err, EINVAL,
			     "body.socket: vhost-user-block is not supported by isola");
	if (r >= 0)
		r = json_get_string(j, "body", "path_on_host", true, &path, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "is_root_device", &root, err);
	if (r >= 0 && !json_object_get(j, "is_root_device"))
		r = err_make(err, EINVAL, "body.is_root_device: required");
	if (r >= 0)
		r = json_get_bool(j, "body", "is_read_only", &d.readonly, err);
	if (r >= 0)
		r = json_get_string(j, "body", "partuuid", false, &partuuid, err);
	if (r >= 0)
		r = json_get_string(j, "body", "cache_type", false, &cache, err);
	if (r >= 0)
		r = json_get_string(j, "body", "io_engine", false, &engine, err);
	if (r >= 0)
		r = vm_config_rate_limiter(j, "body", &d, err);
	if (r < 0)
		return r;
	if (!streq(cache, "Unsafe"))
		return err_make(err, EINVAL,
				"body.cache_type: only \"Unsafe\" is supported by isola");
	if (!streq(engine, "Sync"))
		return err_make(err, EINVAL, "body.io_engine: only \"Sync\" is supported by isola");
	r = check_file(path, d.readonly ? O_RDONLY : O_RDWR, true, "body.path_on_host", err);
	if (r < 0)
		return r;
	d.path = (char *)path;
	return vm_config_add_disk(cfg, &d, "body", err);
}

int pb_net(struct vm_config *cfg, const char *id, json_t *j, struct err **err)
{
	struct vm_net_cfg n = {0};
	const char *tap = NULL, *mac = NULL;
	int r;

	r = dev_id(n.id, id, j, "iface_id", err);
	if (r >= 0)
		r = json_get_string(j, "body", "host_dev_name", true, &tap, err);
	if (r >= 0)
		r = json_get_string(j, "body", "guest_mac", false, &mac, err);
	if (r >= 0)
		r = vm_config_net_rate_limiters(j, "body", &n, err);
	if (r < 0)
		return r;
	if (json_object_get(j, "mtu"))
		return err_make(err, EINVAL, "body.mtu: not supported by isola");
	if (mac && vm_config_parse_mac(mac, n.mac) < 0)
		return err_make(err, EINVAL, "body.guest_mac: expected xx:xx:xx:xx:xx:xx");
	n.has_mac = mac;
	n.tap = (char *)tap;
	return vm_config_add_net(cfg, &n, "body.host_dev_name", err);
}

int pb_vsock(struct vm_config *cfg, json_t *j, struct err **err)
{
	const char *uds = NULL, *vid = NULL;
	uint64_t cid = 0;
	struct stat st;
	int r;

	r = json_get_u64(j, "body", "guest_cid", &cid, err);
	if (r >= 0)
		r = json_get_string(j, "body", "uds_path", true, &uds, err);
	if (r >= 0)
		r = json_get_string(j, "body", "vsock_id", false, &vid, err);
	if (r >= 0 && !json_object_get(j, "guest_cid"))
		r = err_make(err, EINVAL, "body.guest_cid: required");
	if (r < 0)
		return r;
	if (lstat(uds, &st) == 0)
		return err_make(err, EEXIST, "body.uds_path `%s`: already exists", uds);
	return vm_config_set_vsock(cfg, cid, uds, "body.guest_cid/uds_path", err);
}

int pb_balloon(struct vm_config *cfg, json_t *j, struct err **err)
{
	uint32_t amount = 0, interval = 0;
	bool deflate = false, hint = false, report = false;
	int r = json_get_u32(j, "body", "amount_mib", &amount, err);

	if (r >= 0)
		r = json_get_bool(j, "body", "deflate_on_oom", &deflate, err);
	if (r >= 0)
		r = json_get_u32(j, "body", "stats_polling_interval_s", &interval, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "free_page_hinting", &hint, err);
	if (r >= 0)
		r = json_get_bool(j, "body", "free_page_reporting", &report, err);
	if (r >= 0 && (!json_object_get(j, "amount_mib") || !json_object_get(j, "deflate_on_oom")))
		r = err_make(err, EINVAL, "body: amount_mib and deflate_on_oom are required");
	if (r < 0)
		return r;
	if (hint || report)
		return err_make(err, EINVAL, "body.%s: not supported by isola",
				hint ? "free_page_hinting" : "free_page_reporting");
	if (amount > VM_MAX_MEMORY >> 20 || interval > 3600)
		return err_make(err, EINVAL, "body.%s: too large",
				interval > 3600 ? "stats_polling_interval_s" : "amount_mib");
	cfg->balloon = true;
	cfg->balloon_mib = amount;
	cfg->balloon_stats_s = interval;
	cfg->balloon_deflate_on_oom = deflate;
	return 0;
}

int pb_entropy(struct vm_config *cfg, json_t *j, struct err **err)
{
	if (json_object_get(j, "rate_limiter"))
		return err_make(err, EINVAL,
				"body.rate_limiter: not supported for the entropy device");
	cfg->rng = true;
	return 0;
}
