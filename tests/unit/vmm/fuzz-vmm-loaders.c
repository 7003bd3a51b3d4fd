/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the VMM's parsers of untrusted files: the first byte
 * picks the PVH ELF loader, the bzImage header parser + loader + boot_params
 * writer, the JSON VM configuration, the bzImage payload unpacker + vmlinux
 * loader, or the initramfs unpacker (their cache directory is unwritable
 * here, so results stay in memfds); the rest is the file.  Guest memory
 * is 32 MiB; ASan flags any access outside it.  Build and run:
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/unit/vmm/fuzz-vmm-loaders
 *   build-fuzz/tests/unit/vmm/fuzz-vmm-loaders -max_total_time=60
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/boot.h"
#include "vm-config.h"
#include "vm-internal.h"

#define RAM (32u << 20)

static struct guest_mem mem;

static void fuzz_bzimage(int fd, const uint8_t *d, size_t n)
{
	struct bzimage_info bz;
	struct err *err = NULL;
	uint64_t initrd = 0;

	if (bzimage_parse(d, n, n, &bz, &err) == 0 &&
	    bzimage_load(fd, "fuzz", &mem, &bz, &err) == 0) {
		boot_place_initrd(4096, bzimage_kernel_end(&bz), RAM, bz.initrd_addr_max, &initrd,
				  &err);
		err_free(&err);
		bzimage_write_boot_params(&mem, &bz, VM_CMDLINE_ADDR, 100, initrd, 4096, &err);
	}
	err_free(&err);
}

static void fuzz_unpack(int fd, const uint8_t *d, size_t n, bool kernel)
{
	struct bzimage_info bz;
	struct pvh_image img;
	struct err *err = NULL;
	uint64_t len = 0;
	int out;

	if (!kernel) {
		out = initrd_unpack(fd, "fuzz", n, true, &len, &err);
	} else {
		out = bzimage_parse(d, n, n, &bz, &err);
		if (out == 0)
			out = bzimage_unpack(fd, "fuzz", n, &bz, true, &err);
		if (out >= 0 && vmlinux_load(out, "fuzz", &mem, &img, &err) < 0)
			err_free(&err);
	}
	if (out >= 0)
		close(out);
	err_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pvh_image img;
	struct vm_config cfg;
	struct err *err = NULL;
	char path[64];
	int fd;

	if (size < 1)
		return 0;
	if (!mem.nr) {
		uint8_t *ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		mem = (struct guest_mem){.regions = {{0, RAM, ram}}, .nr = 1};
		setenv("ISOLA_CACHE_DIR", "/proc/self/no-cache", 1);
	}
	fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	switch (data[0] % 5) {
	case 0:
		pvh_load(fd, "fuzz", &mem, &img, &err);
		break;
	case 1:
		fuzz_bzimage(fd, data + 1, size - 1);
		break;
	case 3:
		fuzz_unpack(fd, data + 1, size - 1, true);
		break;
	case 4:
		fuzz_unpack(fd, data + 1, size - 1, false);
		break;
	default:
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		vmm_config_init(&cfg);
		vmm_config_load_json(&cfg, path, &err);
		vmm_config_free(&cfg);
	}
	err_free(&err);
	close(fd);
	return 0;
}
