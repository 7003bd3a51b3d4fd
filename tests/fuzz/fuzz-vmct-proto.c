/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the host <-> isola-agent protocol (src/vmct/proto.c), as
 * both ends read it: frames out of a byte stream, and a CONFIG payload.  An
 * accepted config has an argv, an absolute cwd and K=V env entries, and what
 * vmct_config_encode makes of it parses again to the same.  Also (protocol 2)
 * a WINCH payload and the VMM's answer to CONNECT; (protocol 3) capabilities,
 * no_new_privs, groups, a seccomp filter, rlimits, umask, oom_score_adj;
 * the guest mounts (a tmpfs's copyup word too) survive a format and a parse.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* An accepted mount entry formats back to one that parses to the same mount. */
static void check_mount(const char *entry)
{
	struct vmct_mount m, m2;
	char line[3 * VMCT_MOUNT_STR];

	if (vmct_mount_parse(entry, &m) < 0 || vmct_mount_format(&m, line, sizeof(line)) < 0 ||
	    vmct_mount_parse(line, &m2) < 0)
		abort();
	if (strcmp(m.type, m2.type) || m.flags != m2.flags || strcmp(m.dest, m2.dest) ||
	    strcmp(m.data, m2.data) || m.copyup != m2.copyup ||
	    (m.copyup && strcmp(m.type, "tmpfs")))
		abort();
}

static void check_config(const uint8_t *p, size_t n)
{
	struct vmct_config c = {}, c2 = {};
	uint8_t *enc;
	uint32_t len;
	size_t i;

	if (vmct_config_parse(p, n, &c, NULL) < 0)
		return;
	if (!c.argv || !c.argv[0] || !c.cwd || c.cwd[0] != '/' || !c.env)
		abort();
	for (i = 0; c.env[i]; i++)
		if (!strchr(c.env[i], '=') || c.env[i][0] == '=')
			abort();
	for (i = 0; c.mounts && c.mounts[i]; i++)
		check_mount(c.mounts[i]);
	enc = vmct_config_encode(&c, &len);
	if (!enc || vmct_config_parse(enc, len, &c2, NULL) < 0)
		abort();
	for (i = 0; c.argv[i]; i++)
		if (!c2.argv[i] || strcmp(c.argv[i], c2.argv[i]))
			abort();
	if (c2.argv[i] || strcmp(c.cwd, c2.cwd) || c.uid != c2.uid || c.gid != c2.gid ||
	    c.tty != c2.tty || c.rows != c2.rows || c.cols != c2.cols ||
	    (!c.tty && (c.rows || c.cols)))
		abort();
	/* The guest's eth0: what was accepted is sane, and survives the round trip. */
	if (c.net.set != c2.net.set || c.net.addr != c2.net.addr || c.net.gw != c2.net.gw ||
	    c.net.prefix != c2.net.prefix || c.net.mtu != c2.net.mtu ||
	    (c.net.set && (c.net.prefix < 1 || c.net.prefix > 32 || c.net.addr == 0 ||
			   c.net.gw == c.net.addr || (c.net.mtu && c.net.mtu < 68))))
		abort();
	if (!same(c.hostname, c2.hostname) || !same(c.etc_hosts, c2.etc_hosts) ||
	    !same(c.etc_resolv, c2.etc_resolv) || !same(c.etc_hostname, c2.etc_hostname))
		abort();
	/* Protocol 3: the privileges are within their limits and survive too. */
	if (c.has_caps != c2.has_caps || memcmp(&c.caps, &c2.caps, sizeof(c.caps)) ||
	    c.no_new_privs != c2.no_new_privs || c.n_groups > VMCT_GROUPS_MAX ||
	    c.n_groups != c2.n_groups || memcmp(c.groups, c2.groups, c.n_groups * 4) ||
	    !c.seccomp != !c2.seccomp || c.seccomp_len != c2.seccomp_len ||
	    c.seccomp_flags != c2.seccomp_flags || (c.seccomp_flags & ~VMCT_SECCOMP_FLAGS) ||
	    (c.seccomp && (!c.seccomp_len || c.seccomp_len % VMCT_BPF_INSN ||
			   c.seccomp_len > VMCT_BPF_MAX * VMCT_BPF_INSN ||
			   memcmp(c.seccomp, c2.seccomp, c.seccomp_len))))
		abort();
	if (c.n_rlimits > VMCT_RLIMITS_MAX || c.n_rlimits != c2.n_rlimits ||
	    c.has_umask != c2.has_umask || c.umask != c2.umask || c.umask > 0777 ||
	    c.has_oom != c2.has_oom || c.oom_score_adj != c2.oom_score_adj ||
	    c.oom_score_adj < -1000 || c.oom_score_adj > 1000 || c.ioprio != c2.ioprio ||
	    !same(c.user, c2.user) || (c.user && !vmct_user_valid(c.user)) ||
	    (c.ioprio && ((c.ioprio >> 13) < 1 || (c.ioprio >> 13) > 3 || (c.ioprio & 0x1fff) > 7)))
		abort();
	for (i = 0; i < c.n_rlimits; i++)
		if (c.rlimits[i].resource >= VMCT_RLIMITS_MAX ||
		    c.rlimits[i].soft > c.rlimits[i].hard ||
		    c.rlimits[i].resource != c2.rlimits[i].resource ||
		    c.rlimits[i].soft != c2.rlimits[i].soft ||
		    c.rlimits[i].hard != c2.rlimits[i].hard)
			abort();
	free(enc);
	vmct_config_free(&c);
	vmct_config_free(&c2);
}

/* An accepted "OK <port>" answer is exactly what printing its port gives. */
static void check_connect_reply(const uint8_t *data, size_t size)
{
	char line[VMCT_CONNECT_MAX + 1], again[32];
	uint32_t port;

	if (size > VMCT_CONNECT_MAX || memchr(data, '\0', size))
		return;
	memcpy(line, data, size);
	line[size] = '\0';
	if (vmct_connect_reply_parse(line, &port) < 0)
		return;
	snprintf(again, sizeof(again), "OK %u", port);
	if (strcmp(line, again) && !(line[3] == '0' && strtoul(line + 3, NULL, 10) == port))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t rows, cols;

	const uint8_t *pl;
	uint32_t type, len;
	size_t off = 0;
	long f;

	/* The payload alone, as a config. */
	check_config(data, size);
	check_connect_reply(data, size);
	/* The stream, frame by frame, as the agent and the host read it. */
	while ((f = vmct_frame_next(data + off, size - off, &type, &pl, &len)) > 0) {
		if ((size_t)f != VMCT_HDR + len || type == 0 || type > VMCT_TYPE_MAX ||
		    len > VMCT_FRAME_MAX || pl != data + off + VMCT_HDR)
			abort();
		if (type == VMCT_CONFIG)
			check_config(pl, len);
		if (type == VMCT_WINCH && vmct_winch_parse(pl, len, &rows, &cols) == 0 &&
		    (len != 8 || vmct_get_u32(pl) != rows || vmct_get_u32(pl + 4) != cols))
			abort();
		off += f;
	}
	return 0;
}
