/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The devices a snapshot was taken with (section SNAP_DEVCFG): the
 * `isola vm run` options that recreate them, as "option\0value\0" pairs,
 * read back through vmm_config_set() so the checks are the same as for a
 * command line.  Disk paths are saved absolute; a restore may remap them
 * and the TAP names (--disk-remap, --net-remap).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "snapshot.h"

#define DEVCFG_MAX_VALUE 4200

static void put_pair(char *buf, size_t cap, size_t *len, const char *opt, const char *val)
{
	size_t a = strlen(opt) + 1, b = strlen(val) + 1;

	if (*len + a + b > cap) {
		*len = cap + 1; /* too long: the caller reports it */
		return;
	}
	memcpy(buf + *len, opt, a);
	memcpy(buf + *len + a, val, b);
	*len += a + b;
}

static void put_disks(const struct vm_config *cfg, char *buf, size_t cap, size_t *len)
{
	for (unsigned i = 0; i < cfg->n_disks; i++) {
		const struct vm_disk_cfg *d = &cfg->disks[i];
		_cleanup_free_ char *abs = realpath(d->path, NULL);
		char v[DEVCFG_MAX_VALUE];

		snprintf(v, sizeof(v), "%s%s%s%s", abs ? abs : d->path, d->readonly ? ",ro" : "",
			 d->serial ? ",serial=" : "", d->serial ? d->serial : "");
		put_pair(buf, cap, len, "disk", v);
	}
}

int devcfg_save(const struct vm_config *cfg, struct snap_writer *w, struct err **err)
{
	size_t cap = SNAP_MAX_SECTION, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	char v[DEVCFG_MAX_VALUE];

	if (!buf)
		return err_make(err, ENOMEM, "device configuration");
	put_disks(cfg, buf, cap, &len);
	for (unsigned i = 0; i < cfg->n_nets; i++) {
		const uint8_t *m = cfg->nets[i].mac;

		snprintf(v, sizeof(v), "tap=%s", cfg->nets[i].tap);
		if (cfg->nets[i].has_mac)
			snprintf(v + strlen(v), sizeof(v) - strlen(v),
				 ",mac=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
				 m[5]);
		if (cfg->nets[i].bridge) /* the TAP this side attaches joins it too */
			snprintf(v + strlen(v), sizeof(v) - strlen(v), ",bridge=%s",
				 cfg->nets[i].bridge);
		if (cfg->nets[i].no_offload)
			snprintf(v + strlen(v), sizeof(v) - strlen(v), ",offload=off");
		put_pair(buf, cap, &len, "net", v);
	}
	if (cfg->has_vsock) {
		snprintf(v, sizeof(v), "cid=%u,uds=%s", cfg->vsock_cid, cfg->vsock_uds);
		put_pair(buf, cap, &len, "vsock", v);
	}
	if (cfg->rng)
		put_pair(buf, cap, &len, "rng", "");
	if (cfg->balloon)
		put_pair(buf, cap, &len, "balloon", "");
	put_pair(buf, cap, &len, "irqchip", cfg->split_irqchip ? "split" : "kernel");
	if (cfg->virtio_pci) /* absent: mmio, as before the PCI transport could be saved */
		put_pair(buf, cap, &len, "virtio-transport", "pci");
	if (len > cap)
		return err_make(err, E2BIG, "device configuration too large");
	snap_put(w, SNAP_DEVCFG, 0, buf, len);
	return 0;
}

int vmm_remap_add(struct vmm_remap *tab, unsigned *n, unsigned max, const char *opt,
		  const char *arg, struct err **err)
{
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		return err_make(err, 0, "--%s `%s`: expected OLD=NEW", opt, arg);
	if (*n >= max)
		return err_make(err, E2BIG, "--%s: at most %u", opt, max);
	tab[*n].from = arg; /* compared up to the '=' */
	tab[*n].to = eq + 1;
	(*n)++;
	return 0;
}

/* The NEW of a remap whose OLD is `from` (length n), marking it used; or NULL. */
static const char *remapped(const struct vmm_remap *tab, unsigned nr, bool *used, const char *from,
			    size_t n)
{
	for (unsigned i = 0; i < nr; i++) {
		if (strlen(tab[i].from) - strlen(tab[i].to) - 1 == n &&
		    !strncmp(tab[i].from, from, n)) {
			used[i] = true;
			return tab[i].to;
		}
	}
	return NULL;
}

static const char *tap_name(const char *val)
{
	return strncmp(val, "tap=", 4) ? val : val + 4;
}

/* The socket path of a vsock value "cid=N,uds=PATH" (the rest of it), or "". */
static const char *uds_name(const char *val)
{
	const char *u = strstr(val, "uds=");

	return u ? u + 4 : val + strlen(val);
}

/* "OLDPATH[,opts]", "tap=OLD[,opts]" or "cid=N,uds=OLD" with the remap applied. */
static int apply_remap(const char *opt, const char *val, const struct vmm_restore_args *a,
		       bool *used, char *out, size_t cap)
{
	bool is_disk = !strcmp(opt, "disk"), is_net = !strcmp(opt, "net");
	bool is_vsock = !strcmp(opt, "vsock");
	const char *name = is_net ? tap_name(val) : is_vsock ? uds_name(val) : val;
	size_t n = is_vsock ? strlen(name) : strcspn(name, ",");
	const char *to = NULL;

	if (is_disk)
		to = remapped(a->disks, a->n_disks, used, name, n);
	else if (is_net)
		to = remapped(a->taps, a->n_taps, used + VM_MAX_DISKS, name, n);
	else if (is_vsock)
		to = remapped(a->vsock_uds, a->n_vsock_uds, used + VM_MAX_DISKS + VM_MAX_NETS, name,
			      n);
	if (!to && (is_disk || is_net || is_vsock) && a->from_stream)
		return -EPERM;
	if (!to)
		return snprintf(out, cap, "%s", val) < (int)cap ? 0 : -E2BIG;
	return snprintf(out, cap, "%.*s%s%s", (int)(name - val), val, to, name + n) < (int)cap
		   ? 0
		   : -E2BIG;
}

static int set_one(struct vm_config *cfg, const char *opt, const char *val, struct err **err)
{
	if (!strcmp(opt, "rng") || !strcmp(opt, "balloon")) {
		if (*val)
			return err_make(err, 0, "%s: unexpected value `%s`", opt, val);
		if (!strcmp(opt, "rng"))
			cfg->rng = true;
		else
			cfg->balloon = true;
		return 0;
	}
	if (strcmp(opt, "disk") && strcmp(opt, "net") && strcmp(opt, "vsock") &&
	    strcmp(opt, "irqchip") && strcmp(opt, "virtio-transport"))
		return err_make(err, 0, "unknown device option `%s`", opt);
	return vmm_config_set(cfg, opt, val, err);
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

static int check_unused(const struct vmm_remap *tab, unsigned n, const bool *used, const char *what,
			struct err **err)
{
	for (unsigned i = 0; i < n; i++)
		if (!used[i])
			return err_make(err, 0, "--%s `%s`: the snapshot has no such %s", what,
					tab[i].from,
					what[0] == 'd'	 ? "disk"
					: what[0] == 'n' ? "TAP"
							 : "vsock socket");
	return 0;
}

int devcfg_restore(struct vm_config *cfg, const struct snap_reader *r,
		   const struct vmm_restore_args *a, struct err **err)
{
	const struct snap_section *s = snap_find(r, SNAP_DEVCFG, 0);
	bool used[VM_MAX_DISKS + VM_MAX_NETS + 1] = {0}; /* disks, TAPs, the vsock socket */
	char val[DEVCFG_MAX_VALUE];
	size_t off = 0;
	int ret = 0;

	if (!s)
		return err_make(err, 0, "device configuration: missing");
	while (ret >= 0 && off < s->len) {
		const char *opt = (const char *)s->data + off, *v;
		size_t a_len = strnlen(opt, s->len - off), b_len;

		if (a_len == s->len - off)
			return err_make(err, 0, "device configuration: unterminated");
		v = opt + a_len + 1;
		b_len = strnlen(v, s->len - off - a_len - 1);
		if (b_len == s->len - off - a_len - 1)
			return err_make(err, 0, "device configuration: unterminated");
		off += a_len + b_len + 2;
		ret = apply_remap(opt, v, a, used, val, sizeof(val));
		if (ret == -EPERM && !strcmp(opt, "vsock"))
			return err_make(err, EPERM,
					"the VM has a vsock device on `%s`: accept it with "
					"--vsock-remap OLD=NEW (NEW: this side's socket path)",
					uds_name(v));
		if (ret == -EPERM && !strcmp(opt, "net"))
			return err_make(
			    err, EPERM,
			    "the VM has a NIC on tap `%.*s`: accept it with --net-remap "
			    "OLDTAP=NEWTAP (this side's TAP)",
			    (int)strcspn(tap_name(v), ","), tap_name(v));
		if (ret == -EPERM)
			return err_make(err, EPERM,
					"the VM has disk `%.*s`: accept it with --disk-remap "
					"OLD=NEW (NEW may be OLD)",
					(int)strcspn(v, ","), v);
		if (ret < 0)
			return err_make(err, E2BIG, "device configuration: %s too long", opt);
		ret = set_one(cfg, opt, val, err);
	}
	if (ret >= 0)
		ret = check_unused(a->disks, a->n_disks, used, "disk-remap", err);
	if (ret >= 0)
		ret = check_unused(a->taps, a->n_taps, used + VM_MAX_DISKS, "net-remap", err);
	if (ret >= 0)
		ret = check_unused(a->vsock_uds, a->n_vsock_uds, used + VM_MAX_DISKS + VM_MAX_NETS,
				   "vsock-remap", err);
	if (ret >= 0)
		ret = check_disks(cfg, err);
	return ret;
}
