/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

static bool is_ctl(uint8_t c)
{
	return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f;
}

/*
 * The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * form, no surrogate, nothing above U+10FFFF), or 0 when s does not start one.
 */
static size_t utf8_len(const uint8_t *s, size_t n)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

char *text_escape_ctl(const void *p, size_t n)
{
	const uint8_t *s = p;
	char *out = malloc(n * 4 + 1), *o = out; /* at most "\xNN" per byte */

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t len = s[i] < 0x80 ? 1 : utf8_len(s + i, n - i);
		/*
		 * Escaped: C0 and DEL; U+0080..U+009F (CSI is U+009B), both bytes; and
		 * a byte that is not part of a well-formed sequence, since a terminal
		 * not in UTF-8 mode reads a lone 0x9b as CSI.
		 */
		bool esc = len == 0 || (len == 1 && is_ctl(s[i])) ||
			   (len == 2 && s[i] == 0xc2 && s[i + 1] <= 0x9f);

		if (len == 0)
			len = 1;
		if (!esc) {
			memcpy(o, s + i, len);
			o += len;
			i += len;
			continue;
		}
		for (size_t end = i + len; i < end; i++)
			o += sprintf(o, "\\x%02x", s[i]);
	}
	*o = '\0';
	return out;
}
