#!/usr/bin/env bats
# isola vm run: the micro-VM manager core, with tiny hand-assembled PVH guests.

load helpers
load vm-helpers

setup() {
	isola_tmp
	require_kvm
}

teardown() {
	# a VM a failed test left running (only the tests that set it)
	[ -z "${pid:-}" ] || kill -KILL "$pid" 2>/dev/null || true
	isola_cleanup_tmp
}

@test "vm: guest debug-exit value is the exit status (v, not QEMU's (v << 1) | 1)" {
	vm_hello "$TMP/g.elf" 21
	run "$ISOLA" vm run --kernel "$TMP/g.elf" --console none
	[ "$status" -eq 21 ]
	vm_hello "$TMP/g0.elf" 0
	run "$ISOLA" vm run --kernel "$TMP/g0.elf" --console none
	[ "$status" -eq 0 ]
}

@test "vm: serial output reaches stdout and --console FILE" {
	vm_hello "$TMP/g.elf"
	run "$ISOLA" vm run --kernel "$TMP/g.elf"
	[ "$status" -eq 21 ]
	[ "$output" = "Hi" ]
	run "$ISOLA" vm run --kernel "$TMP/g.elf" --console "$TMP/console.log"
	[ "$status" -eq 21 ]
	[ -z "$output" ]
	[ "$(cat "$TMP/console.log")" = "Hi" ]
}

@test "vm: serial input from stdin reaches the guest" {
	# poll LSR.DR, read RBR, send the byte to debug-exit
	vm_guest "$TMP/g.elf" '66bafd03eca80174fb66baf803ec66baf400ee'
	run bash -c "printf A | '$ISOLA' vm run --kernel '$TMP/g.elf'"
	[ "$status" -eq $((0x41)) ]
}

@test "vm: i8042 reset (0xfe to port 0x64) stops the VM with status 0" {
	vm_guest "$TMP/g.elf" "$VM_I8042_RESET$VM_HANG"
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf"
	[ "$status" -eq 0 ]
}

@test "vm: triple fault exits 1 with a register dump" {
	vm_guest "$TMP/g.elf" "$VM_TRIPLE_FAULT"
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf"
	[ "$status" -eq 1 ]
	[[ "$output" == *"triple fault"* ]]
	[[ "$output" == *"rip="* ]]
}

@test "vm: SIGTERM and SIGINT stop a spinning VM cleanly" {
	vm_guest "$TMP/g.elf" "$VM_HANG"
	for sig in TERM INT; do
		"$ISOLA" vm run --kernel "$TMP/g.elf" --cpus 2 &
		pid=$!
		sleep 0.3
		kill -0 "$pid"
		kill -"$sig" "$pid"
		st=0
		timeout 5 tail --pid="$pid" -f /dev/null || st=$?
		[ "$st" -eq 0 ]
		st=0
		wait "$pid" || st=$?
		[ "$st" -eq $((128 + $(kill -l "$sig"))) ]
	done
}

# tasks PID: how many threads the process runs (not KVM's own, e.g. kvm-nx-lpage-recovery).
tasks() { cat /proc/"$1"/task/*/comm | grep -vc '^kvm-'; }

@test "vm: one vCPU and nothing on stdin: vCPU 0 runs on the main thread; signals still stop it" {
	vm_guest "$TMP/g.elf" "$(vm_putc R)$VM_HANG"
	for sig in TERM INT; do
		"$ISOLA" vm run --kernel "$TMP/g.elf" --console "$TMP/c.$sig" </dev/null &
		pid=$!
		poll_until 20 grep -q R "$TMP/c.$sig"
		[ "$(tasks "$pid")" -eq 1 ]
		kill -"$sig" "$pid"
		wait_exit "$pid" 10
		[ "$EXIT" -eq $((128 + $(kill -l "$sig"))) ]
	done
	# Two vCPUs, or console input to forward: the main thread waits, every vCPU has a thread.
	"$ISOLA" vm run --kernel "$TMP/g.elf" --console "$TMP/c.smp" --cpus 2 </dev/null &
	pid=$!
	poll_until 20 grep -q R "$TMP/c.smp"
	[ "$(tasks "$pid")" -eq 3 ]
	kill -TERM "$pid"
	wait_exit "$pid" 10
	[ "$EXIT" -eq 143 ]
	mkfifo "$TMP/in"
	exec {keep}<>"$TMP/in"
	"$ISOLA" vm run --kernel "$TMP/g.elf" <"$TMP/in" >"$TMP/c.in" &
	pid=$!
	poll_until 20 grep -q R "$TMP/c.in"
	[ "$(tasks "$pid")" -eq 2 ]
	kill -TERM "$pid"
	wait_exit "$pid" 10
	exec {keep}>&-
	[ "$EXIT" -eq 143 ]
}

@test "vm: SMP guest with 4 vCPUs runs and exits (APs wait for SIPI)" {
	vm_hello "$TMP/g.elf"
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/g.elf" --cpus 4 --memory 128M
	[ "$status" -eq 21 ]
	[ "$output" = "Hi" ]
}

@test "vm: --config JSON gives the same fields" {
	vm_hello "$TMP/g.elf" 3
	cat >"$TMP/vm.json" <<-EOF
	{ "kernel": "$TMP/g.elf", "cpus": 2, "memory": "32M", "console": "$TMP/c.log" }
	EOF
	run "$ISOLA" vm run --config "$TMP/vm.json"
	[ "$status" -eq 3 ]
	[ "$(cat "$TMP/c.log")" = "Hi" ]
}

@test "vm: bad input fails with one clear line" {
	vm_hello "$TMP/g.elf"
	head -c 4096 /dev/urandom >"$TMP/junk"
	run "$ISOLA" vm run --kernel "$TMP/junk"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$TMP/junk"*"neither a PVH ELF nor a bzImage"* ]]

	run "$ISOLA" vm run --kernel "$TMP/nonexistent"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$TMP/nonexistent"*"No such file"* ]]

	run "$ISOLA" vm run --kernel "$TMP/g.elf" --memory 1M
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"--memory"* ]]

	run "$ISOLA" vm run --kernel "$TMP/g.elf" --cpus 100000
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"--cpus"* ]]

	run "$ISOLA" vm run
	[ "$status" -eq 1 ]
	[[ "$output" == *"no kernel"* ]]

	echo '{ "kernel": "x", ' >"$TMP/bad.json"
	run "$ISOLA" vm run --config "$TMP/bad.json"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"bad.json"*"line"* ]]

	echo '{ "kernel": "x", "cpu": 2 }' >"$TMP/unknown.json"
	run "$ISOLA" vm run --config "$TMP/unknown.json"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"unknown.json"*"cpu"*"unknown field"* ]]
}

@test "vm: a bad word is refused with one line naming the option (CLI) or the field (JSON)" {
	# The CLI and the JSON config share one word table and typed setter per setting
	# (the API's machine-config fields: vm-api.bats); nothing is left behind.
	for ov in "irqchip bogus" "virtio-transport usb" "on-reboot halt" "memory 12Q" "console ''"; do
		set -- $ov
		v=${2//\'/}
		run "$ISOLA" vm run --kernel "$TMP/none" "--$1" "$v"
		[ "$status" -eq 1 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--$1"* ]]
		printf '{"kernel": "x", "%s": "%s"}\n' "$1" "$v" >"$TMP/w.json"
		run "$ISOLA" vm run --config "$TMP/w.json"
		echo "$output"
		[ "$status" -eq 1 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"w.json"*"$1"* ]]
		[[ "$output" != *"--$1"* ]]
	done
	[ -z "$(ls -A "$TMP" | grep -v '^w.json$')" ]
}

@test "vm: a kernel that does not fit in memory is refused" {
	# A PT_LOAD segment at 1 MiB with 4 MiB of bss in a 2 MiB VM.
	vm_guest "$TMP/g.elf" "$(vm_exit 1)"
	python3 - "$TMP/g.elf" <<-'PY'
	import struct, sys
	b = bytearray(open(sys.argv[1], 'rb').read())
	struct.pack_into('<I', b, 52 + 20, 4 << 20)   # p_memsz of the first PT_LOAD
	open(sys.argv[1], 'wb').write(b)
	PY
	run "$ISOLA" vm run --kernel "$TMP/g.elf" --memory 2M
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"outside guest memory"* ]]
}

@test "vm: 200 VMs in a row all exit right and leave no process behind" {
	vm_hello "$TMP/g.elf" 5
	for i in $(seq 200); do
		st=0
		"$ISOLA" vm run --kernel "$TMP/g.elf" --console none || st=$?
		[ "$st" -eq 5 ] || { echo "run $i: status $st"; return 1; }
	done
	run pgrep -f "isola vm run --kernel $TMP/"
	[ "$status" -eq 1 ]
}

# No kvm-pit/PID kernel thread is left for any of the given VMM pids.
no_kvm_pit() {
	local p
	for p; do pgrep -x "kvm-pit/$p" >/dev/null && return 1; done
	return 0
}

@test "vm: vm run returns before the VM's kernel teardown, which still completes" {
	# The in-kernel irqchip's teardown (its PIT thread kvm-pit/PID) happens
	# after the exit status is reported; it must not leak.
	vm_hello "$TMP/g.elf" 5
	local pids=() i p st
	for i in $(seq 30); do
		st=0
		"$ISOLA" vm run --kernel "$TMP/g.elf" >"$TMP/out" &
		p=$!
		wait "$p" || st=$?
		[ "$st" -eq 5 ] || { echo "run $i: status $st"; return 1; }
		[ "$(cat "$TMP/out")" = "Hi" ] || { echo "run $i: output $(cat "$TMP/out")"; return 1; }
		pids+=("$p")
	done
	poll_until 30 no_kvm_pit "${pids[@]}"
}

@test "vm: a running VM maps no library it does not use (libcrypto, libseccomp, libcurl, libarchive)" {
	vm_guest "$TMP/spin.elf" "$(vm_putc H)$(vm_putc i)$(vm_putc $'\n')$VM_HANG"
	"$ISOLA" vm run --kernel "$TMP/spin.elf" >"$TMP/out" &
	local pid=$!
	poll_until 10 grep -q Hi "$TMP/out"
	cp "/proc/$pid/maps" "$TMP/maps"
	kill -TERM "$pid"
	wait "$pid" || true
	[ -s "$TMP/maps" ]
	# isola is static-pie where the build allows it: no shared object at all (libs.bats)
	run grep -E 'libcrypto|libseccomp|libcurl|libarchive|libssl' "$TMP/maps"
	[ "$status" -eq 1 ]
}

@test "vm: Linux boot protocol: 64-bit entry gets boot_params, initrd, cmdline, e820" {
	vm_bzimage "$TMP/bz"
	head -c 4096 /dev/zero >"$TMP/initrd"
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/bz" --initrd "$TMP/initrd" \
		--cmdline "isola test" --memory 32M
	[ "$status" -eq 33 ]
	# the same image without the initrd fails its own check
	run timeout 10 "$ISOLA" vm run --kernel "$TMP/bz" --cmdline "isola test" --memory 32M
	[ "$status" -eq 34 ]
}

@test "vm: serial interrupts through the IOAPIC, in-kernel and split irqchip" {
	require_cmd as
	echo "$VM_IRQ_GUEST_ASM" | vm_asm_guest "$TMP/irq.elf"
	for chip in kernel split; do
		run bash -c "printf AB | timeout 10 '$ISOLA' vm run --kernel '$TMP/irq.elf' --irqchip $chip"
		echo "$chip: $status $output"
		[ "$status" -eq $((0x42)) ]
	done
}

@test "vm: --irqchip split runs PVH guests and rejects bad values" {
	vm_hello "$TMP/g.elf" 4
	run "$ISOLA" vm run --kernel "$TMP/g.elf" --irqchip split
	[ "$status" -eq 4 ]
	[ "$output" = "Hi" ]
	run "$ISOLA" vm run --kernel "$TMP/g.elf" --irqchip pic
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"--irqchip"* ]]
}

@test "vm: no /dev/kvm is one clear error" {
	vm_hello "$TMP/g.elf"
	run unshare -m --propagation private sh -c \
		"mount -t tmpfs isola-it-nokvm /dev && exec '$ISOLA' vm run --kernel '$TMP/g.elf'"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"/dev/kvm"*"No such file"* ]]
}

@test "vm: --irqchip split runs the test guests' SMP, timer (LAPIC, IOAPIC, PIT) and virtio irqfd checks" {
	local g=${ISOLA_GUEST_DIR:-$(dirname "$ISOLA")/../../guest}
	for f in smp timer virtio-rng; do
		[ -f "$g/$f.elf" ] || ci_skip "guest/$f.elf not built"
	done
	run timeout 30 "$ISOLA" vm run --kernel "$g/smp.elf" --cpus 4 --irqchip split
	[ "$status" -eq 0 ]
	[[ "$output" == *"smp: 4 cpus"* ]]
	# LAPIC timer, serial IRQ via the userspace IOAPIC, and the userspace PIT
	run timeout 30 "$ISOLA" vm run --kernel "$g/timer.elf" --cmdline ticks=20 --irqchip split
	[ "$status" -eq 0 ]
	[[ "$output" =~ 2[0-9]\ lapic\ ticks ]]
	[[ "$output" == *"serial irq delivered"* ]]
	[[ "$output" == *"woke from hlt 3 times"* ]]
	[[ "$output" =~ 2[0-9]\ pit\ ticks ]]
	run timeout 30 "$ISOLA" vm run --kernel "$g/virtio-rng.elf" --rng --cmdline irq \
		--irqchip split
	[ "$status" -eq 0 ]
	[[ "$output" == *"virtio-rng: ok"* ]]
}

@test "vm: --hugepages uses the reserved pool or fails clearly" {
	vm_hello "$TMP/g.elf" 2
	run "$ISOLA" vm run --kernel "$TMP/g.elf" --hugepages --memory 3M
	[ "$status" -eq 1 ]
	[[ "$output" == *"multiple of 2 MiB"* ]]
	free=$(awk '/^HugePages_Free:/{print $2}' /proc/meminfo)
	run "$ISOLA" vm run --kernel "$TMP/g.elf" --hugepages --memory 4M
	if [ "${free:-0}" -ge 2 ]; then
		[ "$status" -eq 2 ]
		[ "$output" = "Hi" ]
	else
		# no pool on this host (we do not change vm.nr_hugepages here)
		[ "$status" -eq 1 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *"--hugepages: cannot reserve 4 MiB"* ]]
	fi
}

@test "vm: 64 vCPUs (the --cpus cap) all come up from the MP table" {
	local g=${ISOLA_GUEST_DIR:-$(dirname "$ISOLA")/../../guest}
	[ -f "$g/smp.elf" ] || ci_skip "guest/smp.elf not built"
	run timeout 60 "$ISOLA" vm run --kernel "$g/smp.elf" --cpus 64 --memory 256M
	[ "$status" -eq 0 ]
	[[ "$output" == *"smp: 64 cpus"* ]]
}

@test "vm: a console reader that goes away does not kill the VM (no SIGPIPE)" {
	require_cmd as
	vm_asm_guest "$TMP/chatty.elf" <<-'EOF'
	.code32
	.globl _start
	_start:
		mov $20000, %ecx
		mov $0x3f8, %dx
		mov $'x', %al
	1:	out %al, %dx
		dec %ecx
		jnz 1b
		mov $0xf4, %dx
		mov $3, %eax
		out %eax, %dx
	EOF
	run bash -c "'$ISOLA' vm run --kernel '$TMP/chatty.elf' | head -c 1 >/dev/null; exit \${PIPESTATUS[0]}"
	[ "$status" -eq 3 ]
}
