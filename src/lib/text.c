/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "text.h"

static bool is_ctl(uint8_t c)
{
	return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f;
}

char *text_escape_ctl(const void *p, size_t n)
{
	const uint8_t *s = p;
	char *out = malloc(n * 4 + 1), *o = out; /* at most "\xNN" per byte */

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		/* U+0080..U+009F (CSI is U+009B): both bytes escaped. */
		bool c1 = s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f;

		if (c1) {
			o += sprintf(o, "\\x%02x\\x%02x", s[i], s[i + 1]);
			i++;
		} else if (is_ctl(s[i])) {
			o += sprintf(o, "\\x%02x", s[i]);
		} else {
			*o++ = (char)s[i];
		}
	}
	*o = '\0';
	return out;
}
