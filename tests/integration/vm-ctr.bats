#!/usr/bin/env bats
# isola run --vm on this host (docs/vm-containers.md): what can be checked
# without booting Linux (this host's /dev/kvm cannot; the boots are in
# tests/l1, l1.bats vmct-*): refused options, bad kernels, the cached root
# disk and initramfs, and that a failed run leaves nothing behind.
load image-helpers
load vm-helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	vmct_setup
	require_cmd debugfs
	require_cmd cpio
	vmct_image vmct-bb
	# These check the cold boot; the warm path has vm-warm.bats and l1 vmct-warm*.
	export ISOLA_VM_COLD=1
	# run --vm defaults to the bridge network (vm-net.bats): a SIGKILLed run here
	# would leave its CNI rules for a store the teardown deletes.
	export ISOLA_NETWORK=none
}

teardown() {
	vmct_kill_leftovers
	isola_cleanup_tmp
}

# Nothing of a run is left: no bundle, no socket directory of ours, no VMM.
nothing_left() {
	vmct_store_empty
	[ "$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)" = "${1:-0}" ]
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
	echo "$output"
	[[ "$output" == *"before its agent connected"* ]]
	[[ "$output" == *"$(no_kernel_error)"* ]]
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

# A guest that never starts the agent (the counter test guest runs forever):
# isola waits for it until a signal or the boot timeout.
start_stuck_vm() {
	[ -c /dev/kvm ] || skip "SKIP: no /dev/kvm"
	[ -f "$ISOLA_TOP/build/guest/counter.elf" ] || ci_skip "test guests not built"
	"$ISOLA" run --vm --rm --vm-kernel "$ISOLA_TOP/build/guest/counter.elf" vmct-bb:1 echo hi \
		>"$TMP/out" 2>&1 3>&- &
	PID=$!
	# The exec'd VMM, not a fork of isola before its exec (its argv names counter.elf too).
	wait_until 100 pgrep -P "$PID" -f "vm run --kernel .*counter.elf"
	VMM=$(pgrep -P "$PID" -f "vm run --kernel .*counter.elf")
	VMDIR=$(tr '\0' '\n' </proc/"$VMM"/cmdline | sed -n 's/^cid=3,uds=\(.*\)\/v.sock$/\1/p')
	# The guest runs: its console (in isola's socket directory) counts.
	wait_until 100 grep -q "counter: 1" "$VMDIR/console.log"
}

@test "run --vm: SIGTERM while the VM boots stops the VM, exit 125 naming the signal, nothing left" {
	start_stuck_vm
	kill -TERM "$PID"
	local st=0
	wait "$PID" || st=$?
	[ "$st" = 125 ]
	grep -q "signal 15 before the container started" "$TMP/out"
	refute kill -0 "$VMM" 2>/dev/null
	[ ! -e "$VMDIR" ]
	nothing_left
}

@test "run --vm: the VMM does not outlive a SIGKILLed isola" {
	start_stuck_vm
	kill -KILL "$PID"
	wait "$PID" || true
	wait_until 100 "! kill -0 $VMM 2>/dev/null"
	# What a SIGKILL cannot clean (the socket directory, the bundle) teardown removes.
}

@test "run --vm: two signals while the VM boots: exit 125, the second left pending does not kill isola before it removes the bundle" {
	start_stuck_vm
	kill -HUP "$PID"
	kill -TERM "$PID"
	local st=0
	wait "$PID" || st=$?
	[ "$st" = 125 ]
	refute kill -0 "$VMM"
	nothing_left
}
