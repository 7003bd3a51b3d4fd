/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Text from an untrusted source (a guest, an image), made safe to print. */
#include <stddef.h>

/*
 * A NUL-terminated copy of @n bytes of @p for a terminal: every control
 * character but '\n' and '\t' (C0, DEL, and C1 as UTF-8's \xc2\x80..\x9f)
 * and every byte outside a well-formed UTF-8 sequence (a lone 0x9b is CSI to
 * a terminal in an 8-bit mode) written as \xNN, so that no escape sequence
 * reaches the operator's terminal; other bytes as they are.  NULL on ENOMEM.
 */
char *text_escape_ctl(const void *p, size_t n);
