#!/usr/bin/env bats
# Snapshot a running VM (SIGUSR2 with --snapshot-state/--snapshot-mem) and
# restore it (isola vm restore): guest/counter counts in ring 3 and must go
# on from where it was, not from 0.

load helpers
load vm-helpers

GUEST_DIR=${ISOLA_GUEST_DIR:-$(dirname "$ISOLA")/../../guest}

setup() {
	isola_tmp
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	isola_cleanup_tmp
}

require_counter() {
	require_kvm
	[ -f "$GUEST_DIR/counter.elf" ] || skip "SKIP: $GUEST_DIR/counter.elf not built"
}

# wait_for FILE PATTERN: up to 20 s for PATTERN to appear in FILE.
wait_for() {
	local i
	for i in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$2' in $1" >&2
	cat "$1" >&2 || true
	return 1
}

# snapshot_counter DIR [run args...]: runs the counter (max=60 lines), snapshots it after
# line 5 and lets it finish; DIR gets st, mem and out1, and $SNAP_LINE the
# last line seen before the snapshot.
snapshot_counter() {
	local d=$1 pid
	shift
	"$ISOLA" vm run --kernel "$GUEST_DIR/counter.elf" --cmdline "every=40000000 max=60" \
		--console "$d/out1" --snapshot-state "$d/st" --snapshot-mem "$d/mem" "$@" &
	pid=$!
	PIDS+=("$pid")
	wait_for "$d/out1" "^counter: 5"
	SNAP_LINE=$(grep -c "^counter: [0-9]" "$d/out1")
	kill -USR2 "$pid"
	for i in $(seq 200); do [ -f "$d/st" ] && break; sleep 0.1; done
	[ -f "$d/st" ] || return 1
	[ -f "$d/mem" ] || return 1
	wait "$pid" || true
	grep -q "counter: 60" "$d/out1"
}

@test "vm snapshot: the restored counter goes on from where it was" {
	require_counter
	snapshot_counter "$TMP"
	run timeout 60 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console "$TMP/out2"
	echo "$output"
	cat "$TMP/out2"
	[ "$status" -eq 1 ] # debug-exit 0: (0 << 1) | 1
	run grep -c "counter: start" "$TMP/out2"
	[ "$output" = 0 ]
	first=$(grep -m1 -o "^counter: [0-9]*" "$TMP/out2" | cut -d' ' -f2)
	# It resumes after the lines printed before the snapshot, never at 1.
	[ "$first" -gt "$SNAP_LINE" ]
	grep -q "^counter: 60" "$TMP/out2"
	grep -q "guest: exit 0" "$TMP/out2"
	# Consecutive from there on: no line lost or repeated.
	[ "$(grep -c '^counter: [0-9]' "$TMP/out2")" -eq $((60 - first + 1)) ]
}

@test "vm snapshot: memory file is sparse, state file is small" {
	require_counter
	snapshot_counter "$TMP" --memory 256M
	[ "$(stat -c %s "$TMP/mem")" -eq $((256 << 20)) ]
	# Only the pages the guest wrote hold blocks (well under 4 MiB of 256 MiB).
	[ "$(du -k "$TMP/mem" | cut -f1)" -lt 4096 ]
	[ "$(stat -c %s "$TMP/st")" -lt 65536 ]
}

@test "vm snapshot: restore from another directory, and twice from one snapshot at once" {
	require_counter
	mkdir "$TMP/a" "$TMP/b"
	snapshot_counter "$TMP/a" --cpus 2
	mv "$TMP/a/st" "$TMP/a/mem" "$TMP/b/"
	cd "$TMP/b"
	timeout 60 "$ISOLA" vm restore --state st --mem mem --console out2 & p1=$!
	timeout 60 "$ISOLA" vm restore --state st --mem mem --console out3 & p2=$!
	PIDS+=("$p1" "$p2")
	s1=0 s2=0
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	[ "$s1" -eq 1 ]
	[ "$s2" -eq 1 ]
	grep -q "^counter: 60" out2
	grep -q "^counter: 60" out3
	run grep -c "counter: start" out2
	[ "$output" = 0 ]
	run grep -c "counter: start" out3
	[ "$output" = 0 ]
}

@test "vm snapshot: a corrupted, truncated or foreign state file is one clear error" {
	require_counter
	snapshot_counter "$TMP"
	cp "$TMP/st" "$TMP/bad"
	printf '\xff' | dd of="$TMP/bad" bs=1 seek=100 conv=notrunc 2>/dev/null
	run "$ISOLA" vm restore --state "$TMP/bad" --mem "$TMP/mem" --console none
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$TMP/bad"*"checksum mismatch"* ]]
	head -c 1000 "$TMP/st" >"$TMP/bad"
	run "$ISOLA" vm restore --state "$TMP/bad" --mem "$TMP/mem" --console none
	[ "$status" -eq 1 ]
	[[ "$output" == *"checksum mismatch"* ]]
	run "$ISOLA" vm restore --state "$GUEST_DIR/counter.elf" --mem "$TMP/mem" --console none
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad magic"* ]]
	truncate -s 1M "$TMP/mem"
	run "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console none
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$TMP/mem"*"memory file"* ]]
}

@test "vm snapshot: what is not supported yet says so" {
	require_counter
	run "$ISOLA" vm run --kernel "$GUEST_DIR/counter.elf" --rng \
		--snapshot-state "$TMP/st" --snapshot-mem "$TMP/mem"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not supported yet"* ]]
	run "$ISOLA" vm run --kernel "$GUEST_DIR/counter.elf" --snapshot-state "$TMP/st"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--snapshot-mem"* ]]
	run "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --disk-remap a=b
	[ "$status" -ne 0 ]
	[[ "$output" == *"not supported yet"* ]]
	[ ! -e "$TMP/st" ]
}
