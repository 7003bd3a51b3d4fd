/* SPDX-License-Identifier: GPL-2.0-or-later */
/* key=value words from the PVH cmdline (at most GUEST_MAX_CMDLINE bytes are read). */
#include "guest.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* The value of `key` (not NUL-terminated; ends at a space or NUL), or NULL. */
static const char *find(const char *key, size_t *ret_len)
{
	const char *s = guest_cmdline();
	size_t klen = guest_strnlen(key, 64);
	size_t len = guest_strnlen(s, GUEST_MAX_CMDLINE);
	const char *found = NULL;
	size_t i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && is_space(s[i]))
			i++;
		start = i;
		while (i < len && !is_space(s[i]))
			i++;
		end = i;
		if (end - start < klen || memcmp(s + start, key, klen))
			continue;
		if (end - start == klen) { /* bare "key" */
			found = s + end;
			*ret_len = 0;
		} else if (s[start + klen] == '=') { /* the last one wins */
			found = s + start + klen + 1;
			*ret_len = end - start - klen - 1;
		}
	}
	return found;
}

bool guest_cmdline_has(const char *key)
{
	size_t n;

	return find(key, &n) != NULL;
}

int guest_cmdline_str(const char *key, char *buf, size_t size)
{
	size_t n;
	const char *v = find(key, &n);

	if (!v || !size)
		return -1;
	if (n >= size)
		n = size - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return 0;
}

int guest_cmdline_u64(const char *key, uint64_t *ret)
{
	size_t n, i = 0;
	const char *v = find(key, &n);
	unsigned base = 10;
	uint64_t r = 0;

	if (!v)
		return -1;
	if (n > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == n)
		goto bad;
	for (; i < n; i++) {
		unsigned d;

		if (v[i] >= '0' && v[i] <= '9')
			d = v[i] - '0';
		else if (base == 16 && (v[i] | 0x20) >= 'a' && (v[i] | 0x20) <= 'f')
			d = (v[i] | 0x20) - 'a' + 10;
		else
			goto bad;
		if (r > (UINT64_MAX - d) / base)
			goto bad;
		r = r * base + d;
	}
	*ret = r;
	return 0;
bad:
	guest_printf("guest: cmdline: bad number for `%s`\n", key);
	guest_exit(GUEST_EXIT_BAD_ARG);
}

uint64_t guest_cmdline_u64_or(const char *key, uint64_t def, uint64_t max)
{
	uint64_t v = def;

	guest_cmdline_u64(key, &v);
	if (v > max) {
		guest_printf("guest: cmdline: `%s` is above its limit %lu\n", key,
			     (unsigned long)max);
		guest_exit(GUEST_EXIT_BAD_ARG);
	}
	return v;
}
