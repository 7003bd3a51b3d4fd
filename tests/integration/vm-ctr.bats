#!/usr/bin/env bats
# isola run --vm on this host (docs/vm-containers.md): what can be checked
# without booting Linux (this host's /dev/kvm cannot; the boots are in
# tests/l1, l1.bats vmct-*): refused options, bad kernels, the cached root
# disk and initramfs, and that a failed run leaves nothing behind.
load image-helpers

setup() {
	isola_tmp
	[ -x /bin/busybox ] || ci_skip "busybox-static not installed"
	require_cmd mkfs.ext4
	require_cmd debugfs
	require_cmd cpio
	export ISOLA_STORE=$TMP/store
	img_tar "$TMP/l.tar" d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/echo:busybox \
		d:etc d:tmp
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" localhost/vmct-bb:1 >/dev/null
}

teardown() { isola_cleanup_tmp; }

# Nothing of a run is left: no bundle, no socket directory of ours, no VMM.
nothing_left() {
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	! grep -q " $ISOLA_STORE" /proc/self/mountinfo
	[ "$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)" = "${1:-0}" ]
}

@test "run --vm: -t, -d, -v, -p, --network refused with one line, nothing left" {
	local before
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	for o in -t -d "-v /tmp:/x" "-p 80:80" "--network bridge" --init; do
		# shellcheck disable=SC2086
		run "$ISOLA" run --vm --rm $o vmct-bb:1 echo hi
		[ "$status" = 125 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"not supported with --vm"* ]]
	done
	nothing_left "$before"
}

@test "run --vm: a missing kernel is named, exit 125, nothing left" {
	local before
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	run "$ISOLA" run --vm --rm --vm-kernel "$TMP/no-such-kernel" vmct-bb:1 echo hi
	[ "$status" = 125 ]
	[[ "$output" == *"$TMP/no-such-kernel"* ]]
	nothing_left "$before"
}

@test "run --vm: a file that is no kernel: the VM's reason, exit 125, no VMM or socket left" {
	local before
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	echo "not a kernel" >"$TMP/bad-kernel"
	run "$ISOLA" run --vm --rm --vm-kernel "$TMP/bad-kernel" vmct-bb:1 echo hi
	[ "$status" = 125 ]
	[[ "$output" == *"before its agent connected"* ]]
	[[ "$output" == *"neither a PVH ELF nor a bzImage"* ]]
	nothing_left "$before"
	! pgrep -f "bad-kernel" >/dev/null
}

@test "run --vm: the root disk (ext4, mkfs.ext4 -d) and the agent initramfs are cached in the store" {
	echo "not a kernel" >"$TMP/bad-kernel"
	run "$ISOLA" run --vm --rm --vm-kernel "$TMP/bad-kernel" vmct-bb:1 echo hi
	[ "$status" = 125 ]
	local disk initrd
	disk=$(ls "$ISOLA_STORE"/vm/rootfs-*.ext4)
	initrd=$(ls "$ISOLA_STORE"/vm/initrd-*.cpio)
	debugfs -R "stat /bin/busybox" "$disk" 2>/dev/null | grep -q "Inode:"
	cpio -it <"$initrd" 2>/dev/null | grep -qx init
	# A second run reuses both (same names, nothing new, no temporaries).
	run "$ISOLA" run --vm --rm --vm-kernel "$TMP/bad-kernel" vmct-bb:1 echo hi
	[ "$(ls "$ISOLA_STORE/vm")" = "$(printf '%s\n%s' "$(basename "$initrd")" "$(basename "$disk")")" ]
}

@test "run --vm: --memory below 64M is refused" {
	echo "not a kernel" >"$TMP/bad-kernel"
	run "$ISOLA" run --vm --rm --memory 16M --vm-kernel "$TMP/bad-kernel" vmct-bb:1 echo hi
	[ "$status" = 125 ]
	[[ "$output" == *"at least 64M"* ]]
	nothing_left
}

@test "run --vm: a command not in the image exits 127 before any VM starts" {
	run -127 "$ISOLA" run --vm --rm --vm-kernel "$TMP/none" vmct-bb:1 no-such-cmd
	[ "$status" = 127 ]
	[[ "$output" == *"no-such-cmd"* ]]
	[ ! -d "$ISOLA_STORE/vm" ]
	nothing_left
}
