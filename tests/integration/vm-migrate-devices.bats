#!/usr/bin/env bats
# Live migration of VMs with virtio devices (docs/migration.md, "Devices"):
# guest/virtio-blk writes rounds of sectors, each filled with its own sector
# number, reads every round back and compares, and is migrated mid-run.  The
# device workers' writes into guest memory (read data, status bytes, the used
# ring) reach the destination through the software dirty bitmap; afterwards
# every sector of every round must hold its own number on the disk.

load helpers
load vm-helpers

setup() {
	isola_tmp
	export ISOLA_VM_RUNDIR=$TMP/run
	PIDS=()
	NETNS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for p in "${NETNS[@]}"; do
		ip netns del "$p" 2>/dev/null || true # its TAP goes with it
	done
	isola_cleanup_tmp
}

# check_blk IMG FIRST LAST: rounds FIRST..LAST of 16 sectors hold their numbers.
check_blk() {
	python3 - "$@" <<'PY'
import sys
img, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = open(img, 'rb').read()
for r in range(first, last + 1):
    for s in range(r * 16, r * 16 + 16):
        tag = b'isola-blk:%d;' % s
        want = (tag * (512 // len(tag) + 1))[:512]
        assert d[s * 512:(s + 1) * 512] == want, 'sector %d' % s
print('rounds %d..%d ok' % (first, last))
PY
}

start_blk_source() {
	"$ISOLA" vm run --kernel "$GUEST_DIR/virtio-blk.elf" --disk "$DISK" \
		--cmdline "${BLK_EXTRA:-}rounds=$1 sectors=16" --console "$TMP/out1" \
		--api-sock "$TMP/api.sock" "${@:2}" 2>"$TMP/src.err" &
	SRC=$!
	PIDS+=("$SRC")
}

start_dest() {
	"$ISOLA" vm receive --listen "$1" --console "$TMP/out2" "${@:2}" 2>>"$TMP/dst.err" &
	DST=$!
	PIDS+=("$DST")
}

# migrate_blk ADDR [migrate args]: migrate mid-run, the destination finishes it.
migrate_blk() {
	local first
	wait_for "$TMP/out1" "round 20$"
	run "$ISOLA" vm migrate --api-sock "$TMP/api.sock" --to "$1" "${@:2}"
	echo "$output"
	cat "$TMP/dst.err" || true
	[ "$status" -eq 0 ]
	wait_exit "$SRC"
	[ "$EXIT" -eq 0 ]
	wait_exit "$DST"
	text "$TMP/out2" | tail -3
	[ "$EXIT" -eq 0 ]
	# The guest checked every round it read back; it finished on the destination.
	grep -q "virtio-blk: ok" "$TMP/out2"
	grep -q "virtio-blk: round $((ROUNDS - 1))" "$TMP/out2"
	run grep -c "round $((ROUNDS - 1))" "$TMP/out1"
	[ "$output" = 0 ]
	first=$(text "$TMP/out2" | grep -m1 -o "^virtio-blk: round [0-9]*" | cut -d' ' -f3)
	[ "$first" -gt 20 ]
	check_blk "$DISK" 0 $((ROUNDS - 1))
}

@test "vm migrate: a guest writing its disk hops through 4 VMMs mid-run; every sector is right" {
	require_guest virtio-blk
	local api=$TMP/api.sock out=$TMP/out1 pid h n first
	ROUNDS=800
	truncate -s 8M "$TMP/disk.img"
	DISK=$(realpath "$TMP/disk.img")
	start_blk_source $ROUNDS --rng --balloon
	pid=$SRC
	wait_for "$out" "round 20$"
	# Each hop is another chance for a device write to land after its page
	# was copied: the used ring's and read buffers' pages must follow.
	for h in 2 3 4 5; do
		"$ISOLA" vm receive --listen "unix:$TMP/in$h.sock" --console "$TMP/out$h" \
			--api-sock "$TMP/api$h.sock" --disk-remap "$DISK=$DISK" 2>>"$TMP/dst.err" &
		DST=$!
		PIDS+=("$DST")
		for i in $(seq 50); do [ -S "$TMP/in$h.sock" ] && break; sleep 0.1; done
		n=$(lines "$out" | grep -a -o "^virtio-blk: round [0-9]*" | tail -1 | cut -d' ' -f3)
		wait_for "$out" "round $((n + 3))$"
		run "$ISOLA" vm migrate --api-sock "$api" --to "unix:$TMP/in$h.sock"
		echo "hop $h: $output"
		cat "$TMP/dst.err"
		[ "$status" -eq 0 ]
		wait_exit "$pid"
		[ "$EXIT" -eq 0 ]
		[ ! -e "$TMP/in$h.sock" ]
		wait_for "$TMP/out$h" "round"
		first=$(text "$TMP/out$h" | grep -m1 -o "^virtio-blk: round [0-9]*" | cut -d' ' -f3)
		[ "$first" -gt "$n" ]
		api=$TMP/api$h.sock out=$TMP/out$h pid=$DST
	done
	wait_exit "$pid"
	text "$out" | tail -3
	[ "$EXIT" -eq 0 ]
	# The guest compared every round it read back; it finished on the last VMM.
	grep -q "virtio-blk: ok" "$out"
	grep -q "virtio-blk: round $((ROUNDS - 1))" "$out"
	run grep -c "round $((ROUNDS - 1))" "$TMP/out1" "$TMP/out2" "$TMP/out3" "$TMP/out4"
	[[ "$output" != *:1* ]]
	check_blk "$DISK" 0 $((ROUNDS - 1))
}

@test "vm migrate: a disk VM over TCP with a key, to a remapped path" {
	require_guest virtio-blk
	ROUNDS=300
	PORT=$((20000 + RANDOM % 20000))
	truncate -s 8M "$TMP/disk.img"
	DISK=$(realpath "$TMP/disk.img")
	ln -s "$DISK" "$TMP/alias.img"
	mkkey "$TMP/key"
	start_dest "tcp:127.0.0.1:$PORT" --key-file "$TMP/key" --disk-remap "$DISK=$TMP/alias.img"
	start_blk_source $ROUNDS
	for i in $(seq 50); do ss -ltn | grep -q ":$PORT " && break; sleep 0.1; done
	migrate_blk "tcp:127.0.0.1:$PORT" --key-file "$TMP/key"
}

# The virtio-pci transport: config space, BAR, MSI-X table and pending bits
# travel in the state; the destination sets each vector's MSI route again.
# The guest waits for an MSI-X interrupt after every request, so a lost
# table, a lost MSI-X enable or a missing route stops it (exit 4).
@test "vm migrate: a disk VM on virtio-pci with MSI-X migrates there and back; every sector is right" {
	require_guest virtio-blk
	local n first
	ROUNDS=600
	BLK_EXTRA="pci msix "
	truncate -s 8M "$TMP/disk.img"
	DISK=$(realpath "$TMP/disk.img")
	start_dest "unix:$TMP/in.sock" --disk-remap "$DISK=$DISK" --api-sock "$TMP/api2.sock"
	start_blk_source $ROUNDS --virtio-transport pci --rng
	wait_for "$TMP/out1" "round 20$"
	run "$ISOLA" vm migrate --api-sock "$TMP/api.sock" --to "unix:$TMP/in.sock"
	echo "$output"
	cat "$TMP/dst.err"
	[ "$status" -eq 0 ]
	wait_exit "$SRC"
	[ "$EXIT" -eq 0 ]
	# Back to a third VMM: the restored MSI-X state is saved again.
	wait_for "$TMP/out2" "round"
	n=$(lines "$TMP/out2" | grep -a -o "^virtio-blk: round [0-9]*" | tail -1 | cut -d' ' -f3)
	wait_for "$TMP/out2" "round $((n + 3))$"
	"$ISOLA" vm receive --listen "unix:$TMP/in3.sock" --console "$TMP/out3" \
		--disk-remap "$DISK=$DISK" 2>>"$TMP/dst.err" &
	PIDS+=($!)
	for i in $(seq 50); do [ -S "$TMP/in3.sock" ] && break; sleep 0.1; done
	run "$ISOLA" vm migrate --api-sock "$TMP/api2.sock" --to "unix:$TMP/in3.sock"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_exit "$DST"
	[ "$EXIT" -eq 0 ]
	wait_exit "${PIDS[-1]}"
	text "$TMP/out3" | tail -3
	[ "$EXIT" -eq 0 ]
	grep -q "virtio-blk: ok" "$TMP/out3"
	grep -q "virtio-blk: round $((ROUNDS - 1))" "$TMP/out3"
	first=$(text "$TMP/out3" | grep -m1 -o "^virtio-blk: round [0-9]*" | cut -d' ' -f3)
	[ "$first" -gt "$n" ]
	run grep -q "no MSI-X interrupt" "$TMP/out1" "$TMP/out2" "$TMP/out3"
	[ "$status" -eq 1 ]
	check_blk "$DISK" 0 $((ROUNDS - 1))
}

# --irqchip split: the userspace IOAPIC (its redirection entries, and the MSI
# routes KVM gets from them) and PIT travel in the state.  The guest waits for
# an interrupt after every request: through the IOAPIC pin (mmio), and as
# MSI-X on the PCI transport.
@test "vm migrate: with --irqchip split, disk interrupts through the IOAPIC and MSI-X go on" {
	require_guest virtio-blk
	ROUNDS=300
	truncate -s 8M "$TMP/disk.img"
	DISK=$(realpath "$TMP/disk.img")
	BLK_EXTRA="irq "
	start_dest "unix:$TMP/in.sock" --disk-remap "$DISK=$DISK"
	start_blk_source $ROUNDS --irqchip split
	migrate_blk "unix:$TMP/in.sock"
	run grep -q "no .* interrupt" "$TMP/out1" "$TMP/out2"
	[ "$status" -eq 1 ]
	rm -f "$TMP/disk.img" "$TMP/out1" "$TMP/out2"
	truncate -s 8M "$TMP/disk.img"
	BLK_EXTRA="pci msix "
	start_dest "unix:$TMP/in2.sock" --disk-remap "$DISK=$DISK"
	start_blk_source $ROUNDS --irqchip split --virtio-transport pci
	migrate_blk "unix:$TMP/in2.sock"
}

@test "vm migrate: a destination that does not accept the disk refuses it; the source runs on" {
	require_guest virtio-blk
	ROUNDS=200
	truncate -s 8M "$TMP/disk.img"
	DISK=$(realpath "$TMP/disk.img")
	start_dest "unix:$TMP/in.sock"
	start_blk_source $ROUNDS
	wait_for "$TMP/out1" "round 5$"
	run "$ISOLA" vm migrate --api-sock "$TMP/api.sock" --to "unix:$TMP/in.sock"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"disk \`$DISK\`: accept it with --disk-remap"* ]]
	wait_exit "$DST"
	[ "$EXIT" -ne 0 ]
	# The source goes on and finishes with right data.
	wait_exit "$SRC"
	[ "$EXIT" -eq 0 ]
	grep -q "virtio-blk: ok" "$TMP/out1"
	check_blk "$DISK" 0 $((ROUNDS - 1))
}

# vsock: host sockets cannot move, so the destination binds its own Unix
# socket (--vsock-remap) and the connections open at the pause are reset
# (the guest gets a RST for each, as after a snapshot restore).
@test "vm migrate: a vsock VM moves to the destination's socket; its open connection is reset" {
	require_guest virtio-vsock
	vsock_host_start "$TMP/v.sock_5000" "$TMP/got"
	PIDS+=("$VSOCK_HOST_PID")
	"$ISOLA" vm run --kernel "$GUEST_DIR/virtio-vsock.elf" --vsock "cid=7,uds=$TMP/v.sock" \
		--cmdline "port=5000 hold=3000000" --console "$TMP/out1" \
		--api-sock "$TMP/api.sock" 2>"$TMP/src.err" &
	SRC=$!
	PIDS+=("$SRC")
	wait_for "$TMP/out1" "hello from host"
	# Not accepted: refused with one line, the source holds on.
	start_dest "unix:$TMP/no.sock"
	for i in $(seq 50); do [ -S "$TMP/no.sock" ] && break; sleep 0.1; done
	run "$ISOLA" vm migrate --api-sock "$TMP/api.sock" --to "unix:$TMP/no.sock"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"vsock device on \`$TMP/v.sock\`: accept it with --vsock-remap"* ]]
	start_dest "unix:$TMP/in.sock" --vsock-remap "$TMP/v.sock=$TMP/w.sock"
	for i in $(seq 50); do [ -S "$TMP/in.sock" ] && break; sleep 0.1; done
	run "$ISOLA" vm migrate --api-sock "$TMP/api.sock" --to "unix:$TMP/in.sock"
	echo "$output"
	cat "$TMP/dst.err"
	[ "$status" -eq 0 ]
	wait_exit "$SRC"
	[ "$EXIT" -eq 0 ]
	wait_exit "$DST"
	text "$TMP/out2"
	[ "$EXIT" -eq 0 ]
	grep -q "virtio-vsock: after the hold: connection reset by the host" "$TMP/out2"
	run "$ISOLA" vm receive --listen "unix:$TMP/x.sock" --disk-remap nonsense
	[ "$status" -ne 0 ]
	[[ "$output" == *"expected OLD=NEW"* ]]
	[ ! -e "$TMP/x.sock" ]
}

# net_ns NAME TAP: a network namespace with an up TAP and the seq peer on it.
net_ns() {
	ip netns add "$1"
	NETNS+=("$1")
	ip -n "$1" tuntap add dev "$2" mode tap vnet_hdr
	ip -n "$1" link set "$2" up
	ip netns exec "$1" python3 "$BATS_TEST_DIRNAME/net-seq-peer.py" "$2" "$TMP/$2.log" \
		"$TMP/$2.ready" &
	PIDS+=("$!")
	for i in $(seq 100); do [ -e "$TMP/$2.ready" ] && break; sleep 0.1; done
	[ -e "$TMP/$2.ready" ]
}

# A NIC: guest/virtio-net (seq=N) exchanges numbered frames with a peer on its
# TAP, stop-and-wait, resending after 100 ms without an answer.  Source and
# destination sit in two network namespaces, each with its own TAP and peer
# (two hosts on one link); the destination attaches its TAP by --net-remap.
# Asserted: the guest finishes all N on the destination with no corrupt
# answer and no used ring gone back (it exits 6 or stops otherwise); every
# number reached a link; the old link saw nothing after the new one took
# over; a number seen twice is explained by a resend (duplicates <= resends:
# a ring replayed at the destination would send frames twice unasked); the
# resends stay few (<= 30: the frame in flight at the hand-over and its
# answer are lost like on a link flap, and each resend costs only 100 ms).
@test "vm migrate: a NIC hands over to the destination's TAP in another netns; the sequence goes on" {
	require_guest virtio-net
	[ -c /dev/net/tun ] || skip "SKIP: no /dev/net/tun"
	require_cmd ip
	# Enough numbers that the guest is still counting after the refused attempt
	# on a loaded machine (20000 were all sent before the real migration once).
	local N=60000 nsa=isola-mga$$ nsb=isola-mgb$$ last first
	net_ns "$nsa" ta
	net_ns "$nsb" tb
	ip netns exec "$nsa" "$ISOLA" vm run --kernel "$GUEST_DIR/virtio-net.elf" \
		--virtio-transport pci --net tap=ta --cmdline "pci seq=$N" \
		--console "$TMP/out1" --api-sock "$TMP/api.sock" 2>"$TMP/src.err" &
	SRC=$!
	PIDS+=("$SRC")
	wait_for "$TMP/out1" "seq 200$"
	# A destination that does not accept the NIC refuses it; the source runs on.
	ip netns exec "$nsb" "$ISOLA" vm receive --listen "unix:$TMP/no.sock" \
		--console "$TMP/no.out" 2>"$TMP/no.err" &
	PIDS+=("$!")
	for i in $(seq 50); do [ -S "$TMP/no.sock" ] && break; sleep 0.1; done
	run ip netns exec "$nsa" "$ISOLA" vm migrate --api-sock "$TMP/api.sock" \
		--to "unix:$TMP/no.sock"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"NIC on tap \`ta\`: accept it with --net-remap"* ]]
	last=$(lines "$TMP/out1" | grep -a -o "^virtio-net: seq [0-9]*$" | tail -1 | cut -d' ' -f3)
	wait_for "$TMP/out1" "seq $((last + 200))$"
	ip netns exec "$nsb" "$ISOLA" vm receive --listen "unix:$TMP/in.sock" \
		--console "$TMP/out2" --net-remap ta=tb 2>"$TMP/dst.err" &
	DST=$!
	PIDS+=("$DST")
	for i in $(seq 50); do [ -S "$TMP/in.sock" ] && break; sleep 0.1; done
	run ip netns exec "$nsa" "$ISOLA" vm migrate --api-sock "$TMP/api.sock" \
		--to "unix:$TMP/in.sock"
	echo "$output"
	cat "$TMP/dst.err" "$TMP/src.err"
	text "$TMP/out1" | tail -3
	[ "$status" -eq 0 ]
	wait_exit "$SRC"
	[ "$EXIT" -eq 0 ]
	wait_exit "$DST" 300
	text "$TMP/out2" | tail -2
	[ "$EXIT" -eq 0 ]
	last=$(lines "$TMP/out1" | grep -a -o "^virtio-net: seq [0-9]*$" | tail -1 | cut -d' ' -f3)
	first=$(text "$TMP/out2" | grep -m1 -o "^virtio-net: seq [0-9]*$" | cut -d' ' -f3)
	[ "$last" -lt "$N" ]
	[ "$first" -gt "$last" ]
	text "$TMP/out2" | grep -q "^virtio-net: seq done $N, "
	python3 - "$N" "$TMP/ta.log" "$TMP/tb.log" "$TMP/out2" <<'PY'
import re, sys
n = int(sys.argv[1])
a = [int(x) for x in open(sys.argv[2])]
b = [int(x) for x in open(sys.argv[3])]
m = re.search(r'retransmits (\d+), stale (\d+)', open(sys.argv[4], errors='replace').read())
resends, stale = int(m.group(1)), int(m.group(2))
dups = len(a) + len(b) - len(set(a) | set(b))
print('link A %d frames (%d..%d), link B %d (%d..%d), duplicates %d, resends %d, stale %d'
      % (len(a), min(a), max(a), len(b), min(b), max(b), dups, resends, stale))
assert set(a) | set(b) == set(range(1, n + 1)), 'a number never reached a link'
assert min(b) >= max(a), 'the old link carried frames after the new one took over'
assert dups <= resends, 'frames sent twice without a resend'
assert stale <= resends and resends <= 30
PY
}
