#!/usr/bin/env bats
# Stock Debian kernels in isola, with Linux's own virtio drivers against our
# devices (tests/l1/, docs/vmm.md "The L1 test bed").  This host's /dev/kvm
# (PVM) cannot run a Linux kernel, so tests/l1/run.sh boots an "L1" VM under
# QEMU TCG with an emulated SVM CPU, loads kvm-amd there and runs every test
# inside it in one boot; on a host with real VMX/SVM the same tests run on
# /dev/kvm directly.  Each @test checks its own TAP line.
# A test marked "TODO reason" in tests/l1/l1-tests.sh is expected to fail.

load helpers
load vm-helpers

setup_file() {
	export L1_OUT=$BATS_FILE_TMPDIR/l1
	mkdir -p "$L1_OUT"
	local mode=
	host_has_hw_virt && mode=--direct
	# L1_ONLY="NAME..." runs a subset (the others skip).  The whole bed gets 60 minutes
	# at most, retries of a wedged L1 included (run.sh's L1_STALL watchdog); vmoci-cycles
	# alone boots 20 VMs (about 20-60 s each under TCG).
	# A test's isola run gets 200 s (an L2 boot takes ~20 s on an idle core), so a
	# wedged L1 is found silent after 520 s.
	export L1_TIMEOUT=${L1_TIMEOUT:-3600} L1_TEST_TIMEOUT=${L1_TEST_TIMEOUT:-200}
	# shellcheck disable=SC2086
	ISOLA=$ISOLA nice "$ISOLA_TOP/tests/l1/run.sh" $mode ${L1_ONLY:-} >"$L1_OUT/run.out" 2>&1 || true
}

# l1_check NAME: pass when the bed reported "ok N - NAME"; print its log otherwise.
l1_check() {
	local out=$L1_OUT/run.out
	if grep -q '^1\.\.0 # SKIP' "$out"; then
		skip "SKIP: $(sed -n 's/^1\.\.0 # SKIP //p' "$out")"
	fi
	if [ -n "${L1_ONLY:-}" ] && [[ " $L1_ONLY " != *" $1 "* ]]; then
		skip "SKIP: not in L1_ONLY"
	fi
	if grep -Eq "^ok [0-9]+ - $1 # SKIP" "$out"; then
		skip "SKIP: $(grep -E "^ok [0-9]+ - $1 # SKIP" "$out" | sed 's/.*# SKIP //')"
	fi
	if grep -Eq "^ok [0-9]+ - $1( |$)" "$out"; then
		return 0
	fi
	if grep -Eq "^not ok [0-9]+ - $1 # TODO" "$out"; then
		skip "SKIP: TODO: $(grep -E "^not ok [0-9]+ - $1 # TODO" "$out" | sed 's/.*# TODO //') (expected to fail until it lands)"
	fi
	# The test's own log lines, or the end of the run (setup failure, timeout).
	if grep -Eq "^not ok [0-9]+ - $1( |$)" "$out"; then
		sed -n "/^not ok [0-9]* - $1\( \|$\)/,/^\(not \)\?ok /p" "$out"
	else
		echo "no TAP line for $1; end of the run:"
		tail -40 "$out"
		tail -20 "$L1_OUT/serial.log" 2>/dev/null || true
	fi
	return 1
}

@test "l1: a stock Debian kernel (bzImage) boots with an initramfs to userspace" {
	l1_check boot
}

@test "l1: guest reboot -f ends isola with status 0" {
	l1_check reboot
}

@test "l1: --on-reboot restart boots the guest again after its reboot" {
	l1_check restart
}

@test "l1: the same kernel as a PVH vmlinux (ELF) boots with initrd and cmdline" {
	l1_check pvh
}

@test "l1: the cloud kernel (no MP table parser) boots on the IOAPIC from the ACPI MADT" {
	l1_check cloud-boot
}

@test "l1: a guest panic (pvpanic-mmio) ends isola with status 120, saying so" {
	l1_check panic
}

@test "l1: console=ttyS0,115200n8 carries the kernel log" {
	l1_check console
}

@test "l1: isola unpacks the bzImage's kernel (xz) into its cache; the guest skips its decompressor" {
	l1_check unpack
}

@test "l1: quiet silences the kernel log, userspace still prints" {
	l1_check quiet
}

@test "l1: root=/dev/vda rw boots an ext4 root disk (mkfs.ext4 -d) over virtio-pci" {
	l1_check rootdisk
}

@test "l1: init= picks the init on the root disk" {
	l1_check init
}

@test "l1: virtio-blk: mkfs.ext4, write, sync, read back after exit; a ro disk refuses writes" {
	l1_check blk
}

@test "l1: PATCH /drives swaps a running disk's image: the guest sees the new size and data, writes land there" {
	l1_check blk-swap
}

@test "l1: virtio-net: TAP on a bridge, CSUM/TSO negotiated, ping and 1 MiB TCP both ways" {
	l1_check net
}

@test "l1: virtio-vsock: guest to host UDS and host CONNECT to a guest listener" {
	l1_check vsock
}

@test "l1: virtio-rng: /dev/hwrng is virtio_rng and reads random bytes" {
	l1_check rng
}

@test "l1: virtio-balloon: vm update inflates and the guest's MemTotal drops" {
	l1_check balloon
}

@test "l1: serial input: a typed command reaches the guest shell" {
	l1_check serial
}

@test "l1: snapshot and restore of a booted Linux guest: the counter goes on" {
	l1_check snapshot
}

@test "l1: live migration of a Linux guest with a virtio-pci disk and NIC: it counts, pings and writes on" {
	l1_check migrate
}

@test "l1: SMP: 2 vCPUs all online (ACPI MADT)" {
	l1_check smp2
}

@test "l1: SMP: 4 vCPUs all online (ACPI MADT)" {
	l1_check smp4
}

@test "l1: isola's own hello guest under L1's KVM prints its line and exits 0 (peak RSS logged)" {
	l1_check hello-rss
}

@test "l1: poweroff (ACPI S5) ends isola with status 0" {
	l1_check poweroff
}

@test "l1: SendCtrlAltDel reaches a Linux guest's init (SIGINT), then restarts it" {
	l1_check cad
}

@test "l1: SendCtrlAltDel with --irqchip split (IRQ 1 through the userspace IOAPIC)" {
	l1_check cad-split
}

@test "l1: a Linux guest ticks on the LAPIC's TSC-deadline timer and a timed sleep returns" {
	l1_check timer
}

@test "l1: the same with --irqchip split (no 8259: no PIT interrupt to fall back on)" {
	l1_check timer-split
}

@test "l1: run --vm --rm IMAGE echo hi prints hi (a container in a micro-VM)" {
	l1_check vmct-echo
}

@test "l1: run --vm passes the exit code through (sh -c 'exit 7' -> 7) and keeps stderr apart" {
	l1_check vmct-exit
}

@test "l1: run --vm: uname -r is the guest's kernel, not L1's" {
	l1_check vmct-kernel
}

@test "l1: run --vm: L1's processes and files are not visible in the VM" {
	l1_check vmct-isolation
}

@test "l1: run --vm -v: L1's directories are shared live with the guest (virtio-fs), :ro refuses writes" {
	l1_check vmct-volume
}

@test "l1: isola-vm: a directory bind of config.json is shared live (virtio-fs), ro enforced" {
	l1_check vmoci-volume
}

@test "l1: isola-vm: a tmpcopyup tmpfs holds what the image has there (the guest agent's copy)" {
	l1_check vmoci-tmpcopyup
}

@test "l1: run --vm -i: stdin reaches the process in the VM, then EOF" {
	l1_check vmct-stdin
}

@test "l1: run --vm: SIGTERM to isola reaches the process in the VM, status 143 comes back" {
	l1_check vmct-signal
}

@test "l1: run --vm: 5 runs leave no VMM, socket dir, bundle, mount or extra disk image" {
	l1_check vmct-clean
}

@test "l1: run --vm: the process has config.json's capabilities and no_new_privs (root cannot mount)" {
	l1_check vmct-priv
}

@test "l1: run --vm: the root is a mount namespace's /, not a chroot: root with CAP_SYS_CHROOT cannot walk out to the agent's initramfs" {
	l1_check vmct-escape
}

@test "l1: run --vm --init: PID 1 is the agent's init, the command PID 2; orphans reaped; 9 and 137 pass through; without --init PID 1 survives its own SIGKILL" {
	l1_check vmct-init
}

@test "l1: isola-vm: capabilities, additionalGids, noNewPrivileges, linux.seccomp, rlimits, umask, oomScoreAdj, ioPriority hold in the VM, for exec too" {
	l1_check vmoci-priv
}

@test "l1: run --vm -i: 4 MB of stdin wait while the process writes 2 MB first (no deadlock), then all of it is read" {
	l1_check vmct-stdin-flow
}

@test "l1: isola-vm create -> created (monitor pid, VMM its child) -> start -> output on create's fds -> stopped, exit kept -> delete leaves nothing" {
	l1_check vmoci-lifecycle
}

@test "l1: isola-vm kill TERM ends the sleeping process in the VM (143); delete cleans up" {
	l1_check vmoci-kill
}

@test "l1: plain isola runs a bundle annotated run.isola.vm=true in a VM (kernel, modules, memory, cpus from annotations; exit code through)" {
	l1_check vmoci-annotation
}

@test "l1: 20 isola-vm create/start/delete cycles leave no VMM, socket dir, state or disk image" {
	l1_check vmoci-cycles
}

@test "l1: podman --runtime isola-vm runs a container in a micro-VM" {
	l1_check vmoci-podman
}

@test "l1: containerd (ctr run --runc-binary isola-vm, runc v2 shim) runs a container in a micro-VM" {
	l1_check vmoci-containerd
}

@test "l1: isola-vm exec: output and status; --detach --pid-file monitor relays TERM; tmpfs, mqueue, cgroup2 made in the guest, /etc/hosts copied" {
	l1_check vmoci-exec
}

@test "l1: isola-vm pause/resume freeze the VM's cgroup (monitor + VMM), a memory limit sizes the guest, ps lists the VMM, delete removes the cgroup" {
	l1_check vmoci-pause
}

@test "l1: run --vm -it: a terminal in the VM (tty is a pty), sized as ours, resized with ours, ours restored" {
	l1_check vmct-tty
}

@test "l1: exec into a run --vm container: output, exit code, stdin, -t, -d, 127; nothing left" {
	l1_check vmct-exec
}

@test "l1: run --vm -d: logs, ps, exec, stop 143 and 137, rm leaves nothing" {
	l1_check vmct-detach
}

@test "l1: run --vm -d: logs -f to the end (exit code kept), --rm, rm -f of a running one" {
	l1_check vmct-detach-end
}

# virtio-net without offloads and free page reporting (tests/l1/l1-tests.sh).
@test "l1: virtio-net offload=off: no CSUM/TSO negotiated, ping and 1 MiB TCP both ways" {
	l1_check net-nooffload
}

@test "l1: virtio-balloon free page reporting: the guest frees 128 MiB, isola's RSS drops, no inflate" {
	l1_check balloon-report
}

@test "l1: the bed finished inside its time budget" {
	grep -q '^1\.\.0 # SKIP' "$L1_OUT/run.out" && skip "SKIP: $(sed -n 's/^1\.\.0 # SKIP //p' "$L1_OUT/run.out")"
	grep -q '^# L1-DONE' "$L1_OUT/run.out" || {
		tail -40 "$L1_OUT/run.out"
		return 1
	}
}

# The watchdog of run.sh, on a real L1: its vCPU is stopped through QEMU's
# monitor in the middle of a test (as a wedged L1 looks from the host), and the
# bed must kill it, save its registers and boot L1 again for that test.
@test "l1: a wedged L1 is killed, its registers saved, and booted again for the unfinished test" {
	grep -q '^1\.\.0 # SKIP' "$L1_OUT/run.out" && skip "SKIP: $(sed -n 's/^1\.\.0 # SKIP //p' "$L1_OUT/run.out")"
	host_has_hw_virt && skip "SKIP: no L1 on a host with hardware virtualisation (run.sh --direct)"
	local out=$BATS_TEST_TMPDIR/wedge
	mkdir -p "$out"
	(
		for _ in $(seq 1200); do
			if grep -q '^# running boot' "$out/serial.log" 2>/dev/null &&
				echo stop | socat - "UNIX-CONNECT:$out/monitor.sock" >/dev/null 2>&1; then
				exit 0
			fi
			sleep 0.5
		done
	) &
	local stopper=$!
	run env L1_OUT="$out" L1_STALL=30 L1_RETRIES=1 ISOLA="$ISOLA" "$ISOLA_TOP/tests/l1/run.sh" boot
	kill "$stopper" 2>/dev/null || true
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"# L1 wedged: QEMU used no CPU for 30s"* ]]
	[[ "$output" == *"# L1 boot for: boot"*"# L1 boot for: boot"* ]]
	grep -q '^RIP=' "$out/wedge-1.txt"
	[ "$(grep -c '^ok [0-9]* - boot' "$out/tap")" -eq 1 ]
	! pgrep -f "UNIX-CONNECT:$out/monitor.sock"
}

@test "l1: run --vm --network bridge: the guest has the CNI address, route, hostname and /etc files, reaches the bridge's host side; nothing left" {
	l1_check vmct-net
}

@test "l1: run --vm -p 8080:80: httpd in a VM container answers through portmap; a second VM container pings and fetches from it; nothing left" {
	l1_check vmct-net-port
}

@test "l1: run --vm warm start: the first run builds the template, the next restore it (echo hi, exit 7, stderr apart, isola.warm=1 in the guest)" {
	l1_check vmct-warm
}

@test "l1: run --vm warm start: two images from one template, each sees its own root disk (of another size)" {
	l1_check vmct-warm-images
}

@test "l1: run --vm warm start: two clones read different /proc/sys/kernel/random/uuid, /dev/urandom bytes and boot ids (the agent reseeds)" {
	l1_check vmct-warm-rng
}

@test "l1: run --vm warm start: another agent (initramfs key) builds a template of its own" {
	l1_check vmct-warm-rebuild
}

@test "l1: run --vm --network bridge warm start: restored onto the container's TAP with eth0's MAC, reaches the gateway, -p works, a second warm container pings it; nothing left" {
	l1_check vmct-warm-net
}

@test "l1: run --vm -d warm start: the monitor restores run --vm's template (isola.warm=1, no fallback note); exec, stop 143, rm leaves nothing" {
	l1_check vmct-warm-detach
}

@test "l1: system prune while a warm VM container runs keeps its disk, the initramfs and the real build's template; exec and the next warm run still work" {
	l1_check vmct-prune
}

@test "l1: run --vm warm start: no VMM, socket dir, template build dir, bundle, mount or memory-file copy left" {
	l1_check vmct-warm-clean
}

@test "l1: isola-vm create warm start: a template per annotations' memory, restored by the next create (isola.warm=1, no fallback note), status 4 through the monitor; delete leaves nothing" {
	l1_check vmoci-warm
}

# These ran in the bed without a @test of their own until 2026-12-04 (the
# check below now catches a test added to tests/l1/l1-tests.sh without one).
@test "l1: virtio-fs: two shares, the same bytes on both sides, L1's writes seen live; ro share, device node and setuid refused" {
	l1_check virtiofs
}

@test "l1: run --vm -d on a bridge network with -p: the page through the port, the CNI address in the guest; rm -f leaves nothing" {
	l1_check vmct-detach-net
}

@test "l1: run --vm -d warm start on a bridge network: restored onto the NIC template, the page through -p; rm -f leaves nothing" {
	l1_check vmct-warm-detach-net
}

@test "l1: isola-vm in an engine's netns: the guest has eth0's address and route, pings and fetches; the netns is as before after delete" {
	l1_check vmoci-net
}

@test "l1: podman --runtime isola-vm --network bridge: the guest has podman's address and fetches from the gateway; nothing left" {
	l1_check vmoci-podman-net
}

@test "l1: podman --runtime isola-vm: run -d -p serves the guest's page through portmap, exec, pause (no answer), unpause, stop, rm; nothing left" {
	l1_check vmoci-podman-ops
}

@test "l1: a share no driver took is snapshotted, and restored onto another directory (--fs-remap)" {
	l1_check fs-snapshot
}

@test "l1: run --vm with volumes starts warm (a template with shares, remapped onto them)" {
	l1_check vmct-warm-volume
}

@test "l1: the OCI mode's directory binds start warm too" {
	l1_check vmoci-warm-volume
}

# No L1 run needed: every test the bed runs has a @test above that checks its TAP line.
@test "l1: every test in tests/l1/l1-tests.sh's L1_TESTS is checked by a @test here" {
	local t missing=
	for t in $(sed -n '/^L1_TESTS="/,/"$/p' "$ISOLA_TOP/tests/l1/l1-tests.sh" |
		sed 's/^L1_TESTS="//; s/"$//'); do
		t=${t%%:*}
		grep -q "^	l1_check $t\$" "$BATS_TEST_FILENAME" || missing="$missing $t"
	done
	[ -z "$missing" ] || { echo "no @test for:$missing"; false; }
}
