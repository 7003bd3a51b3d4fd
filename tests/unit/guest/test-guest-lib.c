/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guest runtime's printf and cmdline parser, run on the host. */
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include "guest.h"
#include "tap.h"

/* Stubs for what printf.c and cmdline.c use from the rest of the runtime. */
static const char *cmdline = "";
static jmp_buf exit_jmp;
static char out[1024];
static size_t out_len;

const char *guest_cmdline(void)
{
	return cmdline;
}

size_t guest_strnlen(const char *s, size_t max)
{
	return strnlen(s, max);
}

void guest_write(const char *s, size_t n)
{
	if (out_len + n < sizeof(out)) {
		memcpy(out + out_len, s, n);
		out_len += n;
		out[out_len] = '\0';
	}
}

_Noreturn void guest_exit(int code)
{
	longjmp(exit_jmp, code);
}

static int fmt_is(const char *want, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return ok(n == (int)strlen(want) && !strcmp(buf, want), "format \"%s\" -> \"%s\"", fmt,
		  buf);
}

static void test_printf(void)
{
	char small[6];

	fmt_is("-42 17 ff FF", "%d %u %x %X", -42, 17u, 255u, 255u);
	fmt_is("-9223372036854775808", "%ld", (long)INT64_MIN);
	fmt_is("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
	fmt_is("   42|00042|-0042|0x1f", "%5d|%05d|%05d|%#x", 42, 42, -42, 31u);
	fmt_is("(null) x %", "%s %c %%", (char *)NULL, 'x');
	fmt_is("  ab", "%4s", "ab");
	fmt_is("0x1000", "%p", (void *)0x1000);
	is_int(guest_snprintf(small, sizeof(small), "%s", "hello world"), 11,
	       "snprintf returns the untruncated length");
	ok(!strcmp(small, "hello"), "and truncates with a NUL");
	is_int(guest_snprintf(NULL, 0, "%d", 12345), 5, "size 0 writes nothing");
	is_int(guest_snprintf(small, sizeof(small), "%999d", 1), 64, "width is capped at 64");
	out_len = 0;
	guest_printf("a%db", 7);
	ok(!strcmp(out, "a7b"), "guest_printf writes through guest_write");
}

/* guest_cmdline_u64 with the exit stub: returns the exit code, or -1000 - r. */
static int u64(const char *cl, const char *key, uint64_t *v)
{
	int code;

	cmdline = cl;
	code = setjmp(exit_jmp);
	if (code)
		return code;
	return -1000 - guest_cmdline_u64(key, v);
}

static void test_cmdline(void)
{
	static char big[GUEST_MAX_CMDLINE + 64];
	char buf[8];
	uint64_t v = 0;

	is_int(u64("a=1 b=0x1f", "b", &v), -1000, "hex value");
	is_int(v, 31, "0x1f is 31");
	is_int(u64("  a=5\tab=6  ", "a", &v), -1000, "whitespace and a longer key");
	is_int(v, 5, "a=5, not ab=6");
	is_int(u64("a=1 a=2", "a", &v), -1000, "repeated key");
	is_int(v, 2, "the last one wins");
	v = 77;
	is_int(u64("ab=1", "a", &v), -999, "absent key returns -1");
	is_int(v, 77, "and leaves the value alone");
	is_int(u64("a=12x", "a", &v), GUEST_EXIT_BAD_ARG, "junk after digits exits 126");
	is_int(u64("a=", "a", &v), GUEST_EXIT_BAD_ARG, "empty value exits 126");
	is_int(u64("a", "a", &v), GUEST_EXIT_BAD_ARG, "bare key as a number exits 126");
	is_int(u64("a=0x", "a", &v), GUEST_EXIT_BAD_ARG, "bare 0x exits 126");
	is_int(u64("a=18446744073709551615", "a", &v), -1000, "UINT64_MAX parses");
	ok(v == UINT64_MAX, "to UINT64_MAX");
	is_int(u64("a=18446744073709551616", "a", &v), GUEST_EXIT_BAD_ARG, "overflow exits 126");

	cmdline = "x=300";
	if (setjmp(exit_jmp) == 0) {
		guest_cmdline_u64_or("x", 1, 200);
		ok(0, "a value above its cap exits");
	} else {
		ok(1, "a value above its cap exits");
	}
	cmdline = "flag name=abcdefghij";
	ok(guest_cmdline_has("flag") && !guest_cmdline_has("fla"), "bare flags match whole words");
	is_int(guest_cmdline_str("name", buf, sizeof(buf)), 0, "string value");
	ok(!strcmp(buf, "abcdefg"), "truncated to the buffer");
	is_int(guest_cmdline_str("none", buf, sizeof(buf)), -1, "absent string");

	memset(big, 'x', sizeof(big) - 1);
	memcpy(big + GUEST_MAX_CMDLINE + 8, " k=1", 4);
	is_int(u64(big, "k", &v), -999, "nothing past GUEST_MAX_CMDLINE bytes is read");
}

int main(void)
{
	test_printf();
	test_cmdline();
	return tap_done();
}
