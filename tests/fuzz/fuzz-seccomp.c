/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the input is config.json's linux.seccomp object.  It is
 * compiled as `create` compiles it (flags, default action and errno,
 * architectures, every syscall rule with its arguments) down to the exported
 * BPF program, in memory: the on-disk cache is off and the program is never
 * loaded.  A compiled program must be a whole number of BPF instructions
 * within the kernel's limit.
 */
#include <linux/filter.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "jsonutil.h"
#include "seccomp.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_json_ json_t *j = NULL;
	struct ct_seccomp *s = NULL;
	struct err *e = NULL;

	if (json_load_buf_capped("linux.seccomp", (const char *)data, size, CT_CONFIG_MAX, &j, &e) <
	    0) {
		err_free(&e);
		return 0;
	}
	/* "" turns the cache off: nothing is read from or written to disk. */
	if (ct_seccomp_prepare(j, "", &s, &e) < 0) {
		if (!e || s)
			abort();
		err_free(&e);
		return 0;
	}
	if (s && ct_seccomp_from_cache(s))
		abort();
	ct_seccomp_free(s);
	return 0;
}
