#!/usr/bin/env bats
# The OCI runtime mode of VM containers (isola-vm, run.isola.vm=true;
# docs/vm-containers.md) on this host: which bundles run in a VM, bad
# annotations, and that a create that fails or is interrupted leaves nothing
# behind.  This host's /dev/kvm cannot boot Linux: the lifecycle with a real
# guest is tested in the L1 bed (tests/l1/l1-tests.sh vmoci-*, l1.bats).
load image-helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle vmoci
	[ -x /bin/busybox ] || ci_skip "busybox-static not installed"
	require_cmd mkfs.ext4
	require_cmd jq
	# isola-vm is the same binary under another name (meson installs the symlink).
	ln -s "$ISOLA" "$TMP/isola-vm"
	VM=$TMP/isola-vm
	# Plain containers must not need a kernel; VM ones find none unless told.
	export ISOLA_VM_KERNEL=$TMP/no-such-kernel
	export ISOLA_AGENT=$ISOLA_TOP/build/src/vmct/isola-agent
}

teardown() {
	[ -n "${PID:-}" ] && kill -KILL "$PID" 2>/dev/null
	[ -n "${VMM:-}" ] && kill -KILL "$VMM" 2>/dev/null
	[ -n "${VMDIR:-}" ] && rm -rf --one-file-system "$VMDIR"
	"$ISOLA" --root "$R" delete --force "$ID" 2>/dev/null || true
	isola_cleanup_tmp
}

# Nothing of the container: no state dir, no socket dir beyond $1, no process naming $TMP.
nothing_left() {
	[ ! -e "$R/$ID" ]
	[ "$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)" = "${1:-0}" ]
	! pgrep -f "$TMP/" >/dev/null
}

annotate() { # KEY VALUE
	bundle_jq "$B" ".annotations[\"$1\"] = \"$2\""
}

@test "vm-oci: bad run.isola.vm annotations fail create in one line naming them, nothing left" {
	local before kv
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	cp "$B/config.json" "$TMP/config.orig"
	for kv in "run.isola.vm=yes" "run.isola.vm.cpus=0" "run.isola.vm.cpus=1x" \
		"run.isola.vm.memory=1M" "run.isola.vm.memory=lots" "run.isola.vm.kernel=vmlinuz" \
		"run.isola.vm.initrd=/x"; do
		cp "$TMP/config.orig" "$B/config.json"
		annotate "${kv%%=*}" "${kv#*=}"
		run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
		echo "$kv: $output"
		[ "$status" = 1 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"annotation \`${kv%%=*}\`"* ]]
		[[ "$output" == *"config.json"* ]]
		nothing_left "$before"
	done
}

@test "vm-oci: isola-vm refuses run.isola.vm=false (a bundle cannot drop the VM)" {
	annotate run.isola.vm false
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"run.isola.vm"*"always runs containers in VMs"* ]]
	[ ! -e "$R/$ID" ]
}

@test "vm-oci: plain isola without the annotation (or with run.isola.vm=false) runs no VM" {
	"$ISOLA" --root "$R" run --bundle "$B" "$ID" >"$TMP/out" 2>&1 || { cat "$TMP/out"; false; }
	annotate run.isola.vm false
	"$ISOLA" --root "$R" run --bundle "$B" "$ID" >"$TMP/out" 2>&1 || { cat "$TMP/out"; false; }
	[ ! -e "$R/$ID" ]
}

@test "vm-oci: isola-vm and run.isola.vm=true ask for a VM: the missing kernel is named, nothing left" {
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"guest kernel \`$TMP/no-such-kernel\`"* ]]
	nothing_left
	annotate run.isola.vm true
	annotate run.isola.vm.kernel "$TMP/other-kernel"
	run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"guest kernel \`$TMP/other-kernel\`"* ]]
	nothing_left
}

@test "vm-oci: runc's terminal rules; hooks are refused for a VM container" {
	cp "$B/config.json" "$TMP/config.orig"
	bundle_jq "$B" '.process.terminal = true'
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"cannot allocate tty if runc will detach without setting console socket"* ]]
	cp "$TMP/config.orig" "$B/config.json"
	bundle_jq "$B" '.hooks.prestart = [{"path": "/bin/true"}]'
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ] && [[ "$output" == *"hooks.prestart"* ]]
	cp "$TMP/config.orig" "$B/config.json"
	run "$VM" --root "$R" create --console-socket "$TMP/sock" --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"cannot use console socket if runc will not allocate tty"* ]]
	nothing_left
}

@test "vm-oci: process.terminal: the monitor sends a pty master to --console-socket; a VM that fails still leaves nothing" {
	local before
	require_cmd python3
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	bundle_jq "$B" '.process.terminal = true | .process.consoleSize = {"height": 30, "width": 90}'
	echo "not a kernel" >"$TMP/bad-kernel"
	ISOLA_VM_KERNEL=$TMP/bad-kernel run python3 "$BATS_TEST_DIRNAME/vm-oci-exec-fake.py" \
		engine --console "$TMP/console.sock" -- \
		"$VM" --root "$R" create --console-socket "$TMP/console.sock" --bundle "$B" "$ID"
	echo "$output"
	[[ "$output" == *"console=/dev/ptmx"* ]]
	[[ "$output" == *"exec=1"* ]]
	nothing_left "$before"
}

@test "vm-oci: a file that is no kernel: create fails with the VM's reason; no state, VMM or socket dir left" {
	local before
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	echo "not a kernel" >"$TMP/bad-kernel"
	ISOLA_VM_KERNEL=$TMP/bad-kernel run "$VM" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[[ "$output" == *"before its agent connected"* ]]
	nothing_left "$before"
}

# A guest that never starts the agent (the counter test guest runs forever).
start_stuck_create() {
	[ -c /dev/kvm ] || skip "SKIP: no /dev/kvm"
	[ -f "$ISOLA_TOP/build/guest/counter.elf" ] || ci_skip "test guests not built"
	ISOLA_VM_KERNEL=$ISOLA_TOP/build/guest/counter.elf \
		"$VM" --root "$R" create --bundle "$B" "$ID" >"$TMP/out" 2>&1 3>&- &
	PID=$!
	wait_until 100 "pgrep -f 'counter.elf.*$TMP/root/$ID' >/dev/null"
	VMM=$(pgrep -f "counter.elf.*$TMP/root/$ID")
	VMDIR=$(tr '\0' '\n' </proc/"$VMM"/cmdline | sed -n 's/^cid=3,uds=\(.*\)\/v.sock$/\1/p')
	wait_until 100 grep -q "counter: 1" "$VMDIR/console.log"
	# The per-container root disk is in the state dir while the VM boots.
	[ -f "$R/$ID/rootfs-ct.ext4" ]
}

@test "vm-oci: SIGTERM to create while the VM boots stops the VM and removes everything" {
	start_stuck_create
	kill -TERM "$PID"
	local st=0
	wait "$PID" || st=$?
	cat "$TMP/out"
	[ "$st" = 1 ]
	grep -q "signal 15 while the VM booted" "$TMP/out"
	wait_until 10 "! kill -0 $VMM 2>/dev/null"
	[ ! -e "$VMDIR" ]
	nothing_left
}

@test "vm-oci: a SIGKILLed create takes its monitor and VMM with it" {
	start_stuck_create
	kill -KILL "$PID"
	wait "$PID" || true
	wait_until 10 "! kill -0 $VMM 2>/dev/null"
	# What a SIGKILL cannot clean, delete --force does.
	"$ISOLA" --root "$R" delete --force "$ID"
	[ ! -e "$R/$ID" ]
}

@test "vm-oci: isola-vm run IMAGE is run --vm IMAGE (the kernel it looks for is named)" {
	export ISOLA_STORE=$TMP/store
	img_tar "$TMP/l.tar" d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/echo:busybox \
		d:etc d:tmp
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" localhost/vmoci-bb:1 >/dev/null
	run "$VM" run --rm vmoci-bb:1 echo hi
	[ "$status" = 125 ]
	[[ "$output" == *"guest kernel \`$TMP/no-such-kernel\`"* ]]
	# -d is what run --vm refuses: proof that --vm is on.
	run "$VM" run -d vmoci-bb:1 echo hi
	[ "$status" = 125 ]
	[[ "$output" == *"-d is not supported with --vm"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}
