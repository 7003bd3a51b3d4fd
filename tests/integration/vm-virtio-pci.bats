#!/usr/bin/env bats
# The virtio-pci transport (--virtio-transport pci): the ring-3 test guests,
# given `pci` on their cmdline, scan PCI bus 0 through ports 0xcf8/0xcfc,
# walk the virtio capabilities and drive the devices through common cfg,
# notify, ISR, INTx and MSI-X.  The same guests run under QEMU q35 with
# virtio-*-pci devices as a cross-check of the guest driver.

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
	isola_cleanup_tmp
}

sector_tag() { # image sector text
	dd if="$1" bs=512 skip="$2" count=1 status=none | head -c ${#3}
}

rng_pci() { # cmdline [isola options...]
	local cmdline=$1
	shift
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-rng.elf" --rng \
		--virtio-transport pci --cmdline "$cmdline" "$@"
	echo "$output"
}

qemu_q35() { # qemu args...
	timeout 60 qemu-system-x86_64 -M q35 -enable-kvm -m 64 -nodefaults -no-user-config \
		-nographic -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" \
		2>/dev/null
}

@test "vm-virtio-pci: virtio-rng found on PCI bus 0 delivers random bytes" {
	rng_pci "pci bytes=512"
	[ "$status" -eq 0 ]	# the guest's exit 0
	[[ "$output" == *"(virtio-pci)"* ]]
	[[ "$output" == *"got 512 + 512 bytes"* ]]
	[[ "$output" == *"virtio-rng: ok"* ]]
}

@test "vm-virtio-pci: INTx through the IOAPIC pin in the interrupt line register" {
	rng_pci "pci irq"
	[ "$status" -eq 0 ]
	[[ "$output" == *"InterruptStatus 0x1"* ]]
	[[ "$output" == *"virtio-rng: ok"* ]]
}

@test "vm-virtio-pci: MSI-X vector for the queue, in-kernel and split irqchip" {
	rng_pci "pci msix"
	[ "$status" -eq 0 ]
	[[ "$output" == *"MSI-X interrupt(s) on vector 0x41"* ]]
	[[ "$output" == *"virtio-rng: ok"* ]]
	rng_pci "pci msix" --irqchip split
	[ "$status" -eq 0 ]
	[[ "$output" == *"virtio-rng: ok"* ]]
	rng_pci "pci irq" --irqchip split
	[ "$status" -eq 0 ]
	[[ "$output" == *"InterruptStatus 0x1"* ]]
}

@test "vm-virtio-pci: virtio-blk pattern lands in the image; a read-only disk stays unchanged" {
	truncate -s 1M "$TMP/disk.img" "$TMP/other.img"
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" --virtio-transport pci \
		--disk "$TMP/disk.img,serial=isola-it-pci" --disk "$TMP/other.img" --rng \
		--cmdline "pci sector=100 sectors=16 indirect event_idx"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *'2048 sectors, serial "isola-it-pci"'* ]]
	[[ "$output" == *"virtio-blk: ok"* ]]
	[ "$(sector_tag "$TMP/disk.img" 100 'isola-blk:100;')" = "isola-blk:100;" ]
	[ "$(sector_tag "$TMP/disk.img" 115 'isola-blk:115;')" = "isola-blk:115;" ]
	[ "$(sector_tag "$TMP/disk.img" 116 'isola-blk:116;' | tr -d '\0')" = "" ]
	head -c 64K /dev/urandom >"$TMP/ro.img"
	sum=$(md5sum <"$TMP/ro.img")
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" --virtio-transport pci \
		--disk "$TMP/ro.img,ro" --cmdline "pci ro"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"read-only ok"* ]]
	[ "$(md5sum <"$TMP/ro.img")" = "$sum" ]
}

@test "vm-virtio-pci: the transport is per VM: mmio stays the default" {
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-rng.elf" --rng --cmdline pci
	[ "$status" -eq 1 ]	# guest exit 1: nothing on the PCI bus
	[[ "$output" == *"no device"* ]]
	rng_pci ""		# a virtio-mmio guest finds no virtio_mmio.device= word
	[ "$status" -eq 1 ]
	printf '{"kernel": "%s", "rng": true, "cmdline": "pci", "virtio-transport": "pci"}\n' \
		"$GUESTS/virtio-rng.elf" >"$TMP/vm.json"
	run timeout 60 "$ISOLA" vm run --config "$TMP/vm.json"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"(virtio-pci)"* ]]
}

@test "vm-virtio-pci: a bad transport fails with one clear error" {
	run "$ISOLA" vm run --kernel "$GUESTS/virtio-rng.elf" --virtio-transport isa
	[ "$status" -ne 0 ]
	[[ "$output" == *"--virtio-transport"*"isa"* ]]
	printf '{"kernel": "%s", "virtio-transport": 1}\n' "$GUESTS/virtio-rng.elf" >"$TMP/bad.json"
	run "$ISOLA" vm run --config "$TMP/bad.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad.json"*"virtio-transport"* ]]
}

@test "vm-virtio-pci: the same guests under QEMU q35 with virtio-*-pci (cross-check)" {
	require_cmd qemu-system-x86_64
	run qemu_q35 -kernel "$GUESTS/virtio-rng.elf" -append "pci msix" \
		-device virtio-rng-pci,disable-legacy=on
	echo "$output"
	[[ "$output" == *"virtio-rng: ok"* ]]
	truncate -s 1M "$TMP/q.img"
	run qemu_q35 -kernel "$GUESTS/virtio-blk.elf" -append "pci sector=7 sectors=4" \
		-drive "file=$TMP/q.img,format=raw,if=none,id=d0" \
		-device virtio-blk-pci,drive=d0,disable-legacy=on,serial=qemu-disk
	echo "$output"
	[[ "$output" == *'serial "qemu-disk"'* ]]
	[[ "$output" == *"virtio-blk: ok"* ]]
	[ "$(sector_tag "$TMP/q.img" 7 'isola-blk:7;')" = "isola-blk:7;" ]
}

# The function's config space, BAR, MSI-X table and vectors are in the state
# file; the guest waits for an MSI-X interrupt after every request, so a
# restore that lost them stops it.  A state file naming another BAR, a bad
# vector or a changed read-only config byte is refused (tests/unit: test-virtio-pci).
@test "vm-virtio-pci: a disk VM with MSI-X snapshotted mid-I/O restores and finishes with every sector right" {
	local pid i first
	truncate -s 8M "$TMP/disk.img"
	"$ISOLA" vm run --kernel "$GUESTS/virtio-blk.elf" --virtio-transport pci --rng \
		--disk "$TMP/disk.img" --cmdline "pci msix rounds=400 sectors=16" \
		--console "$TMP/out1" --snapshot-state "$TMP/st" --snapshot-mem "$TMP/mem" &
	pid=$!
	for i in $(seq 300); do grep -q "round 20" "$TMP/out1" 2>/dev/null && break; sleep 0.1; done
	kill -USR2 "$pid"
	for i in $(seq 200); do [ -f "$TMP/st" ] && break; sleep 0.05; done
	kill -9 "$pid"
	wait "$pid" || true
	[ -f "$TMP/st" ]
	run grep -c "round 399" "$TMP/out1"
	[ "$output" = 0 ]
	run timeout 60 "$ISOLA" vm restore --state "$TMP/st" --mem "$TMP/mem" --console "$TMP/out2"
	echo "$output"
	tr -d '\r' <"$TMP/out2" | tail -3
	[ "$status" -eq 0 ]
	grep -q "virtio-blk: round 399" "$TMP/out2"
	grep -q "virtio-blk: ok" "$TMP/out2"
	first=$(tr -d '\r' <"$TMP/out2" | grep -m1 -o "^virtio-blk: round [0-9]*" | cut -d' ' -f3)
	[ "$first" -ge 20 ]
	python3 - "$TMP/disk.img" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
for s in range(400 * 16):
    tag = b'isola-blk:%d;' % s
    assert d[s * 512:(s + 1) * 512] == (tag * (512 // len(tag) + 1))[:512], 'sector %d' % s
PY
}

@test "vm-virtio-pci: vsock (3 queues, device config) and balloon work over PCI too" {
	[ -f "$GUESTS/virtio-vsock.elf" ] || ci_skip "virtio-vsock.elf not built"
	vsock_host_start "$TMP/v.sock_5000" "$TMP/got"
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-vsock.elf" --virtio-transport pci \
		--rng --vsock "cid=7,uds=$TMP/v.sock" --cmdline "pci port=5000"
	wait "$VSOCK_HOST_PID" || true
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"guest cid 7"* ]]
	[[ "$output" == *"got 16 bytes: hello from host"* ]]
	[ "$(cat "$TMP/got")" = "hello from guest" ]
	[ -f "$GUESTS/virtio-balloon.elf" ] || return 0
	run timeout 60 "$ISOLA" vm run --kernel "$GUESTS/virtio-balloon.elf" --memory 128M \
		--virtio-transport pci --balloon --cmdline pci
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"virtio-balloon: ok"* ]]
}
