/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The initramfs of a VM container: a newc cpio (the kernel's
 * Documentation/driver-api/early-userspace/buffer-format.rst) holding
 * isola-agent as /init and the kernel modules it loads, numbered so that
 * a module's dependencies (its modinfo `depends=`) come first.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fdutil.h"
#include "image.h"
#include "vmct.h"

#define MOD_MAX	    64		/* modules in the initramfs */
#define KO_SIZE_MAX (64u << 20) /* one module file */
#define AGENT_MAX   (64u << 20)

struct cpio {
	int fd;
	unsigned ino;
	int r;
};

static void cpio_put(struct cpio *c, const char *name, mode_t mode, const void *data, size_t len)
{
	static const char zero[4];
	char hdr[160];
	size_t nlen = strlen(name) + 1;

	if (c->r < 0)
		return;
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
		 ++c->ino, (unsigned)mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, len, 0u, 0u, 0u, 0u,
		 nlen, 0u);
	if (write_all(c->fd, hdr, 110) < 0 || write_all(c->fd, name, nlen) < 0 ||
	    write_all(c->fd, zero, (4 - (110 + nlen) % 4) % 4) < 0 ||
	    (len && write_all(c->fd, data, len) < 0) ||
	    write_all(c->fd, zero, (4 - len % 4) % 4) < 0)
		c->r = -errno;
}

struct mods {
	const char *dir;
	char *names[MOD_MAX]; /* normalised (_ for -), in load order */
	char *paths[MOD_MAX];
	size_t n;
	char *builtin; /* modules.builtin, normalised */
};

static void norm(char *s)
{
	for (; *s; s++)
		if (*s == '-')
			*s = '_';
}

static __thread const char *find_name;
static __thread char *find_found;
static __thread size_t find_seen;

/* A module tree holds some thousands of entries; a walk of more (a dir of `/`) stops. */
#define FIND_ENTRIES_MAX (1u << 17)

static int find_cb(const char *p, const struct stat *st, int type, struct FTW *f)
{
	char b[NAME_MAX + 1];

	if (++find_seen > FIND_ENTRIES_MAX)
		return -1;
	if (type != FTW_F || strlen(p + f->base) > NAME_MAX)
		return 0;
	snprintf(b, sizeof(b), "%s", p + f->base);
	norm(b);
	if (strlen(b) == strlen(find_name) + 3 && !strncmp(b, find_name, strlen(find_name)) &&
	    !strcmp(b + strlen(find_name), ".ko")) {
		find_found = strdup(p);
		return 1;
	}
	return 0;
}

static bool is_builtin(const struct mods *m, const char *name)
{
	char pat[NAME_MAX + 8];
	const char *b = m->builtin;

	snprintf(pat, sizeof(pat), "/%s.ko\n", name);
	return b && strstr(b, pat);
}

/* "depends=a,b" from the module's modinfo strings; a malloc'd copy or NULL. */
static char *depends_of(const char *buf, size_t len)
{
	static const char key[] = "\0depends=";
	const char *p = memmem(buf, len, key, sizeof(key) - 1);
	size_t n;

	if (!p)
		return strdup("");
	p += sizeof(key) - 1;
	n = strnlen(p, buf + len - p);
	return strndup(p, n);
}

/* NAME.ko's path under m->dir (malloc'd), NULL if there is none; one file system. */
static char *find_module(const struct mods *m, const char *name)
{
	find_name = name;
	find_found = NULL;
	find_seen = 0;
	nftw(m->dir, find_cb, 16, FTW_PHYS | FTW_MOUNT);
	return find_found;
}

static int add_module(struct mods *m, const char *name, int depth, struct err **err)
{
	_cleanup_free_ char *buf = NULL, *deps = NULL;
	char *save = NULL, *d;
	size_t len;
	int r;

	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->names[i], name))
			return 0;
	if (is_builtin(m, name))
		return 0;
	if (depth > 16 || m->n == MOD_MAX)
		return err_make(err, ELOOP, "module `%s`: dependencies too deep or too many", name);
	_cleanup_free_ char *path = find_module(m, name);
	if (!path)
		return err_make(err, ENOENT, "module `%s` not found under `%s`", name, m->dir);
	r = read_file_at(AT_FDCWD, path, KO_SIZE_MAX, &buf, &len, err);
	if (r < 0)
		return r;
	deps = depends_of(buf, len);
	if (!deps)
		return err_make(err, ENOMEM, "module `%s`", name);
	for (d = strtok_r(deps, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		norm(d);
		r = add_module(m, d, depth + 1, err);
		if (r < 0)
			return r;
	}
	m->names[m->n] = strdup(name);
	m->paths[m->n] = TAKE_PTR(path);
	if (!m->names[m->n])
		return err_make(err, ENOMEM, "module `%s`", name);
	m->n++;
	return 0;
}

static void mods_free(struct mods *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->names[i]);
		free(m->paths[i]);
	}
	free(m->builtin);
}

/* Each module of the space-separated @names; @optional: one the kernel lacks is left out. */
static int add_list(struct mods *m, const char *names, bool optional, struct err **err)
{
	_cleanup_free_ char *list = strdup(names);
	char *save = NULL, *n;
	int r;

	if (!list)
		return err_make(err, ENOMEM, "modules");
	for (n = strtok_r(list, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		_cleanup_free_ char *found = optional ? find_module(m, n) : NULL;

		if (optional && !found)
			continue;
		r = add_module(m, n, 0, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int collect(struct mods *m, struct err **err)
{
	char p[PATH_MAX];
	size_t len;
	int r;

	snprintf(p, sizeof(p), "%s/modules.builtin", m->dir);
	if (read_file_at(AT_FDCWD, p, 4u << 20, &m->builtin, &len, NULL) >= 0)
		norm(m->builtin);
	r = add_list(m, VMCT_MODULES, false, err);
	return r < 0 ? r : add_list(m, VMCT_MODULES_OPTIONAL, true, err);
}

static int write_modules(struct cpio *c, const struct mods *m, struct err **err)
{
	for (size_t i = 0; i < m->n; i++) {
		_cleanup_free_ char *buf = NULL;
		char name[NAME_MAX + 16];
		size_t len;
		int r = read_file_at(AT_FDCWD, m->paths[i], KO_SIZE_MAX, &buf, &len, err);

		if (r < 0)
			return r;
		snprintf(name, sizeof(name), "modules/%02zu-%s.ko", i, m->names[i]);
		cpio_put(c, name, S_IFREG | 0644, buf, len);
	}
	return 0;
}

int vmct_initramfs_write(const char *agent, const char *moddir, const char *out, struct err **err)
{
	_cleanup_(mods_free) struct mods m = {.dir = moddir};
	_cleanup_free_ char *abuf = NULL;
	struct cpio c = {.fd = -1};
	size_t alen;
	int r;

	r = read_file_at(AT_FDCWD, agent, AGENT_MAX, &abuf, &alen, err);
	if (r < 0)
		return err_wrap(err, "the agent");
	if (moddir && (r = collect(&m, err)) < 0)
		return r;
	c.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c.fd < 0)
		return err_make(err, errno, "create `%s`", out);
	cpio_put(&c, "init", S_IFREG | 0755, abuf, alen);
	cpio_put(&c, "modules", S_IFDIR | 0755, NULL, 0);
	r = write_modules(&c, &m, err);
	cpio_put(&c, "TRAILER!!!", 0, NULL, 0);
	if (r >= 0 && c.r < 0)
		r = err_make(err, -c.r, "write `%s`", out);
	if (r >= 0 && fsync(c.fd) < 0)
		r = err_make(err, errno, "write `%s`", out);
	close(c.fd);
	if (r < 0)
		unlink(out);
	return r;
}

int vmct_agent_tag(const char *agent, char ret[VMCT_AGENT_TAG_LEN + 1], struct err **err)
{
	_cleanup_free_ char *abuf = NULL;
	char digest[IMG_DIGEST_LEN + 1];
	size_t alen;
	int r;

	r = read_file_at(AT_FDCWD, agent, AGENT_MAX, &abuf, &alen, err);
	if (r < 0)
		return err_wrap(err, "the agent");
	r = img_sha256_digest(abuf, alen, digest, err);
	if (r < 0)
		return err_wrap(err, "hash the agent `%s`", agent);
	snprintf(ret, VMCT_AGENT_TAG_LEN + 1, "%.*s", VMCT_AGENT_TAG_LEN, img_digest_hex(digest));
	return 0;
}

int vmct_initramfs_get(const char *cachedir, const char *agent, const char *moddir, char **ret,
		       struct err **err)
{
	_cleanup_free_ char *key = NULL, *path = NULL, *tmp = NULL;
	char tag[VMCT_AGENT_TAG_LEN + 1], digest[IMG_DIGEST_LEN + 1];
	_cleanup_close_ int lock = -1;
	int r;

	r = vmct_agent_tag(agent, tag, err);
	if (r < 0)
		return r;
	if (asprintf(&key, "%s %s %s", tag, moddir ? moddir : "-", VMCT_MODULES) < 0)
		return err_make(err, ENOMEM, "initramfs");
	r = img_sha256_digest(key, strlen(key), digest, err);
	if (r < 0)
		return err_wrap(err, "initramfs cache key");
	/* The agent's tag first: prune knows an initramfs of another agent at a glance. */
	if (asprintf(&path, "%s/initrd-%s-%.16s.cpio", cachedir, tag, img_digest_hex(digest)) < 0 ||
	    asprintf(&tmp, "%s.%d.tmp", path, (int)getpid()) < 0)
		return err_make(err, ENOMEM, "initramfs");
	if (!path_exists(path)) {
		r = mkdir_p(cachedir, 0700, err);
		if (r >= 0)
			r = lock = vmct_cache_tmp_lock(tmp, err);
		if (r >= 0)
			r = vmct_initramfs_write(agent, moddir, tmp, err);
		if (r >= 0 && rename(tmp, path) < 0)
			r = err_make(err, errno, "rename `%s`", tmp);
		if (r < 0) {
			unlink(tmp);
			return err_wrap(err, "build the initramfs");
		}
	}
	*ret = TAKE_PTR(path);
	return 0;
}

char *vmct_moddir_for(const char *kernel)
{
	const char *base = strrchr(kernel, '/'), *ver;
	char *out = NULL;
	int n;

	base = base ? base + 1 : kernel;
	if (strncmp(base, "vmlinuz-", 8))
		return NULL;
	ver = base + 8;
	n = (int)(base - kernel);
	/* KDIR/boot/vmlinuz-VER: KDIR is the part before "/boot/". */
	if (n < 5 || strncmp(kernel + n - 5, "boot/", 5))
		return NULL;
	if (asprintf(&out, "%.*slib/modules/%s", n - 5, kernel, ver) < 0)
		return NULL;
	if (!path_exists(out)) {
		free(out);
		return NULL;
	}
	return out;
}
