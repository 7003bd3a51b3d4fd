#!/usr/bin/env bats
# isola's freestanding test guests (guest/, docs/guests.md), booted under
# QEMU -M microvm (the yardstick: proves the guests themselves are right)
# and under `isola vm run`.  A guest's verdict is its isa-debug-exit code:
# QEMU exits with (code << 1) | 1, isola with the code itself.

load helpers

GUEST_DIR=${ISOLA_GUEST_DIR:-$(dirname "$ISOLA")/../../guest}

setup() {
	isola_tmp
}

teardown() {
	isola_cleanup_tmp
}

require_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "SKIP: /dev/kvm not usable"
}

require_guest() {
	[ -f "$GUEST_DIR/$1.elf" ] || ci_skip "$GUEST_DIR/$1.elf not built"
}

# qemu_guest NAME CMDLINE [EXTRA QEMU ARGS...]: boots the guest, output in $output.
qemu_guest() {
	local name=$1 cmdline=$2
	shift 2
	require_kvm
	require_cmd qemu-system-x86_64
	require_guest "$name"
	run timeout 60 qemu-system-x86_64 -M microvm -enable-kvm -m 64 -nodefaults \
		-no-user-config -nographic -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-kernel "$GUEST_DIR/$name.elf" -append "$cmdline" "$@"
	echo "$output"
}

# isola_guest NAME CMDLINE [EXTRA isola vm run ARGS...]
isola_guest() {
	local name=$1 cmdline=$2
	shift 2
	require_kvm
	require_guest "$name"
	# `vm run` is isola's own command: a --help that fails is a failure, not a skip.
	if ! "$ISOLA" vm run --help >/dev/null; then
		echo "isola vm run --help failed" >&2
		return 1
	fi
	run timeout 60 "$ISOLA" vm run --kernel "$GUEST_DIR/$name.elf" --cmdline "$cmdline" "$@"
	echo "$output"
}

@test "guest hello: prints its line and exits 0 (qemu)" {
	qemu_guest hello ""
	[ "$status" -eq 1 ]
	[[ "$output" == *"hello from isola guest"* ]]
}

@test "guest hello: exit code from the cmdline (qemu)" {
	qemu_guest hello "code=21"
	[ "$status" -eq 43 ]
	[[ "$output" == *"hello from isola guest"* ]]
}

@test "guest hello: malformed code is rejected (qemu)" {
	qemu_guest hello "code=banana"
	[ "$status" -eq $((126 * 2 + 1)) ]
	[[ "$output" == *"bad number for \`code\`"* ]]
}

@test "guest hello: ring-3 exceptions reach the guest's IDT and become exit codes (qemu)" {
	qemu_guest hello "fault=ud"
	[ "$status" -eq $(((64 + 6) * 2 + 1)) ]
	[[ "$output" == *"exception 6 "* ]]
	qemu_guest hello "fault=pf"
	[ "$status" -eq $(((64 + 14) * 2 + 1)) ]
	[[ "$output" == *"cr2 0x200000000000"* ]]
}

@test "guest hello: ring-3 exceptions reach the guest's IDT and become exit codes (isola)" {
	isola_guest hello "fault=ud"
	[ "$status" -eq $((64 + 6)) ]
	isola_guest hello "fault=pf"
	[ "$status" -eq $((64 + 14)) ]
	[[ "$output" == *"cr2 0x200000000000"* ]]
}

@test "guest hello: exits with its code (isola)" {
	isola_guest hello "code=21"
	[ "$status" -eq 21 ]
	[[ "$output" == *"hello from isola guest"* ]]
}

@test "guest bootinfo: start_info, cmdline and memmap are sane (qemu)" {
	# qboot's memmap is unsorted with an empty entry: `lenient`.
	qemu_guest bootinfo "expect_mib=64 lenient"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bootinfo: ok"* ]]
}

@test "guest bootinfo: strict order check catches qboot's unsorted memmap (qemu)" {
	qemu_guest bootinfo "expect_mib=64"
	[ "$status" -eq $((13 * 2 + 1)) ]
}

@test "guest bootinfo: a wrong RAM size is caught (qemu)" {
	qemu_guest bootinfo "expect_mib=32 lenient"
	[ "$status" -eq $((17 * 2 + 1)) ]
	qemu_guest bootinfo "expect_mib=128 lenient"
	[ "$status" -eq $((16 * 2 + 1)) ]
}

@test "guest bootinfo: start_info, cmdline and memmap are sane (isola)" {
	isola_guest bootinfo "expect_mib=96" --memory 96M
	[ "$status" -eq 0 ]
	[[ "$output" == *"bootinfo: ok"* ]]
	isola_guest bootinfo "expect_mib=64" --memory 96M
	[ "$status" -eq 17 ]
}

@test "guest memory: pattern over all RAM and over mem_mib (qemu)" {
	qemu_guest memory ""
	[ "$status" -eq 1 ]
	[[ "$output" =~ memory:\ 6[0-9]\ MiB\ ok ]]
	qemu_guest memory "mem_mib=1000"
	[ "$status" -eq 5 ]
}

@test "guest memory: pattern over mem_mib (isola)" {
	isola_guest memory "mem_mib=100" --memory 128M
	[ "$status" -eq 0 ]
	[[ "$output" == *"memory: 100 MiB ok"* ]]
	isola_guest memory "mem_mib=200" --memory 128M
	[ "$status" -eq 2 ]
}

@test "guest timer: LAPIC ticks in ring 3 and the COM1 IRQ via the IOAPIC (qemu)" {
	qemu_guest timer "ticks=20"
	[ "$status" -eq 1 ]
	[[ "$output" == *"serial irq delivered"* ]]
	[[ "$output" == *"woke from hlt 3 times"* ]]
	[[ "$output" =~ 2[0-9]\ pit\ ticks ]]
}

@test "guest timer: LAPIC ticks in ring 3 and the COM1 IRQ via the IOAPIC (isola)" {
	isola_guest timer "ticks=20"
	[ "$status" -eq 0 ]
	[[ "$output" =~ 2[0-9]\ lapic\ ticks ]]
	[[ "$output" == *"serial irq delivered"* ]]
	[[ "$output" == *"woke from hlt 3 times"* ]]
	[[ "$output" =~ 2[0-9]\ pit\ ticks ]]
}

@test "guest cpuloop: same checksum under qemu and isola" {
	qemu_guest cpuloop "iters=1000000"
	[ "$status" -eq 1 ]
	want=$(grep -o 'sum 0x[0-9a-f]*' <<<"$output")
	[ -n "$want" ]
	isola_guest cpuloop "iters=1000000"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$want"* ]]
}

@test "guest smp: INIT-SIPI-SIPI brings up every CPU of the MADT (qemu)" {
	qemu_guest smp "" -smp 4
	[ "$status" -eq 1 ]
	[[ "$output" == *"listed by madt"* ]]
	[[ "$output" == *"smp: 4 cpus ("* ]]
}

@test "guest smp: cpus=N without firmware tables (qemu, acpi=off)" {
	qemu_guest smp "cpus=3" -smp 3 -M microvm,acpi=off
	[ "$status" -eq 1 ]
	[[ "$output" == *"smp: 3 cpus ("* ]]
}

@test "guest smp: an absent CPU is reported, not waited for forever (qemu)" {
	qemu_guest smp "cpus=3" -smp 2
	[ "$status" -eq 5 ]
	[[ "$output" == *"smp: 2 cpus ("* ]]
}

@test "guest smp: every vCPU arrives in ring 3 (isola)" {
	isola_guest smp "" --cpus 4
	[ "$status" -eq 0 ]
	[[ "$output" == *"4 cpus listed by madt"* ]] # isola's ACPI MADT
	[[ "$output" == *"smp: 4 cpus ("* ]]
	isola_guest smp "" --cpus 2 --no-acpi
	[ "$status" -eq 0 ]
	[[ "$output" == *"2 cpus listed by mptable"* ]]
	[[ "$output" == *"smp: 2 cpus ("* ]]
}

@test "guest flat binaries: the image from 1 MiB, entered at its first byte" {
	require_guest hello
	[ -f "$GUEST_DIR/hello.bin" ] || ci_skip "objcopy not installed"
	require_cmd readelf
	# the ELF entry (pvh_start32) is the load address, 1 MiB
	readelf -h "$GUEST_DIR/hello.elf" | grep -q 'Entry point address: *0x100000$'
	# the first PT_LOAD of the ELF is the start of the .bin
	off=$(readelf -lW "$GUEST_DIR/hello.elf" | awk '$1 == "LOAD" { print $2; exit }')
	cmp -n 4096 <(tail -c +$((off + 1)) "$GUEST_DIR/hello.elf") "$GUEST_DIR/hello.bin"
}
