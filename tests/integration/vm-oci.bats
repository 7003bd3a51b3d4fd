#!/usr/bin/env bats
# The OCI runtime mode of VM containers (isola-vm, run.isola.vm=true;
# docs/vm-containers.md) on this host: which bundles run in a VM, bad
# annotations, and that a create that fails or is interrupted leaves nothing
# behind.  This host's /dev/kvm cannot boot Linux: the lifecycle with a real
# guest is tested in the L1 bed (tests/l1/l1-tests.sh vmoci-*, l1.bats).
load image-helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle vmoci
	[ -x /bin/busybox ] || ci_skip "busybox-static not installed"
	require_cmd mkfs.ext4
	require_cmd jq
	# isola-vm is the same binary under another name (meson installs the symlink).
	ln -s "$ISOLA" "$TMP/isola-vm"
	VM=$TMP/isola-vm
	# Plain containers must not need a kernel; VM ones find none unless told.
	export ISOLA_VM_KERNEL=$TMP/no-such-kernel
	export ISOLA_AGENT=$ISOLA_TOP/build/src/vmct/isola-agent
	# The cold path (warm starts of the OCI mode: vm-warm-detach.bats).
	export ISOLA_VM_COLD=1
	SOCKDIRS_BEFORE=$(echo /tmp/isola-vmct-*)
}

teardown() {
	[ -n "${PID:-}" ] && kill -KILL "$PID" 2>/dev/null
	[ -n "${VMM:-}" ] && kill -KILL "$VMM" 2>/dev/null
	# VMDIR is read from the VMM's command line: removed only if it has isola's shape.
	case "${VMDIR:-}" in
	/tmp/isola-vmct-?*) [[ "$VMDIR" != *..* ]] && rm -rf --one-file-system "$VMDIR" ;;
	esac
	"$ISOLA" --root "$R" delete --force "$ID" 2>/dev/null || true
	isola_cleanup_tmp
}

# Nothing of the container: no state dir, no process naming $TMP, no socket dir
# that setup did not see unless a live VMM uses it (other engineers' VMs come
# and go meanwhile: a count of /tmp/isola-vmct-* is not ours to assert).  $1
# (a count from before) is accepted and no longer needed.
nothing_left() {
	local d
	[ ! -e "$R/$ID" ]
	refute pgrep -f "$TMP/"
	for d in /tmp/isola-vmct-*; do
		[ -e "$d" ] || continue
		[[ " $SOCKDIRS_BEFORE " == *" $d "* ]] && continue
		pgrep -f "$d/" >/dev/null || { echo "left behind: $d" >&2; return 1; }
	done
}

annotate() { # KEY VALUE
	bundle_jq "$B" ".annotations[\"$1\"] = \"$2\""
}

@test "vm-oci: bad run.isola.vm annotations fail create in one line naming them, nothing left" {
	local before kv
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	cp "$B/config.json" "$TMP/config.orig"
	for kv in "run.isola.vm=yes" "run.isola.vm.cpus=0" "run.isola.vm.cpus=1x" \
		"run.isola.vm.memory=1M" "run.isola.vm.memory=lots" "run.isola.vm.kernel=vmlinuz" \
		"run.isola.vm.initrd=/x"; do
		cp "$TMP/config.orig" "$B/config.json"
		annotate "${kv%%=*}" "${kv#*=}"
		run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
		echo "$kv: $output"
		[ "$status" = 1 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"annotation \`${kv%%=*}\`"* ]]
		[[ "$output" == *"config.json"* ]]
		nothing_left "$before"
	done
}

@test "vm-oci: masked and read-only paths the agent cannot take fail create naming the entry, nothing left" {
	local before bad
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	cp "$B/config.json" "$TMP/config.orig"
	for bad in '.linux.maskedPaths = ["/proc/kcore", "proc/x"]|linux.maskedPaths[1]' \
		'.linux.readonlyPaths = ["/proc/../etc"]|linux.readonlyPaths[0]' \
		'.linux.readonlyPaths = ["/a b"]|linux.readonlyPaths[0]' \
		'.linux.maskedPaths = [1]|linux.maskedPaths[0]' \
		'.linux.maskedPaths = "/proc/kcore"|linux.maskedPaths: not an array' \
		'.linux.maskedPaths = [range(65) as $i | "/p\($i)"]|more than 64 paths'; do
		jq "${bad%|*}" "$TMP/config.orig" >"$B/config.json"
		run "$VM" --root "$R" create --bundle "$B" "$ID" </dev/null
		echo "$bad: $output"
		[ "$status" = 1 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"${bad##*|}"* ]]
		nothing_left "$before"
	done
}

@test "vm-oci: isola-vm refuses run.isola.vm=false (a bundle cannot drop the VM)" {
	annotate run.isola.vm false
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"run.isola.vm"*"always runs containers in VMs"* ]]
	[ ! -e "$R/$ID" ]
}

@test "vm-oci: plain isola without the annotation (or with run.isola.vm=false) runs no VM" {
	"$ISOLA" --root "$R" run --bundle "$B" "$ID" >"$TMP/out" 2>&1 || { cat "$TMP/out"; false; }
	annotate run.isola.vm false
	"$ISOLA" --root "$R" run --bundle "$B" "$ID" >"$TMP/out" 2>&1 || { cat "$TMP/out"; false; }
	[ ! -e "$R/$ID" ]
}

@test "vm-oci: isola-vm and run.isola.vm=true ask for a VM: the missing kernel is named, nothing left" {
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"guest kernel \`$TMP/no-such-kernel\`"* ]]
	nothing_left
	annotate run.isola.vm true
	annotate run.isola.vm.kernel "$TMP/other-kernel"
	run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"guest kernel \`$TMP/other-kernel\`"* ]]
	nothing_left
}

@test "vm-oci: a kernel or module dir named by an annotation must be one only root can change" {
	annotate run.isola.vm true
	mkdir -m 0755 "$TMP/k" "$TMP/open" "$TMP/mods"
	chmod 0777 "$TMP/open"
	echo kernel >"$TMP/open/vmlinuz"
	annotate run.isola.vm.kernel "$TMP/open/vmlinuz"
	run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"annotation \`run.isola.vm.kernel\`: \`$TMP/open/vmlinuz\`: \`$TMP/open\` is writable by others"* ]]
	nothing_left
	# A user's file, even in root's directory; and through a symlink.
	echo kernel >"$TMP/k/vmlinuz"
	chown 1000 "$TMP/k/vmlinuz"
	ln -s "$TMP/k/vmlinuz" "$TMP/link"
	annotate run.isola.vm.kernel "$TMP/link"
	run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[[ "$output" == *"\`$TMP/k/vmlinuz\` is owned by uid 1000"* ]]
	nothing_left
	# Root's kernel, a module dir a user can write to.
	chown 0 "$TMP/k/vmlinuz"
	chmod 0757 "$TMP/mods"
	annotate run.isola.vm.modules "$TMP/mods"
	run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[[ "$output" == *"annotation \`run.isola.vm.modules\`: \`$TMP/mods\`: \`$TMP/mods\` is writable by others"* ]]
	nothing_left
	# /tmp itself (sticky, so fine above a path) is anyone's as the module dir.
	annotate run.isola.vm.modules /tmp
	run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"\`/tmp\` is writable by others"* ]]
	nothing_left
	# What is below the module dir counts too: a user's file there.
	chmod 0755 "$TMP/mods"
	mkdir "$TMP/mods/kernel"
	echo ko >"$TMP/mods/kernel/crc32c_generic.ko"
	chown 1000 "$TMP/mods/kernel/crc32c_generic.ko"
	annotate run.isola.vm.modules "$TMP/mods"
	run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"\`$TMP/mods/kernel/crc32c_generic.ko\` is owned by uid 1000"* ]]
	nothing_left
	# The module dir found beside an annotation's kernel (KDIR/boot/vmlinuz-V ->
	# KDIR/lib/modules/V) is checked, from where the kernel really is: a symlink
	# in a user's directory does not lead it elsewhere.
	bundle_jq "$B" 'del(.annotations["run.isola.vm.modules"])'
	mkdir -p "$TMP/kd/boot" "$TMP/kd/lib/modules/9.9" "$TMP/user/boot" "$TMP/user/lib/modules/9.9"
	echo kernel >"$TMP/kd/boot/vmlinuz-9.9"
	cp "$TMP/mods/kernel/crc32c_generic.ko" "$TMP/kd/lib/modules/9.9/"
	chown 1000 "$TMP/kd/lib/modules/9.9/crc32c_generic.ko"
	annotate run.isola.vm.kernel "$TMP/kd/boot/vmlinuz-9.9"
	run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"annotation \`run.isola.vm.modules\`: \`$TMP/kd/lib/modules/9.9\`"*"owned by uid 1000"* ]]
	nothing_left
	chown 0 "$TMP/kd/lib/modules/9.9/crc32c_generic.ko"
	chown -R 1000 "$TMP/user"
	chmod 0777 "$TMP/user/lib/modules/9.9"
	ln -s "$TMP/kd/boot/vmlinuz-9.9" "$TMP/user/boot/vmlinuz-9.9"
	annotate run.isola.vm.kernel "$TMP/user/boot/vmlinuz-9.9"
	run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[[ "$output" != *"annotation \`run.isola.vm"* ]]
	[[ "$output" != *"$TMP/user/lib"* ]]
	"$ISOLA" --root "$R" delete --force "$ID" 2>/dev/null || true
	# Both root's, 0755: past the check (the kernel is no kernel: the VM fails later).
	annotate run.isola.vm.kernel "$TMP/k/vmlinuz"
	rm -rf "$TMP/mods/kernel"
	run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[[ "$output" != *"annotation \`run.isola.vm"* ]]
	"$ISOLA" --root "$R" delete --force "$ID" 2>/dev/null || true
}

@test "vm-oci: runc's terminal rules; hooks are refused for a VM container" {
	local before
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	cp "$B/config.json" "$TMP/config.orig"
	bundle_jq "$B" '.process.terminal = true'
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"cannot allocate tty if runc will detach without setting console socket"* ]]
	cp "$TMP/config.orig" "$B/config.json"
	bundle_jq "$B" '.hooks.prestart = [{"path": "/bin/true"}]'
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"hooks.prestart"* ]]
	cp "$TMP/config.orig" "$B/config.json"
	run "$VM" --root "$R" create --console-socket "$TMP/sock" --bundle "$B" "$ID"
	[ "$status" = 1 ]
	[[ "$output" == *"cannot use console socket if runc will not allocate tty"* ]]
	nothing_left "$before"
}

@test "vm-oci: process.terminal: the monitor sends a pty master to --console-socket; a VM that fails still leaves nothing" {
	local before
	require_cmd python3
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	bundle_jq "$B" '.process.terminal = true | .process.consoleSize = {"height": 30, "width": 90}'
	echo "not a kernel" >"$TMP/bad-kernel"
	ISOLA_VM_KERNEL=$TMP/bad-kernel run python3 "$BATS_TEST_DIRNAME/vm-oci-exec-fake.py" \
		engine --console "$TMP/console.sock" -- \
		"$VM" --root "$R" create --console-socket "$TMP/console.sock" --bundle "$B" "$ID"
	echo "$output"
	[[ "$output" == *"console=/dev/ptmx"* ]]
	[[ "$output" == *"exec=1"* ]]
	nothing_left "$before"
}

@test "vm-oci: a file that is no kernel: create fails with the VM's reason; no state, VMM or socket dir left" {
	local before
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	echo "not a kernel" >"$TMP/bad-kernel"
	ISOLA_VM_KERNEL=$TMP/bad-kernel run "$VM" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[[ "$output" == *"before its agent connected"* ]]
	nothing_left "$before"
	# Chosen by the annotation, the static isola hands the VM path to isola-dl
	# (it hashes the agent and the disk with libcrypto), as isola-vm does.
	annotate run.isola.vm true
	ISOLA_VM_KERNEL=$TMP/bad-kernel run "$ISOLA" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[[ "$output" == *"before its agent connected"* ]]
	nothing_left "$before"
}

# A guest that never starts the agent (the counter test guest runs forever).
start_stuck_create() {
	[ -c /dev/kvm ] || skip "SKIP: no /dev/kvm"
	[ -f "$ISOLA_TOP/build/guest/counter.elf" ] || ci_skip "test guests not built"
	ISOLA_VM_KERNEL=$ISOLA_TOP/build/guest/counter.elf \
		"$VM" --root "$R" create --bundle "$B" "$ID" >"$TMP/out" 2>&1 3>&- &
	PID=$!
	wait_until 100 "pgrep -f 'counter.elf.*$TMP/root/$ID' >/dev/null"
	VMM=$(pgrep -f "counter.elf.*$TMP/root/$ID")
	VMDIR=$(tr '\0' '\n' </proc/"$VMM"/cmdline | sed -n 's/^cid=3,uds=\(.*\)\/v.sock$/\1/p')
	wait_until 100 grep -q "counter: 1" "$VMDIR/console.log"
	# The per-container root disk is in the state dir while the VM boots.
	[ -f "$R/$ID/rootfs-ct.ext4" ]
}

@test "vm-oci: SIGTERM to create while the VM boots stops the VM and removes everything" {
	start_stuck_create
	kill -TERM "$PID"
	local st=0
	wait "$PID" || st=$?
	cat "$TMP/out"
	[ "$st" = 1 ]
	grep -q "signal 15 while the VM booted" "$TMP/out"
	wait_until 10 "! kill -0 $VMM 2>/dev/null"
	[ ! -e "$VMDIR" ]
	nothing_left
}

@test "vm-oci: a SIGKILLed create takes its monitor and VMM with it" {
	start_stuck_create
	kill -KILL "$PID"
	wait "$PID" || true
	wait_until 10 "! kill -0 $VMM 2>/dev/null"
	# What a SIGKILL cannot clean, delete --force does.
	"$ISOLA" --root "$R" delete --force "$ID"
	[ ! -e "$R/$ID" ]
}

@test "vm-oci: isola-vm run IMAGE is run --vm IMAGE (the kernel it looks for is named)" {
	export ISOLA_STORE=$TMP/store
	img_tar "$TMP/l.tar" d:bin F:bin/busybox:/bin/busybox l:bin/sh:busybox l:bin/echo:busybox \
		d:etc d:tmp
	img_layout "$TMP/layout" latest amd64 "$TMP/l.tar" >/dev/null
	"$ISOLA" image import "$TMP/layout" localhost/vmoci-bb:1 >/dev/null
	run "$VM" run --rm vmoci-bb:1 echo hi
	[ "$status" = 125 ]
	[[ "$output" == *"guest kernel \`$TMP/no-such-kernel\`"* ]]
	# --network host is what run --vm refuses: proof that --vm is on.
	run "$VM" run --network host vmoci-bb:1 echo hi
	[ "$status" = 125 ]
	[[ "$output" == *"--network host with --vm"* ]]
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
}

@test "vm-oci: mounts it cannot carry fail create in one line naming the mount; nothing left" {
	local before m
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	mkdir "$TMP/a,b"
	cp "$B/config.json" "$TMP/config.orig"
	for m in \
		"{\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"$TMP/a,b\", \"options\": [\"rbind\"]}|a comma cannot be shared" \
		"{\"destination\": \"/dev/null2\", \"type\": \"bind\", \"source\": \"/dev/null\"}|only a regular file" \
		"{\"destination\": \"/x\", \"type\": \"bind\", \"source\": \"$TMP/none\"}|source" \
		"{\"destination\": \"/mnt\", \"type\": \"ext4\", \"source\": \"/dev/sda\"}|type \`ext4\`" \
		"{\"destination\": \"/proc/x\", \"type\": \"proc\", \"source\": \"proc\"}|type \`proc\`" \
		"{\"destination\": \"/run\", \"type\": \"tmpfs\", \"options\": [\"idmap\"]}|option \`idmap\`" \
		"{\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"options\": [\"size=1m\"]}|option \`size=1m\`" \
		"{\"destination\": \"run\", \"type\": \"tmpfs\"}|must be absolute" \
		"{\"destination\": \"/a/../etc\", \"type\": \"tmpfs\"}|must be absolute" \
		"{\"destination\": \"/a b\", \"type\": \"tmpfs\"}|must be absolute" \
		"{\"destination\": \"/sys/fs/cgroup/x\", \"type\": \"cgroup\"}|type \`cgroup\`"; do
		cp "$TMP/config.orig" "$B/config.json"
		bundle_jq "$B" ".mounts += [${m%%|*}]"
		run "$VM" --root "$R" create --bundle "$B" "$ID"
		echo "$m: $output"
		[ "$status" = 1 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"config.json"*"mounts["*"${m#*|}"* ]]
		nothing_left "$before"
	done
}

@test "vm-oci: what engines add (file binds, a /dev/shm directory, /run tmpfs, mqueue, cgroup) passes; bound files are copied into the root disk" {
	[ -c /dev/kvm ] || skip "SKIP: no /dev/kvm"
	[ -f "$ISOLA_TOP/build/guest/counter.elf" ] || ci_skip "test guests not built"
	require_cmd debugfs
	local before
	before=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	mkdir "$TMP/shm"
	echo "10.0.0.1 vmoci-$$" >"$TMP/hosts"
	echo "nameserver 10.0.0.53" >"$TMP/resolv.conf"
	: >"$TMP/containerenv"
	bundle_jq "$B" ".mounts += [
		{\"destination\": \"/etc/hosts\", \"type\": \"bind\", \"source\": \"$TMP/hosts\", \"options\": [\"rbind\", \"rprivate\"]},
		{\"destination\": \"/etc/resolv.conf\", \"type\": \"bind\", \"source\": \"$TMP/resolv.conf\", \"options\": [\"bind\", \"ro\"]},
		{\"destination\": \"/run/.containerenv\", \"type\": \"bind\", \"source\": \"$TMP/containerenv\", \"options\": [\"bind\"]},
		{\"destination\": \"/run\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]}]
		| .mounts |= map(if .destination == \"/dev/shm\" then {destination: \"/dev/shm\", type: \"bind\", source: \"$TMP/shm\", options: [\"bind\", \"nosuid\", \"noexec\", \"nodev\"]} else . end)"
	start_stuck_create
	# The snapshot of each bound file is in the root disk before the guest runs.
	[ "$(debugfs -R "cat /etc/hosts" "$R/$ID/rootfs-ct.ext4" 2>/dev/null)" = "10.0.0.1 vmoci-$$" ]
	[ "$(debugfs -R "cat /etc/resolv.conf" "$R/$ID/rootfs-ct.ext4" 2>/dev/null)" = "nameserver 10.0.0.53" ]
	debugfs -R "stat /run/.containerenv" "$R/$ID/rootfs-ct.ext4" 2>/dev/null | grep -q "Type: regular"
	kill -TERM "$PID"
	wait "$PID" || true
	wait_until 10 "! kill -0 $VMM 2>/dev/null"
	nothing_left "$before"
}
