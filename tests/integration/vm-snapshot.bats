#!/usr/bin/env bats
# Snapshot a running VM (SIGUSR2 with --snapshot-state/--snapshot-mem) and
# restore it (isola vm restore): guest/counter counts in ring 3 and must go
# on from where it was, not from 0.

load helpers
load vm-helpers

setup() {
	isola_tmp
	export ISOLA_VM_RUNDIR=$TMP/run # VMs with an API get a vm ls entry: keep them here
	PIDS=()
	TAPS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for p in "${TAPS[@]}"; do
		ip link del "$p" 2>/dev/null || true
	done
	isola_cleanup_tmp
}

require_counter() {
	require_kvm
	[ -f "$GUEST_DIR/counter.elf" ] || ci_skip "$GUEST_DIR/counter.elf not built"
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
	[ "$status" -eq 0 ] # debug-exit 0
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
	[ "$s1" -eq 0 ]
	[ "$s2" -eq 0 ]
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

@test "vm snapshot: bad options and an old format version are one clear error" {
	require_counter
	run "$ISOLA" vm run --kernel "$GUEST_DIR/counter.elf" --snapshot-state "$TMP/st"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--snapshot-mem"* ]]
	run "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --disk-remap nothing
	[ "$status" -ne 0 ]
	[[ "$output" == *"--disk-remap"*"OLD=NEW"* ]]
	[ ! -e "$TMP/st" ]
	snapshot_counter "$TMP"
	# A version-1 file (no device sections) with a valid checksum.
	python3 - "$TMP/st" "$TMP/v1" <<'PY'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], 'rb').read()[:-4])
b[8:12] = struct.pack('<I', 1)
open(sys.argv[2], 'wb').write(b + struct.pack('<I', zlib.crc32(b)))
PY
	run "$ISOLA" vm restore --state "$TMP/v1" --mem "$TMP/mem" --console none
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$TMP/v1"*"unsupported version 1 (expected 3)"* ]]
}

# cpuid_edit IN OUT brand|feature|tsc: a copy of state file IN whose vCPU 0 CPUID
# shows another brand string, or one more leaf-7 EBX feature, or whose TSC
# frequency is doubled; checksum fixed.
cpuid_edit() {
	python3 - "$@" <<'PY'
import struct, sys, zlib
src, dst, mode = sys.argv[1:4]
b = bytearray(open(src, 'rb').read()[:-4])
off, done = 16, False
for _ in range(struct.unpack_from('<I', b, 12)[0]):
    t, idx, ln = struct.unpack_from('<III', b, off)
    if mode == 'tsc' and t == 1:
        khz = struct.unpack_from('<Q', b, off + 28)[0]
        struct.pack_into('<Q', b, off + 28, 2 * khz)
        done = True
    for k in range(struct.unpack_from('<I', b, off + 12)[0] if (t, idx) == (25, 0) else 0):
        e = off + 20 + 40 * k
        fn, sub = struct.unpack_from('<II', b, e)
        if mode == 'brand' and fn == 0x80000002:
            b[e + 12:e + 16] = b'isol'
            done = True
        if mode == 'feature' and (fn, sub) == (7, 0):
            ebx = struct.unpack_from('<I', b, e + 16)[0]
            bit = next(i for i in range(32) if not ebx >> i & 1)
            struct.pack_into('<I', b, e + 16, ebx | 1 << bit)
            print(bit)
            done = True
    off += 12 + ln
assert done, 'no CPUID entry to edit'
open(dst, 'wb').write(b + struct.pack('<I', zlib.crc32(b)))
PY
}

@test "vm snapshot: the CPUID and TSC frequency the guest saw are restored; a missing feature is an error" {
	require_counter
	snapshot_counter "$TMP"
	# Same host: the vCPU already has that table, nothing is set.
	run timeout 60 "$ISOLA" --debug vm restore --state "$TMP/st" --mem "$TMP/mem" \
		--console "$TMP/out2"
	[ "$status" -eq 0 ]
	[[ "$output" != *"setting the saved CPUID"* ]]
	[[ "$output" != *"TSC"* ]]
	# A table that differs but offers nothing new is set before the guest runs.
	cpuid_edit "$TMP/st" "$TMP/brand" brand
	run timeout 60 "$ISOLA" --debug vm restore --state "$TMP/brand" --mem "$TMP/mem" \
		--console "$TMP/out3"
	[ "$status" -eq 0 ]
	[[ "$output" == *"vCPU 0: setting the saved CPUID"* ]]
	grep -q "^counter: 60" "$TMP/out3"
	# Another TSC frequency: KVM scales it, or a warning says the clock will drift.
	cpuid_edit "$TMP/st" "$TMP/tsc" tsc
	run timeout 60 "$ISOLA" --debug vm restore --state "$TMP/tsc" --mem "$TMP/mem" \
		--console "$TMP/out4"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"TSC scaled to the snapshot's"* ||
		"$output" == *"KVM cannot scale it"*"the guest's clock will drift"* ]]
	bit=$(cpuid_edit "$TMP/st" "$TMP/feature" feature)
	run "$ISOLA" vm restore --state "$TMP/feature" --mem "$TMP/mem" --console none
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"vCPU 0: CPUID 0x7.0 EBX bit $bit: the guest was shown a feature this host does not offer"* ]]
}

# snapshot_at DIR PATTERN [run args...]: runs a VM (console DIR/out1) until
# PATTERN shows, snapshots it to DIR/st + DIR/mem, then kills it, so that
# nothing after the snapshot comes from this VM.
snapshot_at() {
	local d=$1 pat=$2 pid i
	shift 2
	"$ISOLA" vm run --console "$d/out1" --snapshot-state "$d/st" --snapshot-mem "$d/mem" "$@" &
	pid=$!
	PIDS+=("$pid")
	wait_for "$d/out1" "$pat"
	kill -USR2 "$pid"
	for i in $(seq 200); do [ -f "$d/st" ] && break; sleep 0.05; done
	kill -9 "$pid"
	wait "$pid" || true
	[ -f "$d/st" ]
}

# restore_ok DIR [restore args...]: restores DIR/st into DIR/out2; the guest must exit 0.
restore_ok() {
	local d=$1
	shift
	run timeout 60 "$ISOLA" vm restore --state "$d/st" --mem "$d/mem" --console "$d/out2" "$@"
	echo "$output"
	tr -d '\r' <"$d/out2" >"$d/out2.txt"
	cat "$d/out2.txt"
	[ "$status" -eq 0 ] # debug-exit 0
	grep -q "guest: exit 0" "$d/out2.txt"
}

@test "vm snapshot: rng, disk, vsock and balloon devices restore and keep working" {
	require_guest virtio-rng
	truncate -s 1M "$TMP/disk.img"
	snapshot_at "$TMP" "holding" --kernel "$GUEST_DIR/virtio-rng.elf" --cmdline "hold=2000000 irq" \
		--rng --disk "$TMP/disk.img" --vsock "cid=5,uds=$TMP/v.sock" --balloon
	rm -f "$TMP/v.sock" # the killed VM left it behind
	restore_ok "$TMP"
	# The driver's setup from before the snapshot is used as is: no "device at" again.
	run grep -c "device at" "$TMP/out2.txt"
	[ "$output" = 0 ]
	grep -q "virtio-rng: going on" "$TMP/out2.txt"
	grep -q "virtio-rng: got 64 + 64 bytes" "$TMP/out2.txt"
	grep -q "interrupt(s) on vector 0x41, InterruptStatus 0x1" "$TMP/out2.txt"
	grep -q "virtio-rng: ok" "$TMP/out2.txt"
}

@test "vm snapshot: the balloon device restores (inflate and page reporting after restore)" {
	require_guest virtio-balloon
	snapshot_at "$TMP" "holding" --kernel "$GUEST_DIR/virtio-balloon.elf" --balloon \
		--cmdline hold=2000000
	restore_ok "$TMP"
	grep -q "virtio-balloon: going on" "$TMP/out2.txt"
	grep -q "virtio-balloon: ok" "$TMP/out2.txt"
}

@test "vm snapshot: split irqchip, counter and a virtio interrupt through the userspace IOAPIC" {
	require_counter
	snapshot_counter "$TMP" --irqchip split
	run timeout 60 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console "$TMP/out2"
	[ "$status" -eq 0 ]
	first=$(grep -m1 -o "^counter: [0-9]*" "$TMP/out2" | cut -d' ' -f2)
	[ "$first" -gt "$SNAP_LINE" ]
	grep -q "^counter: 60" "$TMP/out2"
	mkdir "$TMP/rng"
	require_guest virtio-rng
	snapshot_at "$TMP/rng" "holding" --kernel "$GUEST_DIR/virtio-rng.elf" --rng \
		--irqchip split --cmdline "hold=2000000 irq"
	restore_ok "$TMP/rng"
	grep -q "interrupt(s) on vector 0x41, InterruptStatus 0x1" "$TMP/rng/out2.txt"
}

# check_blk IMG FIRST LAST: rounds FIRST..LAST (16 sectors each) hold their tags.
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

@test "vm snapshot: block guest snapshotted mid-I/O finishes after restore with correct data" {
	require_guest virtio-blk
	truncate -s 8M "$TMP/disk.img"
	snapshot_at "$TMP" "round 20" --kernel "$GUEST_DIR/virtio-blk.elf" \
		--disk "$TMP/disk.img" --cmdline "rounds=400 sectors=16"
	# The killed VM got nowhere near the end: the last rounds are the restored guest's.
	run grep -c "round 399" "$TMP/out1"
	[ "$output" = 0 ]
	restore_ok "$TMP"
	grep -q "virtio-blk: round 399" "$TMP/out2.txt"
	grep -q "virtio-blk: ok" "$TMP/out2.txt"
	# It went on from the round it was in, not from the start.
	first=$(grep -m1 -o "^virtio-blk: round [0-9]*" "$TMP/out2.txt" | cut -d' ' -f3)
	[ "$first" -ge 20 ]
	check_blk "$TMP/disk.img" 0 399
}

@test "vm snapshot: a moved disk restores with --disk-remap, and without it is a clear error" {
	require_guest virtio-blk
	truncate -s 8M "$TMP/disk.img"
	snapshot_at "$TMP" "holding" --kernel "$GUEST_DIR/virtio-blk.elf" \
		--disk "$TMP/disk.img" --cmdline "hold=2000000 rounds=4 sectors=16"
	mkdir "$TMP/moved"
	mv "$TMP/disk.img" "$TMP/moved/new.img"
	run "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console none
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"disk \`$TMP/disk.img\`"*"--disk-remap"* ]]
	run "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console none \
		--disk-remap "$TMP/other.img=$TMP/moved/new.img"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the snapshot has no such disk"* ]]
	restore_ok "$TMP" --disk-remap "$TMP/disk.img=$TMP/moved/new.img"
	grep -q "virtio-blk: ok" "$TMP/out2.txt"
	check_blk "$TMP/moved/new.img" 0 3
}

# The counter guest has no virtio-fs driver: its share is a device no driver
# took, saved like any other, and the restore shares another directory.
@test "vm snapshot: a share no driver took is saved, and --fs-remap points it elsewhere" {
	require_counter
	mkdir "$TMP/a" "$TMP/b"
	snapshot_counter "$TMP" --fs "tag=s,path=$TMP/a,ro"
	rmdir "$TMP/a"
	run timeout 60 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console none
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$TMP/a"* ]]
	run timeout 60 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console none \
		--fs-remap "nosuch=$TMP/b"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the snapshot has no such share"* ]]
	run timeout 60 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console "$TMP/out2" \
		--fs-remap "s=$TMP/b,rw"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q "^counter: 60" "$TMP/out2"
}

@test "vm snapshot: a disk whose path holds a comma and an '=' restores (typed device fields)" {
	require_guest virtio-blk
	truncate -s 8M "$TMP/a,b=c.img"
	# On the command line ",," is a comma; the snapshot keeps the path itself.
	snapshot_at "$TMP" "holding" --kernel "$GUEST_DIR/virtio-blk.elf" \
		--disk "$TMP/a,,b=c.img" --cmdline "hold=2000000 rounds=4 sectors=16"
	restore_ok "$TMP"
	grep -q "virtio-blk: ok" "$TMP/out2.txt"
	check_blk "$TMP/a,b=c.img" 0 3
}

@test "vm snapshot: a restored VM with a disk snapshots again over the API, and that restores" {
	require_guest virtio-blk
	require_cmd curl
	truncate -s 8M "$TMP/disk.img"
	snapshot_at "$TMP" "holding" --kernel "$GUEST_DIR/virtio-blk.elf" \
		--disk "$TMP/disk.img" --cmdline "hold=1000000 rounds=300 sectors=16"
	"$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console "$TMP/out2" \
		--api-sock "$TMP/api.sock" &
	pid=$!
	PIDS+=("$pid")
	wait_for "$TMP/out2" "round 5"
	run curl -s --unix-socket "$TMP/api.sock" -X PUT -w '%{http_code}' \
		-d "{\"snapshot_path\":\"$TMP/st2\",\"mem_file_path\":\"$TMP/mem2\"}" \
		http://l/snapshot/create
	[ "$output" = 204 ]
	kill -9 "$pid"
	wait "$pid" || true
	last=$(lines "$TMP/out2" | grep -a -o "^virtio-blk: round [0-9]*" | tail -1 | cut -d' ' -f3)
	run timeout 60 "$ISOLA" vm restore --state "$TMP/st2" --mem "$TMP/mem2" --console "$TMP/out3"
	[ "$status" -eq 0 ]
	first=$(tr -d '\r' <"$TMP/out3" | grep -m1 -o "^virtio-blk: round [0-9]*" | cut -d' ' -f3)
	# The second snapshot was taken after round 5 and no later than the kill
	# (a line it cut is finished by the restored guest: then first is last + 2).
	[ "$first" -gt 5 ]
	[ "$first" -le $((last + 2)) ]
	grep -q "virtio-blk: ok" "$TMP/out3"
	check_blk "$TMP/disk.img" 0 299
}

@test "vm snapshot: a vsock connection open at the snapshot is reset at restore" {
	require_guest virtio-vsock
	vsock_host_start "$TMP/v.sock_5000" "$TMP/got"
	PIDS+=("$VSOCK_HOST_PID")
	snapshot_at "$TMP" "holding" --kernel "$GUEST_DIR/virtio-vsock.elf" \
		--vsock "cid=7,uds=$TMP/v.sock" --cmdline "port=5000 hold=2000000"
	grep -q "got 16 bytes: hello from host" "$TMP/out1"
	rm -f "$TMP/v.sock"
	restore_ok "$TMP"
	grep -q "virtio-vsock: after the hold: connection reset by the host" "$TMP/out2.txt"
}

# rarp_listen TAP: the first RARP frame on TAP (which the test guests never send)
# is described in $TMP/rarp.out: "rarp from MAC op N sha MAC tha MAC".
rarp_listen() {
	python3 - "$1" "$TMP/rarp.ready" >"$TMP/rarp.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x8035))
s.bind((sys.argv[1], 0x8035)); s.settimeout(30)
open(sys.argv[2], 'w').close()
f = s.recv(2048)
print('rarp from', f[6:12].hex(':'), 'op', f[21], 'sha', f[22:28].hex(':'), 'tha',
      f[32:38].hex(':'), flush=True)
PY
	PIDS+=("$!")
	for _ in $(seq 100); do [ -e "$TMP/rarp.ready" ] && break; sleep 0.1; done
}

@test "vm snapshot: a net device restores onto another TAP with --net-remap, keeping its MAC" {
	require_guest virtio-net
	[ -c /dev/net/tun ] || skip "SKIP: no /dev/net/tun"
	require_cmd ip
	a=isola-it-a$(($$ % 100000)) b=isola-it-b$(($$ % 100000))
	TAPS=("$a" "$b")
	for t in "$a" "$b"; do
		ip tuntap add dev "$t" mode tap vnet_hdr
		ip link set "$t" up
	done
	# No mac=: the device picks a random one, which the snapshot must keep.
	snapshot_at "$TMP" "holding" --kernel "$GUEST_DIR/virtio-net.elf" --net "tap=$a" \
		--cmdline hold=2000000
	mac=$(tr -d '\r' <"$TMP/out1" | sed -n 's/^virtio-net: mac \([0-9a-f:]*\),.*/\1/p')
	[ -n "$mac" ]
	# The host side answers on the new TAP only.
	python3 - "$b" "$TMP/host.ready" >"$TMP/host.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
s.bind((sys.argv[1], 0x88b5)); s.settimeout(30)
open(sys.argv[2], 'w').close()
while True:
    f = s.recv(2048)
    if f[14:26] == b'isola-net-tx':
        break
print('from', f[6:12].hex(':'), flush=True)
s.send(b'\xff' * 6 + bytes.fromhex('020000000099') + b'\x88\xb5' +
       b'isola-net-rx'.ljust(46, b'\0'))
PY
	PIDS+=("$!")
	for _ in $(seq 100); do [ -e "$TMP/host.ready" ] && break; sleep 0.1; done
	# The VMM announces the guest's MAC on the new TAP.
	rarp_listen "$b"
	restore_ok "$TMP" --net-remap "$a=$b"
	cat "$TMP/host.out" "$TMP/rarp.out"
	grep -q "virtio-net: mac now $mac" "$TMP/out2.txt"
	grep -q "got 60-byte frame" "$TMP/out2.txt"
	grep -q "from $mac" "$TMP/host.out"
	grep -qx "rarp from $mac op 3 sha $mac tha $mac" "$TMP/rarp.out"
}

# api CURL-ARGS...: one request to $TMP/api.sock; prints the body and then the status.
api() {
	curl -s --max-time 30 --unix-socket "$TMP/api.sock" -w ' %{http_code}' "$@"
}

@test "vm snapshot: PUT /snapshot/load restores before boot; bad bodies and late loads are 400" {
	require_counter
	require_cmd curl
	snapshot_counter "$TMP"
	"$ISOLA" vm run --api-sock "$TMP/api.sock" --console "$TMP/out2" &
	PIDS+=("$!")
	pid=$!
	for _ in $(seq 100); do [ -S "$TMP/api.sock" ] && break; sleep 0.1; done
	run api -X PUT http://l/snapshot/load -d '{"snapshot_path": "'"$TMP/st"'"}'
	[[ "$output" == *"mem_backend and mem_file_path"*" 400" ]]
	run api -X PUT http://l/snapshot/load -d '{"snapshot_path": 1, "mem_file_path": "m"}'
	[[ "$output" == *"snapshot_path"*" 400" ]]
	run api -X PUT http://l/snapshot/load -d '{"snapshot_path": "s", "mem_file_path": "m", "x": 1}'
	[[ "$output" == *"x"*" 400" ]]
	run api -X PUT http://l/snapshot/load -d '{"snapshot_path": "'"$TMP/st"'",
		"mem_backend": {"backend_path": "'"$TMP/mem"'", "backend_type": "File"}}'
	echo "$output"
	[ "$output" = " 204" ]
	# resume_vm defaults to false: paused until PATCH /vm Resumed.
	run api http://l/
	[[ "$output" == *'"state":"Paused"'*" 200" ]]
	run api -X PUT http://l/snapshot/load -d '{"snapshot_path": "s", "mem_file_path": "m"}'
	[[ "$output" == *"already running"*" 400" ]]
	run api -X PATCH http://l/vm -d '{"state": "Resumed"}'
	[ "$output" = " 204" ]
	s=0
	wait "$pid" || s=$?
	[ "$s" -eq 0 ]
	grep -q "^counter: 60" "$TMP/out2"
	run grep -c "counter: start" "$TMP/out2"
	[ "$output" = 0 ]
}

@test "vm snapshot: a restore loaded paused announces its NIC once resumed" {
	require_guest virtio-net
	require_cmd curl
	[ -c /dev/net/tun ] || skip "SKIP: no /dev/net/tun"
	require_cmd ip
	a=isola-it-p$(($$ % 100000))
	TAPS=("$a")
	ip tuntap add dev "$a" mode tap vnet_hdr
	ip link set "$a" up
	snapshot_at "$TMP" "holding" --kernel "$GUEST_DIR/virtio-net.elf" \
		--net "tap=$a,mac=02:00:00:00:42:01" --cmdline hold=2000000
	"$ISOLA" vm run --api-sock "$TMP/api.sock" --console "$TMP/out2" &
	PIDS+=("$!")
	pid=$!
	for _ in $(seq 100); do [ -S "$TMP/api.sock" ] && break; sleep 0.1; done
	rarp_listen "$a"
	run api -X PUT http://l/snapshot/load -d '{"snapshot_path": "'"$TMP/st"'",
		"mem_backend": {"backend_path": "'"$TMP/mem"'", "backend_type": "File"}}'
	[ "$output" = " 204" ]
	run api -X PATCH http://l/vm -d '{"state": "Resumed"}'
	[ "$output" = " 204" ]
	for _ in $(seq 300); do [ -s "$TMP/rarp.out" ] && break; sleep 0.1; done
	cat "$TMP/rarp.out"
	grep -qx "rarp from 02:00:00:00:42:01 op 3 sha 02:00:00:00:42:01 tha 02:00:00:00:42:01" \
		"$TMP/rarp.out"
}

@test "vm snapshot: PUT /snapshot/load takes Firecracker's network_overrides and vsock_override" {
	require_counter
	require_cmd curl
	[ -c /dev/net/tun ] || skip "SKIP: no /dev/net/tun"
	require_cmd ip
	a=isola-it-o$(($$ % 100000))
	b=isola-it-q$(($$ % 100000))
	TAPS=("$a" "$b")
	ip tuntap add dev "$a" mode tap vnet_hdr
	ip tuntap add dev "$b" mode tap vnet_hdr
	# The NIC gets its iface_id from the API: a VM configured there, then snapshotted.
	"$ISOLA" vm run --api-sock "$TMP/api.sock" --console "$TMP/out1" &
	PIDS+=("$!")
	pid=$!
	for _ in $(seq 100); do [ -S "$TMP/api.sock" ] && break; sleep 0.1; done
	run api -X PUT http://l/boot-source -d '{"kernel_image_path": "'"$GUEST_DIR/counter.elf"'",
		"boot_args": "every=40000000"}'
	[ "$output" = " 204" ]
	# Its rate limit goes with it too.
	run api -X PUT http://l/network-interfaces/eth0 -d '{"iface_id": "eth0", "host_dev_name": "'"$a"'",
		"tx_rate_limiter": {"ops": {"size": 1000, "refill_time": 100}}}'
	[ "$output" = " 204" ]
	run api -X PUT http://l/vsock -d '{"guest_cid": 3, "uds_path": "'"$TMP/v1.sock"'"}'
	[ "$output" = " 204" ]
	run api -X PUT http://l/actions -d '{"action_type": "InstanceStart"}'
	[ "$output" = " 204" ]
	wait_for "$TMP/out1" "^counter: 3"
	run api -X PATCH http://l/vm -d '{"state": "Paused"}'
	[ "$output" = " 204" ]
	last=$(tr -d '\r' <"$TMP/out1" | grep -o "^counter: [0-9]*" | tail -1 | cut -d' ' -f2)
	run api -X PUT http://l/snapshot/create -d '{"snapshot_path": "'"$TMP/st"'", "mem_file_path": "'"$TMP/mem"'"}'
	echo "$output"
	[ "$output" = " 204" ]
	kill "$pid"
	wait "$pid" || true
	# An iface_id the snapshot does not have: 400 naming it, and the process ends.
	"$ISOLA" vm run --api-sock "$TMP/api.sock" --console "$TMP/out2" &
	pid=$!
	PIDS+=("$pid")
	for _ in $(seq 100); do [ -S "$TMP/api.sock" ] && break; sleep 0.1; done
	run api -X PUT http://l/snapshot/load -d '{"snapshot_path": "'"$TMP/st"'", "mem_file_path": "'"$TMP/mem"'",
		"network_overrides": [{"iface_id": "eth9", "host_dev_name": "'"$b"'"}]}'
	echo "$output"
	[[ "$output" == *"network_overrides"*"eth9"*"no such iface_id"*" 400" ]]
	s=0
	wait "$pid" || s=$?
	[ "$s" -ne 0 ]
	# The NIC moved to TAP b by its id, the vsock device to a new socket.
	"$ISOLA" vm run --api-sock "$TMP/api.sock" --console "$TMP/out2" &
	pid=$!
	PIDS+=("$pid")
	for _ in $(seq 100); do [ -S "$TMP/api.sock" ] && break; sleep 0.1; done
	run api -X PUT http://l/snapshot/load -d '{"snapshot_path": "'"$TMP/st"'", "mem_file_path": "'"$TMP/mem"'",
		"network_overrides": [{"iface_id": "eth0", "host_dev_name": "'"$b"'"}],
		"vsock_override": {"uds_path": "'"$TMP/v2.sock"'"}, "resume_vm": true}'
	echo "$output"
	[ "$output" = " 204" ]
	run api http://l/vm/config
	echo "$output"
	[[ "$output" == *'"iface_id":"eth0","host_dev_name":"'"$b"'"'* ]]
	[[ "$output" == *'"tx_rate_limiter":{"ops":{"size":1000,"one_time_burst":0,"refill_time":100}}'* ]]
	[[ "$output" == *'"uds_path":"'"$TMP/v2.sock"'"'* ]]
	[ -S "$TMP/v2.sock" ]
	wait_for "$TMP/out2" "^counter: $((last + 2))"
}

@test "vm snapshot: PUT /snapshot/load after pre-boot configuration is 400" {
	require_counter
	require_cmd curl
	"$ISOLA" vm run --api-sock "$TMP/api.sock" --console none &
	PIDS+=("$!")
	for _ in $(seq 100); do [ -S "$TMP/api.sock" ] && break; sleep 0.1; done
	run api -X PUT http://l/machine-config -d '{"vcpu_count": 1, "mem_size_mib": 64}'
	[ "$output" = " 204" ]
	run api -X PUT http://l/snapshot/load -d '{"snapshot_path": "s", "mem_file_path": "m"}'
	echo "$output"
	[[ "$output" == *"only on a fresh VM"*" 400" ]]
}
