/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* A minimal TAP producer for unit tests run by `meson test` (protocol: 'tap'). */
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                   \
	({                                                                              \
		int _c = !!(cond);                                                      \
		tap_n++;                                                                \
		if (!_c)                                                                \
			tap_failed++;                                                   \
		printf("%s %d - ", _c ? "ok" : "not ok", tap_n);                        \
		printf(__VA_ARGS__);                                                    \
		printf("\n");                                                           \
		if (!_c)                                                                \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		_c;                                                                     \
	})
#define is_int(got, want, ...)                                       \
	({                                                           \
		long long _g = (got), _w = (want);                   \
		int _r = ok(_g == _w, __VA_ARGS__);                  \
		if (!_r)                                             \
			printf("#   got %lld, want %lld\n", _g, _w); \
		_r;                                                  \
	})
#define skip(why, ...)                                     \
	do {                                               \
		tap_n++;                                   \
		printf("ok %d - # SKIP %s\n", tap_n, why); \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
