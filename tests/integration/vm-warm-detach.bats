#!/usr/bin/env bats
# Warm starts of `run --vm -d` and of the OCI mode (isola-vm create; docs/vm-containers.md
# "Warm starts"), what can be checked on this host without booting Linux (the boots are
# tests/l1 vmct-warm-detach, vmoci-warm): with a fake VMM ($ISOLA_VMM,
# vm-warm-fake-vmm.py) that records how it was called, the monitor builds a template
# once, restores it with the container's root disk remapped, and exits with the
# process's status; a build that fails boots cold after one note from run -d or create;
# a signal during the build is not a failure to fall back from; ISOLA_VM_COLD=1 tries
# no template; nothing is left.
load image-helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	vmct_setup
	vmct_fake_vmm vm-warm-fake-vmm.py
	require_cmd cpio
	unset ISOLA_VM_COLD ISOLA_NETWORK
	export FAKE_LOG=$TMP/log
	mkdir -p "$FAKE_LOG"
	N=vmwd-$$
	R=$TMP/root
	ID=vmwd-oci-$$
	B_VMCT=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	B_WARM=$(ls -d /tmp/isola-warm-* 2>/dev/null | wc -l)
}

teardown() {
	[ -n "${PID:-}" ] && kill -KILL "$PID" 2>/dev/null
	"$ISOLA" rm -f "$N" "$N-2" >/dev/null 2>&1 || true
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	"$ISOLA" --root "$R" delete --force "$ID-2" >/dev/null 2>&1 || true
	pkill -KILL -f "vm-warm-fake-vmm.py.*$TMP" 2>/dev/null || true
	pkill -KILL -f "$TMP/kernel" 2>/dev/null || true
	isola_cleanup_tmp
}

ps_field() { # NAME FIELD
	"$ISOLA" ps -a --format json | jq -r ".[] | select(.id == \"$1\") | .$2"
}

# No container, socket dir, template build dir or half-built template; no fake VMM.
nothing_left() { # CACHE (the templates' dir)
	[ -z "$(ls "$ISOLA_STORE/containers" 2>/dev/null)" ]
	[ ! -e "$R/$ID" ]
	[ ! -e "$R/$ID-2" ]
	refute grep " $TMP/" /proc/self/mountinfo
	[ "$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)" -le "$B_VMCT" ]
	[ "$(ls -d /tmp/isola-warm-* 2>/dev/null | wc -l)" -le "$B_WARM" ]
	[ -z "$(ls -A "$1" 2>/dev/null | grep '^\.warm')" ]
	refute pgrep -f "vm-warm-fake-vmm.py.*$TMP"
	refute pgrep -f "$TMP/kernel"
}

rund() { # NAME CMD...: run --vm -d of the image
	local n=$1
	shift
	run "$ISOLA" run --vm -d --network none --name "$n" localhost/wd-bb:1 "$@"
	echo "$output"
}

stopped() { # NAME
	wait_until 20 "[ \"\$(ps_field $1 status)\" = stopped ]"
}

# An OCI bundle for isola-vm in $B (the process: `exit 7`, which the fakes understand).
oci_bundle() {
	B=$TMP/b
	make_busybox_bundle "$B"
	bundle_jq "$B" '.process.args = ["exit", "7"]
		| .annotations["run.isola.vm.memory"] = "128M"
		| .annotations["run.isola.vm.cpus"] = "2"'
	ln -s "$ISOLA" "$TMP/isola-vm"
	VM=$TMP/isola-vm
}

@test "vm-warm-detach: run --vm -d restores run --vm's template with the image's disk remapped; logs, exit code, rm leaves nothing" {
	vmct_image wd-bb l:bin/exit:busybox
	rund "$N" echo hi
	[ "$status" = 0 ]
	[ "$output" = "$N" ]
	stopped "$N"
	[ "$(ps_field "$N" exitCode)" = 0 ]
	[ "$("$ISOLA" logs "$N")" = hi ]
	# Built once (no NIC: --network none), restored with the image's disk.
	[ -f "$FAKE_LOG/build.1" ]
	[ -f "$FAKE_LOG/restore.1" ]
	refute grep "^arg --net" "$FAKE_LOG/build.1"
	grep -qx "arg --disk-remap" "$FAKE_LOG/restore.1"
	grep -q "^arg /.*=$ISOLA_STORE/vm/rootfs-[0-9a-f]*\.ext4$" "$FAKE_LOG/restore.1"
	refute grep "^arg --net-remap" "$FAKE_LOG/restore.1"
	# A second -d and a foreground run of the same key restore the same template.
	rund "$N-2" exit 3
	[ "$status" = 0 ]
	stopped "$N-2"
	[ "$(ps_field "$N-2" exitCode)" = 3 ]
	run "$ISOLA" run --vm --rm --network none localhost/wd-bb:1 echo fg
	[ "$status" = 0 ]
	[ "$output" = fg ]
	[ ! -e "$FAKE_LOG/build.2" ]
	[ -f "$FAKE_LOG/restore.3" ]
	[ "$(ls -d "$ISOLA_STORE"/vm/warm-*/ | wc -l)" = 1 ]
	"$ISOLA" rm "$N" "$N-2" >/dev/null
	nothing_left "$ISOLA_STORE/vm"
}

@test "vm-warm-detach: run --vm -d whose template cannot be built boots cold after one note; ISOLA_VM_COLD=1 tries none" {
	vmct_image wd-bb l:bin/exit:busybox
	FAKE_VMM=nosnap rund "$N" echo hi
	[ "$status" = 0 ]
	[ "$(grep -c "no warm start" <<<"$output")" = 1 ]
	[[ "${lines[0]}" == *"run --vm -d: no warm start ("*"); booting the VM cold" ]]
	[ "${lines[1]}" = "$N" ]
	stopped "$N"
	[ "$("$ISOLA" logs "$N")" = hi ]
	[ ! -e "$FAKE_LOG/restore.1" ]
	[ -z "$(ls -A "$ISOLA_STORE/vm" | grep warm)" ]
	"$ISOLA" rm "$N" >/dev/null
	rm -f "$FAKE_LOG"/*
	ISOLA_VM_COLD=1 rund "$N" echo hi
	[ "$status" = 0 ]
	[ "$output" = "$N" ]
	stopped "$N"
	[ "$("$ISOLA" logs "$N")" = hi ]
	[ -z "$(ls "$FAKE_LOG")" ]
	"$ISOLA" rm "$N" >/dev/null
	nothing_left "$ISOLA_STORE/vm"
}

@test "vm-warm-detach: isola-vm create restores a template keyed by the annotations with the bundle's disk; state pid is the monitor; run exits 7" {
	oci_bundle
	# (Not `run`: the monitor keeps create's stdout, as runc's init does.)
	"$VM" --root "$R" create --bundle "$B" "$ID" >"$TMP/out" 2>&1
	cat "$TMP/out"
	[ ! -s "$TMP/out" ]
	# The template has the annotations' memory and vCPUs.
	grep -qx "arg 131072K" "$FAKE_LOG/build.1"
	grep -qx "arg 2" "$FAKE_LOG/build.1"
	ls "$R/.vm-cache"/warm-*/warm.info
	[ "$("$VM" --root "$R" state "$ID" | jq .pid)" = "$(jq .monitor "$R/$ID/vm.json")" ]
	"$VM" --root "$R" start "$ID"
	wait_until 20 "[ -e '$R/$ID/vm.exit' ]"
	# The restore got this container's own root disk (made from the bundle's
	# rootfs) over the placeholder.
	grep -q "^arg /.*=$(realpath "$R")/$ID/rootfs-ct.ext4$" "$FAKE_LOG/restore.1"
	[ "$(cat "$R/$ID/vm.exit")" = 7 ]
	"$VM" --root "$R" delete "$ID"
	# run = create + start + wait: the monitor's status is the process's; no new build.
	run "$VM" --root "$R" run --bundle "$B" "$ID-2"
	[ "$status" = 7 ]
	[ ! -e "$FAKE_LOG/build.2" ]
	[ -f "$FAKE_LOG/restore.2" ]
	# Another memory size is another template.
	bundle_jq "$B" '.annotations["run.isola.vm.memory"] = "96M"'
	run "$VM" --root "$R" run --bundle "$B" "$ID-2"
	[ "$status" = 7 ]
	grep -qx "arg 98304K" "$FAKE_LOG/build.2"
	[ "$(ls -d "$R"/.vm-cache/warm-*/ | wc -l)" = 2 ]
	nothing_left "$R/.vm-cache"
}

@test "vm-warm-detach: isola-vm create whose template cannot be built boots cold after one note; ISOLA_VM_COLD=1 tries none" {
	oci_bundle
	FAKE_VMM=nosnap run "$VM" --root "$R" run --bundle "$B" "$ID"
	echo "$output"
	[ "$status" = 7 ]
	[ "$(grep -c "no warm start" <<<"$output")" = 1 ]
	[[ "$output" == *"create: no warm start ("*"); booting the VM cold"* ]]
	[ ! -e "$FAKE_LOG/restore.1" ]
	[ -z "$(ls -A "$R/.vm-cache" | grep warm)" ]
	rm -f "$FAKE_LOG"/*
	ISOLA_VM_COLD=1 run "$VM" --root "$R" run --bundle "$B" "$ID"
	[ "$status" = 7 ]
	[ -z "$output" ]
	[ -z "$(ls "$FAKE_LOG")" ]
	nothing_left "$R/.vm-cache"
}

@test "vm-warm-detach: SIGTERM to the monitor while it builds the template fails create naming the signal, no cold boot, nothing left" {
	oci_bundle
	FAKE_VMM=silent "$VM" --root "$R" create --bundle "$B" "$ID" >"$TMP/out" 2>&1 &
	PID=$!
	wait_until 20 "[ -e '$FAKE_LOG/build.1' ]"
	local vmm mon st=0
	vmm=$(pgrep -f "vm-warm-fake-vmm.py.*--snapshot-state $(realpath "$R")/.vm-cache/")
	mon=$(ps -o ppid= -p "$vmm" | tr -d ' ')
	kill -TERM "$mon"
	wait "$PID" || st=$?
	PID=
	cat "$TMP/out"
	[ "$st" = 1 ]
	grep -q "signal 15 before the container started" "$TMP/out"
	refute grep "no warm start" "$TMP/out"
	[ ! -e "$FAKE_LOG/restore.1" ]
	[ -z "$(ls -A "$R/.vm-cache" | grep warm)" ]
	nothing_left "$R/.vm-cache"
}
