/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the input is a `isola vm run --config` file.  It is
 * loaded by the same function the CLI calls (through a memfd, so the size
 * cap and the file read run too) into a fresh configuration, which is then
 * validated as `vm run` validates it before creating the VM.  ASan/UBSan and
 * LeakSanitizer catch out-of-bounds accesses and leaks on every error path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "vm-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;
	struct vm_config cfg;
	struct err *e = NULL;

	if (fd < 0) {
		fd = memfd_create("fuzz-vm-config", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	vmm_config_init(&cfg);
	if (vmm_config_load_json(&cfg, path, &e) < 0) {
		if (!e)
			abort();
		err_free(&e);
	} else if (vmm_config_validate(&cfg, &e) < 0) {
		err_free(&e);
	}
	vmm_config_free(&cfg);
	return 0;
}
