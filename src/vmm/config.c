/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * struct vm_config from `isola vm run` options or a JSON file.  Both paths
 * go through the same setters so the caps and messages are the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "jsonutil.h"
#include "parse.h"
#include "vm-config.h"

void vmm_config_init(struct vm_config *cfg)
{
	*cfg = (struct vm_config){.cpus = 1, .memory = 64ULL << 20, .console = VM_CONSOLE_STDIO};
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
	for (unsigned i = 0; i < cfg->n_fs; i++)
		free(cfg->fs[i].path);
	free(cfg->vsock_uds);
	free(cfg->log_path);
	free(cfg->metrics_path);
	vmm_config_init(cfg);
}

static int set_str(char **dst, const char *v, const char *what, struct err **err)
{
	char *d = strdup(v);

	if (!d)
		return err_make(err, ENOMEM, "%s", what);
	free(*dst);
	*dst = d;
	return 0;
}

int vm_config_parse_mac(const char *s, uint8_t mac[6])
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

/* A copy of s, or NULL for NULL; false when out of memory. */
static bool dup_opt(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return !s || *dst;
}

static void disk_free(struct vm_disk_cfg *d)
{
	free(d->path);
	free(d->serial);
}

/* Check d and copy it into *slot (NULL: a new one at the end), freeing what was there. */
static int put_disk(struct vm_config *cfg, struct vm_disk_cfg *slot, const struct vm_disk_cfg *d,
		    const char *what, struct err **err)
{
	struct vm_disk_cfg n = *d;

	if (!slot && cfg->n_disks >= VM_MAX_DISKS)
		return err_make(err, 0, "%s: at most %d disks", what, VM_MAX_DISKS);
	if (!d->path || !*d->path)
		return err_make(err, 0, "%s: no path", what);
	if (d->serial && strlen(d->serial) > 20)
		return err_make(err, 0, "%s: serial longer than 20 bytes", what);
	if ((d->bw.one_time_burst && !d->bw.size) || (d->iops.one_time_burst && !d->iops.size))
		return err_make(err, 0, "%s: a one_time_burst needs a size as well", what);
	if (!dup_opt(&n.path, d->path) || !dup_opt(&n.serial, d->serial)) {
		disk_free(&n);
		return err_make(err, ENOMEM, "%s", what);
	}
	if (slot)
		disk_free(slot);
	else
		slot = &cfg->disks[cfg->n_disks++];
	*slot = n;
	return 0;
}

int vm_config_add_disk(struct vm_config *cfg, const struct vm_disk_cfg *d, const char *what,
		       struct err **err)
{
	struct vm_disk_cfg *slot = NULL;

	for (unsigned i = 0; d->id[0] && i < cfg->n_disks; i++)
		if (streq(cfg->disks[i].id, d->id))
			slot = &cfg->disks[i]; /* the same id again: replace it */
	return put_disk(cfg, slot, d, what, err);
}

int vm_config_set_disk(struct vm_config *cfg, unsigned i, const struct vm_disk_cfg *d,
		       const char *what, struct err **err)
{
	if (i >= cfg->n_disks)
		return err_make(err, ENOENT, "%s: no disk %u", what, i);
	return put_disk(cfg, &cfg->disks[i], d, what, err);
}

int vm_config_add_net(struct vm_config *cfg, const struct vm_net_cfg *n, const char *what,
		      struct err **err)
{
	struct vm_net_cfg c = *n, *slot = NULL;

	for (unsigned i = 0; n->id[0] && i < cfg->n_nets; i++)
		if (streq(cfg->nets[i].id, n->id))
			slot = &cfg->nets[i];
	if (!slot && cfg->n_nets >= VM_MAX_NETS)
		return err_make(err, 0, "%s: at most %d network devices", what, VM_MAX_NETS);
	if (!n->tap || !*n->tap || strlen(n->tap) >= 16)
		return err_make(err, 0, "%s: the TAP name must be 1..15 bytes", what);
	if (n->bridge && (!*n->bridge || strlen(n->bridge) >= 16))
		return err_make(err, 0, "%s: the bridge name must be 1..15 bytes", what);
	if (!dup_opt(&c.tap, n->tap) || !dup_opt(&c.bridge, n->bridge)) {
		free(c.tap);
		free(c.bridge);
		return err_make(err, ENOMEM, "%s", what);
	}
	if (slot) {
		free(slot->tap);
		free(slot->bridge);
	} else {
		slot = &cfg->nets[cfg->n_nets++];
	}
	*slot = c;
	return 0;
}

int vm_config_add_fs(struct vm_config *cfg, const struct vm_fs_cfg *f, const char *what,
		     struct err **err)
{
	size_t n = strnlen(f->tag, sizeof(f->tag));
	struct stat st;
	char *path;

	if (cfg->n_fs >= VM_MAX_FS)
		return err_make(err, 0, "%s: at most %d shared directories", what, VM_MAX_FS);
	if (n == 0 || n > VM_MAX_FS_TAG)
		return err_make(err, 0, "%s: tag must be 1..%d bytes", what, VM_MAX_FS_TAG);
	for (size_t i = 0; i < n; i++)
		if (f->tag[i] < ' ' || f->tag[i] > '~' || f->tag[i] == ',')
			return err_make(err, 0, "%s: tag: printable bytes only, no comma", what);
	for (unsigned i = 0; i < cfg->n_fs; i++)
		if (streq(cfg->fs[i].tag, f->tag))
			return err_make(err, 0, "%s: tag `%s` given twice", what, f->tag);
	if (!f->path || !*f->path)
		return err_make(err, 0, "%s: path=DIR is required", what);
	if (stat(f->path, &st) < 0)
		return err_make(err, errno, "%s: path `%s`", what, f->path);
	if (!S_ISDIR(st.st_mode))
		return err_make(err, ENOTDIR, "%s: path `%s`", what, f->path);
	path = strdup(f->path);
	if (!path)
		return err_make(err, ENOMEM, "%s", what);
	cfg->fs[cfg->n_fs] = *f;
	cfg->fs[cfg->n_fs++].path = path;
	return 0;
}

int vm_config_set_vsock(struct vm_config *cfg, uint64_t cid, const char *uds, const char *what,
			struct err **err)
{
	if (cid < 3 || cid > UINT32_MAX - 1)
		return err_make(err, 0, "%s: the guest CID must be 3..2^32-2", what);
	if (!uds || !*uds || strlen(uds) >= 108)
		return err_make(err, 0, "%s: the socket path must be 1..107 bytes", what);
	cfg->has_vsock = true;
	cfg->vsock_cid = cid;
	return set_str(&cfg->vsock_uds, uds, what, err);
}

int vm_config_set_cpus(struct vm_config *cfg, uint64_t n, const char *what, struct err **err)
{
	if (n == 0 || n > VM_MAX_CPUS)
		return err_make(err, 0, "%s: expected 1..%d vCPUs", what, VM_MAX_CPUS);
	cfg->cpus = n;
	return 0;
}

int vm_config_set_memory(struct vm_config *cfg, uint64_t bytes, const char *what, struct err **err)
{
	if (bytes < VM_MIN_MEMORY || bytes > VM_MAX_MEMORY)
		return err_make(err, 0, "%s: must be between %llu MiB and %llu GiB", what,
				VM_MIN_MEMORY >> 20, VM_MAX_MEMORY >> 30);
	cfg->memory = bytes & ~0xfffULL;
	cfg->memory_given = true;
	return 0;
}

const struct vm_machine_names vm_machine_cli = {"--cpus", "--memory", "--smt",
						"--track-dirty-pages", "--hugepages"};
const struct vm_machine_names vm_machine_json = {"cpus", "memory", "smt", "track-dirty-pages",
						 "hugepages"};
const struct vm_machine_names vm_machine_api = {"body.vcpu_count", "body.mem_size_mib", "body.smt",
						"body.track_dirty_pages", "body.huge_pages"};

int vm_config_set_machine(struct vm_config *cfg, const struct vm_machine_cfg *m,
			  const struct vm_machine_names *names, struct err **err)
{
	struct vm_config c = {.cpus = cfg->cpus,
			      .memory = cfg->memory,
			      .memory_given = cfg->memory_given,
			      .hugepages = cfg->hugepages};
	int r;

	if (m->has_smt && m->smt)
		return err_make(err, 0, "%s: true is not supported by isola (no SMT topology)",
				names->smt);
	if (m->has_cpus && (r = vm_config_set_cpus(&c, m->cpus, names->cpus, err)) < 0)
		return r;
	if (m->has_memory && (r = vm_config_set_memory(&c, m->memory, names->memory, err)) < 0)
		return r;
	if (m->has_hugepages)
		c.hugepages = m->hugepages;
	if (m->has_track_dirty_pages)
		cfg->track_dirty_pages = m->track_dirty_pages;
	cfg->cpus = c.cpus;
	cfg->memory = c.memory;
	cfg->memory_given = c.memory_given;
	cfg->hugepages = c.hugepages;
	return 0;
}

int vm_config_set_boot_source(struct vm_config *cfg, const char *kernel, const char *cmdline,
			      const char *initrd, const char *what, struct err **err)
{
	_cleanup_free_ char *k = NULL, *c = NULL, *i = NULL;

	if (cmdline && strlen(cmdline) >= VM_MAX_CMDLINE)
		return err_make(err, 0, "%s: the command line is longer than %d bytes", what,
				VM_MAX_CMDLINE - 1);
	if ((kernel && !*kernel) || (initrd && !*initrd))
		return err_make(err, 0, "%s: empty path", what);
	if (!dup_opt(&k, kernel) || !dup_opt(&c, cmdline) || !dup_opt(&i, initrd))
		return err_make(err, ENOMEM, "%s", what);
	if (kernel) {
		free(cfg->kernel);
		cfg->kernel = TAKE_PTR(k);
	}
	if (cmdline) {
		free(cfg->cmdline);
		cfg->cmdline = TAKE_PTR(c);
	}
	if (initrd) {
		free(cfg->initrd);
		cfg->initrd = TAKE_PTR(i);
	}
	return 0;
}

/*
 * Split an option value at single commas in place; ",," is a literal comma
 * (QEMU's convention), so a path may hold one.  Returns the next token.
 */
static char *next_tok(char **p)
{
	char *tok = *p, *r, *w;

	if (!tok)
		return NULL;
	for (r = w = tok; *r; r++, w++) {
		if (*r == ',' && r[1] == ',')
			r++;
		else if (*r == ',')
			break;
		*w = *r;
	}
	*p = *r ? r + 1 : NULL;
	*w = '\0';
	return tok;
}

/* "PATH[,ro][,serial=S][,bw=BYTES/S][,iops=N][,bw_burst=..,bw_refill=MS,...]" */
static int set_disk(struct vm_config *cfg, const char *v, struct err **err)
{
	_cleanup_free_ char *copy = strdup(v), *what = NULL;
	struct vm_disk_cfg d = {0};
	char *p = copy, *tok;

	if (!copy || asprintf(&what, "--disk `%s`", v) < 0)
		return err_make(err, ENOMEM, "--disk");
	while ((tok = next_tok(&p))) {
		if (!d.path)
			d.path = tok;
		else if (streq(tok, "ro"))
			d.readonly = true;
		else if (!strncmp(tok, "serial=", 7))
			d.serial = tok + 7;
		else if (set_rate_word(&d, tok) <= 0)
			return err_make(err, 0, "%s: unknown or bad option `%s`", what, tok);
	}
	return vm_config_add_disk(cfg, &d, what, err);
}

/* "tap=NAME[,mac=xx:xx:xx:xx:xx:xx][,bridge=BR][,offload=on|off]" */
static int set_net(struct vm_config *cfg, const char *v, struct err **err)
{
	_cleanup_free_ char *copy = strdup(v), *what = NULL;
	struct vm_net_cfg n = {0};
	char *p = copy, *tok;

	if (!copy || asprintf(&what, "--net `%s`", v) < 0)
		return err_make(err, ENOMEM, "--net");
	while ((tok = next_tok(&p))) {
		if (!strncmp(tok, "tap=", 4))
			n.tap = tok + 4;
		else if (!strncmp(tok, "mac=", 4) && vm_config_parse_mac(tok + 4, n.mac) == 0)
			n.has_mac = true;
		else if (!strncmp(tok, "bridge=", 7))
			n.bridge = tok + 7;
		else if (streq(tok, "offload=on") || streq(tok, "offload=off"))
			n.no_offload = streq(tok, "offload=off");
		else
			return err_make(err, 0, "%s: unknown or bad option `%s`", what, tok);
	}
	if (!n.tap)
		return err_make(err, 0, "%s: tap=NAME is required", what);
	return vm_config_add_net(cfg, &n, what, err);
}

/* "tag=TAG,path=DIR[,ro]" */
static int set_fs(struct vm_config *cfg, const char *v, struct err **err)
{
	_cleanup_free_ char *copy = strdup(v), *what = NULL;
	struct vm_fs_cfg f = {0};
	char *p = copy, *tok;

	if (!copy || asprintf(&what, "--fs `%s`", v) < 0)
		return err_make(err, ENOMEM, "--fs");
	while ((tok = next_tok(&p))) {
		if (!strncmp(tok, "tag=", 4) && strlen(tok + 4) < sizeof(f.tag))
			memcpy(f.tag, tok + 4, strlen(tok + 4) + 1);
		else if (!strncmp(tok, "tag=", 4))
			return err_make(err, 0, "%s: tag must be 1..%d bytes", what, VM_MAX_FS_TAG);
		else if (!strncmp(tok, "path=", 5))
			f.path = tok + 5;
		else if (streq(tok, "ro"))
			f.readonly = true;
		else
			return err_make(err, 0, "%s: unknown or bad option `%s`", what, tok);
	}
	return vm_config_add_fs(cfg, &f, what, err);
}

/* "cid=N,uds=PATH" */
static int set_vsock(struct vm_config *cfg, const char *v, struct err **err)
{
	_cleanup_free_ char *copy = strdup(v), *what = NULL;
	char *p = copy, *tok, *uds = NULL;
	uint64_t cid = 0;

	if (!copy || asprintf(&what, "--vsock `%s`", v) < 0)
		return err_make(err, ENOMEM, "--vsock");
	while ((tok = next_tok(&p))) {
		if (!strncmp(tok, "cid=", 4) && parse_u64(tok + 4, &cid) == 0)
			continue;
		if (!strncmp(tok, "uds=", 4))
			uds = tok + 4;
		else
			return err_make(err, 0, "%s: unknown or bad option `%s`", what, tok);
	}
	if (!uds)
		return err_make(err, 0, "%s: needs cid=N and uds=PATH", what);
	return vm_config_set_vsock(cfg, cid, uds, what, err);
}

/* One word of an enumerated setting and its value. */
struct word {
	const char *word;
	int value;
};

static int parse_word(const struct word *w, size_t n, const char *word, const char *what, int *ret,
		      struct err **err)
{
	for (size_t i = 0; i < n; i++)
		if (streq(word, w[i].word)) {
			*ret = w[i].value;
			return 0;
		}
	return err_make(err, EINVAL, "%s `%.32s%s`: expected %s or %s", what, word,
			strlen(word) > 32 ? "..." : "", w[0].word, w[1].word);
}

#define N_WORDS(tbl) (sizeof(tbl) / sizeof((tbl)[0]))

static const struct word irqchip_words[] = {{"kernel", VM_IRQCHIP_KERNEL},
					    {"split", VM_IRQCHIP_SPLIT}};
static const struct word transport_words[] = {{"mmio", VM_TRANSPORT_MMIO},
					      {"pci", VM_TRANSPORT_PCI}};
static const struct word unpack_words[] = {
    {"auto", VM_UNPACK_AUTO}, {"vmm", VM_UNPACK_VMM}, {"guest", VM_UNPACK_GUEST}};
static const struct word reboot_words[] = {{"exit", VM_REBOOT_EXIT},
					   {"restart", VM_REBOOT_RESTART}};

int vm_irqchip_parse(const char *word, const char *what, enum vm_irqchip *ret, struct err **err)
{
	int v = 0, r = parse_word(irqchip_words, N_WORDS(irqchip_words), word, what, &v, err);

	if (r >= 0)
		*ret = (enum vm_irqchip)v;
	return r;
}

int vm_transport_parse(const char *word, const char *what, enum vm_transport *ret, struct err **err)
{
	int v = 0, r = parse_word(transport_words, N_WORDS(transport_words), word, what, &v, err);

	if (r >= 0)
		*ret = (enum vm_transport)v;
	return r;
}

int vm_on_reboot_parse(const char *word, const char *what, enum vm_on_reboot *ret, struct err **err)
{
	int v = 0, r = parse_word(reboot_words, N_WORDS(reboot_words), word, what, &v, err);

	if (r >= 0)
		*ret = (enum vm_on_reboot)v;
	return r;
}

int vm_kernel_unpack_parse(const char *word, const char *what, enum vm_kernel_unpack *ret,
			   struct err **err)
{
	int v = 0, r = parse_word(unpack_words, N_WORDS(unpack_words), word, what, &v, err);

	if (r >= 0)
		*ret = (enum vm_kernel_unpack)v;
	return r;
}

int vm_console_parse(const char *word, const char *what, enum vm_console *ret, struct err **err)
{
	if (!*word)
		return err_make(err, EINVAL, "%s: expected stdio, none or a file", what);
	*ret = streq(word, "stdio")  ? VM_CONSOLE_STDIO
	       : streq(word, "none") ? VM_CONSOLE_NONE
				     : VM_CONSOLE_FILE;
	return 0;
}

int vm_memory_parse(const char *word, const char *what, uint64_t *ret_bytes, struct err **err)
{
	uint64_t n;

	if (parse_u64(word, &n) == 0) /* one past the cap stays out of range once shifted */
		n = n > (VM_MAX_MEMORY >> 20) ? VM_MAX_MEMORY + 1 : n << 20;
	else if (parse_size(word, &n) < 0)
		return err_make(err, EINVAL, "%s `%.32s%s`: expected a size like 64M", what, word,
				strlen(word) > 32 ? "..." : "");
	*ret_bytes = n;
	return 0;
}

int vm_config_set_irqchip(struct vm_config *cfg, enum vm_irqchip chip, const char *what,
			  struct err **err)
{
	if (chip != VM_IRQCHIP_KERNEL && chip != VM_IRQCHIP_SPLIT)
		return err_make(err, EINVAL, "%s: no irqchip model %d", what, (int)chip);
	cfg->split_irqchip = chip == VM_IRQCHIP_SPLIT;
	return 0;
}

int vm_config_set_transport(struct vm_config *cfg, enum vm_transport t, const char *what,
			    struct err **err)
{
	if (t != VM_TRANSPORT_MMIO && t != VM_TRANSPORT_PCI)
		return err_make(err, EINVAL, "%s: no virtio transport %d", what, (int)t);
	cfg->virtio_pci = t == VM_TRANSPORT_PCI;
	return 0;
}

int vm_config_set_on_reboot(struct vm_config *cfg, enum vm_on_reboot r, const char *what,
			    struct err **err)
{
	if (r != VM_REBOOT_EXIT && r != VM_REBOOT_RESTART)
		return err_make(err, EINVAL, "%s: no reboot action %d", what, (int)r);
	cfg->on_reboot = r;
	return 0;
}

int vm_config_set_kernel_unpack(struct vm_config *cfg, enum vm_kernel_unpack u, const char *what,
				struct err **err)
{
	if (u != VM_UNPACK_AUTO && u != VM_UNPACK_VMM && u != VM_UNPACK_GUEST)
		return err_make(err, EINVAL, "%s: no kernel unpack mode %d", what, (int)u);
	cfg->kernel_unpack = u;
	return 0;
}

int vm_config_set_initrd_unpack(struct vm_config *cfg, enum vm_kernel_unpack u, const char *what,
				struct err **err)
{
	if (u != VM_UNPACK_AUTO && u != VM_UNPACK_VMM && u != VM_UNPACK_GUEST)
		return err_make(err, EINVAL, "%s: no initrd unpack mode %d", what, (int)u);
	cfg->initrd_unpack = u;
	return 0;
}

int vm_config_set_console(struct vm_config *cfg, enum vm_console c, const char *path,
			  const char *what, struct err **err)
{
	if (c != VM_CONSOLE_STDIO && c != VM_CONSOLE_NONE && c != VM_CONSOLE_FILE)
		return err_make(err, EINVAL, "%s: no console kind %d", what, (int)c);
	if (c == VM_CONSOLE_FILE && (!path || !*path))
		return err_make(err, EINVAL, "%s: no file", what);
	if (c == VM_CONSOLE_FILE) {
		int r = set_str(&cfg->console_path, path, what, err);

		if (r < 0)
			return r;
	}
	cfg->console = c;
	return 0;
}

int vmm_config_set(struct vm_config *cfg, const char *opt, const char *v, struct err **err)
{
	enum vm_transport transport;
	enum vm_kernel_unpack unpack;
	enum vm_on_reboot reboot;
	enum vm_console console;
	enum vm_irqchip chip;
	char what[64];
	uint64_t n;
	int r;

	snprintf(what, sizeof(what), "--%s `%.32s%s`", opt, v, strlen(v) > 32 ? "..." : "");
	if (streq(opt, "kernel"))
		return vm_config_set_boot_source(cfg, v, NULL, NULL, what, err);
	if (streq(opt, "initrd"))
		return vm_config_set_boot_source(cfg, NULL, NULL, v, what, err);
	if (streq(opt, "cmdline"))
		return vm_config_set_boot_source(cfg, NULL, v, NULL, "--cmdline", err);
	if (streq(opt, "cpus") || streq(opt, "memory")) {
		struct vm_machine_names names = vm_machine_cli;
		struct vm_machine_cfg m = {0};

		names.cpus = names.memory = what; /* with the value given */
		if (streq(opt, "cpus")) {
			if (parse_u64(v, &n) < 0)
				return err_make(err, 0, "%s: expected 1..%d", what, VM_MAX_CPUS);
			m = (struct vm_machine_cfg){.has_cpus = true, .cpus = n};
		} else {
			r = vm_memory_parse(v, "--memory", &n, err);
			if (r < 0)
				return r;
			m = (struct vm_machine_cfg){.has_memory = true, .memory = n};
		}
		return vm_config_set_machine(cfg, &m, &names, err);
	}
	if (streq(opt, "console")) {
		r = vm_console_parse(v, "--console", &console, err);
		return r < 0 ? r : vm_config_set_console(cfg, console, v, "--console", err);
	}
	if (streq(opt, "irqchip")) {
		r = vm_irqchip_parse(v, "--irqchip", &chip, err);
		return r < 0 ? r : vm_config_set_irqchip(cfg, chip, "--irqchip", err);
	}
	if (streq(opt, "virtio-transport")) {
		r = vm_transport_parse(v, "--virtio-transport", &transport, err);
		return r < 0 ? r
			     : vm_config_set_transport(cfg, transport, "--virtio-transport", err);
	}
	if (streq(opt, "on-reboot")) {
		r = vm_on_reboot_parse(v, "--on-reboot", &reboot, err);
		return r < 0 ? r : vm_config_set_on_reboot(cfg, reboot, "--on-reboot", err);
	}
	if (streq(opt, "kernel-unpack")) {
		r = vm_kernel_unpack_parse(v, "--kernel-unpack", &unpack, err);
		return r < 0 ? r : vm_config_set_kernel_unpack(cfg, unpack, "--kernel-unpack", err);
	}
	if (streq(opt, "initrd-unpack")) {
		r = vm_kernel_unpack_parse(v, "--initrd-unpack", &unpack, err);
		return r < 0 ? r : vm_config_set_initrd_unpack(cfg, unpack, "--initrd-unpack", err);
	}
	if (streq(opt, "disk"))
		return set_disk(cfg, v, err);
	if (streq(opt, "net"))
		return set_net(cfg, v, err);
	if (streq(opt, "vsock"))
		return set_vsock(cfg, v, err);
	if (streq(opt, "fs"))
		return set_fs(cfg, v, err);
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
