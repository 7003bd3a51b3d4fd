#!/usr/bin/env bats
# Firmware and lifecycle: the ACPI fixed hardware (PM1 power-off, RESET_REG),
# pvpanic, --on-reboot and --no-acpi, with hand-assembled PVH guests.  The
# tables themselves are checked by tests/unit/vmm/test-vmm-acpi.c; Linux
# using them needs the L1 test bed (tests/l1).

load helpers
load vm-helpers

setup() {
	isola_tmp
	require_kvm
	require_cmd as
}

teardown() {
	[ -z "${VMPID:-}" ] || kill -9 "$VMPID" 2>/dev/null || true
	isola_cleanup_tmp
}

VM_ACPI_RESET='66ba0606b001ee' # mov dx,0x606; mov al,1; out dx,al

# The guest's 16-bit port write: out PORT, VALUE (word), then hang.
outw_guest() {
	vm_asm_guest "$1" <<EOF2
.code32
.globl _start
_start:
	mov \$$2, %dx
	mov \$$3, %ax
	out %ax, %dx
	mov \$0xf4, %dx
	mov \$${4:-0x55}, %eax
	out %eax, %dx
1:	jmp 1b
EOF2
}

# The guest reads port $2 (width suffix $3: b or w) and debug-exits with the value.
in_guest() {
	local reg=%al
	[ "$3" = w ] && reg=%ax
	vm_asm_guest "$1" <<EOF2
.code32
.globl _start
_start:
	xor %eax, %eax
	mov \$$2, %dx
	in %dx, $reg
	mov \$0xf4, %dx
	out %eax, %dx
EOF2
}

@test "vm-acpi: SLP_EN with SLP_TYP=S5 in PM1a_CNT powers off with status 0" {
	outw_guest "$TMP/g.elf" 0x604 0x3400 # SLP_TYP 5 << 10 | SLP_EN
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --console none
	[ "$status" -eq 0 ]
}

@test "vm-acpi: other sleep types and PM1_CNT writes without SLP_EN do not stop the VM" {
	outw_guest "$TMP/g.elf" 0x604 0x2c00 # S3 | SLP_EN: not offered, ignored
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --console none
	[ "$status" -eq 85 ]
	outw_guest "$TMP/g.elf" 0x604 0x1400 # S5 without SLP_EN
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --console none
	[ "$status" -eq 85 ]
}

@test "vm-acpi: PM1_CNT reads SCI_EN set (always in ACPI mode)" {
	in_guest "$TMP/g.elf" 0x604 w
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --console none
	[ "$status" -eq 1 ]
}

@test "vm-acpi: RESET_REG and the i8042 reset exit 0 by default and with --on-reboot exit" {
	vm_guest "$TMP/g.elf" "$VM_ACPI_RESET$VM_HANG"
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --console none
	[ "$status" -eq 0 ]
	vm_guest "$TMP/k.elf" "$VM_I8042_RESET$VM_HANG"
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/k.elf" --console none --on-reboot exit
	[ "$status" -eq 0 ]
	vm_guest "$TMP/g.elf" "66ba0606b002ee$(vm_exit 0x55)" # not RESET_VALUE
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --console none
	[ "$status" -eq 85 ]
}

@test "vm-acpi: --on-reboot restart boots the same VM again" {
	# Prints B, then resets through RESET_REG: each boot adds one B.
	vm_guest "$TMP/g.elf" "$(vm_putc B)$VM_ACPI_RESET$VM_HANG"
	"$ISOLA" vm run --kernel "$TMP/g.elf" --on-reboot restart >>"$TMP/out" 2>&1 &
	VMPID=$!
	for _ in $(seq 100); do
		[ "$(tr -cd B <"$TMP/out" | wc -c)" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(tr -cd B <"$TMP/out" | wc -c)" -ge 3 ]
	kill -0 "$VMPID" # the same process (re-executed), still running
	kill -TERM "$VMPID"
	wait "$VMPID" || true
	VMPID=
	! grep -q error "$TMP/out"
}

@test "vm-acpi: triple fault restarts with --on-reboot restart; TERM ends it whenever it comes" {
	vm_guest "$TMP/g.elf" "$(vm_putc T)$VM_TRIPLE_FAULT"
	# The guest reboots every few ms, so TERM often lands while a reboot is being
	# handled: it must still end the VM (once it was swallowed and the VM restarted
	# for ever).  Ten rounds, TERM at a different point of the loop each time.
	for round in $(seq 10); do
		: >"$TMP/out"
		"$ISOLA" vm run --kernel "$TMP/g.elf" --on-reboot restart >>"$TMP/out" 2>&1 &
		VMPID=$!
		wait_until 10 '[ "$(tr -cd T <"$TMP/out" | wc -c)" -ge $((round + 1)) ]'
		kill -TERM "$VMPID"
		if ! wait_until 10 pid_dead "$VMPID"; then
			kill -9 "$VMPID"
			echo "round $round: TERM did not end the restarting VM"
			return 1
		fi
		wait "$VMPID" || true
		VMPID=
	done
}

@test "vm-acpi: --on-reboot with a bad value is refused" {
	vm_hello "$TMP/g.elf" 0
	run "$ISOLA" vm run --kernel "$TMP/g.elf" --on-reboot sometimes
	[ "$status" -ne 0 ]
	[[ "$output" == *"--on-reboot"*"exit or restart"* ]]
	[ "$(echo "$output" | wc -l)" -eq 1 ]
}

@test "vm-acpi: pvpanic reports its features and a panic exits 120 saying so" {
	in_guest "$TMP/g.elf" 0x505 b
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --console none
	[ "$status" -eq 3 ] # PANICKED | CRASH_LOADED
	vm_guest "$TMP/p.elf" "$(vm_putc P)$(vm_putc $'\n')66ba0505b001ee$VM_HANG"
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/p.elf"
	[ "$status" -eq 120 ]
	[[ "$output" == *"P"* ]] # the console's last lines stay visible
	[[ "$output" == *"guest panicked"* ]]
	# CRASH_LOADED alone: a kdump kernel goes on
	vm_guest "$TMP/c.elf" "66ba0505b002ee$(vm_exit 7)"
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/c.elf" --console none
	[ "$status" -eq 7 ]
}

# The PVH start info's rsdp_paddr ([ebx + 32]) points at "RSD PTR ": exit 0x31, else 0x32.
rsdp_guest() {
	vm_asm_guest "$1" <<'EOF2'
.code32
.globl _start
_start:
	mov 32(%ebx), %eax
	test %eax, %eax
	jz 1f
	cmpl $0x20445352, (%eax)
	jne 1f
	mov $0x31, %eax
	jmp 2f
1:	mov $0x32, %eax
2:	mov $0xf4, %dx
	out %eax, %dx
EOF2
}

@test "vm-acpi: PVH start_info.rsdp_paddr points at the RSDP; --no-acpi leaves it 0" {
	rsdp_guest "$TMP/g.elf"
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --console none --cpus 2
	[ "$status" -eq 49 ]
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --console none --no-acpi
	[ "$status" -eq 50 ]
	echo '{"kernel": "'"$TMP/g.elf"'", "acpi": false}' >"$TMP/vm.json"
	run timeout 10 "$ISOLA" vm run --config "$TMP/vm.json" --console none
	[ "$status" -eq 50 ]
	echo '{"kernel": "'"$TMP/g.elf"'", "acpi": "no"}' >"$TMP/bad.json"
	run "$ISOLA" vm run --config "$TMP/bad.json" --console none
	[ "$status" -ne 0 ]
	[[ "$output" == *acpi* ]]
}

@test "vm-acpi: --no-acpi has no PM1 ports (an S5 write does not stop the VM)" {
	outw_guest "$TMP/g.elf" 0x604 0x3400
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --console none --no-acpi
	[ "$status" -eq 85 ]
}
