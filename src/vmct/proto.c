/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Frames and the process config of the host <-> isola-agent protocol (proto.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parse.h"
#include "proto.h"

void vmct_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

uint32_t vmct_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void vmct_frame_header(uint8_t hdr[VMCT_HDR], uint32_t type, uint32_t len)
{
	vmct_put_u32(hdr, type);
	vmct_put_u32(hdr + 4, len);
}

int vmct_outq_put(struct vmct_outq *q, const void *p, size_t n)
{
	if (q->off && q->off == q->len)
		q->off = q->len = 0;
	if (q->len + n > q->cap && q->off) { /* reuse what was sent */
		memmove(q->buf, q->buf + q->off, q->len - q->off);
		q->len -= q->off;
		q->off = 0;
	}
	if (q->len + n > q->cap) {
		size_t cap = q->cap ? q->cap : 4096;
		uint8_t *b;

		while (cap < q->len + n)
			cap *= 2;
		b = realloc(q->buf, cap);
		if (!b)
			return -ENOMEM;
		q->buf = b;
		q->cap = cap;
	}
	if (n)
		memcpy(q->buf + q->len, p, n);
	q->len += n;
	return 0;
}

int vmct_outq_frame(struct vmct_outq *q, uint32_t type, const void *p, uint32_t n)
{
	uint8_t hdr[VMCT_HDR];

	vmct_frame_header(hdr, type, n);
	return vmct_outq_put(q, hdr, sizeof(hdr)) < 0 || vmct_outq_put(q, p, n) < 0 ? -ENOMEM : 0;
}

int vmct_outq_flush(struct vmct_outq *q, int fd, bool sock)
{
	while (q->off < q->len) {
		size_t n = q->len - q->off;
		ssize_t w = sock ? send(fd, q->buf + q->off, n, MSG_DONTWAIT | MSG_NOSIGNAL)
				 : write(fd, q->buf + q->off, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return w < 0 ? -errno : -EPIPE;
		q->off += (size_t)w;
	}
	q->off = q->len = 0;
	return 0;
}

void vmct_outq_free(struct vmct_outq *q)
{
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

long vmct_frame_next(const uint8_t *buf, size_t len, uint32_t *ret_type,
		     const uint8_t **ret_payload, uint32_t *ret_len)
{
	uint32_t type, n;

	if (len < VMCT_HDR)
		return 0;
	type = vmct_get_u32(buf);
	n = vmct_get_u32(buf + 4);
	if (type == 0 || type > VMCT_TYPE_MAX)
		return -EPROTO;
	if (n > VMCT_FRAME_MAX)
		return -EMSGSIZE;
	if (len - VMCT_HDR < n)
		return 0;
	*ret_type = type;
	*ret_payload = buf + VMCT_HDR;
	*ret_len = n;
	return VMCT_HDR + n;
}

void vmct_warm_encode(uint8_t *out, uint64_t sec, uint32_t nsec, const uint8_t *seed, uint32_t n)
{
	vmct_put_u32(out, (uint32_t)sec);
	vmct_put_u32(out + 4, (uint32_t)(sec >> 32));
	vmct_put_u32(out + 8, nsec);
	memcpy(out + VMCT_WARM_HDR, seed, n);
}

int vmct_warm_parse(const uint8_t *p, uint32_t len, uint64_t *ret_sec, uint32_t *ret_nsec,
		    const uint8_t **ret_seed, uint32_t *ret_n)
{
	uint32_t nsec;

	if (len < VMCT_WARM_HDR + VMCT_SEED_MIN || len > VMCT_WARM_HDR + VMCT_SEED_MAX)
		return -EINVAL;
	nsec = vmct_get_u32(p + 8);
	if (nsec >= 1000000000u)
		return -EINVAL;
	*ret_sec = vmct_get_u32(p) | (uint64_t)vmct_get_u32(p + 4) << 32;
	*ret_nsec = nsec;
	*ret_seed = p + VMCT_WARM_HDR;
	*ret_n = len - VMCT_WARM_HDR;
	return 0;
}

void vmct_winch_encode(uint8_t out[8], uint16_t rows, uint16_t cols)
{
	vmct_put_u32(out, rows);
	vmct_put_u32(out + 4, cols);
}

int vmct_winch_parse(const uint8_t *p, uint32_t len, uint16_t *ret_rows, uint16_t *ret_cols)
{
	uint32_t rows, cols;

	if (len != 8)
		return -EINVAL;
	rows = vmct_get_u32(p);
	cols = vmct_get_u32(p + 4);
	if (rows > UINT16_MAX || cols > UINT16_MAX)
		return -EINVAL;
	*ret_rows = rows;
	*ret_cols = cols;
	return 0;
}

static int parse_u32(const char *s, uint32_t *ret);

/* Append "key=value\0" to *p (size *len, capacity cap). */
static int put(char *out, size_t cap, size_t *len, const char *key, const char *val)
{
	size_t k = strlen(key), v = strlen(val);

	if (*len + k + v + 2 > cap)
		return -E2BIG;
	if (out) {
		memcpy(out + *len, key, k);
		out[*len + k] = '=';
		memcpy(out + *len + k + 1, val, v + 1);
	}
	*len += k + v + 2;
	return 0;
}

static void ip_text(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

/* The network and the files (first session). */
static int encode_net(const struct vmct_config *c, char *out, size_t *len)
{
	const char *const keys[] = {"hostname", "etc_hosts", "etc_resolv", "etc_hostname"};
	const char *const vals[] = {c->hostname, c->etc_hosts, c->etc_resolv, c->etc_hostname};
	const uint8_t *m = c->net.mac;
	char num[16], mac[18];
	int r = 0;

	if (c->net.set) {
		ip_text(c->net.addr, num);
		r = put(out, VMCT_FRAME_MAX, len, "net_addr", num);
		snprintf(num, sizeof(num), "%u", c->net.prefix);
		if (!r)
			r = put(out, VMCT_FRAME_MAX, len, "net_prefix", num);
		ip_text(c->net.gw, num);
		if (!r && c->net.gw)
			r = put(out, VMCT_FRAME_MAX, len, "net_gw", num);
		snprintf(num, sizeof(num), "%u", c->net.mtu);
		if (!r && c->net.mtu)
			r = put(out, VMCT_FRAME_MAX, len, "net_mtu", num);
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		if (!r && c->net.has_mac)
			r = put(out, VMCT_FRAME_MAX, len, "net_mac", mac);
	}
	for (size_t i = 0; i < 4 && !r; i++)
		if (vals[i])
			r = put(out, VMCT_FRAME_MAX, len, keys[i], vals[i]);
	return r;
}

/* Append "seccomp=HEX\0": the filter's bytes, two lower-case digits each. */
static int put_hex(char *out, size_t cap, size_t *len, const char *key, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t k = strlen(key);

	if (*len + k + 2 * n + 2 > cap)
		return -E2BIG;
	if (out) {
		char *o = out + *len;

		memcpy(o, key, k);
		o += k;
		*o++ = '=';
		for (size_t i = 0; i < n; i++) {
			*o++ = digits[p[i] >> 4];
			*o++ = digits[p[i] & 15];
		}
		*o = '\0';
	}
	*len += k + 2 * n + 2;
	return 0;
}

static int encode_priv(const struct vmct_config *c, char *out, size_t *len)
{
	const struct ct_caps *k = &c->caps;
	char text[5 * 17 + 1], groups[VMCT_GROUPS_MAX * 11];
	size_t g = 0;
	int r = 0;

	if (c->has_caps) {
		snprintf(text, sizeof(text),
			 "%" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64, k->bounding,
			 k->effective, k->inheritable, k->permitted, k->ambient);
		r = put(out, VMCT_FRAME_MAX, len, "caps", text);
	}
	if (!r && c->no_new_privs)
		r = put(out, VMCT_FRAME_MAX, len, "nnp", "1");
	if (c->n_groups > VMCT_GROUPS_MAX)
		return -E2BIG;
	for (uint32_t i = 0; i < c->n_groups; i++)
		g += snprintf(groups + g, sizeof(groups) - g, "%s%u", i ? "," : "", c->groups[i]);
	if (!r && c->n_groups)
		r = put(out, VMCT_FRAME_MAX, len, "groups", groups);
	if (!c->seccomp)
		return r;
	if (!c->seccomp_len || c->seccomp_len % VMCT_BPF_INSN ||
	    c->seccomp_len / VMCT_BPF_INSN > VMCT_BPF_MAX || c->seccomp_flags & ~VMCT_SECCOMP_FLAGS)
		return -E2BIG;
	if (!r)
		r = put_hex(out, VMCT_FRAME_MAX, len, "seccomp", c->seccomp, c->seccomp_len);
	snprintf(text, sizeof(text), "%u", c->seccomp_flags);
	if (!r && c->seccomp_flags)
		r = put(out, VMCT_FRAME_MAX, len, "seccomp_flags", text);
	return r;
}

/* 1..32 of [A-Za-z0-9._-], not starting with '-', up to @end (':' or NUL). */
static const char *user_part(const char *s)
{
	const char *p = s;

	for (; *p && *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return NULL;
	return p == s || p - s > 32 || *s == '-' ? NULL : p;
}

bool vmct_user_valid(const char *s)
{
	const char *end = user_part(s);

	if (!end)
		return false;
	return !*end || ((end = user_part(end + 1)) && !*end);
}

/* An ioprio_set(2) value: class (bits 13..15) RT, BE or IDLE, level 0..7. */
static bool ioprio_ok(uint32_t v)
{
	return (v >> 13) >= 1 && (v >> 13) <= 3 && (v & 0x1fff) <= 7;
}

/* rlimit entries, umask, oom_score_adj, ioprio: refused as the parser refuses them. */
static int encode_limits(const struct vmct_config *c, char *out, size_t *len)
{
	char text[3 * 21 + 1];
	int r = 0;

	if (c->n_rlimits > VMCT_RLIMITS_MAX || (c->has_umask && c->umask > 0777) ||
	    (c->has_oom && (c->oom_score_adj < -1000 || c->oom_score_adj > 1000)))
		return -E2BIG;
	for (uint32_t i = 0; i < c->n_rlimits && !r; i++) {
		const struct vmct_rlimit *l = &c->rlimits[i];

		if (l->resource >= VMCT_RLIMITS_MAX || l->soft > l->hard)
			return -E2BIG;
		snprintf(text, sizeof(text), "%u %" PRIu64 " %" PRIu64, l->resource, l->soft,
			 l->hard);
		r = put(out, VMCT_FRAME_MAX, len, "rlimit", text);
	}
	snprintf(text, sizeof(text), "%u", c->umask);
	if (!r && c->has_umask)
		r = put(out, VMCT_FRAME_MAX, len, "umask", text);
	snprintf(text, sizeof(text), "%d", c->oom_score_adj);
	if (!r && c->has_oom)
		r = put(out, VMCT_FRAME_MAX, len, "oom_score_adj", text);
	if ((c->ioprio && !ioprio_ok(c->ioprio)) || (c->user && !vmct_user_valid(c->user)))
		return -E2BIG;
	if (!r && c->user)
		r = put(out, VMCT_FRAME_MAX, len, "user", c->user);
	snprintf(text, sizeof(text), "%u", c->ioprio);
	if (!r && c->ioprio)
		r = put(out, VMCT_FRAME_MAX, len, "ioprio", text);
	return r;
}

static int encode(const struct vmct_config *c, char *out, size_t *len)
{
	char num[16];
	int r = 0;

	*len = 0;
	for (size_t i = 0; c->argv && c->argv[i] && !r; i++)
		r = i < VMCT_ARGS_MAX ? put(out, VMCT_FRAME_MAX, len, "arg", c->argv[i]) : -E2BIG;
	for (size_t i = 0; c->env && c->env[i] && !r; i++)
		r = i < VMCT_ARGS_MAX ? put(out, VMCT_FRAME_MAX, len, "env", c->env[i]) : -E2BIG;
	if (!r)
		r = put(out, VMCT_FRAME_MAX, len, "cwd", c->cwd ? c->cwd : "/");
	snprintf(num, sizeof(num), "%u", c->uid);
	if (!r)
		r = put(out, VMCT_FRAME_MAX, len, "uid", num);
	snprintf(num, sizeof(num), "%u", c->gid);
	if (!r)
		r = put(out, VMCT_FRAME_MAX, len, "gid", num);
	if (!r)
		r = put(out, VMCT_FRAME_MAX, len, "tty", c->tty ? "1" : "0");
	if (!r && c->init)
		r = put(out, VMCT_FRAME_MAX, len, "init", "1");
	snprintf(num, sizeof(num), "%u", c->rows);
	if (!r && c->tty && c->rows)
		r = put(out, VMCT_FRAME_MAX, len, "rows", num);
	snprintf(num, sizeof(num), "%u", c->cols);
	if (!r && c->tty && c->cols)
		r = put(out, VMCT_FRAME_MAX, len, "cols", num);
	if (!r)
		r = encode_net(c, out, len);
	for (size_t i = 0; c->paths && c->paths[i] && !r; i++)
		r = i < VMCT_PATHS_MAX && vmct_path_ok(c->paths[i])
			? put(out, VMCT_FRAME_MAX, len, "path", c->paths[i])
			: -E2BIG;
	for (size_t i = 0; c->mounts && c->mounts[i] && !r; i++)
		r = i < VMCT_MOUNTS_MAX ? put(out, VMCT_FRAME_MAX, len, "mount", c->mounts[i])
					: -E2BIG;
	for (size_t i = 0; c->sysctls && c->sysctls[i] && !r; i++)
		r = i < VMCT_SYSCTLS_MAX && vmct_sysctl_ok(c->sysctls[i])
			? put(out, VMCT_FRAME_MAX, len, "sysctl", c->sysctls[i])
			: -E2BIG;
	if (!r)
		r = encode_priv(c, out, len);
	if (!r)
		r = encode_limits(c, out, len);
	return r;
}

#define MOUNT_FLAGS                                                                                \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
	 MS_STRICTATIME)

/* Absolute, no "." or ".." component, no whitespace or control bytes, fits. */
static bool mount_path_ok(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n >= VMCT_MOUNT_STR)
		return false;
	for (const char *c = p; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	for (const char *c = p; c; c = strchr(c + 1, '/')) {
		size_t k = strcspn(c + 1, "/");

		if ((k == 1 && c[1] == '.') || (k == 2 && c[1] == '.' && c[2] == '.'))
			return false;
	}
	return true;
}

bool vmct_path_ok(const char *e)
{
	return (e[0] == 'M' || e[0] == 'R') && e[1] == ' ' && mount_path_ok(e + 2);
}

bool vmct_sysctl_ok(const char *e)
{
	const char *v = strchr(e, ' '), *c;

	if (!v || v == e || !v[1] || strlen(e) >= VMCT_SYSCTL_STR || e[0] == '.' || v[-1] == '.')
		return false;
	for (c = e; c < v; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
		      *c == '-' || (*c == '.' && c[1] != '.')))
			return false;
	for (c = v + 1; *c; c++)
		if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
			return false;
	return true;
}

static bool mount_data_ok(const char *d)
{
	if (strlen(d) >= VMCT_MOUNT_STR)
		return false;
	for (const char *c = d; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

/* A share's tag as the host names them: VMCT_FS_PREFIX and one digit below VMCT_FS_MAX. */
static bool fs_tag_ok(const char *d)
{
	size_t n = strlen(VMCT_FS_PREFIX);

	return !strncmp(d, VMCT_FS_PREFIX, n) && d[n] >= '0' && d[n] < '0' + (int)VMCT_FS_MAX &&
	       !d[n + 1];
}

static bool mount_ok(const struct vmct_mount *m)
{
	if (!strcmp(m->type, "virtiofs") && !fs_tag_ok(m->data))
		return false;
	return (!strcmp(m->type, "tmpfs") || !strcmp(m->type, "mqueue") ||
		!strcmp(m->type, "cgroup2") || !strcmp(m->type, "virtiofs")) &&
	       !(m->flags & ~(unsigned long)MOUNT_FLAGS) && mount_path_ok(m->dest) &&
	       strcmp(m->dest, "/") && mount_data_ok(m->data) && strcmp(m->data, "-") &&
	       (!m->copyup || !strcmp(m->type, "tmpfs"));
}

int vmct_mount_format(const struct vmct_mount *m, char *out, size_t cap)
{
	int n;

	if (!mount_ok(m))
		return -EINVAL;
	n = snprintf(out, cap, "%s %lu %s %s%s", m->type, m->flags, m->dest,
		     m->data[0] ? m->data : "-", m->copyup ? " copyup" : "");
	return n < 0 || (size_t)n >= cap ? -E2BIG : 0;
}

int vmct_mount_parse(const char *s, struct vmct_mount *ret)
{
	struct vmct_mount m = {};
	const char *f[4];
	size_t len[4];
	uint32_t flags;
	char num[16];

	for (int i = 0; i < 4; i++) {
		f[i] = s;
		len[i] = strcspn(s, " ");
		if (!len[i] || (i < 3 && s[len[i]] != ' '))
			return -EINVAL;
		s += len[i] + (i < 3);
	}
	/* A fifth word: only "copyup", and nothing after it. */
	if (*s && strcmp(s, " copyup"))
		return -EINVAL;
	m.copyup = *s;
	if (len[0] >= sizeof(m.type) || len[1] >= sizeof(num) || len[2] >= sizeof(m.dest) ||
	    len[3] >= sizeof(m.data))
		return -EINVAL;
	memcpy(m.type, f[0], len[0]);
	memcpy(num, f[1], len[1]);
	num[len[1]] = '\0';
	memcpy(m.dest, f[2], len[2]);
	if (len[3] != 1 || f[3][0] != '-')
		memcpy(m.data, f[3], len[3]);
	if (parse_u32(num, &flags) < 0)
		return -EINVAL;
	m.flags = flags;
	if (!mount_ok(&m))
		return -EINVAL;
	*ret = m;
	return 0;
}

uint8_t *vmct_config_encode(const struct vmct_config *c, uint32_t *ret_len)
{
	size_t len;
	char *out;

	if (encode(c, NULL, &len) < 0) {
		errno = E2BIG;
		return NULL;
	}
	out = malloc(len ? len : 1);
	if (!out)
		return NULL;
	encode(c, out, &len);
	*ret_len = len;
	return (uint8_t *)out;
}

int vmct_parse_u32n(const char *s, size_t n, uint32_t *ret)
{
	uint64_t v = 0;

	if (!n || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static int parse_u32(const char *s, uint32_t *ret)
{
	return vmct_parse_u32n(s, strlen(s), ret);
}

int vmct_connect_reply_parse(const char *line, uint32_t *ret_port)
{
	uint32_t port;

	if (strncmp(line, "OK ", 3) || parse_u32(line + 3, &port) < 0)
		return -EPROTO;
	*ret_port = port;
	return 0;
}

void vmct_config_free(struct vmct_config *c)
{
	free(c->argv);
	free(c->env);
	free(c->mounts);
	free(c->paths);
	free(c->sysctls);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

struct parse_state {
	size_t n_arg, n_env, n_mount, n_path, n_sysctl;
	unsigned seen; /* bit per single key */
};

enum {
	K_CWD,
	K_UID,
	K_GID,
	K_TTY,
	K_ROWS,
	K_COLS,
	K_INIT,
	K_NET_ADDR,
	K_NET_PREFIX,
	K_NET_GW,
	K_NET_MTU,
	K_NET_MAC,
	K_HOSTNAME,
	K_ETC_HOSTS,
	K_ETC_RESOLV,
	K_ETC_HOSTNAME,
	K_CAPS,
	K_NNP,
	K_GROUPS,
	K_SECCOMP,
	K_SECCOMP_FLAGS,
	K_UMASK,
	K_OOM,
	K_IOPRIO,
	K_USER,
	K_N
};

/* A dotted quad, each part 1-3 digits up to 255; host byte order. */
static int parse_ipv4(const char *s, uint32_t *ret)
{
	uint32_t a = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;

		for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
			v = v * 10 + (*s - '0');
		if (digits == 0 || digits > 3 || v > 255 || *s != (part < 3 ? '.' : '\0'))
			return -EINVAL;
		if (part < 3)
			s++;
		a = a << 8 | v;
	}
	*ret = a;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* xx:xx:xx:xx:xx:xx, a unicast address other than 0. */
static int parse_mac(const char *s, uint8_t ret[6])
{
	uint8_t m[6];

	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m[i] = hi << 4 | lo;
	}
	if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		return -EINVAL;
	memcpy(ret, m, 6);
	return 0;
}

/* net_*, hostname and the files; each value checked alone here, together in net_check. */
static int net_key(struct vmct_config *c, unsigned k, char *val, const char **why)
{
	uint32_t n;

	switch (k) {
	case K_NET_ADDR:
	case K_NET_GW:
		if (parse_ipv4(val, k == K_NET_ADDR ? &c->net.addr : &c->net.gw) < 0)
			return *why = "net_addr or net_gw is not a dotted quad", -EINVAL;
		return 0;
	case K_NET_PREFIX:
		if (parse_u32(val, &n) < 0 || n < 1 || n > 32)
			return *why = "net_prefix is not 1..32", -EINVAL;
		c->net.prefix = n;
		return 0;
	case K_NET_MTU:
		if (parse_u32(val, &n) < 0 || n < 68 || n > 65535)
			return *why = "net_mtu is not 68..65535", -EINVAL;
		c->net.mtu = n;
		return 0;
	case K_NET_MAC:
		if (parse_mac(val, c->net.mac) < 0)
			return *why = "net_mac is not a unicast xx:xx:xx:xx:xx:xx other than 0",
			       -EINVAL;
		c->net.has_mac = true;
		return 0;
	case K_HOSTNAME:
		if (!hostname_valid(val, VMCT_HOSTNAME_MAX))
			return *why = "hostname is not 1..64 of [A-Za-z0-9._-]", -EINVAL;
		c->hostname = val;
		return 0;
	default:
		if (strlen(val) > VMCT_FILE_MAX)
			return *why = "an etc_ file is too long", -EINVAL;
		*(k == K_ETC_HOSTS    ? &c->etc_hosts
		  : k == K_ETC_RESOLV ? &c->etc_resolv
				      : &c->etc_hostname) = val;
		return 0;
	}
}

/* The address, prefix and gateway make sense together (keys seen: @seen). */
static int net_check(struct vmct_config *c, unsigned seen, const char **why)
{
	const unsigned any = 1u << K_NET_ADDR | 1u << K_NET_PREFIX | 1u << K_NET_GW |
			     1u << K_NET_MTU | 1u << K_NET_MAC;
	uint32_t mask, a = c->net.addr, gw = c->net.gw;

	if (!(seen & any))
		return 0;
	if (!(seen & 1u << K_NET_ADDR) || !(seen & 1u << K_NET_PREFIX))
		return *why = "net_ keys without net_addr and net_prefix", -EINVAL;
	mask = c->net.prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> c->net.prefix);
	if (a == 0 || a == 0xffffffffu || (a >> 24) == 127 || (a >> 28) == 0xe ||
	    (c->net.prefix <= 30 && ((a & ~mask) == 0 || (a & ~mask) == ~mask)))
		return *why = "net_addr is not a host's address", -EINVAL;
	if ((seen & 1u << K_NET_GW) && (gw == 0 || gw == a || (gw & mask) != (a & mask)))
		return *why = "net_gw is 0, the address itself or not on its subnet", -EINVAL;
	c->net.set = true;
	return 0;
}

/* At most 16 hex digits, no sign or prefix, then @end. */
static int parse_hex64(const char *s, char end, const char **ret_end, uint64_t *ret)
{
	uint64_t v = 0;
	int n = 0, d;

	for (; (d = hex_digit(*s)) >= 0; s++, n++)
		v = v << 4 | (unsigned)d;
	if (n == 0 || n > 16 || *s != end)
		return -EINVAL;
	*ret_end = s;
	*ret = v;
	return 0;
}

static int parse_caps(const char *s, struct ct_caps *ret)
{
	uint64_t *sets[] = {&ret->bounding, &ret->effective, &ret->inheritable, &ret->permitted,
			    &ret->ambient};

	for (size_t i = 0; i < 5; i++) {
		if (parse_hex64(s, i < 4 ? ' ' : '\0', &s, sets[i]) < 0)
			return -EINVAL;
		s++;
	}
	return 0;
}

/* "G,G,...": 1..VMCT_GROUPS_MAX decimal u32s; cut in place. */
static int parse_groups(char *s, struct vmct_config *c)
{
	c->n_groups = 0;
	for (char *g = s, *next; g; g = next) {
		next = strchr(g, ',');
		if (next)
			*next++ = '\0';
		if (c->n_groups == VMCT_GROUPS_MAX || parse_u32(g, &c->groups[c->n_groups++]) < 0)
			return -EINVAL;
	}
	return 0;
}

/* Hex of 1..VMCT_BPF_MAX instructions, decoded in place (byte i over digits 2i, 2i+1). */
static int parse_bpf(char *s, struct vmct_config *c)
{
	size_t n = strlen(s);

	if (n == 0 || n % (2 * VMCT_BPF_INSN) || n / (2 * VMCT_BPF_INSN) > VMCT_BPF_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		((uint8_t *)s)[i] = (uint8_t)(hi << 4 | lo);
	}
	c->seccomp = s;
	c->seccomp_len = n / 2;
	return 0;
}

/*
 * caps, nnp, groups, seccomp, seccomp_flags (checked against the filter in
 * vmct_config_parse), umask, oom_score_adj, ioprio.
 */
static int priv_key(struct vmct_config *c, unsigned k, char *val, const char **why)
{
	uint32_t n;

	switch (k) {
	case K_CAPS:
		if (parse_caps(val, &c->caps) < 0)
			return *why = "caps is not five hex numbers", -EINVAL;
		c->has_caps = true;
		return 0;
	case K_NNP:
		if (strcmp(val, "1"))
			return *why = "nnp is not 1", -EINVAL;
		c->no_new_privs = true;
		return 0;
	case K_GROUPS:
		if (parse_groups(val, c) < 0)
			return *why = "groups is not 1..256 numbers split by commas", -EINVAL;
		return 0;
	case K_SECCOMP:
		if (parse_bpf(val, c) < 0)
			return *why = "seccomp is not hex of 1..4096 BPF instructions", -EINVAL;
		return 0;
	case K_UMASK:
		if (parse_u32(val, &c->umask) < 0 || c->umask > 0777)
			return *why = "umask is not 0..511", -EINVAL;
		c->has_umask = true;
		return 0;
	case K_OOM:
		if (parse_u32(val + (val[0] == '-'), &n) < 0 || n > 1000 || !strcmp(val, "-0"))
			return *why = "oom_score_adj is not -1000..1000", -EINVAL;
		c->oom_score_adj = val[0] == '-' ? -(int32_t)n : (int32_t)n;
		c->has_oom = true;
		return 0;
	case K_USER:
		if (!vmct_user_valid(val))
			return *why = "user is not NAME[:GROUP] of [A-Za-z0-9._-]", -EINVAL;
		c->user = val;
		return 0;
	case K_IOPRIO:
		if (parse_u32(val, &c->ioprio) < 0 || !ioprio_ok(c->ioprio))
			return *why = "ioprio is not a class 1..3 with a level 0..7", -EINVAL;
		return 0;
	default:
		if (parse_u32(val, &c->seccomp_flags) < 0 || !c->seccomp_flags ||
		    (c->seccomp_flags & ~VMCT_SECCOMP_FLAGS))
			return *why = "seccomp_flags is not a set of known flags", -EINVAL;
		return 0;
	}
}

/* One of the keys that may appear once: cwd, uid, gid, tty, rows, cols, net_*, files, privileges.
 */
static int single_key(struct vmct_config *c, unsigned k, char *val, const char **why)
{
	uint32_t n;

	if (k >= K_CAPS)
		return priv_key(c, k, val, why);
	if (k >= K_NET_ADDR)
		return net_key(c, k, val, why);
	switch (k) {
	case K_CWD:
		if (val[0] != '/')
			return *why = "cwd is not absolute", -EINVAL;
		c->cwd = (char *)val;
		return 0;
	case K_TTY:
		if (strcmp(val, "0") && strcmp(val, "1"))
			return *why = "tty is not 0 or 1", -EINVAL;
		c->tty = val[0] == '1';
		return 0;
	case K_INIT:
		if (strcmp(val, "1"))
			return *why = "init is not 1", -EINVAL;
		c->init = true;
		return 0;
	case K_ROWS:
	case K_COLS:
		if (parse_u32(val, &n) < 0 || n > UINT16_MAX)
			return *why = "rows or cols is not a number up to 65535", -EINVAL;
		*(k == K_ROWS ? &c->rows : &c->cols) = n;
		return 0;
	default:
		if (parse_u32(val, k == K_UID ? &c->uid : &c->gid) < 0)
			return *why = "uid or gid is not a number", -EINVAL;
		return 0;
	}
}

/* A decimal u64 with no sign or junk, then @end; *ret_end just after it. */
static int parse_u64_field(const char *s, char end, const char **ret_end, uint64_t *ret)
{
	uint64_t v = 0;
	int n = 0;

	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (n == 0 || n > 20 || *s != end)
		return -EINVAL;
	*ret_end = s + 1;
	*ret = v;
	return 0;
}

/* "RESOURCE SOFT HARD": a resource below VMCT_RLIMITS_MAX not seen yet, soft <= hard. */
static int parse_rlimit(const char *s, struct vmct_config *c)
{
	struct vmct_rlimit l;
	uint64_t res;

	if (parse_u64_field(s, ' ', &s, &res) < 0 || parse_u64_field(s, ' ', &s, &l.soft) < 0 ||
	    parse_u64_field(s, '\0', &s, &l.hard) < 0 || res >= VMCT_RLIMITS_MAX || l.soft > l.hard)
		return -EINVAL;
	l.resource = (uint32_t)res;
	for (uint32_t i = 0; i < c->n_rlimits; i++)
		if (c->rlimits[i].resource == l.resource)
			return -EINVAL;
	c->rlimits[c->n_rlimits++] = l;
	return 0;
}

static int entry(struct vmct_config *c, struct parse_state *st, char *e, const char **why)
{
	static const char *const single[] = {
	    "cwd",	     "uid",	"gid",		 "tty",	       "rows",
	    "cols",	     "init",	"net_addr",	 "net_prefix", "net_gw",
	    "net_mtu",	     "net_mac", "hostname",	 "etc_hosts",  "etc_resolv",
	    "etc_hostname",  "caps",	"nnp",		 "groups",     "seccomp",
	    "seccomp_flags", "umask",	"oom_score_adj", "ioprio",     "user"};
	_Static_assert(sizeof(single) / sizeof(single[0]) == K_N, "a name for every single key");
	char *val = strchr(e, '=');

	if (!val)
		return *why = "an entry without '='", -EINVAL;
	*val++ = '\0';
	if (!strcmp(e, "arg")) {
		c->argv[st->n_arg++] = val;
		return 0;
	}
	if (!strcmp(e, "mount")) {
		struct vmct_mount m;

		if (vmct_mount_parse(val, &m) < 0)
			return *why = "a bad mount entry", -EINVAL;
		c->mounts[st->n_mount++] = val;
		return 0;
	}
	if (!strcmp(e, "path")) {
		if (!vmct_path_ok(val))
			return *why = "a bad path entry", -EINVAL;
		c->paths[st->n_path++] = val;
		return 0;
	}
	if (!strcmp(e, "sysctl")) {
		if (!vmct_sysctl_ok(val))
			return *why = "a bad sysctl entry", -EINVAL;
		c->sysctls[st->n_sysctl++] = val;
		return 0;
	}
	if (!strcmp(e, "rlimit")) {
		if (c->n_rlimits == VMCT_RLIMITS_MAX || parse_rlimit(val, c) < 0)
			return *why = "a bad, repeated or 17th rlimit", -EINVAL;
		return 0;
	}
	if (!strcmp(e, "env")) {
		if (!strchr(val, '=') || val[0] == '=')
			return *why = "an env entry that is not KEY=VALUE", -EINVAL;
		c->env[st->n_env++] = val;
		return 0;
	}
	for (unsigned i = 0; i < K_N; i++) {
		if (strcmp(e, single[i]))
			continue;
		if (st->seen & (1u << i))
			return *why = "a repeated key", -EINVAL;
		st->seen |= 1u << i;
		return single_key(c, i, val, why);
	}
	return *why = "an unknown key", -EINVAL;
}

/* Count the repeated entries (arg, env, mount, path, sysctl): the arrays are sized first. */
struct counts {
	size_t arg, env, mount, path, sysctl;
};

static int count(const uint8_t *p, size_t len, struct counts *n)
{
	*n = (struct counts){};
	for (size_t o = 0; o < len; o += strlen((const char *)p + o) + 1) {
		if (!strncmp((const char *)p + o, "arg=", 4))
			n->arg++;
		else if (!strncmp((const char *)p + o, "env=", 4))
			n->env++;
		else if (!strncmp((const char *)p + o, "mount=", 6))
			n->mount++;
		else if (!strncmp((const char *)p + o, "path=", 5))
			n->path++;
		else if (!strncmp((const char *)p + o, "sysctl=", 7))
			n->sysctl++;
	}
	return n->arg > VMCT_ARGS_MAX || n->env > VMCT_ARGS_MAX || n->mount > VMCT_MOUNTS_MAX ||
		       n->path > VMCT_PATHS_MAX || n->sysctl > VMCT_SYSCTLS_MAX
		   ? -EINVAL
		   : 0;
}

int vmct_config_parse(const uint8_t *p, size_t len, struct vmct_config *ret, const char **ret_why)
{
	struct vmct_config c = {};
	struct parse_state st = {};
	const char *why = NULL, *dummy;
	struct counts cnt;
	int r = -EINVAL;

	if (!ret_why)
		ret_why = &dummy;
	if (len == 0 || len > VMCT_FRAME_MAX || p[len - 1] != '\0')
		return *ret_why = "empty, too long or not NUL-terminated", -EINVAL;
	if (count(p, len, &cnt) < 0)
		return *ret_why = "too many arg, env, mount, path or sysctl entries", -EINVAL;
	if (cnt.arg == 0)
		return *ret_why = "no arg", -EINVAL;
	c.buf = malloc(len);
	c.argv = calloc(cnt.arg + 1, sizeof(char *));
	c.env = calloc(cnt.env + 1, sizeof(char *));
	c.mounts = cnt.mount ? calloc(cnt.mount + 1, sizeof(char *)) : NULL;
	c.paths = cnt.path ? calloc(cnt.path + 1, sizeof(char *)) : NULL;
	c.sysctls = cnt.sysctl ? calloc(cnt.sysctl + 1, sizeof(char *)) : NULL;
	if (!c.buf || !c.argv || !c.env || (cnt.mount && !c.mounts) || (cnt.path && !c.paths) ||
	    (cnt.sysctl && !c.sysctls)) {
		vmct_config_free(&c);
		return *ret_why = "out of memory", -ENOMEM;
	}
	memcpy(c.buf, p, len);
	for (size_t o = 0, n; o < len; o += n + 1) {
		n = strlen(c.buf + o); /* before entry() cuts it at '=' */
		r = entry(&c, &st, c.buf + o, &why);
		if (r < 0)
			break;
	}
	if (r >= 0 && !c.cwd)
		c.cwd = "/";
	if (r >= 0 && !c.tty && (st.seen & (1u << K_ROWS | 1u << K_COLS))) {
		why = "rows or cols without tty=1";
		r = -EINVAL;
	}
	if (r >= 0)
		r = net_check(&c, st.seen, &why);
	if (r >= 0 && c.seccomp_flags && !c.seccomp) {
		why = "seccomp_flags without seccomp";
		r = -EINVAL;
	}
	if (r < 0) {
		vmct_config_free(&c);
		*ret_why = why;
		return r;
	}
	*ret = c;
	return 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void vmct_garp_frame(uint8_t out[VMCT_GARP_LEN], const uint8_t mac[6], uint32_t ip)
{
	uint8_t *a = out + 14;

	memset(out, 0, VMCT_GARP_LEN);
	memset(out, 0xff, 6); /* broadcast */
	memcpy(out + 6, mac, 6);
	out[12] = 0x08; /* ARP */
	out[13] = 0x06;
	a[1] = 1;    /* hardware: Ethernet */
	a[2] = 0x08; /* protocol: IPv4 */
	a[4] = 6;
	a[5] = 4;
	a[7] = 1; /* request */
	memcpy(a + 8, mac, 6);
	put_be32(a + 14, ip); /* sender: the guest */
	put_be32(a + 24, ip); /* target: itself; the target MAC stays 0 */
}
