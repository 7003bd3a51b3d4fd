#!/usr/bin/env bats
# cgroups of VM containers in the OCI mode (isola-vm; docs/vm-containers.md):
# linux.resources and cgroupsPath around the monitor and its VMM, the guest
# sized by the memory limit, pause/resume (the freezer), ps, update, and the
# cgroup removed by delete.  No guest boots here: the VMM is the fake of
# vm-fake-vmm.py ($ISOLA_VMM); the monitor, state and cgroups are isola's.
load helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle vmocicg
	require_cmd mkfs.ext4
	vmct_fake_vmm vm-fake-vmm.py
	# The cold path (the fake boots; warm starts: vm-warm-detach.bats).
	export ISOLA_VM_COLD=1
	ln -s "$ISOLA" "$TMP/isola-vm"
	VM=$TMP/isola-vm
	CG=/isola-it-vmocicg-$$
	bundle_jq "$B" ".process.args = [\"sh\", \"-c\", \"echo STARTED; sleep 1000\"]
		| .linux.cgroupsPath = \"$CG\" | .linux.resources.memory.limit = 536870912
		| .linux.resources.pids.limit = 100"
}

teardown() {
	"$ISOLA" --root "$R" resume "$ID" >/dev/null 2>&1 || true
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	pkill -KILL -f "$TMP/kernel" 2>/dev/null || true
	isola_cleanup_tmp
}

# The cgroup's memory limit file (v1 memory controller, else cgroup2).
mem_file() {
	if [ -d /sys/fs/cgroup/memory ]; then
		echo "/sys/fs/cgroup/memory$CG/memory.limit_in_bytes"
	else
		echo "/sys/fs/cgroup$CG/memory.max"
	fi
}

cg_gone() {
	local d
	for d in /sys/fs/cgroup/*"$CG" /sys/fs/cgroup/*/"${CG#/}" /sys/fs/cgroup"$CG"; do
		[ ! -d "$d" ] || { echo "cgroup left: $d" >&2; return 1; }
	done
}

@test "vm-oci-cgroup: the monitor and VMM in the container's cgroup, the guest sized by the limit; pause, resume, ps, update; delete removes it" {
	"$VM" --root "$R" create --bundle "$B" "$ID" </dev/null >"$TMP/out" 2>&1 3>&- ||
		{ cat "$TMP/out"; false; }
	local mon vmm
	mon=$("$ISOLA" --root "$R" state "$ID" | jq -r .pid)
	vmm=$(jq -r .vmm "$R/$ID/vm.json")
	[ -s "$R/$ID/cgroup.json" ]
	# ps: the monitor and its VMM are the container's host processes.
	run "$ISOLA" --root "$R" ps --format json "$ID"
	echo "$output"
	[ "$status" = 0 ]
	[[ "$output" == *"$mon"* ]]
	[[ "$output" == *"$vmm"* ]]
	# The limit bounds the VMM; the guest gets the limit less 64M.
	[ "$(cat "$(mem_file)")" = 536870912 ]
	tr '\0' ' ' <"/proc/$vmm/cmdline" | grep -q -- "--memory 458752K"
	"$ISOLA" --root "$R" start "$ID"
	wait_until 10 grep -q STARTED "$TMP/out"
	[ "$(ct_status "$R" "$ID")" = running ]
	"$ISOLA" --root "$R" pause "$ID"
	[ "$(ct_status "$R" "$ID")" = paused ]
	if [ -f "/sys/fs/cgroup/freezer$CG/freezer.state" ]; then
		[ "$(cat "/sys/fs/cgroup/freezer$CG/freezer.state")" = FROZEN ]
	fi
	"$ISOLA" --root "$R" resume "$ID"
	[ "$(ct_status "$R" "$ID")" = running ]
	"$ISOLA" --root "$R" update --memory 600m "$ID"
	[ "$(cat "$(mem_file)")" = $((600 << 20)) ]
	# Paused, then deleted: thawed, killed, the cgroup removed.
	"$ISOLA" --root "$R" pause "$ID"
	"$ISOLA" --root "$R" delete --force "$ID"
	[ ! -e "$R/$ID" ]
	wait_until 10 "! kill -0 $vmm 2>/dev/null"
	cg_gone
}

@test "vm-oci-cgroup: a memory limit the VM cannot fit in fails create naming it; no cgroup or state left" {
	bundle_jq "$B" '.linux.resources.memory.limit = 104857600'
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"config.json"*"linux.resources.memory.limit: 104857600 is below the 128M"* ]]
	bundle_jq "$B" '.linux.resources.memory.limit = 268435456
		| .annotations["run.isola.vm.memory"] = "256M"'
	run "$VM" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[[ "$output" == *"run.isola.vm.memory"*"do not fit in linux.resources.memory.limit"* ]]
	[ ! -e "$R/$ID" ]
	cg_gone
}

@test "vm-oci-cgroup: a create that fails after the cgroup was made removes it" {
	FAKE_VMM=noboot run "$VM" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[ ! -e "$R/$ID" ]
	cg_gone
}

@test "vm-oci-cgroup: without a cgroup file system (a bare L1) a VM without limits runs without a cgroup; limits are refused" {
	require_cmd unshare
	bundle_jq "$B" 'del(.linux.resources)'
	# Only this mount namespace loses /sys/fs/cgroup.
	# The monitor keeps create's stdio: a file, not bats' pipe.
	unshare -m --propagation private sh -c 'umount -R /sys/fs/cgroup || exit 99; exec "$@"' _ \
		"$VM" --root "$R" create --bundle "$B" "$ID" </dev/null >"$TMP/out" 2>&1 3>&- ||
		{ cat "$TMP/out"; false; }
	[ ! -e "$R/$ID/cgroup.json" ]
	run "$ISOLA" --root "$R" pause "$ID"
	[ "$status" != 0 ]
	[[ "$output" == *"no cgroup recorded"* ]]
	"$ISOLA" --root "$R" delete --force "$ID"
	[ ! -e "$R/$ID" ]
	bundle_jq "$B" '.linux.resources.memory.limit = 536870912'
	run unshare -m --propagation private sh -c 'umount -R /sys/fs/cgroup || exit 99; exec "$@"' _ \
		"$VM" --root "$R" create --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 1 ]
	[[ "$output" == *"the VM's cgroup"* ]]
	[ ! -e "$R/$ID" ]
}
