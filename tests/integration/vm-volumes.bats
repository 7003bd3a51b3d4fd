#!/usr/bin/env bats
# Volumes of VM containers (docs/vm-containers.md "Volumes"), what can be checked
# on this host without booting Linux (the guest's side is tests/l1 vmct-volume):
# with a fake VMM and agent ($ISOLA_VMM, vm-fake-vmm.py, through
# vm-warm-fake-vmm.py which logs template builds and restores) that prints its
# --fs arguments and the CONFIG's mount entries: run --vm -v DIR:DST[:ro] and a
# named volume give the VMM a virtio-fs share and the agent a virtiofs mount of
# its tag (booted cold, ISOLA_VM_COLD=1, the fake agent prints them); a warm
# start restores a template with as many shares, remapped onto the volumes; -d
# does the same through the monitor; a file, a ninth volume or a comma in the
# path are refused in one line, nothing left.
# The OCI mode's directory binds are in vm-oci.bats.
load image-helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	vmct_setup
	vmct_fake_vmm vm-warm-fake-vmm.py
	export FAKE_LOG=$TMP/log
	mkdir -p "$FAKE_LOG" "$TMP/share"
	unset ISOLA_VM_COLD
	export ISOLA_NETWORK=none
	vmct_image vvol-bb l:bin/sleep:busybox
	N=vvol-$$
	B_VMCT=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
}

teardown() {
	"$ISOLA" rm -f "$N" >/dev/null 2>&1 || true
	pkill -KILL -f "$TMP/kernel" 2>/dev/null || true
	isola_cleanup_tmp
}

nothing_left() {
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	[ ! -e "$ISOLA_STORE/run/$N" ]
	[ "$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)" -le "$B_VMCT" ]
	! pgrep -f "$TMP/kernel" >/dev/null
}

@test "vm-volumes: -v DIR:DST and DIR:DST:ro are virtio-fs shares the agent mounts (a cold boot)" {
	mkdir "$TMP/ro"
	ISOLA_VM_COLD=1 run "$ISOLA" run --vm --rm -v "$TMP/share:/data" -v "$TMP/ro:/srv/conf:ro" \
		vvol-bb:1 sh -c 'fsargs; mounts'
	echo "$output"
	[ "$status" = 0 ]
	[ "${lines[0]}" = "tag=isola-fs0,path=$TMP/share" ]
	[ "${lines[1]}" = "tag=isola-fs1,path=$TMP/ro,ro" ]
	# MS_RDONLY is 1: the guest mounts the read-only share read-only too.
	grep -qx "virtiofs 0 /data isola-fs0" <<<"$output"
	grep -qx "virtiofs 1 /srv/conf isola-fs1" <<<"$output"
	[ -z "$(ls "$FAKE_LOG")" ]
	nothing_left
}

# args FILE: the VMM's arguments a fake logged, one per line.
args() { sed -n 's/^arg //p' "$1"; }

@test "vm-volumes: a warm start restores a template with as many shares, each remapped onto its volume" {
	mkdir "$TMP/ro"
	run "$ISOLA" run --vm --rm -v "$TMP/share:/data" -v "$TMP/ro:/srv/conf:ro" vvol-bb:1 echo hi
	echo "$output"
	[ "$status" = 0 ]
	[ "$output" = hi ]
	cat "$FAKE_LOG/build.1" "$FAKE_LOG/restore.1"
	# The template: two shares of one empty read-only placeholder.
	[ "$(args "$FAKE_LOG/build.1" | grep -c -- '^--fs$')" = 2 ]
	args "$FAKE_LOG/build.1" | grep -qx 'tag=isola-fs0,path=.*/share,ro'
	args "$FAKE_LOG/build.1" | grep -qx 'tag=isola-fs1,path=.*/share,ro'
	# The restore: each share onto its volume, the mode always said.
	args "$FAKE_LOG/restore.1" | grep -qx "isola-fs0=$TMP/share,rw"
	args "$FAKE_LOG/restore.1" | grep -qx "isola-fs1=$TMP/ro,ro"
	grep -qx "config mount=virtiofs 0 /data isola-fs0" "$FAKE_LOG/restore.1"
	grep -qx "config mount=virtiofs 1 /srv/conf isola-fs1" "$FAKE_LOG/restore.1"
	nothing_left
	# One volume: a template of its own; two again: the first one's, no build.
	run "$ISOLA" run --vm --rm -v "$TMP/ro:/srv" vvol-bb:1 echo one
	[ "$status" = 0 ]
	[ "$output" = one ]
	[ "$(args "$FAKE_LOG/build.2" | grep -c -- '^--fs$')" = 1 ]
	args "$FAKE_LOG/restore.2" | grep -qx "isola-fs0=$TMP/ro,rw"
	run "$ISOLA" run --vm --rm -v "$TMP/ro:/a" -v "$TMP/share:/b" vvol-bb:1 echo two
	[ "$status" = 0 ]
	[ "$output" = two ]
	[ ! -e "$FAKE_LOG/build.3" ]
	args "$FAKE_LOG/restore.3" | grep -qx "isola-fs0=$TMP/ro,rw"
	args "$FAKE_LOG/restore.3" | grep -qx "isola-fs1=$TMP/share,rw"
	# Without -v: a template without shares.
	run "$ISOLA" run --vm --rm vvol-bb:1 echo hi
	[ "$status" = 0 ]
	[ -f "$FAKE_LOG/build.3" ]
	[ -f "$FAKE_LOG/restore.4" ]
	if args "$FAKE_LOG/build.3" | grep -q -- '^--fs$'; then
		echo "the template without -v was built with a share (--fs)" >&2
		return 1
	fi
	if args "$FAKE_LOG/restore.4" | grep -q -- '--fs-remap'; then
		echo "the restore without -v remapped a share (--fs-remap)" >&2
		return 1
	fi
	[ "$(ls "$ISOLA_STORE/vm" | grep -c '^warm-')" = 3 ]
	nothing_left
}

@test "vm-volumes: a named volume is shared from the store" {
	ISOLA_VM_COLD=1 run "$ISOLA" run --vm --rm -v "vvol-$$:/var/lib/data" vvol-bb:1 sh -c fsargs
	echo "$output"
	[ "$status" = 0 ]
	[ "$output" = "tag=isola-fs0,path=$(realpath "$ISOLA_STORE")/volumes/vvol-$$/_data" ]
	[ -d "$ISOLA_STORE/volumes/vvol-$$/_data" ]
	nothing_left
}

@test "vm-volumes: run --vm -d shares through the monitor, cold and warm" {
	ISOLA_VM_COLD=1 run "$ISOLA" run --vm -d --name "$N" -v "$TMP/share:/data:ro" vvol-bb:1 \
		sh -c 'fsargs; mounts; sleep 1000'
	echo "$output"
	[ "$status" = 0 ]
	wait_until 10 "$ISOLA logs $N | grep -q virtiofs"
	run "$ISOLA" logs "$N"
	echo "$output"
	grep -qx "tag=isola-fs0,path=$TMP/share,ro" <<<"$output"
	grep -qx "virtiofs 1 /data isola-fs0" <<<"$output"
	[ -z "$(ls "$FAKE_LOG")" ]
	"$ISOLA" rm -f "$N"
	nothing_left
	run "$ISOLA" run --vm -d --name "$N" -v "$TMP/share:/data:ro" vvol-bb:1 echo hi
	echo "$output"
	[ "$status" = 0 ]
	wait_until 10 "[ -f $FAKE_LOG/restore.1 ]"
	args "$FAKE_LOG/restore.1" | grep -qx "isola-fs0=$TMP/share,ro"
	grep -qx "config mount=virtiofs 1 /data isola-fs0" "$FAKE_LOG/restore.1"
	"$ISOLA" rm -f "$N"
	nothing_left
}

@test "vm-volumes: a file, a ninth volume, a comma in the path: one line, exit 125, nothing left" {
	local v=() i
	echo x >"$TMP/file"
	mkdir "$TMP/a,b"
	for i in 0 1 2 3 4 5 6 7 8; do
		mkdir "$TMP/d$i"
		v+=(-v "$TMP/d$i:/d$i")
	done
	run "$ISOLA" run --vm --rm -v "$TMP/file:/etc/app.conf" vvol-bb:1 echo hi
	echo "$output"
	[ "$status" = 125 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"-v \`$TMP/file:/etc/app.conf\`: with --vm only a directory"* ]]
	run "$ISOLA" run --vm --rm "${v[@]}" vvol-bb:1 echo hi
	echo "$output"
	[ "$status" = 125 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"-v \`$TMP/d8:/d8\`: at most 8 volumes with --vm"* ]]
	for d in "" -d; do
		# shellcheck disable=SC2086
		run "$ISOLA" run --vm --rm $d --name "$N" -v "$TMP/a,b:/x" vvol-bb:1 echo hi
		echo "$output"
		[ "$status" = 125 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"mounts["*"\`/x\`: source \`$TMP/a,b\`: a comma cannot be shared"* ]]
		nothing_left
	done
	[ -z "$(ls "$FAKE_LOG")" ]
}

@test "vm-volumes: --tmpfs asks the agent for tmpcopyup as plain run does; notmpcopyup does not" {
	ISOLA_VM_COLD=1 run "$ISOLA" run --vm --rm --tmpfs /etc --tmpfs /scr:size=1m,notmpcopyup \
		vvol-bb:1 sh -c mounts
	echo "$output"
	[ "$status" = 0 ]
	# podman's rw,noexec,nosuid,nodev: MS_NOSUID | MS_NODEV | MS_NOEXEC
	grep -qx "tmpfs 14 /etc - copyup" <<<"$output"
	grep -qx "tmpfs 14 /scr size=1m" <<<"$output"
	nothing_left
}
