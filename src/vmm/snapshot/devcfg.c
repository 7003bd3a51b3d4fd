/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The devices a snapshot was taken with (section SNAP_DEVCFG), as typed
 * "field\0value\0" pairs: a device's key starts it and carries its name
 * ("disk" PATH, "net" TAP, "vsock" SOCKET), "disk.id", "disk.readonly",
 * "disk.serial", "disk.bw" and "disk.iops" (a rate limiter's bucket:
 * "SIZE,ONE_TIME_BURST,REFILL_MS"), "net.id",
 * "net.mac", "net.bridge", "net.offload", "vsock.cid", "fs.path" and
 * "fs.readonly" ("fs" TAG: a share no guest driver took yet, fs.c) describe
 * the last one started, and "rng", "balloon", "irqchip", "virtio-transport"
 * stand alone.
 * Values are raw bytes (a path may hold commas or '='); they are read back
 * into struct vm_disk_cfg / vm_net_cfg and go through the same typed setters
 * as the command line (vm_config_add_disk() ...), never through option
 * strings.  Disk and share paths are saved absolute; a restore may remap
 * them, the TAP names and the vsock socket (--disk-remap, --fs-remap,
 * --net-remap, --vsock-remap; the API's Firecracker fields network_overrides,
 * a TAP by the NIC's iface_id, and vsock_override).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "parse.h"
#include "snapshot.h"

struct devcfg_buf {
	char *buf;
	size_t cap, len; /* len > cap: too large */
};

static void put(struct devcfg_buf *b, const char *field, const char *val)
{
	size_t a = strlen(field) + 1, v = strlen(val) + 1;

	if (b->len + a + v > b->cap) {
		b->len = b->cap + 1; /* too long: the caller reports it */
		return;
	}
	memcpy(b->buf + b->len, field, a);
	memcpy(b->buf + b->len + a, val, v);
	b->len += a + v;
}

/* A rate limiter's bucket, when it limits. */
static void put_rate(struct devcfg_buf *b, const char *field, const struct vm_rate_cfg *rc)
{
	char v[3 * 21];

	if (!rc->size)
		return;
	snprintf(v, sizeof(v), "%" PRIu64 ",%" PRIu64 ",%" PRIu64, rc->size, rc->one_time_burst,
		 rc->refill_ms);
	put(b, field, v);
}

static void put_disks(const struct vm_config *cfg, struct devcfg_buf *b)
{
	for (unsigned i = 0; i < cfg->n_disks; i++) {
		const struct vm_disk_cfg *d = &cfg->disks[i];
		_cleanup_free_ char *abs = realpath(d->path, NULL);

		put(b, "disk", abs ? abs : d->path);
		if (d->id[0])
			put(b, "disk.id", d->id);
		if (d->readonly)
			put(b, "disk.readonly", "");
		if (d->serial)
			put(b, "disk.serial", d->serial);
		put_rate(b, "disk.bw", &d->bw);
		put_rate(b, "disk.iops", &d->iops);
	}
}

static void put_nets(const struct vm_config *cfg, struct devcfg_buf *b)
{
	char mac[18];

	for (unsigned i = 0; i < cfg->n_nets; i++) {
		const struct vm_net_cfg *n = &cfg->nets[i];
		const uint8_t *m = n->mac;

		put(b, "net", n->tap);
		if (n->id[0])
			put(b, "net.id", n->id);
		if (n->has_mac) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
				 m[2], m[3], m[4], m[5]);
			put(b, "net.mac", mac);
		}
		if (n->bridge) /* the TAP this side attaches joins it too */
			put(b, "net.bridge", n->bridge);
		if (n->no_offload)
			put(b, "net.offload", "off");
		put_rate(b, "net.rx_bw", &n->rx_bw);
		put_rate(b, "net.rx_ops", &n->rx_ops);
		put_rate(b, "net.tx_bw", &n->tx_bw);
		put_rate(b, "net.tx_ops", &n->tx_ops);
	}
}

static void put_fs(const struct vm_config *cfg, struct devcfg_buf *b)
{
	for (unsigned i = 0; i < cfg->n_fs; i++) {
		const struct vm_fs_cfg *f = &cfg->fs[i];
		_cleanup_free_ char *abs = realpath(f->path, NULL);

		put(b, "fs", f->tag);
		put(b, "fs.path", abs ? abs : f->path);
		if (f->readonly)
			put(b, "fs.readonly", "");
	}
}

int devcfg_save(const struct vm_config *cfg, struct snap_writer *w, struct err **err)
{
	_cleanup_free_ char *buf = malloc(SNAP_MAX_SECTION);
	struct devcfg_buf b = {buf, SNAP_MAX_SECTION, 0};
	char cid[16];

	if (!buf)
		return err_make(err, ENOMEM, "device configuration");
	put_disks(cfg, &b);
	put_nets(cfg, &b);
	put_fs(cfg, &b);
	if (cfg->has_vsock) {
		snprintf(cid, sizeof(cid), "%" PRIu32, cfg->vsock_cid);
		put(&b, "vsock", cfg->vsock_uds);
		put(&b, "vsock.cid", cid);
	}
	if (cfg->rng)
		put(&b, "rng", "");
	if (cfg->balloon)
		put(&b, "balloon", "");
	put(&b, "irqchip", cfg->split_irqchip ? "split" : "kernel");
	if (cfg->virtio_pci) /* absent: mmio */
		put(&b, "virtio-transport", "pci");
	if (b.len > b.cap)
		return err_make(err, E2BIG, "device configuration too large");
	snap_put(w, SNAP_DEVCFG, 0, buf, b.len);
	return 0;
}

int vm_devcfg_save(struct vm *vm, struct snap_writer *w, struct err **err)
{
	int r;

	pthread_mutex_lock(&vm->cfg_lock);
	r = devcfg_save(vm->cfg, w, err);
	pthread_mutex_unlock(&vm->cfg_lock);
	return r;
}

/* Append OLD (from_len bytes of from) -> to; an OLD given twice is refused. */
static int remap_put(struct vmm_remap *tab, unsigned *n, unsigned max, const char *opt,
		     const char *from, size_t from_len, const char *to, struct err **err)
{
	for (unsigned i = 0; i < *n; i++)
		if (tab[i].from_len == from_len && !memcmp(tab[i].from, from, from_len))
			return err_make(err, 0, "%s: `%.*s` given twice", opt, (int)from_len, from);
	if (*n >= max)
		return err_make(err, E2BIG, "%s: at most %u", opt, max);
	tab[*n] = (struct vmm_remap){.from = from, .from_len = from_len, .to = to};
	(*n)++;
	return 0;
}

int vmm_remap_add(struct vmm_remap *tab, unsigned *n, unsigned max, const char *opt,
		  const char *arg, struct err **err)
{
	const char *eq = strchr(arg, '=');
	char name[32];

	if (!eq || eq == arg || !eq[1])
		return err_make(err, 0, "--%s `%s`: expected OLD=NEW", opt, arg);
	snprintf(name, sizeof(name), "--%s", opt);
	return remap_put(tab, n, max, name, arg, (size_t)(eq - arg), eq + 1, err);
}

int vmm_remap_set(struct vmm_remap *tab, unsigned *n, unsigned max, const char *opt,
		  const char *from, const char *to, struct err **err)
{
	if (!*from || !*to)
		return err_make(err, 0, "%s: empty OLD or NEW", opt);
	return remap_put(tab, n, max, opt, from, strlen(from), to, err);
}

/* The NEW of a remap whose OLD is `from`, marking it used; or NULL. */
static const char *remapped(const struct vmm_remap *tab, unsigned nr, bool *used, const char *from)
{
	size_t n = strlen(from);

	for (unsigned i = 0; i < nr; i++) {
		if (tab[i].from_len == n && !memcmp(tab[i].from, from, n)) {
			used[i] = true;
			return tab[i].to;
		}
	}
	return NULL;
}

/* What the section describes, before the remaps and the setters. */
struct devcfg {
	struct vm_disk_cfg disks[VM_MAX_DISKS];
	struct vm_net_cfg nets[VM_MAX_NETS];
	struct vm_fs_cfg fs[VM_MAX_FS];
	char fs_path[VM_MAX_FS][PATH_MAX]; /* a remap's DIR without its ",ro" */
	unsigned n_disks, n_nets, n_fs;
	const char *vsock_uds; /* NULL: no vsock */
	uint64_t vsock_cid;
	bool rng, balloon;
	enum vm_irqchip irqchip;
	enum vm_transport transport;
};

/* A device id as the API takes it: 1..VM_MAX_DEV_ID bytes. */
static int dev_id(const char *v, char dst[VM_MAX_DEV_ID + 1])
{
	if (!*v || strlen(v) > VM_MAX_DEV_ID)
		return -EINVAL;
	snprintf(dst, VM_MAX_DEV_ID + 1, "%s", v);
	return 0;
}

/*
 * "SIZE,ONE_TIME_BURST,REFILL_MS" within the bounds the command line and the
 * API hold a bucket to: a size of 1..VM_MAX_RATE_SIZE, a burst up to that, a
 * refill of 1..VM_MAX_RATE_REFILL ms.
 */
static int rate_bucket(const char *v, struct vm_rate_cfg *rc)
{
	uint64_t n[3];
	char buf[3 * 21];
	const char *w = buf;

	if (strlen(v) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, v);
	for (int i = 0; i < 3; i++) {
		char *comma = strchr(w, ',');

		if ((i < 2) != (comma != NULL))
			return -EINVAL;
		if (comma)
			*comma = '\0';
		if (parse_u64(w, &n[i]) < 0)
			return -EINVAL;
		if (comma) /* not NULL + 1 after the last field: undefined */
			w = comma + 1;
	}
	if (!n[0] || n[0] > VM_MAX_RATE_SIZE || n[1] > VM_MAX_RATE_SIZE || !n[2] ||
	    n[2] > VM_MAX_RATE_REFILL)
		return -EINVAL;
	*rc = (struct vm_rate_cfg){.size = n[0], .one_time_burst = n[1], .refill_ms = n[2]};
	return 0;
}

/* A device's attribute: its device must have been started by its key. */
static int set_attr(struct devcfg *d, const char *f, const char *v, struct err **err)
{
	struct vm_disk_cfg *disk = d->n_disks ? &d->disks[d->n_disks - 1] : NULL;
	struct vm_net_cfg *net = d->n_nets ? &d->nets[d->n_nets - 1] : NULL;
	struct vm_fs_cfg *fs = d->n_fs ? &d->fs[d->n_fs - 1] : NULL;
	int r = -EINVAL;

	if (!strncmp(f, "disk.", 5)) {
		if (!disk)
			return err_make(err, 0, "`%s` before any disk", f);
		if (!strcmp(f + 5, "readonly"))
			disk->readonly = true, r = 0;
		else if (!strcmp(f + 5, "serial"))
			disk->serial = (char *)v, r = 0;
		else if (!strcmp(f + 5, "id"))
			r = dev_id(v, disk->id);
		else if (!strcmp(f + 5, "bw"))
			r = rate_bucket(v, &disk->bw);
		else if (!strcmp(f + 5, "iops"))
			r = rate_bucket(v, &disk->iops);
	} else if (!strncmp(f, "net.", 4)) {
		if (!net)
			return err_make(err, 0, "`%s` before any net", f);
		if (!strcmp(f + 4, "id"))
			r = dev_id(v, net->id);
		else if (!strcmp(f + 4, "mac") && (r = vm_config_parse_mac(v, net->mac)) == 0)
			net->has_mac = true;
		else if (!strcmp(f + 4, "bridge"))
			net->bridge = (char *)v, r = 0;
		else if (!strcmp(f + 4, "offload") && !strcmp(v, "off"))
			net->no_offload = true, r = 0;
		else if (!strcmp(f + 4, "rx_bw"))
			r = rate_bucket(v, &net->rx_bw);
		else if (!strcmp(f + 4, "rx_ops"))
			r = rate_bucket(v, &net->rx_ops);
		else if (!strcmp(f + 4, "tx_bw"))
			r = rate_bucket(v, &net->tx_bw);
		else if (!strcmp(f + 4, "tx_ops"))
			r = rate_bucket(v, &net->tx_ops);
	} else if (!strncmp(f, "fs.", 3)) {
		if (!fs)
			return err_make(err, 0, "`%s` before any fs", f);
		if (!strcmp(f + 3, "path") && *v)
			fs->path = (char *)v, r = 0;
		else if (!strcmp(f + 3, "readonly") && !*v)
			fs->readonly = true, r = 0;
	} else if (!strcmp(f, "vsock.cid") && d->vsock_uds) {
		r = parse_u64(v, &d->vsock_cid);
	}
	if (r == 0)
		return 0;
	return err_make(err, 0, "`%s`: unknown field or bad value `%.64s`", f, v);
}

static int set_field(struct devcfg *d, const char *f, const char *v, struct err **err)
{
	if (!strcmp(f, "disk") && d->n_disks < VM_MAX_DISKS)
		d->disks[d->n_disks++] = (struct vm_disk_cfg){.path = (char *)v};
	else if (!strcmp(f, "net") && d->n_nets < VM_MAX_NETS)
		d->nets[d->n_nets++] = (struct vm_net_cfg){.tap = (char *)v};
	else if (!strcmp(f, "fs") && d->n_fs < VM_MAX_FS && *v && strlen(v) <= VM_MAX_FS_TAG)
		snprintf(d->fs[d->n_fs++].tag, sizeof(d->fs[0].tag), "%s", v);
	else if (!strcmp(f, "vsock") && !d->vsock_uds)
		d->vsock_uds = v;
	else if ((!strcmp(f, "rng") || !strcmp(f, "balloon")) && *v)
		return err_make(err, 0, "%s: unexpected value `%.64s`", f, v);
	else if (!strcmp(f, "rng"))
		d->rng = true;
	else if (!strcmp(f, "balloon"))
		d->balloon = true;
	else if (!strcmp(f, "irqchip"))
		return vm_irqchip_parse(v, "irqchip", &d->irqchip, err);
	else if (!strcmp(f, "virtio-transport"))
		return vm_transport_parse(v, "virtio-transport", &d->transport, err);
	else if (strchr(f, '.'))
		return set_attr(d, f, v, err);
	else
		return err_make(err, 0, "unknown device field `%.64s` or bad value `%.64s`", f, v);
	return 0;
}

/* Split the section into its fields (pointers into it). */
static int parse(const struct snap_section *s, struct devcfg *d, struct err **err)
{
	size_t off = 0;
	int r = 0;

	while (r >= 0 && off < s->len) {
		const char *f = (const char *)s->data + off, *v;
		size_t a_len = strnlen(f, s->len - off), b_len;

		if (a_len == s->len - off)
			return err_make(err, 0, "device configuration: unterminated");
		v = f + a_len + 1;
		b_len = strnlen(v, s->len - off - a_len - 1);
		if (b_len == s->len - off - a_len - 1)
			return err_make(err, 0, "device configuration: unterminated");
		off += a_len + b_len + 2;
		r = set_field(d, f, v, err);
	}
	return r < 0 ? err_wrap(err, "device configuration") : 0;
}

/* Where each kind's remaps mark themselves used, in one array. */
#define USED_NETS  VM_MAX_DISKS
#define USED_VSOCK (USED_NETS + VM_MAX_NETS)
#define USED_FS	   (USED_VSOCK + 1)
#define USED_IDS   (USED_FS + VM_MAX_FS)
#define USED_ALL   (USED_IDS + VM_MAX_NETS)

/* DIR[,ro|,rw] into the share: the directory, and its mode when given. */
static int fs_remap(struct vm_fs_cfg *f, char buf[PATH_MAX], const char *to)
{
	size_t n = strlen(to);

	if (n >= 3 && (!strcmp(to + n - 3, ",ro") || !strcmp(to + n - 3, ",rw"))) {
		f->readonly = to[n - 1] == 'o';
		n -= 3;
	}
	if (!n || n >= PATH_MAX)
		return -EINVAL;
	memcpy(buf, to, n);
	buf[n] = '\0';
	f->path = buf;
	return 0;
}

/* Point every disk, TAP, share and the vsock socket at its remap; -EPERM for one not named. */
static int apply_remaps(struct devcfg *d, const struct vmm_restore_args *a, bool *used,
			struct err **err)
{
	const char *to;

	for (unsigned i = 0; i < d->n_disks; i++) {
		to = remapped(a->disks, a->n_disks, used, d->disks[i].path);
		if (!to && a->from_stream)
			return err_make(err, EPERM,
					"the VM has disk `%s`: accept it with --disk-remap "
					"OLD=NEW (NEW may be OLD)",
					d->disks[i].path);
		if (to)
			d->disks[i].path = (char *)to;
	}
	for (unsigned i = 0; i < d->n_nets; i++) {
		const char *by_id = d->nets[i].id[0] ? remapped(a->net_ids, a->n_net_ids,
								used + USED_IDS, d->nets[i].id)
						     : NULL;

		to = remapped(a->taps, a->n_taps, used + USED_NETS, d->nets[i].tap);
		if (by_id && to)
			return err_make(err, 0,
					"the NIC `%s` on tap `%s` is remapped twice: by its "
					"iface_id (network_overrides) and by its TAP (net_remap)",
					d->nets[i].id, d->nets[i].tap);
		to = by_id ? by_id : to;
		if (!to && a->from_stream)
			return err_make(err, EPERM,
					"the VM has a NIC on tap `%s`: accept it with --net-remap "
					"OLDTAP=NEWTAP (this side's TAP)",
					d->nets[i].tap);
		if (to)
			d->nets[i].tap = (char *)to;
	}
	for (unsigned i = 0; i < d->n_fs; i++) {
		to = remapped(a->fs, a->n_fs, used + USED_FS, d->fs[i].tag);
		if (!to && a->from_stream)
			return err_make(
			    err, EPERM,
			    "the VM shares `%s` (`%s` there): accept it with --fs-remap "
			    "TAG=DIR (this side's directory)",
			    d->fs[i].tag, d->fs[i].path ? d->fs[i].path : "?");
		if (to && fs_remap(&d->fs[i], d->fs_path[i], to) < 0)
			return err_make(err, ENAMETOOLONG, "--fs-remap `%s=%.64s`: bad directory",
					d->fs[i].tag, to);
	}
	if (a->vsock_override && (!d->vsock_uds || a->n_vsock_uds))
		return err_make(err, 0,
				!d->vsock_uds ? "vsock_override: the snapshot has no vsock device"
					      : "vsock_override and --vsock-remap: one of them");
	if (a->vsock_override) {
		d->vsock_uds = a->vsock_override;
	} else if (d->vsock_uds) {
		to = remapped(a->vsock_uds, a->n_vsock_uds, used + USED_VSOCK, d->vsock_uds);
		if (!to && a->from_stream)
			return err_make(err, EPERM,
					"the VM has a vsock device on `%s`: accept it with "
					"--vsock-remap OLD=NEW (NEW: this side's socket path)",
					d->vsock_uds);
		if (to)
			d->vsock_uds = to;
	}
	return 0;
}

/* The devices into cfg through the typed setters. */
static int apply(struct vm_config *cfg, const struct devcfg *d, struct err **err)
{
	char what[32];
	int r = 0;

	for (unsigned i = 0; r >= 0 && i < d->n_disks; i++) {
		snprintf(what, sizeof(what), "disk %u", i);
		r = vm_config_add_disk(cfg, &d->disks[i], what, err);
	}
	for (unsigned i = 0; r >= 0 && i < d->n_nets; i++) {
		snprintf(what, sizeof(what), "net %u", i);
		r = vm_config_add_net(cfg, &d->nets[i], what, err);
	}
	for (unsigned i = 0; r >= 0 && i < d->n_fs; i++) {
		snprintf(what, sizeof(what), "fs %u", i);
		r = d->fs[i].path ? vm_config_add_fs(cfg, &d->fs[i], what, err)
				  : err_make(err, 0, "%s `%s`: no path", what, d->fs[i].tag);
	}
	if (r >= 0 && d->vsock_uds)
		r = vm_config_set_vsock(cfg, d->vsock_cid, d->vsock_uds, "vsock", err);
	if (r >= 0)
		r = vm_config_set_irqchip(cfg, d->irqchip, "irqchip", err);
	if (r >= 0)
		r = vm_config_set_transport(cfg, d->transport, "virtio-transport", err);
	if (r < 0)
		return err_wrap(err, "device configuration");
	cfg->rng = d->rng;
	cfg->balloon = d->balloon;
	return 0;
}

/* A saved disk that is gone is the usual failure of a moved snapshot: say how to fix it. */
static int check_disks(const struct vm_config *cfg, struct err **err)
{
	struct stat st;

	for (unsigned i = 0; i < cfg->n_disks; i++)
		if (stat(cfg->disks[i].path, &st) < 0)
			return err_make(err, errno,
					"disk `%s` of the snapshot: use --disk-remap OLD=NEW "
					"(API: \"disk_remap\") to give its new path",
					cfg->disks[i].path);
	return 0;
}

/* A remap that matched nothing: "OPTION `OLD`: the snapshot has no such NOUN". */
static int check_unused(const struct vmm_remap *tab, unsigned n, const bool *used, const char *opt,
			const char *noun, struct err **err)
{
	for (unsigned i = 0; i < n; i++)
		if (!used[i])
			return err_make(err, 0, "%s `%.*s`: the snapshot has no such %s", opt,
					(int)tab[i].from_len, tab[i].from, noun);
	return 0;
}

int devcfg_restore(struct vm_config *cfg, const struct snap_reader *r,
		   const struct vmm_restore_args *a, struct err **err)
{
	const struct snap_section *s = snap_find(r, SNAP_DEVCFG, 0);
	bool used[USED_ALL] = {0};
	_cleanup_free_ struct devcfg *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return err_make(err, ENOMEM, "device configuration");
	if (!s)
		return err_make(err, 0, "device configuration: missing");
	ret = parse(s, d, err);
	if (ret >= 0)
		ret = apply_remaps(d, a, used, err);
	if (ret >= 0)
		ret = check_unused(a->disks, a->n_disks, used, "--disk-remap", "disk", err);
	if (ret >= 0)
		ret = check_unused(a->taps, a->n_taps, used + USED_NETS, "--net-remap", "TAP", err);
	if (ret >= 0)
		ret = check_unused(a->vsock_uds, a->n_vsock_uds, used + USED_VSOCK, "--vsock-remap",
				   "vsock socket", err);
	if (ret >= 0)
		ret = check_unused(a->fs, a->n_fs, used + USED_FS, "--fs-remap", "share", err);
	if (ret >= 0)
		ret = check_unused(a->net_ids, a->n_net_ids, used + USED_IDS, "network_overrides",
				   "iface_id", err);
	if (ret >= 0)
		ret = apply(cfg, d, err);
	if (ret >= 0)
		ret = check_disks(cfg, err);
	return ret;
}
