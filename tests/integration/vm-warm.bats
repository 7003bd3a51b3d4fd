#!/usr/bin/env bats
# Warm starts of run --vm on this host (docs/vm-containers.md, "Warm
# starts"): what can be checked without booting Linux (the warm runs are in
# tests/l1, l1.bats vmct-warm*): the restore's remaps that a warm start uses
# (--disk-remap, --vsock-remap) against bad input, a template build that fails
# (one note, then the cold boot) or is interrupted, and nothing left behind.
load image-helpers
load vm-helpers
bats_require_minimum_version 1.5.0

setup() {
	isola_tmp
	export ISOLA_STORE=$TMP/store
	export ISOLA_VM_RUNDIR=$TMP/run
	unset ISOLA_VM_COLD
	# run --vm defaults to the bridge network; these tests are about the warm
	# path without a NIC (with one: vm-warm-net.bats).
	export ISOLA_NETWORK=none
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}" "${PID:-}"; do
		[ -n "$p" ] || continue
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	isola_cleanup_tmp
}

image() {
	[ -x /bin/busybox ] || ci_skip "busybox-static not installed"
	require_cmd mkfs.ext4
	require_cmd cpio
	img_tar "$TMP/l.tar" d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/echo:busybox \
		d:etc d:tmp
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" localhost/warm-bb:1 >/dev/null
}

# No bundle, mount, socket dir, template build dir or template of a failed build
# (BEFORE: the socket dirs of other users' runs there were before ours).
nothing_left() {
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	refute grep " $ISOLA_STORE" /proc/self/mountinfo
	[ "$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)" -le "$1" ]
	[ "$(ls -d /tmp/isola-warm-* 2>/dev/null | wc -l)" -le "$2" ]
	[ -z "$(ls -A "$ISOLA_STORE/vm" | grep warm)" ]
}

snapshot_at() { # DIR PATTERN VM-RUN-ARGS...
	local d=$1 pat=$2 pid i
	shift 2
	"$ISOLA" vm run --console "$d/out1" --snapshot-state "$d/st" --snapshot-mem "$d/mem" "$@" &
	pid=$!
	PIDS+=("$pid")
	wait_until 20 grep -q "$pat" "$d/out1"
	kill -USR2 "$pid"
	wait_until 20 test -f "$d/st"
	kill -9 "$pid"
	wait "$pid" || true
}

@test "vm restore --vsock-remap: the socket moves; a socket or disk the snapshot lacks, a bad remap and a missing disk are one line each, leaving nothing" {
	require_kvm
	[ -f "$GUEST_DIR/virtio-rng.elf" ] || ci_skip "$GUEST_DIR/virtio-rng.elf not built"
	truncate -s 1M "$TMP/disk.img"
	snapshot_at "$TMP" "holding" --kernel "$GUEST_DIR/virtio-rng.elf" --cmdline "hold=2000000 irq" \
		--rng --disk "$TMP/disk.img" --vsock "cid=5,uds=$TMP/v.sock"
	[ -f "$TMP/st" ]
	local R=("$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console none)
	run "${R[@]}" --vsock-remap "$TMP/other.sock=$TMP/v2.sock"
	echo "$output"
	[ "$status" = 1 ]
	[[ "$output" == *"--vsock-remap \`$TMP/other.sock\`: the snapshot has no such vsock socket"* ]]
	[ "${#lines[@]}" = 1 ]
	[ ! -e "$TMP/v2.sock" ]
	run "${R[@]}" --vsock-remap "$TMP/v2.sock"
	[ "$status" != 0 ]
	[[ "$output" == *"--vsock-remap"*"expected OLD=NEW"* ]]
	run "${R[@]}" --vsock-remap "$TMP/v.sock=$TMP/v2.sock" --vsock-remap "$TMP/w.sock=$TMP/v3.sock"
	[ "$status" != 0 ]
	[[ "$output" == *"--vsock-remap: at most 1"* ]]
	run "${R[@]}" --vsock-remap "$TMP/v.sock=$TMP/v2.sock" --vsock-remap "$TMP/v.sock=$TMP/v3.sock"
	[ "$status" != 0 ]
	[[ "$output" == *"--vsock-remap: \`$TMP/v.sock\` given twice"* ]]
	truncate -s 3M "$TMP/disk2.img"
	run "${R[@]}" --disk-remap "$TMP/other.img=$TMP/disk2.img" --vsock-remap "$TMP/v.sock=$TMP/v2.sock"
	echo "$output"
	[ "$status" = 1 ]
	[[ "$output" == *"--disk-remap \`$TMP/other.img\`: the snapshot has no such disk"* ]]
	[ "${#lines[@]}" = 1 ]
	[ ! -e "$TMP/v2.sock" ]
	run "${R[@]}" --disk-remap "$TMP/disk.img=$TMP/missing.img" --vsock-remap "$TMP/v.sock=$TMP/v2.sock"
	echo "$output"
	[ "$status" = 1 ]
	[[ "$output" == *"$TMP/missing.img"* ]]
	[ "${#lines[@]}" = 1 ]
	[ ! -e "$TMP/v2.sock" ]
	# The killed VM's socket is still there: the restore binds the new one, with a disk of another size.
	[ -e "$TMP/v.sock" ]
	run timeout 60 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console "$TMP/out2" \
		--disk-remap "$TMP/disk.img=$TMP/disk2.img" --vsock-remap "$TMP/v.sock=$TMP/v2.sock"
	echo "$output"
	[ "$status" = 0 ]
	grep -q "guest: exit 0" "$TMP/out2"
}

@test "run --vm: a template that cannot be built (no kernel in the file): one note, then the cold boot's own error; no template left" {
	image
	local b1 b2
	b1=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	b2=$(ls -d /tmp/isola-warm-* 2>/dev/null | wc -l)
	echo "not a kernel" >"$TMP/bad-kernel"
	run "$ISOLA" run --vm --rm --vm-kernel "$TMP/bad-kernel" localhost/warm-bb:1 echo hi
	echo "$output"
	[ "$status" = 125 ]
	[ "$(grep -c "no warm start" <<<"$output")" = 1 ]
	[[ "$output" == *"no warm start"*"booting the VM cold"* ]]
	[[ "$output" == *"$(no_kernel_error)"* ]]
	nothing_left "$b1" "$b2"
}

@test "run --vm: ISOLA_VM_COLD=1 boots cold without trying a template" {
	image
	local b1 b2
	b1=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	b2=$(ls -d /tmp/isola-warm-* 2>/dev/null | wc -l)
	echo "not a kernel" >"$TMP/bad-kernel"
	ISOLA_VM_COLD=1 run "$ISOLA" run --vm --rm --vm-kernel "$TMP/bad-kernel" localhost/warm-bb:1 echo hi
	[ "$status" = 125 ]
	[[ "$output" != *"warm"* ]]
	[[ "$output" == *"$(no_kernel_error)"* ]]
	nothing_left "$b1" "$b2"
}

@test "run --vm: SIGTERM while the template boots stops its build: exit 125 naming the signal, nothing left" {
	image
	require_kvm
	[ -f "$GUEST_DIR/counter.elf" ] || ci_skip "$GUEST_DIR/counter.elf not built"
	local vmm b1 b2
	b1=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	b2=$(ls -d /tmp/isola-warm-* 2>/dev/null | wc -l)
	"$ISOLA" run --vm --rm --vm-kernel "$GUEST_DIR/counter.elf" localhost/warm-bb:1 echo hi \
		>"$TMP/out" 2>&1 3>&- &
	PID=$!
	wait_until 100 pgrep -P "$PID" -f "snapshot-state"
	vmm=$(pgrep -P "$PID" -f "snapshot-state")
	ls -d "$ISOLA_STORE"/vm/.warm-*
	kill -TERM "$PID"
	local st=0
	wait "$PID" || st=$?
	PID=
	cat "$TMP/out"
	[ "$st" = 125 ]
	grep -q "signal 15 before the container started" "$TMP/out"
	refute grep "booting the VM cold" "$TMP/out"
	refute kill -0 "$vmm"
	nothing_left "$b1" "$b2"
}
