#!/usr/bin/env bats
# The network of `isola run --vm -d` (docs/vm-containers.md "Networking", "Detached") on
# this host, with the fake VMM of vm-detach.bats: the CNI netns, the TAP joined to eth0,
# the VMM run in that netns with eth0's MAC, the port's DNAT -- all set up before the
# VM starts -- and every end (rm -f, stop, the process exiting, a SIGKILLed monitor)
# leaving nothing: no netns, CNI state, veth, iptables rule or IPAM lease.  A real
# guest fetching through the port is the L1 test vmct-detach-net.
load image-helpers
load net-helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	vmct_setup
	net_requires
	require_cmd tc
	require_cmd nsenter
	vmct_fake_vmm vm-fake-vmm.py
	vmct_image vmdn-bb l:bin/sleep:busybox
	export ISOLA_VM_COLD=1
	unset ISOLA_NETWORK
	N=vmdn-$$
	NET=d$$
	BR=isl-$NET
	SUBNET=$(net_free_subnet) || skip "SKIP: no free 10.213.x.0/24"
	"$ISOLA" network create "$NET" --subnet "$SUBNET" >/dev/null
}

teardown() {
	"$ISOLA" rm -f "$N" >/dev/null 2>&1 || true
	pkill -KILL -f "$TMP/kernel" 2>/dev/null || true
	net_teardown
}

# The network's part of refute_leaks, while the container (its bundle mount) is kept:
# no netns, CNI state, veth on the bridge, iptables rule of the subnet or IPAM lease.
network_left_none() {
	local left
	[ -z "$(ls "$ISOLA_STORE/net/ns")" ]
	[ -z "$(ls "$ISOLA_STORE/net/state" | grep -v "\.lock$")" ]
	[ -z "$(ls "/sys/class/net/$BR/brif" 2>/dev/null)" ]
	left=$(iptables-save | grep -E "\"$NET\"|${SUBNET%.0/24}\." || true)
	[ -z "$left" ] || { echo "iptables rules left: $left" >&2; return 1; }
	left=$(ls "$ISOLA_STORE/net/ipam/$NET" | grep -Ev "^(lock|last_reserved_ip\.[0-9]+)$" || true)
	[ -z "$left" ] || { echo "IPAM leases left: $left" >&2; return 1; }
}

# The fake VMM of $N (its pid), while it runs.
vmm_pid() {
	jq -r .vmm "$ISOLA_STORE/run/$N/vm.json"
}

@test "vm-detach-net: run --vm -d -p: the VMM in the CNI netns on tap0 with eth0's MAC, DNAT there; rm -f leaves nothing" {
	local port ns=$ISOLA_STORE/net/ns/$N vmm mac ip
	port=$(free_port)
	run "$ISOLA" run --vm -d --name "$N" --network "$NET" -p "127.0.0.1:$port:80" \
		--hostname web1 vmdn-bb:1 sleep 1000
	echo "$output"
	[ "$status" = 0 ]
	[ "$output" = "$N" ]
	vmm=$(vmm_pid)
	[ "$(stat -L -c %i "$ns")" = "$(stat -L -c %i "/proc/$vmm/ns/net")" ]
	mac=$(nsenter --net="$ns" ip -o link show eth0 | grep -o "link/ether [^ ]*" | cut -d' ' -f2)
	[ -n "$mac" ]
	tr '\0' '\n' <"/proc/$vmm/cmdline" | grep -qx "tap=tap0,mac=$mac"
	nsenter --net="$ns" tc filter show dev eth0 ingress | grep -q "Egress Redirect to device tap0"
	nsenter --net="$ns" tc filter show dev tap0 ingress | grep -q "Egress Redirect to device eth0"
	ip=$(jq -r .ip "$ISOLA_STORE/net/state/$N.json")
	iptables-save -t nat | grep -q -- "--to-destination $ip:80"
	grep -qx web1 "$ISOLA_STORE/containers/$N/hostname"
	run "$ISOLA" rm -f "$N"
	[ "$status" = 0 ]
	run ! pgrep -f "$TMP/kernel"
	refute_leaks "$N"
	vmct_store_empty
}

@test "vm-detach-net: the process exiting by itself leaves the network; ps keeps its exit code" {
	run "$ISOLA" run --vm -d --name "$N" --network "$NET" vmdn-bb:1 sh -c 'exit 3'
	[ "$status" = 0 ]
	wait_until 100 "[ ! -e '$ISOLA_STORE/net/state/$N.json' ]"
	network_left_none
	"$ISOLA" ps --format json | jq -e ".[] | select(.id == \"$N\") | .exitCode == 3"
	run "$ISOLA" rm "$N"
	[ "$status" = 0 ]
	refute_leaks "$N"
	vmct_store_empty
}

@test "vm-detach-net: isola stop leaves the network; --rm -d removes all at the end" {
	"$ISOLA" run --vm -d --name "$N" --network "$NET" vmdn-bb:1 sleep 1000
	[ -e "$ISOLA_STORE/net/ns/$N" ]
	run "$ISOLA" stop -t 1 "$N"
	[ "$status" = 0 ]
	network_left_none
	"$ISOLA" rm "$N"
	run "$ISOLA" run --vm -d --rm --name "$N" --network "$NET" vmdn-bb:1 sh -c 'echo bye'
	[ "$status" = 0 ]
	wait_until 100 "[ ! -e '$ISOLA_STORE/containers/$N' ]"
	wait_until 50 "! pgrep -f 'rm -f --store $ISOLA_STORE $N' >/dev/null"
	refute_leaks "$N"
	vmct_store_empty
}

@test "vm-detach-net: a SIGKILLed monitor: its VMM dies, the network is left; rm -f cleans the rest" {
	"$ISOLA" run --vm -d --name "$N" --network "$NET" vmdn-bb:1 sleep 1000
	local vmm mon
	vmm=$(vmm_pid)
	mon=$(jq -r .monitor "$ISOLA_STORE/run/$N/vm.json")
	kill -KILL "$mon"
	wait_until 100 "! kill -0 $vmm 2>/dev/null"
	wait_until 100 "[ ! -e '$ISOLA_STORE/net/state/$N.json' ]"
	network_left_none
	run "$ISOLA" rm -f "$N"
	[ "$status" = 0 ]
	refute_leaks "$N"
	vmct_store_empty
}

@test "vm-detach-net: a VM that never boots: run -d fails 125, the network is undone" {
	FAKE_VMM=noboot run "$ISOLA" run --vm -d --name "$N" --network "$NET" vmdn-bb:1 echo hi
	[ "$status" = 125 ]
	refute_leaks "$N"
	vmct_store_empty
}

@test "vm-detach-net: --network host with -d is refused in one line, nothing left" {
	run "$ISOLA" run --vm -d --network host --name "$N" vmdn-bb:1 echo hi
	[ "$status" = 125 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"--network host with --vm"* ]]
	vmct_store_empty
}
