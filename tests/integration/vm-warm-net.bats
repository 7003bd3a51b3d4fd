#!/usr/bin/env bats
# Warm starts with a NIC (docs/vm-containers.md "Warm starts with a NIC"), what can be
# checked on this host without booting Linux (the boots are tests/l1 vmct-warm-net):
# with a fake VMM ($ISOLA_VMM, vm-warm-fake-vmm.py) that records its arguments, its
# network namespace and the CONFIG: run --vm on a bridge network builds a template
# with a NIC on a placeholder TAP in a namespace of its own, restores it with
# --net-remap onto the container's TAP in the container's netns and sends eth0's MAC;
# --network none has a template without a NIC; a broken template is rebuilt, a failed
# build falls back to a cold boot in one line; nothing is left.
load image-helpers
load net-helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	vmct_setup
	require_cmd cpio
	net_requires
	export ISOLA_VMM=$ISOLA_TOP/tests/integration/vm-warm-fake-vmm.py
	export FAKE_LOG=$TMP/log
	mkdir -p "$FAKE_LOG"
	unset ISOLA_VM_COLD ISOLA_NETWORK
	NET=w$$
	BR=isl-$NET
	SUBNET=$(net_free_subnet) || skip "SKIP: no free 10.213.x.0/24"
	"$ISOLA" network create "$NET" --subnet "$SUBNET" >/dev/null
	vmct_image wnet-bb
	echo "a kernel the fake VMM never reads" >"$TMP/vmlinuz"
	B_VMCT=$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)
	B_WARM=$(ls -d /tmp/isola-warm-* 2>/dev/null | wc -l)
}

teardown() {
	net_teardown
}

vmrun() { # ARGS...: run --vm --rm IMAGE echo hi on our network, with the fake VMM
	run "$ISOLA" run --vm --rm --vm-kernel "$TMP/vmlinuz" "$@" localhost/wnet-bb:1 echo hi
	echo "$output"
}

field() { # FILE KEY: the value of "KEY VALUE" lines
	sed -n "s/^$2 //p" "$1"
}

nothing_left() {
	refute_leaks
	[ -z "$(ls "$ISOLA_STORE/containers")" ]
	[ "$(ls -d /tmp/isola-vmct-* 2>/dev/null | wc -l)" -le "$B_VMCT" ]
	[ "$(ls -d /tmp/isola-warm-* 2>/dev/null | wc -l)" -le "$B_WARM" ]
	[ -z "$(ls -A "$ISOLA_STORE/vm" | grep '^\.warm')" ]
	refute pgrep -f "vm-warm-fake-vmm.py.*$TMP"
}

@test "vm-warm-net: a bridge network restores a template with a NIC onto the container's TAP in its netns, with eth0's MAC in CONFIG" {
	vmrun --network "$NET"
	[ "$status" = 0 ]
	[ "$output" = hi ]
	# The template: built with a NIC on the placeholder TAP, in a namespace of its own.
	[ -f "$FAKE_LOG/build.1" ]
	[ ! -e "$FAKE_LOG/build.2" ]
	grep -qx "arg tap=warm0,mac=02:00:00:00:00:01" "$FAKE_LOG/build.1"
	grep -qx "arg --net" "$FAKE_LOG/build.1"
	[ "$(field "$FAKE_LOG/build.1" netns)" != "$(stat -L -c %i /proc/self/ns/net)" ]
	[ "$(field "$FAKE_LOG/build.1" eth0)" = none ]
	grep -q "^net=warm0$" "$ISOLA_STORE"/vm/warm-*/warm.info
	# The restore: the placeholder remapped onto tap0, which exists where it runs
	# (the container's netns, with CNI's eth0), and CONFIG has that eth0's MAC.
	local r=$FAKE_LOG/restore.1 mac
	grep -qx "arg --net-remap" "$r"
	grep -qx "arg warm0=tap0" "$r"
	grep -qx "tap tap0 yes" "$r"
	[ "$(field "$r" netns)" != "$(stat -L -c %i /proc/self/ns/net)" ]
	[ "$(field "$r" netns)" != "$(field "$FAKE_LOG/build.1" netns)" ]
	mac=$(field "$r" eth0)
	[[ "$mac" =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]]
	grep -qx "config net_mac=$mac" "$r"
	grep -q "^config net_addr=${SUBNET%.0/24}\." "$r"
	# The second run restores the same template.
	vmrun --network "$NET"
	[ "$status" = 0 ]
	[ "$output" = hi ]
	[ ! -e "$FAKE_LOG/build.2" ]
	grep -qx "arg warm0=tap0" "$FAKE_LOG/restore.2"
	nothing_left
}

@test "vm-warm-net: run --vm -d on a bridge network restores the same NIC template onto its tap0; its end leaves the network" {
	vmrun --network "$NET"
	[ "$status" = 0 ]
	local n=wd$$
	run "$ISOLA" run --vm -d --name "$n" --vm-kernel "$TMP/vmlinuz" --network "$NET" \
		localhost/wnet-bb:1 echo hi
	echo "$output"
	[ "$status" = 0 ]
	[ "$output" = "$n" ]
	wait_until 100 "[ ! -e '$ISOLA_STORE/net/state/$n.json' ]"
	[ ! -e "$FAKE_LOG/build.2" ]
	grep -qx "arg warm0=tap0" "$FAKE_LOG/restore.2"
	grep -q "^config net_addr=${SUBNET%.0/24}\." "$FAKE_LOG/restore.2"
	[ "$("$ISOLA" logs "$n")" = hi ]
	"$ISOLA" rm "$n" >/dev/null
	nothing_left
}

@test "vm-warm-net: --network none has a template without a NIC (another key), restored with no --net-remap nor net_ keys" {
	vmrun --network "$NET"
	[ "$status" = 0 ]
	vmrun --network none
	[ "$status" = 0 ]
	[ "$output" = hi ]
	[ -f "$FAKE_LOG/build.2" ]
	refute grep "^arg --net" "$FAKE_LOG/build.2"
	[ "$(field "$FAKE_LOG/build.2" netns)" = "$(stat -L -c %i /proc/self/ns/net)" ]
	[ -f "$FAKE_LOG/restore.2" ]
	refute grep "^arg --net-remap" "$FAKE_LOG/restore.2"
	refute grep "^config net_" "$FAKE_LOG/restore.2"
	[ "$(ls -d "$ISOLA_STORE"/vm/warm-*/ | wc -l)" = 2 ]
	[ "$(grep -l '^net=' "$ISOLA_STORE"/vm/warm-*/warm.info | wc -l)" = 1 ]
	nothing_left
}

@test "vm-warm-net: a template whose warm.info names a bad TAP is rebuilt; a build that fails boots cold after one note; ISOLA_VM_COLD=1 tries none" {
	vmrun --network "$NET"
	[ "$status" = 0 ]
	local info
	info=$(ls "$ISOLA_STORE"/vm/warm-*/warm.info)
	sed -i 's/^net=.*/net=..\/eth0/' "$info"
	vmrun --network "$NET"
	[ "$status" = 0 ]
	[ "$output" = hi ]
	[ -f "$FAKE_LOG/build.2" ]
	grep -q "^net=warm0$" "$info"
	rm -rf --one-file-system "$ISOLA_STORE"/vm/warm-*
	FAKE_VMM=nosnap vmrun --network "$NET"
	[ "$status" = 0 ]
	[ "$(grep -c "no warm start" <<<"$output")" = 1 ]
	[[ "$output" == *"no warm start"*"booting the VM cold"* ]]
	[[ "$output" == *hi ]]
	[ -z "$(ls -A "$ISOLA_STORE/vm" | grep warm)" ]
	rm -f "$FAKE_LOG"/*
	ISOLA_VM_COLD=1 vmrun --network "$NET"
	[ "$status" = 0 ]
	[ "$output" = hi ]
	[ -z "$(ls "$FAKE_LOG")" ]
	nothing_left
}
