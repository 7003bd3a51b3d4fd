/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * struct vm_config from `isola vm run` options or a JSON file.  Both paths
 * go through the same setters so the caps and messages are the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "jsonutil.h"
#include "parse.h"
#include "vm-config.h"

void vmm_config_init(struct vm_config *cfg)
{
	*cfg = (struct vm_config){.cpus = 1,
				  .memory = 64ULL << 20,
				  .console = VM_CONSOLE_STDIO,
				  .api_listen_fd = -1,
				  .api_start_fd = -1};
}

void vmm_config_free(struct vm_config *cfg)
{
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->console_path);
	for (unsigned i = 0; i < cfg->n_disks; i++) {
		free(cfg->disks[i].path);
		free(cfg->disks[i].serial);
	}
	for (unsigned i = 0; i < cfg->n_nets; i++) {
		free(cfg->nets[i].tap);
		free(cfg->nets[i].bridge);
	}
	free(cfg->vsock_uds);
	vmm_config_init(cfg);
}

static int set_str(char **dst, const char *v, const char *opt, struct err **err)
{
	char *d = strdup(v);

	if (!d)
		return err_make(err, ENOMEM, "--%s", opt);
	free(*dst);
	*dst = d;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
	return 0;
}

/*
 * One rate-limit word of --disk: bw=, bw_burst=, bw_refill= (bytes, sizes
 * like 10M) and iops=, iops_burst=, iops_refill= (operations); refill is in
 * milliseconds and defaults to 1000, so bw= is bytes per second.  Returns
 * 1 when the word was one of them, 0 when not, -EINVAL for a bad value.
 */
static int set_rate_word(struct vm_disk_cfg *d, const char *tok)
{
	static const char *const names[] = {"bw", "iops"};
	uint64_t n;
	int r;

	for (unsigned i = 0; i < 2; i++) {
		struct vm_rate_cfg *rc = i ? &d->iops : &d->bw;
		size_t l = strlen(names[i]);
		const char *rest = tok + l;
		uint64_t *dst = NULL, max = VM_MAX_RATE_SIZE;

		if (strncmp(tok, names[i], l))
			continue;
		if (!strncmp(rest, "=", 1))
			dst = &rc->size;
		else if (!strncmp(rest, "_burst=", 7))
			dst = &rc->one_time_burst;
		else if (!strncmp(rest, "_refill=", 8))
			dst = &rc->refill_ms, max = VM_MAX_RATE_REFILL;
		else
			continue;
		rest = strchr(rest, '=') + 1;
		/* Byte counts take size suffixes; operations and milliseconds do not. */
		r = i == 0 && dst != &rc->refill_ms ? parse_size(rest, &n) : parse_u64(rest, &n);
		if (r < 0 || n > max || (dst != &rc->one_time_burst && n == 0))
			return -EINVAL;
		*dst = n;
		if (!rc->refill_ms)
			rc->refill_ms = 1000;
		return 1;
	}
	return 0;
}

/* "PATH[,ro][,serial=S][,bw=BYTES/S][,iops=N][,bw_burst=..,bw_refill=MS,...]" */
static int set_disk(struct vm_config *cfg, const char *v, struct err **err)
{
	_cleanup_free_ char *copy = strdup(v);
	struct vm_disk_cfg d = {0};
	char *save = NULL, *tok;

	if (!copy)
		return err_make(err, ENOMEM, "--disk");
	if (cfg->n_disks >= VM_MAX_DISKS)
		return err_make(err, 0, "--disk: at most %d disks", VM_MAX_DISKS);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!d.path)
			d.path = tok;
		else if (streq(tok, "ro"))
			d.readonly = true;
		else if (!strncmp(tok, "serial=", 7) && strlen(tok + 7) <= 20)
			d.serial = tok + 7;
		else if (set_rate_word(&d, tok) <= 0)
			return err_make(err, 0, "--disk `%s`: unknown or bad option `%s`", v, tok);
	}
	if ((d.bw.one_time_burst && !d.bw.size) || (d.iops.one_time_burst && !d.iops.size))
		return err_make(err, 0, "--disk `%s`: a burst needs bw= or iops= as well", v);
	if (!d.path || !*d.path)
		return err_make(err, 0, "--disk `%s`: no path", v);
	d.path = strdup(d.path);
	d.serial = d.serial ? strdup(d.serial) : NULL;
	cfg->disks[cfg->n_disks++] = d;
	return 0;
}

/* "tap=NAME[,mac=xx:xx:xx:xx:xx:xx][,bridge=BR]" */
static int set_net(struct vm_config *cfg, const char *v, struct err **err)
{
	_cleanup_free_ char *copy = strdup(v);
	struct vm_net_cfg n = {0};
	char *save = NULL, *tok, *tap = NULL, *bridge = NULL;

	if (!copy)
		return err_make(err, ENOMEM, "--net");
	if (cfg->n_nets >= VM_MAX_NETS)
		return err_make(err, 0, "--net: at most %d network devices", VM_MAX_NETS);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "tap=", 4) && tok[4] && strlen(tok + 4) < 16)
			tap = tok + 4;
		else if (!strncmp(tok, "mac=", 4) && parse_mac(tok + 4, n.mac) == 0)
			n.has_mac = true;
		else if (!strncmp(tok, "bridge=", 7) && tok[7] && strlen(tok + 7) < 16)
			bridge = tok + 7;
		else
			return err_make(err, 0, "--net `%s`: unknown or bad option `%s`", v, tok);
	}
	if (!tap)
		return err_make(err, 0, "--net `%s`: tap=NAME is required", v);
	n.tap = strdup(tap);
	n.bridge = bridge ? strdup(bridge) : NULL;
	if (!n.tap || (bridge && !n.bridge)) {
		free(n.tap);
		return err_make(err, ENOMEM, "--net");
	}
	cfg->nets[cfg->n_nets++] = n;
	return 0;
}

/* "cid=N,uds=PATH" */
static int set_vsock(struct vm_config *cfg, const char *v, struct err **err)
{
	_cleanup_free_ char *copy = strdup(v);
	char *save = NULL, *tok, *uds = NULL;
	uint64_t cid = 0;

	if (!copy)
		return err_make(err, ENOMEM, "--vsock");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "cid=", 4) && parse_u64(tok + 4, &cid) == 0)
			continue;
		if (!strncmp(tok, "uds=", 4) && tok[4] && strlen(tok + 4) < 108)
			uds = tok + 4;
		else
			return err_make(err, 0, "--vsock `%s`: unknown or bad option `%s`", v, tok);
	}
	if (cid < 3 || cid > UINT32_MAX - 1 || !uds)
		return err_make(err, 0, "--vsock `%s`: needs cid=N (3..2^32-2) and uds=PATH", v);
	cfg->has_vsock = true;
	cfg->vsock_cid = cid;
	return set_str(&cfg->vsock_uds, uds, "vsock", err);
}

static int set_console(struct vm_config *cfg, const char *v, struct err **err)
{
	if (streq(v, "stdio"))
		cfg->console = VM_CONSOLE_STDIO;
	else if (streq(v, "none"))
		cfg->console = VM_CONSOLE_NONE;
	else if (*v)
		cfg->console = VM_CONSOLE_FILE;
	else
		return err_make(err, 0, "--console: expected stdio, none or a file");
	return cfg->console == VM_CONSOLE_FILE ? set_str(&cfg->console_path, v, "console", err) : 0;
}

int vmm_config_set(struct vm_config *cfg, const char *opt, const char *v, struct err **err)
{
	uint64_t n;

	if (streq(opt, "kernel"))
		return set_str(&cfg->kernel, v, opt, err);
	if (streq(opt, "initrd"))
		return set_str(&cfg->initrd, v, opt, err);
	if (streq(opt, "cmdline")) {
		if (strlen(v) >= VM_MAX_CMDLINE)
			return err_make(err, 0, "--cmdline: longer than %d bytes",
					VM_MAX_CMDLINE - 1);
		return set_str(&cfg->cmdline, v, opt, err);
	}
	if (streq(opt, "cpus")) {
		if (parse_u64(v, &n) < 0 || n == 0 || n > VM_MAX_CPUS)
			return err_make(err, 0, "--cpus `%s`: expected 1..%d", v, VM_MAX_CPUS);
		cfg->cpus = n;
		return 0;
	}
	if (streq(opt, "memory")) {
		/* A bare number is MiB, as with QEMU and Firecracker. */
		if (parse_u64(v, &n) == 0)
			n = n > (VM_MAX_MEMORY >> 20) ? VM_MAX_MEMORY + 1 : n << 20;
		else if (parse_size(v, &n) < 0)
			return err_make(err, 0, "--memory `%s`: expected a size like 64M", v);
		if (n < VM_MIN_MEMORY || n > VM_MAX_MEMORY)
			return err_make(err, 0,
					"--memory `%s`: must be between %llu MiB and %llu GiB", v,
					VM_MIN_MEMORY >> 20, VM_MAX_MEMORY >> 30);
		cfg->memory = n & ~0xfffULL;
		return 0;
	}
	if (streq(opt, "console"))
		return set_console(cfg, v, err);
	if (streq(opt, "irqchip")) {
		if (!streq(v, "kernel") && !streq(v, "split"))
			return err_make(err, 0, "--irqchip `%s`: expected kernel or split", v);
		cfg->split_irqchip = streq(v, "split");
		return 0;
	}
	if (streq(opt, "virtio-transport")) {
		if (!streq(v, "mmio") && !streq(v, "pci"))
			return err_make(err, 0, "--virtio-transport `%s`: expected mmio or pci", v);
		cfg->virtio_pci = streq(v, "pci");
		return 0;
	}
	if (streq(opt, "on-reboot")) {
		if (!streq(v, "exit") && !streq(v, "restart"))
			return err_make(err, 0, "--on-reboot `%s`: expected exit or restart", v);
		cfg->on_reboot = streq(v, "restart") ? VM_REBOOT_RESTART : VM_REBOOT_EXIT;
		return 0;
	}
	if (streq(opt, "disk"))
		return set_disk(cfg, v, err);
	if (streq(opt, "net"))
		return set_net(cfg, v, err);
	if (streq(opt, "vsock"))
		return set_vsock(cfg, v, err);
	return err_make(err, 0, "unknown VM option `%s`", opt);
}

int vmm_config_validate(const struct vm_config *cfg, struct err **err)
{
	if (!cfg->kernel)
		return err_make(err, 0, "no kernel: use --kernel FILE or \"kernel\" in --config");
	if ((uint64_t)cfg->balloon_mib << 20 > cfg->memory)
		return err_make(err, 0, "balloon: amount_mib %u is more than the VM's memory",
				cfg->balloon_mib);
	if (cfg->hugepages && (cfg->memory & ((2ULL << 20) - 1)))
		return err_make(err, 0, "--hugepages: --memory must be a multiple of 2 MiB");
	return 0;
}
