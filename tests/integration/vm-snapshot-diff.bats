#!/usr/bin/env bats
# Diff snapshots (PUT /snapshot/create snapshot_type Diff, `vm snapshot --diff`):
# only the pages written since the VM's last snapshot; `vm rebase-snap` copies
# them onto the base, and the last Diff's state with the rebased memory
# restores the chain.  guest/dirtier rewrites its buffer pass after pass and
# stops with "holds" (exit 1) on a page that missed a pass.

load helpers
load vm-helpers

setup() {
	isola_tmp
	export ISOLA_VM_RUNDIR=$TMP/run
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	isola_cleanup_tmp
}

# last_pass FILE: the last "dirtier: N".
last_pass() {
	lines "$1" | grep -a '^dirtier: [0-9]' | tail -1 | cut -d' ' -f2
}

# passes N: wait until the source guest did N more passes.
passes() {
	local n
	n=$(last_pass "$TMP/out1")
	wait_for "$TMP/out1" "^dirtier: $((n + $1))$"
}

# allocated FILE: KiB on disk.
allocated() {
	du -k "$1" | cut -f1
}

@test "vm snapshot --diff: a chain of two Diffs rebased onto the Full restores, the Full alone does not" {
	require_guest dirtier
	"$ISOLA" vm run --kernel "$GUEST_DIR/dirtier.elf" --cmdline "mib=16" --memory 256M \
		--console "$TMP/out1" --api-sock "$TMP/api.sock" 2>"$TMP/src.err" &
	SRC=$!
	PIDS+=("$SRC")
	wait_for "$TMP/out1" "^dirtier: 2$"
	# A Diff needs a base.
	run "$ISOLA" vm snapshot "$TMP/api.sock" --state "$TMP/st0" --mem "$TMP/d0" --diff
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"a Diff snapshot needs an earlier snapshot of this VM"* ]]
	[ ! -e "$TMP/d0" ]
	"$ISOLA" vm snapshot "$TMP/api.sock" --state "$TMP/st0" --mem "$TMP/mem0"
	passes 2
	"$ISOLA" vm snapshot "$TMP/api.sock" --state "$TMP/st1" --mem "$TMP/d1" --diff
	passes 2
	"$ISOLA" vm snapshot "$TMP/api.sock" --state "$TMP/st2" --mem "$TMP/d2" --diff
	last=$(last_pass "$TMP/out1")
	kill "$SRC"
	wait "$SRC" || true
	# A Diff is as large as RAM but holds about the 16 MiB the guest rewrites.
	[ "$(stat -c %s "$TMP/d2")" -eq $((256 << 20)) ]
	du -k "$TMP"/mem0 "$TMP"/d1 "$TMP"/d2
	[ "$(allocated "$TMP/d2")" -ge $((16 << 10)) ]
	[ "$(allocated "$TMP/d2")" -lt $((20 << 10)) ]
	# The last state with the Full alone: the guest finds pages of an older pass.
	run timeout 60 "$ISOLA" vm restore --state "$TMP/st2" --mem "$TMP/mem0" --console "$TMP/stale"
	text "$TMP/stale" | tail -3
	[ "$status" -eq 1 ]
	text "$TMP/stale" | grep -q "holds"
	# Rebased: it goes on from the pass after the last one seen, with no stale page.
	cp --sparse=always "$TMP/mem0" "$TMP/chain"
	"$ISOLA" vm rebase-snap --base-file "$TMP/chain" --diff-file "$TMP/d1"
	"$ISOLA" vm rebase-snap --base-file "$TMP/chain" --diff-file "$TMP/d2"
	"$ISOLA" vm restore --state "$TMP/st2" --mem "$TMP/chain" --console "$TMP/out2" &
	PIDS+=("$!")
	wait_for "$TMP/out2" "^dirtier: $((last + 4))$"
	run grep -c "holds" "$TMP/out2"
	[ "$output" = 0 ]
	# The snapshot may cut a line: the restored guest then finishes "N" of a
	# "dirtier: " the source printed, and its first whole line is N + 1.
	first=$(text "$TMP/out2" | grep '^dirtier: [0-9]' | head -1 | cut -d' ' -f2)
	[ "$first" -le $((last + 2)) ]
}

# rounds FILE: the last "virtio-blk: round N".
last_round() {
	lines "$1" | grep -a -o "^virtio-blk: round [0-9]*" | tail -1 | cut -d' ' -f3
}

@test "vm snapshot --diff: a disk-writing guest's chain restores; every sector right after" {
	require_guest virtio-blk
	local n last first
	truncate -s 8M "$TMP/disk.img"
	"$ISOLA" vm run --kernel "$GUEST_DIR/virtio-blk.elf" --disk "$TMP/disk.img" --rng \
		--cmdline "rounds=600 sectors=16" --console "$TMP/out1" \
		--api-sock "$TMP/api.sock" 2>"$TMP/src.err" &
	SRC=$!
	PIDS+=("$SRC")
	wait_for "$TMP/out1" "round 20$"
	"$ISOLA" vm snapshot "$TMP/api.sock" --state "$TMP/st0" --mem "$TMP/mem0"
	# The device's writes (used ring, read data) since the last snapshot are in each Diff.
	for i in 1 2 3; do
		n=$(last_round "$TMP/out1")
		wait_for "$TMP/out1" "round $((n + 3))$"
		"$ISOLA" vm snapshot "$TMP/api.sock" --state "$TMP/st$i" --mem "$TMP/d$i" --diff
	done
	kill -9 "$SRC"
	wait "$SRC" || true
	last=$(last_round "$TMP/out1")
	[ "$last" -lt 599 ]
	cp --sparse=always "$TMP/mem0" "$TMP/chain"
	for i in 1 2 3; do
		"$ISOLA" vm rebase-snap --base-file "$TMP/chain" --diff-file "$TMP/d$i"
	done
	run timeout 60 "$ISOLA" vm restore --state "$TMP/st3" --mem "$TMP/chain" --console "$TMP/out2"
	text "$TMP/out2" | tail -3
	[ "$status" -eq 0 ]
	grep -q "virtio-blk: ok" "$TMP/out2"
	first=$(text "$TMP/out2" | grep -m1 -o "^virtio-blk: round [0-9]*" | cut -d' ' -f3)
	[ "$first" -gt 20 ]
	[ "$first" -le $((last + 1)) ]
	python3 - "$TMP/disk.img" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
for s in range(600 * 16):
    tag = b'isola-blk:%d;' % s
    assert d[s * 512:(s + 1) * 512] == (tag * (512 // len(tag) + 1))[:512], 'sector %d' % s
PY
}

@test "vm snapshot --diff: rebase-snap refuses mismatched files" {
	require_guest dirtier
	"$ISOLA" vm run --kernel "$GUEST_DIR/dirtier.elf" --cmdline "mib=4" --memory 64M --rng \
		--console "$TMP/out1" --api-sock "$TMP/api.sock" 2>"$TMP/src.err" &
	PIDS+=("$!")
	wait_for "$TMP/out1" "^dirtier: 2$"
	"$ISOLA" vm snapshot "$TMP/api.sock" --state "$TMP/st0" --mem "$TMP/mem0"
	head -c 8192 /dev/zero >"$TMP/small"
	cp "$TMP/mem0" "$TMP/before"
	run "$ISOLA" vm rebase-snap --base-file "$TMP/mem0" --diff-file "$TMP/small"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"memory files of one VM have one size"* ]]
	run "$ISOLA" vm rebase-snap --base-file "$TMP/mem0" --diff-file "$TMP/mem0"
	[ "$status" -ne 0 ]
	[[ "$output" == *"are the same file"* ]]
	run "$ISOLA" vm rebase-snap --base-file "$TMP/mem0"
	[ "$status" -ne 0 ]
	[[ "$output" == *"usage"* ]]
	run "$ISOLA" vm rebase-snap --base-file "$TMP/nothing" --diff-file "$TMP/mem0"
	[ "$status" -ne 0 ]
	[[ "$output" == *"nothing"* ]]
	cmp "$TMP/mem0" "$TMP/before"
}
