/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Shared by cgroup.c (layout, paths, lifecycle) and the per-layout drivers
 * cgroup-v1.c and cgroup-v2.c.  Hybrid hosts use the v1 driver for every
 * controller and also place the container in the cgroup2 ("unified") tree.
 */
#include <stdbool.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"

#define CG_MAX_HIERARCHIES    32
#define CG_MAX_DEVICE_RULES   512
#define CG_MAX_HUGEPAGE_SIZES 8
#define CG_MAX_BLKIO_DEVICES  64
#define CG_MAX_NET_PRIOS      64
#define CG_MAX_RDMA	      16

enum cg_layout { CG_LAYOUT_V1, CG_LAYOUT_V2, CG_LAYOUT_HYBRID };

struct cg_hier {
	char *name;   /* controllers ("memory", "cpu,cpuacct") or "unified" */
	char *path;   /* the container's directory */
	char *mount;  /* where the hierarchy is mounted */
	bool created; /* we made it, so destroy removes it */
};

struct cg_device_rule {
	bool allow;
	char type;	      /* 'a', 'b' or 'c' */
	int64_t major, minor; /* -1 = any */
	char access[4];
};

/* A blockIO per-device entry: weight (and leafWeight) or a throttle rate. */
struct cg_blkio_dev {
	int64_t major, minor;
	bool has_value, has_leaf;
	uint64_t value, leaf;
};

enum cg_throttle { CG_READ_BPS, CG_WRITE_BPS, CG_READ_IOPS, CG_WRITE_IOPS, CG_THROTTLE_N };

/* linux.resources, parsed; has_* says whether a field was given. */
struct cg_resources {
	bool has_mem_limit, has_mem_reservation, has_mem_swap, has_swappiness, has_oom_disable;
	int64_t mem_limit, mem_reservation, mem_swap;
	uint64_t swappiness;
	bool oom_disable;
	bool has_shares, has_quota, has_period, has_rt_runtime, has_rt_period;
	uint64_t shares, period, rt_period;
	int64_t quota, rt_runtime;
	const char *cpus, *mems;
	bool has_pids_limit;
	int64_t pids_limit;
	bool has_blkio_weight, has_blkio_leaf_weight;
	uint64_t blkio_weight, blkio_leaf_weight;
	size_t n_weight_devs, n_throttle[CG_THROTTLE_N];
	struct cg_blkio_dev weight_devs[CG_MAX_BLKIO_DEVICES];
	struct cg_blkio_dev throttle[CG_THROTTLE_N][CG_MAX_BLKIO_DEVICES];
	bool has_idle, has_use_hierarchy, use_hierarchy, has_burst, check_before_update;
	uint64_t burst;
	int64_t idle;
	bool has_classid;
	uint32_t classid;
	size_t n_prios;
	struct cg_net_prio {
		char name[16]; /* IFNAMSIZ */
		uint32_t prio;
	} prios[CG_MAX_NET_PRIOS];
	size_t n_rdma;
	struct cg_rdma {
		char name[64];
		bool has_handles, has_objects;
		uint32_t handles, objects;
	} rdma[CG_MAX_RDMA];
	bool has_devices;
	size_t n_devices;
	struct cg_device_rule *devices;
	size_t n_hugepages;
	struct cg_hugepage {
		char size[16]; /* "2MB" */
		uint64_t limit;
	} hugepages[CG_MAX_HUGEPAGE_SIZES];
	json_t *unified; /* borrowed */
};

struct cg_ops {
	const char *name;
	/* After mkdir of one level of h: v1 fills cpuset, v2 enables controllers. */
	int (*init_dir)(struct ct_cgroup *cg, struct cg_hier *h, const char *dir, struct err **err);
	int (*apply)(struct ct_cgroup *cg, const struct cg_resources *r, struct err **err);
	int (*freeze)(struct ct_cgroup *cg, bool frozen, struct err **err);
	int (*is_frozen)(struct ct_cgroup *cg, bool *ret, struct err **err);
};

struct ct_cgroup {
	enum cg_layout layout;
	bool default_parent; /* the path is /isola/<id>: destroy also removes an empty /isola */
	const struct cg_ops *ops;
	size_t n;
	struct cg_hier h[CG_MAX_HIERARCHIES];
};

extern const struct cg_ops cg_v1_ops, cg_v2_ops;

/* The hierarchy holding `controller` (v1), the unified one, or NULL. */
struct cg_hier *cg_find(struct ct_cgroup *cg, const char *controller);
/* Write/read a control file in dir.  A missing file is -ENOENT with a message
 * saying the host does not support it. */
int cg_write(const char *dir, const char *file, const char *value, struct err **err);
int cg_writef(const char *dir, const char *file, struct err **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int cg_read(const char *dir, const char *file, char **ret, struct err **err);
bool cg_has_file(const char *dir, const char *file);
/*
 * The lines of a control file's text, one per call: *line and *ret_len get
 * the next one (without its newline) and *p moves past it; false at the end.
 * The last line may lack its newline; "" has no lines.
 *	for (const char *p = text, *line; cg_next_line(&p, &line, &len);)
 */
bool cg_next_line(const char **p, const char **line, size_t *ret_len);
/*
 * In "KEY VALUE" text (memory.events, memory.oom_control, io.max): the first
 * line whose first word is key (klen bytes: "rbps" is not "rbps_x").  Its
 * value is what follows the space, to the end of the line ("" after a bare
 * key); ret_value and ret_len may be NULL.
 */
bool cg_key_value(const char *text, const char *key, size_t klen, const char **ret_value,
		  size_t *ret_len);
/*
 * Move the kernel threads listed in h's `list` file to the hierarchy's root
 * (`root_file` there), best effort.  A kernel thread is never frozen, so one
 * in a cgroup keeps the freezer from finishing: Linux 6.1's KVM attaches its
 * per-VM worker (kvm-nx-lpage-recovery) to the cgroup of the VMM that made
 * the VM.  It runs on the VM's behalf but no guest code, so it may run on
 * while the VM container is paused.
 */
void cg_evict_kthreads(struct cg_hier *h, const char *list, const char *root_file);
/* For memory.checkBeforeUpdate: fail if the number in dir/file exceeds limit (> 0). */
int cg_check_usage(const char *dir, const char *file, int64_t limit, struct err **err);
/* Parse linux.resources and write it with cg's driver (create and update). */
int cg_set_resources(struct ct_cgroup *cg, json_t *resources, struct err **err);
/* Write linux.resources.unified's files in a cgroup2 directory, checking each key and value. */
int cg_write_unified(const char *dir, json_t *unified, struct err **err);

/* Write hugetlb.<size>.max in a cgroup2 directory, enabling the controller
 * from mount_dir down first (shared by v2 and the hybrid unified tree). */
int cg_v2_hugetlb(const char *mount_dir, const char *dir, const struct cg_resources *r,
		  struct err **err);

/* The devices every container may use (null, zero, full, tty, random, ptys...),
 * allowed after linux.resources.devices as runc does. */
extern const struct cg_device_rule cg_default_devices[];
extern const size_t cg_n_default_devices;

struct bpf_insn;
/* The BPF_PROG_TYPE_CGROUP_DEVICE program for rules (last match wins). */
int cg_bpf_devices_prog(const struct cg_device_rule *rules, size_t n_rules, struct bpf_insn **ret,
			size_t *ret_n, struct err **err);
/* Load it and attach it to the cgroup2 directory dir (BPF_F_ALLOW_MULTI). */
int cg_bpf_devices_attach(const char *dir, const struct cg_device_rule *rules, size_t n_rules,
			  struct err **err);

/* An optional unsigned field: *has says whether it was there (null = absent); < 0 fails. */
int cg_opt_u64(json_t *o, const char *where, const char *key, bool *has, uint64_t *v,
	       struct err **err);
/* blockIO, network and rdma (cgroup-resources-io.c). */
int cg_parse_block_io(json_t *b, struct cg_resources *r, struct err **err);
int cg_parse_network(json_t *n, struct cg_resources *r, struct err **err);
int cg_parse_rdma(json_t *o, struct cg_resources *r, struct err **err);
/* The kernel's throttle file names: v1 blkio.throttle.<x>_device, v2 io.max keys. */
extern const char *const cg_throttle_v1[CG_THROTTLE_N], *const cg_throttle_v2[CG_THROTTLE_N];
/* "<name> hca_handle=N hca_object=M" ("max" where not given), for rdma.max. */
void cg_rdma_line(const struct cg_rdma *e, char *buf, size_t len);

int cg_resources_parse(json_t *res, struct cg_resources *ret, struct err **err);
void cg_resources_clear(struct cg_resources *r);

/* The code of the recorded error; callers may pass err == NULL. */
static inline int cg_err(struct err **err)
{
	return err && *err ? err_code(*err) : -EINVAL;
}

int cg_v1_stats(struct ct_cgroup *cg, json_t **ret, struct err **err);
int cg_v2_stats(struct ct_cgroup *cg, json_t **ret, struct err **err);
