#!/usr/bin/env bats
# virtio devices of isola's micro-VMs, driven by the ring-3 test guests
# guest/virtio-*.elf; the block guest's writes are checked in the image file.
# The same guests also run under QEMU microvm as a cross-check.

load helpers
load vm-helpers

GUESTS=${ISOLA_GUESTS:-$(cd "$(dirname "$ISOLA")/../../guest" 2>/dev/null && pwd)}

setup() {
	require_kvm
	[ -f "$GUESTS/virtio-blk.elf" ] && [ -f "$GUESTS/virtio-rng.elf" ] ||
		ci_skip "test guests not built ($GUESTS)"
	isola_tmp
}

teardown() {
	# A background listener or VM of a failed test: stop it by its pid.
	[ -z "${pid:-}" ] || kill "$pid" 2>/dev/null || true
	[ -z "${tap:-}" ] || ip link del "$tap" 2>/dev/null || true
	local n
	for n in ${netns:-}; do ip netns del "$n" 2>/dev/null || true; done
	isola_cleanup_tmp
}

# The text "isola-blk:<sector>;" the block guest writes at the start of a sector.
sector_tag() { # image sector
	dd if="$1" bs=512 skip="$2" count=1 status=none | head -c ${#3}
}

# QEMU microvm does not add virtio_mmio.device= words to a PVH guest's cmdline:
# list its 24 transports (512 bytes apart from 0xfeb00000, GSI 12 up); the
# guest skips the empty ones (device id 0).
qemu_transports() {
	local i
	for i in $(seq 0 23); do
		printf 'virtio_mmio.device=512@0x%x:%d ' $((0xfeb00000 + i * 512)) $((12 + i))
	done
}

qemu_microvm() { # qemu args...
	timeout 60 qemu-system-x86_64 -M microvm,rtc=off -enable-kvm -m 64 -nodefaults \
		-no-user-config -nographic -serial stdio -global virtio-mmio.force-legacy=false \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" 2>/dev/null
}

@test "vm-virtio: virtio-rng delivers random bytes to the guest" {
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-rng.elf" --rng --cmdline "bytes=512"
	echo "$output"
	[ "$status" -eq 0 ]	# the guest's exit 0
	[[ "$output" == *"got 512 + 512 bytes"* ]]
	[[ "$output" == *"virtio-rng: ok"* ]]
}

@test "vm-virtio: the used-buffer interrupt reaches the guest (irqfd -> IOAPIC)" {
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-rng.elf" --rng --cmdline irq
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"InterruptStatus 0x1"* ]]
	[[ "$output" == *"virtio-rng: ok"* ]]
}

@test "vm-virtio: without --rng the guest finds no device" {
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-rng.elf"
	[ "$status" -eq 1 ]	# guest exit 1
	[[ "$output" == *"no device"* ]]
}

@test "vm-virtio: virtio-blk writes land in the image file, serial via GET_ID" {
	truncate -s 1M "$TMP/disk.img"
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" \
		--disk "$TMP/disk.img,serial=isola-it-disk" --cmdline "sector=100 sectors=16"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *'2048 sectors, serial "isola-it-disk"'* ]]
	[[ "$output" == *"virtio-blk: ok"* ]]
	[ "$(sector_tag "$TMP/disk.img" 100 'isola-blk:100;')" = "isola-blk:100;" ]
	[ "$(sector_tag "$TMP/disk.img" 115 'isola-blk:115;')" = "isola-blk:115;" ]
	[ "$(sector_tag "$TMP/disk.img" 116 'isola-blk:116;' | tr -d '\0')" = "" ]
}

@test "vm-virtio: virtio-blk through indirect descriptors with EVENT_IDX" {
	truncate -s 1M "$TMP/disk.img"
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" --disk "$TMP/disk.img" \
		--cmdline "sector=40 sectors=32 indirect event_idx"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *", indirect, event_idx"* ]]
	[ "$(sector_tag "$TMP/disk.img" 71 'isola-blk:71;')" = "isola-blk:71;" ]
}

@test "vm-virtio: a read-only disk refuses writes and stays unchanged" {
	head -c 1M /dev/urandom >"$TMP/ro.img"
	sum=$(md5sum <"$TMP/ro.img")
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" --disk "$TMP/ro.img,ro" \
		--cmdline ro
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"read-only ok"* ]]
	[ "$(md5sum <"$TMP/ro.img")" = "$sum" ]
}

@test "vm-virtio: several disks and an rng are each announced on the cmdline" {
	truncate -s 64K "$TMP/a.img" "$TMP/b.img"
	run timeout 60 "$ISOLA" --debug vm run --kernel "$GUESTS/virtio-blk.elf" \
		--disk "$TMP/a.img" --disk "$TMP/b.img,ro" --rng --cmdline "sector=3 sectors=1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"3 device(s) attached"* ]]
	[ "$(sector_tag "$TMP/a.img" 3 'isola-blk:3;')" = "isola-blk:3;" ]
}

# The guest's "bench N x S bytes: write W us, read R us" -> "W R".
bench_us() {
	sed -n 's/.*bench .* write \([0-9]*\) us, read \([0-9]*\) us.*/\1 \2/p'
}

# "N request(s) throttled" from the device's own counter (--debug).
throttled() {
	sed -n 's/.*virtio-blk: \([0-9]*\) request(s) throttled.*/\1/p'
}

@test "vm-virtio: a rate-limited disk holds requests back (iops and bw token buckets)" {
	truncate -s 16M "$TMP/rl.img"
	run timeout 60 "$ISOLA" --debug vm run --kernel "$GUESTS/virtio-blk.elf" \
		--disk "$TMP/rl.img" --cmdline "bench=100 size=4096"
	echo "$output"
	[ "$status" -eq 0 ]
	read -r _ free_read <<<"$(bench_us <<<"$output")"
	[ -z "$(throttled <<<"$output")" ]
	# 100 operations/s, bucket of 100: the 100 writes drain it, the reads wait.
	run timeout 60 "$ISOLA" --debug vm run --kernel "$GUESTS/virtio-blk.elf" \
		--disk "$TMP/rl.img,iops=100" --cmdline "bench=100 size=4096"
	echo "$output"
	[ "$status" -eq 0 ]
	read -r _ slow_read <<<"$(bench_us <<<"$output")"
	echo "reads: unlimited $free_read us, iops=100 $slow_read us"
	[ "$(throttled <<<"$output")" -ge 10 ]
	[ "$slow_read" -gt $((free_read * 5)) ]
	# 4 MiB/s through a JSON rate_limiter, 1 MiB requests.
	cat >"$TMP/vm.json" <<-EOF
	{"kernel": "$GUESTS/virtio-blk.elf", "cmdline": "bench=8 size=1048576",
	 "disks": [{"path": "$TMP/rl.img", "rate_limiter":
	   {"bandwidth": {"size": 4194304, "refill_time": 1000}}}]}
	EOF
	run timeout 60 "$ISOLA" --debug vm run --config "$TMP/vm.json"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(throttled <<<"$output")" -ge 4 ]
}

# PUT through the pre-boot API at $TMP/api.sock; prints the HTTP status.
preboot_put() { # path body
	curl -s -o /dev/null -w '%{http_code}' --unix-socket "$TMP/api.sock" -X PUT \
		-H 'Content-Type: application/json' -d "$2" "http://localhost$1"
}

# METHOD PATH [BODY] through the API at $TMP/api.sock: prints the HTTP status; the body
# goes to $TMP/api.body.
api_call() {
	curl -s -o "$TMP/api.body" -w '%{http_code}' --max-time 10 --unix-socket "$TMP/api.sock" \
		-X "$1" -H 'Content-Type: application/json' ${3+-d "$3"} "http://localhost$2"
}

@test "vm-virtio: PUT /drives with a Firecracker rate_limiter before boot" {
	require_cmd curl
	truncate -s 16M "$TMP/rl.img"
	"$ISOLA" --debug vm run --api-sock "$TMP/api.sock" >"$TMP/vm.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do [ -S "$TMP/api.sock" ] && break; sleep 0.05; done
	[ "$(preboot_put /boot-source "{\"kernel_image_path\":\"$GUESTS/virtio-blk.elf\",
		\"boot_args\":\"bench=100 size=4096\"}")" = 204 ]
	[ "$(preboot_put /drives/d0 "{\"drive_id\":\"d0\",\"path_on_host\":\"$TMP/rl.img\",
		\"is_root_device\":false,\"rate_limiter\":{\"ops\":{\"size\":100,
		\"refill_time\":1000}}}")" = 204 ]
	[ "$(preboot_put /drives/d1 "{\"drive_id\":\"d1\",\"path_on_host\":\"$TMP/rl.img\",
		\"is_root_device\":false,\"rate_limiter\":{\"ops\":{\"sise\":1}}}")" = 400 ]
	[ "$(preboot_put /actions '{"action_type":"InstanceStart"}')" = 204 ]
	wait "$pid" && st=0 || st=$?
	pid=
	cat "$TMP/vm.out"
	[ "$st" -eq 0 ]
	[ "$(throttled <"$TMP/vm.out")" -ge 10 ]
}

@test "vm-virtio: bad rate-limit options fail with one clear error" {
	truncate -s 64K "$TMP/d.img"
	for opt in iops=0 bw=fast iops=-1 bw_refill=0 bw_burst=1M iops_refill=99999999; do
		run "$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" --disk "$TMP/d.img,$opt"
		echo "$opt: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"--disk"* ]]
	done
	echo '{"kernel": "k", "disks": [{"path": "d", "rate_limiter": {"bw": {}}}]}' >"$TMP/bad.json"
	run "$ISOLA" vm run --config "$TMP/bad.json"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad.json"*"rate_limiter.bw"* ]]
	echo '{"kernel": "k", "nets": [{"tap": "t", "tx_rate_limiter": {"ops": {"size": -1}}}]}' \
		>"$TMP/bad.json"
	run "$ISOLA" vm run --config "$TMP/bad.json"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad.json"*"nets[0].tx_rate_limiter.ops"* ]]
}

@test "vm-virtio: two VMs cannot open one writable image" {
	truncate -s 64K "$TMP/shared.img"
	exec 9>>"$TMP/shared.img"
	flock -x 9
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" --disk "$TMP/shared.img"
	exec 9>&-
	[ "$status" -ne 0 ]
	[[ "$output" == *"shared.img"*"locked"* ]]
}

@test "vm-virtio: bad device options fail with one clear error" {
	run "$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" --disk "$TMP/missing.img"
	[ "$status" -ne 0 ]
	[[ "$output" == *"missing.img"* ]]
	truncate -s 64K "$TMP/d.img"
	run "$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" \
		--disk "$TMP/d.img,serial=123456789012345678901"
	[ "$status" -ne 0 ]
	[[ "$output" == *"serial"* ]]
	run "$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" --vsock "cid=3,uds=$TMP/no/v.sock"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$TMP/no/v.sock"* ]]
}

@test "vm-virtio: a vsock device is attached and its uds removed when the VM exits" {
	run timeout 60 "$ISOLA" --debug vm run --kernel "$GUESTS/virtio-rng.elf" --rng \
		--vsock "cid=3,uds=$TMP/v.sock"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"virtio-vsock: notifications by ioeventfd"* ]]
	[ ! -e "$TMP/v.sock" ]
}

@test "vm-virtio: vsock, guest connects to a host port (<uds>_<port>)" {
	[ -f "$GUESTS/virtio-vsock.elf" ] || ci_skip "virtio-vsock.elf not built"
	vsock_host_start "$TMP/v.sock_5000" "$TMP/got"
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-vsock.elf" \
		--vsock "cid=7,uds=$TMP/v.sock" --cmdline port=5000
	wait "$VSOCK_HOST_PID" || true
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"guest cid 7"* ]]
	[[ "$output" == *"got 16 bytes: hello from host"* ]]
	[ "$(cat "$TMP/got")" = "hello from guest" ]
}

@test "vm-virtio: vsock, host connects with CONNECT <port> and gets OK <port>" {
	[ -f "$GUESTS/virtio-vsock.elf" ] || ci_skip "virtio-vsock.elf not built"
	timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-vsock.elf" \
		--vsock "cid=7,uds=$TMP/v.sock" --cmdline listen=52 >"$TMP/vm.out" 2>&1 &
	pid=$!
	run python3 - "$TMP/v.sock" <<'PY'
import os, socket, sys, time
for _ in range(200):  # the VM binds, then listens: retry until it accepts
    try:
        c = socket.socket(socket.AF_UNIX); c.settimeout(10); c.connect(sys.argv[1])
        break
    except OSError:
        c.close(); time.sleep(0.05)
c.sendall(b'CONNECT 52\n')
print(c.makefile('rb').readline().decode().strip())
c.sendall(b'ping from host\n')
print(c.recv(100).decode().strip())
PY
	wait "$pid" && vm=0 || vm=$?
	echo "$output"; cat "$TMP/vm.out"
	[ "$vm" -eq 0 ]
	[ "${lines[0]}" = "OK 1073741824" ]
	[ "${lines[1]}" = "ping from host" ]
	grep -q "echoed 15 bytes" "$TMP/vm.out"
	[ ! -e "$TMP/v.sock" ]
}

# A TAP $tap (up) with net_host_side answering on it, as $pid.
net_tap_with_host() { # name
	[ -f "$GUESTS/virtio-net.elf" ] || ci_skip "virtio-net.elf not built"
	[ -c /dev/net/tun ] || skip "SKIP: no /dev/net/tun"
	require_cmd ip
	tap=$1
	ip tuntap add dev "$tap" mode tap vnet_hdr
	ip link set "$tap" up
	start_net_host_side
}

start_net_host_side() {
	rm -f "$TMP/host.ready"
	net_host_side &
	pid=$!
	for _ in $(seq 100); do [ -e "$TMP/host.ready" ] && break; sleep 0.1; done
}

@test "vm-virtio: virtio-net frames cross a TAP both ways, with the configured MAC" {
	net_tap_with_host isola-it-n$$
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-net.elf" \
		--net "tap=$tap,mac=02:aa:bb:cc:dd:ee"
	wait "$pid" || true
	echo "$output"; cat "$TMP/host.out"
	[ "$status" -eq 0 ]
	[[ "$output" == *"mac 02:aa:bb:cc:dd:ee, status 1"* ]]
	[[ "$output" == *"got 60-byte frame, num_buffers 1"* ]]
	grep -q "from 02:aa:bb:cc:dd:ee" "$TMP/host.out"
}

@test "vm-virtio: virtio-net MRG_RXBUF spreads a frame over several small buffers" {
	net_tap_with_host isola-it-m$$
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-net.elf" \
		--net "tap=$tap,mac=02:aa:bb:cc:dd:ee" --cmdline mrg
	wait "$pid" || true
	pid=
	echo "$output"; cat "$TMP/host.out"
	[ "$status" -eq 0 ]
	# 12-byte header + 60-byte frame in 48-byte buffers: two of them.
	[[ "$output" == *"got 60-byte frame, num_buffers 2"* ]]
}

# On TAP $tap, wait for the guest's "isola-net-tx" cue, then send it N frames (backgrounded).
net_flood() { # N
	rm -f "$TMP/host.ready"
	python3 - "$tap" "$TMP/host.ready" "$1" >"$TMP/host.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))
s.bind((sys.argv[1], 0x88b5)); s.settimeout(30)
open(sys.argv[2], 'w').close()
while s.recv(2048)[14:26] != b'isola-net-tx':
    pass
for _ in range(int(sys.argv[3])):
    s.send(b'\xff' * 6 + bytes.fromhex('020000000099') + b'\x88\xb5' +
           b'isola-net-rx'.ljust(46, b'\0'))
print('sent', flush=True)
PY
	pid=$!
	for _ in $(seq 100); do [ -e "$TMP/host.ready" ] && break; sleep 0.1; done
}

net_held() { # receive|transmit: the rounds the VMM's --debug log says the limit held back
	sed -n "s/.*rate limits held back \([0-9]*\) receive and \([0-9]*\) transmit.*/\1 \2/p" |
		{ read -r rx tx && if [ "$1" = receive ]; then echo "$rx"; else echo "$tx"; fi; }
}

# A TAP $tap (up), no one on it.
net_tap() { # name
	net_prereqs
	tap=$1
	ip tuntap add dev "$tap" mode tap vnet_hdr
	ip link set "$tap" up
}

@test "vm-virtio: virtio-net rate limits: frames wait for their tokens, each way (JSON config)" {
	net_tap isola-it-r$(($$ % 100000))
	# Transmit: a bucket of 10 frames refilled in a second; 30 frames take 2 s or more.
	cat >"$TMP/vm.json" <<-EOF
	{"kernel": "$GUESTS/virtio-net.elf", "cmdline": "burst=30",
	 "nets": [{"tap": "$tap", "tx_rate_limiter": {"ops": {"size": 10, "refill_time": 1000}}}]}
	EOF
	run timeout 60 "$ISOLA" --debug vm run --config "$TMP/vm.json"
	echo "$output"
	[ "$status" -eq 0 ]
	us=$(sed -n 's/.*burst 30 sent in \([0-9]*\) us.*/\1/p' <<<"$output")
	[ "$us" -ge 1900000 ]
	[ "$(net_held transmit <<<"$output")" -ge 10 ]
	# Receive: 600 bytes a second (a 60-byte frame and its 12-byte header: 8.3 a
	# second); of 50 sent at once, 8 + 2 x 8.3 arrive within 2 s, the rest wait (not
	# lost: at least 12).  Unlimited: all 50.  With MRG_RXBUF (Linux's way) too.
	for limit in none bandwidth bandwidth-mrg; do
		rl= mrg=
		[ "$limit" = none ] ||
			rl=', "rx_rate_limiter": {"bandwidth": {"size": 600, "refill_time": 1000}}'
		[ "$limit" != bandwidth-mrg ] || mrg=" mrg"
		cat >"$TMP/vm.json" <<-EOF
		{"kernel": "$GUESTS/virtio-net.elf", "cmdline": "count=2000$mrg",
		 "nets": [{"tap": "$tap"$rl}]}
		EOF
		net_flood 50
		run timeout 60 "$ISOLA" --debug vm run --config "$TMP/vm.json"
		wait "$pid" || true
		pid=
		echo "$limit: $output"
		[ "$status" -eq 0 ]
		got=$(sed -n 's/.*counted \([0-9]*\) frames.*/\1/p' <<<"$output")
		if [ "$limit" = none ]; then
			[ "$got" -eq 50 ]
		else
			[ "$got" -le 31 ] && [ "$got" -ge 12 ]
			[ "$(net_held receive <<<"$output")" -ge 10 ]
		fi
	done
}

@test "vm-virtio: PUT /network-interfaces takes a tx_rate_limiter; PATCH lifts it while frames wait" {
	require_cmd curl
	net_tap isola-it-p$(($$ % 100000))
	"$ISOLA" --debug vm run --api-sock "$TMP/api.sock" >"$TMP/vm.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do [ -S "$TMP/api.sock" ] && break; sleep 0.05; done
	[ "$(api_call PATCH /network-interfaces/eth0 '{"iface_id":"eth0","tx_rate_limiter":{"ops":{"size":0}}}')" = 400 ]
	grep -q "not started" "$TMP/api.body"
	[ "$(preboot_put /boot-source "{\"kernel_image_path\":\"$GUESTS/virtio-net.elf\",
		\"boot_args\":\"burst=40\"}")" = 204 ]
	[ "$(preboot_put /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"'"$tap"'",
		"tx_rate_limiter":{"ops":{"size":5,"refill_time":"x"}}}')" = 400 ]
	# 5 frames, then one more every 100 s: without the PATCH the guest gives up (exit 4).
	# The bandwidth bucket limits nothing here.
	[ "$(preboot_put /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"'"$tap"'",
		"tx_rate_limiter":{"ops":{"size":5,"refill_time":500000},
		"bandwidth":{"size":1000000}}}')" = 204 ]
	[ "$(preboot_put /actions '{"action_type":"InstanceStart"}')" = 204 ]
	[ "$(api_call GET /vm/config)" = 200 ]
	[ "$(jq -c '."network-interfaces"[0].tx_rate_limiter' "$TMP/api.body")" = \
		'{"bandwidth":{"size":1000000,"one_time_burst":0,"refill_time":1000},"ops":{"size":5,"one_time_burst":0,"refill_time":500000}}' ]
	# A PATCH of one bucket leaves the other: the burst still waits.
	[ "$(api_call PATCH /network-interfaces/eth0 '{"iface_id":"eth0","tx_rate_limiter":{"bandwidth":{"size":2000000}}}')" = 204 ]
	[ "$(api_call GET /vm/config)" = 200 ]
	[ "$(jq -c '."network-interfaces"[0].tx_rate_limiter | [.bandwidth.size, .ops.size]' "$TMP/api.body")" = '[2000000,5]' ]
	! grep -q "burst 40 sent" "$TMP/vm.out"
	[ "$(api_call PATCH /network-interfaces/eth1 '{"iface_id":"eth1","tx_rate_limiter":{"ops":{"size":0}}}')" = 400 ]
	grep -q "no such interface" "$TMP/api.body"
	[ "$(api_call PATCH /network-interfaces/eth0 '{"iface_id":"eth0","mtu":1}')" = 400 ]
	[ "$(api_call PATCH /network-interfaces/eth0 '{"iface_id":"eth0"}')" = 400 ]
	grep -q "nothing to change" "$TMP/api.body"
	sleep 1
	[ "$(api_call PATCH /network-interfaces/eth0 '{"iface_id":"eth0","tx_rate_limiter":{"ops":{"size":0}}}')" = 204 ]
	wait "$pid" && st=0 || st=$?
	pid=
	cat "$TMP/vm.out"
	[ "$st" -eq 0 ]
	# The first 5 went at once, the 6th waited for the PATCH, a second later.
	us=$(sed -n 's/.*burst 40 sent in \([0-9]*\) us.*/\1/p' "$TMP/vm.out")
	[ "$us" -ge 900000 ]
}

# Answer the net guest's frame on TAP $tap from a packet socket (backgrounded).
net_host_side() {
	python3 - "$tap" "$TMP/host.ready" >"$TMP/host.out" <<'PY'
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
}

# A UDP peer at 10.0.9.1:4001 in netns $1: answers the net guest's "udp" datagram.
udp_peer() { # netns
	ip netns exec "$1" python3 - "$TMP/udp.ready" >"$TMP/udp.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('10.0.9.1', 4001)); s.settimeout(30)
open(sys.argv[1], 'w').close()
d, a = s.recvfrom(100)
print('got', d.decode(), 'from', a[0], flush=True)
s.sendto(b'isola-udp-rx', ('10.0.9.2', 4000))
PY
	pid=$!
	for _ in $(seq 100); do [ -e "$TMP/udp.ready" ] && break; sleep 0.1; done
}

net_prereqs() {
	[ -f "$GUESTS/virtio-net.elf" ] || ci_skip "virtio-net.elf not built"
	[ -c /dev/net/tun ] || skip "SKIP: no /dev/net/tun"
	require_cmd ip
	require_cmd python3
}

@test "vm-virtio: virtio-net offloads follow the driver (CSUM accepted or not)" {
	net_prereqs
	ns=isola-it-o$$ tap=isola-o$$
	netns=$ns
	ip netns add "$ns"
	ip -n "$ns" tuntap add dev "$tap" mode tap vnet_hdr
	ip -n "$ns" addr add 10.0.9.1/24 dev "$tap"
	ip -n "$ns" link set "$tap" up
	ip -n "$ns" neigh add 10.0.9.2 lladdr 02:aa:bb:cc:dd:01 dev "$tap"
	for mode in csum none; do
		rm -f "$TMP/udp.ready"
		udp_peer "$ns"
		run ip netns exec "$ns" timeout 60 "$ISOLA" --debug vm run \
			--kernel "$GUESTS/virtio-net.elf" --net "tap=$tap,mac=02:aa:bb:cc:dd:01" \
			--cmdline "udp ${mode/none/}"
		wait "$pid" || true
		pid=
		echo "$output"; cat "$TMP/udp.out"
		[ "$status" -eq 0 ]
		grep -q "got isola-udp-tx from 10.0.9.2" "$TMP/udp.out"
		if [ "$mode" = csum ]; then
			# The guest left the UDP checksum to us: only the offload makes it valid.
			[[ "$output" == *"udp sent (checksum by the device)"* ]]
			[[ "$output" == *"tap offloads 0x1 for"* ]]
			[[ "$output" == *"udp received, hdr flags 1"* ]] # NEEDS_CSUM passed on
		else
			[[ "$output" == *"tap offloads 0 for"* ]]
			[[ "$output" == *"udp received, hdr flags 0"* ]] # a complete frame
		fi
	done
	tap=
}

@test "vm-virtio: --net bridge= puts the TAP on a bridge; a datagram crosses to a veth and back" {
	net_prereqs
	ns=isola-it-b$$ peer=isola-it-p$$ br=isola-br$$
	netns="$ns $peer"
	ip netns add "$ns"
	ip netns add "$peer"
	ip -n "$ns" link add "$br" type bridge
	ip -n "$ns" link set "$br" up
	ip -n "$ns" link add "isola-v$$" type veth peer name "isola-w$$" netns "$peer"
	ip -n "$ns" link set "isola-v$$" master "$br" up
	ip -n "$peer" addr add 10.0.9.1/24 dev "isola-w$$"
	ip -n "$peer" link set "isola-w$$" up
	ip -n "$peer" neigh add 10.0.9.2 lladdr 02:aa:bb:cc:dd:01 dev "isola-w$$"
	udp_peer "$peer"
	# isola creates the TAP, attaches it and sets it up; it is gone after the VM.
	run ip netns exec "$ns" timeout 60 "$ISOLA" --debug vm run --kernel "$GUESTS/virtio-net.elf" \
		--net "tap=isola-t$$,mac=02:aa:bb:cc:dd:01,bridge=$br" --cmdline udp
	wait "$pid" || true
	pid=
	echo "$output"; cat "$TMP/udp.out"
	[ "$status" -eq 0 ]
	[[ "$output" == *"tap \`isola-t$$\` (created) attached to bridge \`$br\`"* ]]
	[[ "$output" == *"udp received"* ]]
	grep -q "got isola-udp-tx from 10.0.9.2" "$TMP/udp.out"
	run ip -n "$ns" link show "isola-t$$"
	[ "$status" -ne 0 ]
	# An existing TAP is attached for the VM's life and taken out again.
	ip -n "$ns" tuntap add dev "isola-e$$" mode tap vnet_hdr
	run ip netns exec "$ns" timeout 60 "$ISOLA" --debug vm run --kernel "$GUESTS/virtio-rng.elf" \
		--rng --net "tap=isola-e$$,bridge=$br"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"(existing) attached to bridge"* ]]
	run ip -n "$ns" -o link show "isola-e$$"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"master"* ]]
	# A missing bridge: one clear error, and the TAP isola created is not left behind.
	run ip netns exec "$ns" "$ISOLA" vm run --kernel "$GUESTS/virtio-rng.elf" \
		--net "tap=isola-t$$,bridge=isola-nobr"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bridge \`isola-nobr\`"* ]]
	run ip -n "$ns" link show "isola-t$$"
	[ "$status" -ne 0 ]
}

@test "vm-virtio: two VMs on one bridge exchange frames" {
	net_prereqs
	ns=isola-it-v$$ br=isola-br$$
	netns=$ns
	ip netns add "$ns"
	ip -n "$ns" link add "$br" type bridge
	ip -n "$ns" link set "$br" up
	ip netns exec "$ns" timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-net.elf" \
		--net "tap=isola-a$$,mac=02:00:00:00:00:0a,bridge=$br" --cmdline answer \
		>"$TMP/a.out" 2>&1 &
	pid=$!
	wait_output "$TMP/a.out" "waiting for a frame"
	# A TAP isola created has a 0xfe MAC: it never undercuts the bridge's other
	# ports, so the bridge's own address does not move when VMs come and go.
	run ip -n "$ns" -o link show "isola-a$$"
	echo "$output"
	[[ "$output" == *"link/ether fe:"* ]]
	run ip netns exec "$ns" timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-net.elf" \
		--net "tap=isola-b$$,mac=02:00:00:00:00:0b,bridge=$br"
	wait "$pid" && a=0 || a=$?
	pid=
	echo "$output"; cat "$TMP/a.out"
	[ "$status" -eq 0 ]
	[ "$a" -eq 0 ]
	[[ "$output" == *"got 60-byte frame"* ]]
	grep -q "answered 02:00:00:00:00:0b" "$TMP/a.out"
	run ip -n "$ns" -o link show master "$br"
	[ -z "$output" ] # both TAPs were isola's and are gone
}

@test "vm-virtio: balloon inflation and free page reporting drop guest pages" {
	[ -f "$GUESTS/virtio-balloon.elf" ] || ci_skip "virtio-balloon.elf not built"
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-balloon.elf" --balloon
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"virtio-balloon: ok"* ]]
}

rss_kib() { # pid
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

wait_output() { # file text
	for _ in $(seq 300); do grep -q "$2" "$1" && return 0; sleep 0.1; done
	cat "$1"
	return 1
}

# `vm update --show` of $vm until it has statistics and matches $1 (in $output).
balloon_stats() { # pattern
	for _ in $(seq 30); do
		run "$ISOLA" vm update --show "$vm"
		[[ "$output" == *"$1"*'"free_memory":'* ]] && break
		sleep 0.2
	done
	echo "$output"
}

# Give the balloon guest its memory back; it deflates and exits 0 (status 1).
deflate_and_wait() { # vm update option value
	local st=0
	run "$ISOLA" vm update "$1" "$2" "$vm"
	[ "$status" -eq 0 ]
	wait "$pid" || st=$?
	pid=
	cat "$TMP/vm.out"
	[ "$st" -eq 0 ]
	grep -q "deflated, ok" "$TMP/vm.out"
}

@test "vm-virtio: balloon follows the host's target (vm update), RSS drops, then deflates" {
	[ -f "$GUESTS/virtio-balloon.elf" ] || ci_skip "virtio-balloon.elf not built"
	export ISOLA_VM_RUNDIR=$TMP/run
	vm=isola-it-bal$$
	"$ISOLA" vm run --id "$vm" --memory 128 --kernel "$GUESTS/virtio-balloon.elf" --balloon \
		--cmdline "target touch_mib=64" >"$TMP/vm.out" 2>&1 &
	pid=$!
	wait_output "$TMP/vm.out" "touched 64 MiB"
	before=$(rss_kib "$pid")
	run "$ISOLA" vm update --balloon-stats 1 --balloon 48 "$vm"
	echo "$output"
	[ "$status" -eq 0 ]
	wait_output "$TMP/vm.out" "inflated to 12288 pages"
	after=$(rss_kib "$pid")
	echo "VmRSS: $before kB touched, $after kB with a 48 MiB balloon"
	[ "$after" -lt $((before - 40 * 1024)) ]
	# The statistics arrive at the next poll (1 s).
	balloon_stats '"actual_mib":48'
	[[ "$output" == *'"target_mib":48,"actual_mib":48'* ]]
	[[ "$output" == *'"total_memory":134217728'* ]]
	# --memory N leaves N MiB to the guest: a 128 MiB VM at 128 MiB has no balloon.
	deflate_and_wait --memory 128
	[ ! -e "$TMP/run/$vm" ]
}

@test "vm-virtio: a balloon configured in JSON starts inflated and polls statistics" {
	[ -f "$GUESTS/virtio-balloon.elf" ] || ci_skip "virtio-balloon.elf not built"
	export ISOLA_VM_RUNDIR=$TMP/run
	vm=isola-it-bj$$
	cat >"$TMP/vm.json" <<-EOF
	{"kernel": "$GUESTS/virtio-balloon.elf", "memory": 64, "cmdline": "target touch_mib=16",
	 "balloon": {"amount_mib": 8, "stats_polling_interval_s": 1, "deflate_on_oom": true}}
	EOF
	"$ISOLA" vm run --id "$vm" --config "$TMP/vm.json" >"$TMP/vm.out" 2>&1 &
	pid=$!
	wait_output "$TMP/vm.out" "inflated to 2048 pages"
	balloon_stats '"actual_mib":8'
	[[ "$output" == *'"target_mib":8,"actual_mib":8'* ]]
	[[ "$output" == *'"available_memory":'* ]]
	deflate_and_wait --balloon 0
	echo '{"kernel": "k", "memory": 64, "balloon": {"amount_mib": 65}}' >"$TMP/big.json"
	run "$ISOLA" vm run --config "$TMP/big.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *"amount_mib 65 is more than"* ]]
	echo '{"kernel": "k", "balloon": {"amount": 1}}' >"$TMP/bad.json"
	run "$ISOLA" vm run --config "$TMP/bad.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad.json"*"balloon.amount"* ]]
}

@test "vm-virtio: balloon API refuses bad targets and VMs without a balloon" {
	[ -f "$GUESTS/virtio-balloon.elf" ] || ci_skip "virtio-balloon.elf not built"
	export ISOLA_VM_RUNDIR=$TMP/run
	vm=isola-it-bal$$
	[ -f "$GUESTS/counter.elf" ] || ci_skip "counter.elf not built"
	# A guest that runs until stopped, on a VM without --balloon.
	"$ISOLA" vm run --id "$vm" --memory 64 --kernel "$GUESTS/counter.elf" \
		--console none >"$TMP/vm.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do [ -S "$TMP/run/$vm/api.sock" ] && break; sleep 0.1; done
	run "$ISOLA" vm info "$vm"
	[ "$status" -eq 0 ]
	run "$ISOLA" vm update --balloon 8 "$vm"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no balloon device"* ]]
	run "$ISOLA" vm update --memory 65 "$vm"
	[ "$status" -ne 0 ]
	[[ "$output" == *"only 64 MiB"* ]]
	run "$ISOLA" vm update --balloon-stats 3601 "$vm"
	[ "$status" -ne 0 ]
	[[ "$output" == *"balloon-stats"* ]]
	run "$ISOLA" vm update "$vm"
	[ "$status" -ne 0 ]
	[[ "$output" == *"nothing to do"* ]]
	"$ISOLA" vm stop "$vm"
	wait "$pid" || true
	pid=
}

@test "vm-virtio: the same guests pass under QEMU microvm (cross-check)" {
	require_cmd qemu-system-x86_64
	truncate -s 1M "$TMP/q.img"
	run qemu_microvm -kernel "$GUESTS/virtio-blk.elf" -append "$(qemu_transports)sector=7 sectors=4" \
		-drive "file=$TMP/q.img,format=raw,if=none,id=d0" \
		-device virtio-blk-device,drive=d0,serial=qemu-disk
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"virtio-blk: ok"* ]]
	[ "$(sector_tag "$TMP/q.img" 7 'isola-blk:7;')" = "isola-blk:7;" ]
	run qemu_microvm -kernel "$GUESTS/virtio-blk.elf" \
		-append "$(qemu_transports)sector=30 sectors=2 indirect event_idx" \
		-drive "file=$TMP/q.img,format=raw,if=none,id=d0" -device virtio-blk-device,drive=d0
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *", indirect, event_idx"* ]]
	[ "$(sector_tag "$TMP/q.img" 31 'isola-blk:31;')" = "isola-blk:31;" ]
	run qemu_microvm -kernel "$GUESTS/virtio-rng.elf" -device virtio-rng-device \
		-append "$(qemu_transports)"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"virtio-rng: ok"* ]]
}

@test "vm-virtio: the net guest passes under QEMU microvm too (cross-check)" {
	require_cmd qemu-system-x86_64
	net_tap_with_host isola-it-q$$
	run qemu_microvm -kernel "$GUESTS/virtio-net.elf" -append "$(qemu_transports)" \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-device virtio-net-device,netdev=n0,mac=02:aa:bb:cc:dd:ef
	wait "$pid" || true
	echo "$output"
	[ "$status" -eq 1 ]
	# QEMU 7.2 reports num_buffers 0 without MRG_RXBUF; the spec asks for 1.
	[[ "$output" == *"got 60-byte frame"* ]]
	grep -q "from 02:aa:bb:cc:dd:ef" "$TMP/host.out"
	# The guest's MRG_RXBUF mode sees the same split under QEMU as under isola.
	start_net_host_side
	run qemu_microvm -kernel "$GUESTS/virtio-net.elf" -append "$(qemu_transports)mrg" \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-device virtio-net-device,netdev=n0,mac=02:aa:bb:cc:dd:ef
	wait "$pid" || true
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"got 60-byte frame, num_buffers 2"* ]]
}
