/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A small AML (ACPI Machine Language, ACPI 6.5 chapter 20) byte emitter for
 * the DSDT: names, integers, strings, packages, buffers, scopes and devices,
 * and the resource descriptors a _CRS buffer holds (chapter 6.4).  Output
 * goes to a caller's fixed buffer; an overflow is remembered and reported by
 * aml_error(), so building code need not check every call.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool overflow;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
/* -ENOSPC if anything did not fit, else 0. */
int aml_error(const struct aml *a);

void aml_bytes(struct aml *a, const void *p, size_t n);
/* A NameString: optional leading '\', segments separated by '.', each padded with '_' to 4. */
void aml_namestring(struct aml *a, const char *path);
void aml_int(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0A08") as the compressed 32-bit integer. */
void aml_eisaid(struct aml *a, const char *id);
/* Name(path, <object emitted next>) */
void aml_name(struct aml *a, const char *path);

/* Open a length-prefixed object; the returned mark goes to aml_close(). */
size_t aml_scope(struct aml *a, const char *path);
size_t aml_device(struct aml *a, const char *path);
size_t aml_package(struct aml *a, uint8_t nr_elements);
void aml_close(struct aml *a, size_t mark);
/* Buffer(){...}: the contents follow; aml_buffer_close() writes the length and the size. */
size_t aml_buffer(struct aml *a);
void aml_buffer_close(struct aml *a, size_t mark);

/* Resource descriptors (inside aml_buffer()); aml_res_end() closes the template. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *a, uint8_t irq); /* IRQNoFlags: an ISA IRQ, 0-15 */
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max);
void aml_res_end(struct aml *a);

/* PkgLength encoding of len (which counts the encoding itself); returns its size 1..4. */
unsigned aml_pkglen_encode(size_t content, uint8_t out[4]);
