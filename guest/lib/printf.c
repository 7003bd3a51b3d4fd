/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A small printf: %s %c %d %i %u %x %X %p %%, flags '0' '#', width, l/ll/z. */
#include "guest.h"

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, uint64_t v, unsigned base, bool neg, int width, char pad,
		    bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg && pad == '0')
		put(o, '-');
	for (int w = n + (neg ? 1 : 0); w < width; w++)
		put(o, pad);
	if (neg && pad != '0')
		put(o, '-');
	while (n)
		put(o, tmp[--n]);
}

static uint64_t arg_u(va_list *ap, int lng)
{
	return lng ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
}

static int64_t arg_s(va_list *ap, int lng)
{
	return lng ? va_arg(*ap, long) : va_arg(*ap, int);
}

static void conv(struct out *o, char c, int lng, bool alt, int width, char pad, va_list *ap)
{
	int64_t s;
	const char *str;

	switch (c) {
	case 'd':
	case 'i':
		s = arg_s(ap, lng);
		put_num(o, s < 0 ? -(uint64_t)s : (uint64_t)s, 10, s < 0, width, pad, false);
		break;
	case 'u':
		put_num(o, arg_u(ap, lng), 10, false, width, pad, false);
		break;
	case 'p':
		lng = 1;
		alt = true;
		/* fall through */
	case 'x':
	case 'X':
		if (alt) {
			put(o, '0');
			put(o, 'x');
		}
		put_num(o, arg_u(ap, lng), 16, false, width, pad, c == 'X');
		break;
	case 'c':
		put(o, (char)va_arg(*ap, int));
		break;
	case 's':
		str = va_arg(*ap, const char *);
		if (!str)
			str = "(null)";
		for (size_t n = guest_strnlen(str, 4096); width > (int)n; width--)
			put(o, ' ');
		while (*str)
			put(o, *str++);
		break;
	default:
		put(o, '%');
		put(o, c);
	}
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0};
	va_list aq;

	va_copy(aq, ap);
	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		bool alt = false;
		char pad = ' ';

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '%') {
			put(&o, '%');
			continue;
		}
		for (; *fmt == '0' || *fmt == '#'; fmt++)
			if (*fmt == '0')
				pad = '0';
			else
				alt = true;
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng = 1;
		if (!*fmt)
			break;
		conv(&o, *fmt, lng, alt, width > 64 ? 64 : width, pad, &aq);
	}
	va_end(aq);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int guest_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	guest_write(buf, guest_strnlen(buf, sizeof(buf)));
	return n;
}
