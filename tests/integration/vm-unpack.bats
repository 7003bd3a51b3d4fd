#!/usr/bin/env bats
# isola vm run --kernel-unpack: a bzImage's compressed kernel unpacked by the
# VMM into the cache and booted through its 64-bit entry (src/vmm/boot/unpack.c),
# with synthetic bzImages (vm_bzimage_packed): status 33 = the unpacked ELF ran
# and got boot_params, 35 = the bzImage's own entry ran (the guest unpacks).

load helpers
load vm-helpers

setup() {
	isola_tmp
	require_kvm
	export ISOLA_CACHE_DIR=$TMP/cache
	head -c 4096 /dev/zero >"$TMP/initrd"
}

teardown() {
	isola_cleanup_tmp
}

boot() { # KERNEL [OPTIONS...]
	local k=$1
	shift
	run timeout 20 "$ISOLA" vm run --kernel "$k" --initrd "$TMP/initrd" --cmdline "isola test" \
		--memory 64M --console none "$@"
}

@test "vm unpack: xz, gzip and zstd payloads boot unpacked, cached by the bzImage's sha256" {
	for f in xz gzip zstd; do
		[ "$f" != zstd ] || command -v zstd >/dev/null || continue
		vm_bzimage_packed "$TMP/bz-$f" $f
		boot "$TMP/bz-$f"
		echo "$f: $status $output"
		[ "$status" -eq 33 ]
		sum=$(sha256sum "$TMP/bz-$f" | cut -c1-64)
		[ -f "$TMP/cache/vmlinux/$sum.elf" ]
		# the cached ELF is the payload, byte for byte
		[ "$(head -c 4 "$TMP/cache/vmlinux/$sum.elf" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]
		[ "$(stat -c %a "$TMP/cache/vmlinux")" = 700 ]
		# the same again: from the cache
		boot "$TMP/bz-$f" --kernel-unpack vmm
		[ "$status" -eq 33 ]
	done
	# a cache entry whose content is not an ELF is made again
	vm_bzimage_packed "$TMP/bz" xz
	sum=$(sha256sum "$TMP/bz" | cut -c1-64)
	mkdir -p "$TMP/cache/vmlinux"
	echo junk >"$TMP/cache/vmlinux/$sum.elf"
	boot "$TMP/bz"
	[ "$status" -eq 33 ]
	[ "$(head -c 4 "$TMP/cache/vmlinux/$sum.elf" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]
	! ls "$TMP/cache/vmlinux" | grep -q tmp
}

@test "vm unpack: --kernel-unpack guest boots the bzImage's own entry and caches nothing" {
	vm_bzimage_packed "$TMP/bz" xz
	boot "$TMP/bz" --kernel-unpack guest
	[ "$status" -eq 35 ]
	[ ! -e "$TMP/cache/vmlinux" ] || [ -z "$(ls "$TMP/cache/vmlinux")" ]
	# the same from a vm.json
	printf '{"kernel": "%s", "initrd": "%s", "cmdline": "isola test", "memory": 64,
		"console": "none", "kernel-unpack": "guest"}' "$TMP/bz" "$TMP/initrd" >"$TMP/vm.json"
	run timeout 20 "$ISOLA" vm run --config "$TMP/vm.json"
	[ "$status" -eq 35 ]
	run "$ISOLA" vm run --kernel "$TMP/bz" --kernel-unpack sometimes
	[ "$status" -ne 0 ]
	[[ "$output" == *"--kernel-unpack"*"sometimes"* ]]
}

@test "vm unpack: a corrupt or short payload is a one-line error and leaves nothing behind" {
	for how in corrupt short; do
		vm_bzimage_packed "$TMP/bz-$how" xz $how
		boot "$TMP/bz-$how"
		echo "$how: $status $output"
		[ "$status" -ne 0 ]
		[ "$status" -ne 33 ]
		[ "$status" -ne 35 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"$TMP/bz-$how"*"xz payload is corrupt"* ]]
	done
	[ -z "$(ls "$TMP/cache/vmlinux")" ]
}

@test "vm unpack: an unknown compressor boots the guest's way (auto) or fails naming it (vmm)" {
	vm_bzimage_packed "$TMP/bz" lz4
	boot "$TMP/bz"
	[ "$status" -eq 35 ]
	boot "$TMP/bz" --kernel-unpack vmm
	echo "$output"
	[ "$status" -ne 0 ]
	[ "$status" -ne 35 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$TMP/bz"*"compressed with lz4"* ]]
}

@test "vm unpack: a cache entry replaced by a symlink is replaced, its target untouched" {
	vm_bzimage_packed "$TMP/bz" xz
	sum=$(sha256sum "$TMP/bz" | cut -c1-64)
	mkdir -p -m 700 "$TMP/cache/vmlinux"
	echo victim >"$TMP/victim"
	# a symlink to a file, and one to a valid ELF of another kernel: neither is followed
	ln -s "$TMP/victim" "$TMP/cache/vmlinux/$sum.elf"
	boot "$TMP/bz"
	[ "$status" -eq 33 ]
	[ "$(cat "$TMP/victim")" = victim ]
	[ -f "$TMP/cache/vmlinux/$sum.elf" ]
	[ ! -L "$TMP/cache/vmlinux/$sum.elf" ]
	# a cache directory others can write is not used (the ELF is held in memory)
	rm -rf "$TMP/cache"
	mkdir -p "$TMP/cache/vmlinux"
	chmod 777 "$TMP/cache/vmlinux"
	boot "$TMP/bz"
	[ "$status" -eq 33 ]
	[ -z "$(ls "$TMP/cache/vmlinux")" ]
}

# An initramfs of exactly 4096 bytes (a newc magic, then zeros): the test
# guest exits 33 only when boot_params' ramdisk_size is 4096.
initrd_4k() { # OUT
	{ printf 070701 && head -c 4090 /dev/zero; } >"$1"
}

@test "vm unpack: a gzip, xz or zstd initramfs reaches the guest as its plain cpio, cached" {
	vm_bzimage_packed "$TMP/bz" xz
	initrd_4k "$TMP/cpio"
	gzip -c "$TMP/cpio" >"$TMP/i.gz"
	xz --check=crc32 -c "$TMP/cpio" >"$TMP/i.xz"
	zstd -q -c "$TMP/cpio" >"$TMP/i.zst"
	for i in i.gz i.xz i.zst; do
		run timeout 20 "$ISOLA" vm run --kernel "$TMP/bz" --initrd "$TMP/$i" \
			--cmdline "isola test" --memory 64M --console none
		echo "$i: $status $output"
		[ "$status" -eq 33 ]
		[ -f "$TMP/cache/vmlinux/$(sha256sum "$TMP/$i" | cut -c1-64).cpio" ]
	done
	# from the cache, and the guest's way (the compressed file as it is)
	run timeout 20 "$ISOLA" vm run --kernel "$TMP/bz" --initrd "$TMP/i.gz" \
		--cmdline "isola test" --memory 64M --console none --initrd-unpack vmm
	[ "$status" -eq 33 ]
	run timeout 20 "$ISOLA" vm run --kernel "$TMP/bz" --initrd "$TMP/i.gz" \
		--cmdline "isola test" --memory 64M --console none --initrd-unpack guest
	[ "$status" -eq 34 ]
}

@test "vm unpack: a concatenated, corrupt or truncated initramfs is passed on or refused" {
	vm_bzimage_packed "$TMP/bz" xz
	initrd_4k "$TMP/cpio"
	gzip -c "$TMP/cpio" >"$TMP/i.gz"
	# a compressed archive followed by another: the kernel's way, unchanged (size != 4096)
	cat "$TMP/i.gz" "$TMP/cpio" >"$TMP/cat"
	run timeout 20 "$ISOLA" vm run --kernel "$TMP/bz" --initrd "$TMP/cat" \
		--cmdline "isola test" --memory 64M --console none
	[ "$status" -eq 34 ]
	# truncated, and a flipped byte: one-line errors naming the file; nothing cached
	head -c 30 "$TMP/i.gz" >"$TMP/short.gz"
	python3 -c "import sys; b = bytearray(open(sys.argv[1], 'rb').read()); b[20] ^= 0x55; open(sys.argv[2], 'wb').write(b)" \
		"$TMP/i.gz" "$TMP/bad.gz"
	for f in short.gz bad.gz; do
		run timeout 20 "$ISOLA" vm run --kernel "$TMP/bz" --initrd "$TMP/$f" \
			--cmdline "isola test" --memory 64M --console none
		echo "$f: $status $output"
		[ "$status" -ne 0 ]
		[ "$status" -ne 33 ]
		[ "$status" -ne 34 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"$TMP/$f"*"gzip data is corrupt"* ]]
	done
	! ls "$TMP/cache/vmlinux" | grep -q '\.cpio'
}
