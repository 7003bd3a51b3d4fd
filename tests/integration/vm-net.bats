#!/usr/bin/env bats
# Networking of `isola run --vm` on this host (docs/vm-containers.md "Networking"), what
# can be checked without booting Linux (the boots are tests/l1 vmct-net*): the refused
# modes, and with a test guest that never starts the agent: the VMM runs in the
# container's CNI netns with a TAP joined to eth0 by tc redirects (frames for the
# container's address go to the TAP, the netns's own stack never answers), and a
# signal or a SIGKILL of isola (then `network prune`) leaves nothing.
load image-helpers
load net-helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	vmct_setup
	# The cold boot's NIC (the warm path's is vm-warm-net.bats): the stuck test guest
	# would otherwise be booted as a template first, in a namespace of its own.
	export ISOLA_VM_COLD=1
	NET=v$$
	BR=isl-$NET
	vmct_image vmnet-bb
}

teardown() {
	vmct_kill_leftovers
	net_teardown
}

@test "vm-net: --network host and ns:PATH are refused with --vm in one line, nothing left" {
	run "$ISOLA" run --vm --rm --network host vmnet-bb:1 echo hi
	[ "$status" = 125 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"--network host with --vm: a VM has its own kernel"* ]]
	run "$ISOLA" run --vm --rm --network "ns:$TMP/x" vmnet-bb:1 echo hi
	[ "$status" = 125 ]
	[ "${#lines[@]}" = 1 ]
	[[ "$output" == *"--network ns:PATH with --vm"* ]]
	run "$ISOLA" run --vm --rm --network none -p 8080:80 vmnet-bb:1 echo hi
	[ "$status" = 125 ]
	[[ "$output" == *"-p needs a bridge network"* ]]
	vmct_store_empty
	[ ! -e "$ISOLA_STORE/net/ns" ] || [ -z "$(ls "$ISOLA_STORE/net/ns")" ]
}

# isola run --vm on $NET with -p, the counter guest as the kernel (it never starts the
# agent): sets PID, VMM, ID, PORT.
start_stuck_vm_net() {
	net_requires
	[ -c /dev/kvm ] || skip "SKIP: no /dev/kvm"
	[ -f "$ISOLA_TOP/build/guest/counter.elf" ] || ci_skip "test guests not built"
	require_cmd tc
	require_cmd nsenter
	unset ISOLA_NETWORK
	SUBNET=$(net_free_subnet) || skip "SKIP: no free 10.213.x.0/24"
	"$ISOLA" network create "$NET" --subnet "$SUBNET" >/dev/null
	ID=vmnet-$$
	PORT=$(free_port)
	"$ISOLA" run --vm --rm --name "$ID" --network "$NET" -p "127.0.0.1:$PORT:80" \
		--vm-kernel "$ISOLA_TOP/build/guest/counter.elf" vmnet-bb:1 echo hi \
		>"$TMP/out" 2>&1 3>&- &
	PID=$!
	# Not isola's own forks (the netns helper): the exec'd VMM.
	wait_until 200 pgrep -P "$PID" -f "vm run --kernel .*counter.elf"
	VMM=$(pgrep -P "$PID" -f "vm run --kernel .*counter.elf")
	VMDIR=$(tr '\0' '\n' </proc/"$VMM"/cmdline | sed -n 's/^cid=3,uds=\(.*\)\/v.sock$/\1/p')
}

# `ip` in the netns $1 (not /sys: sysfs shows the namespace it was mounted in).
ns_ip() {
	local ns=$1
	shift
	nsenter --net="$ns" ip "$@"
}

# Frames eth0's redirect sent to the TAP (the mirred action's count).
tap_out() {
	nsenter --net="$1" tc -s filter show dev eth0 ingress |
		sed -n 's/.*Sent [0-9]* bytes \([0-9]*\) pkt.*/\1/p' | head -1
}

link_field() { # NS DEV FIELD: the word after FIELD in `ip -o link show DEV`
	ns_ip "$1" -o link show "$2" | grep -o "$3 [^ ]*" | cut -d' ' -f2
}

@test "vm-net: the VMM runs in the container's netns on a TAP joined to eth0 by tc; SIGTERM leaves nothing" {
	start_stuck_vm_net
	local ns=$ISOLA_STORE/net/ns/$ID mac ip
	# The VMM is in the netns CNI made (the same namespace inode).
	[ "$(stat -L -c %i "$ns")" = "$(stat -L -c %i "/proc/$VMM/ns/net")" ]
	mac=$(link_field "$ns" eth0 link/ether)
	# It got eth0's MAC for the guest, and the TAP of the netns.
	[ -n "$mac" ]
	tr '\0' '\n' <"/proc/$VMM/cmdline" | grep -qx "tap=tap0,mac=$mac"
	ns_ip "$ns" -o link show tap0 | grep -q "<.*UP.*>"
	[ "$(link_field "$ns" tap0 mtu)" = "$(link_field "$ns" eth0 mtu)" ]
	# tc: each side's ingress redirected to the other's egress.
	nsenter --net="$ns" tc filter show dev eth0 ingress | grep -q "mirred (Egress Redirect to device tap0)"
	nsenter --net="$ns" tc filter show dev tap0 ingress | grep -q "mirred (Egress Redirect to device eth0)"
	# eth0 keeps what CNI gave it (DEL finds its address), portmap's DNAT is there.
	ip=$(jq -r .ip "$ISOLA_STORE/net/state/$ID.json")
	nsenter --net="$ns" ip -4 addr show eth0 | grep -q "inet $ip/24"
	iptables-save -t nat | grep -q -- "--to-destination $ip:80"
	# A ping of the container's address reaches the TAP (the guest, which has no driver
	# and so never answers), never the netns's stack, which holds the same address.
	local before after
	before=$(tap_out "$ns")
	refute busybox ping -c 2 -W 1 "$ip"
	after=$(tap_out "$ns")
	[ "$after" -gt "$before" ]
	kill -TERM "$PID"
	local st=0
	wait "$PID" || st=$?
	PID=
	[ "$st" = 125 ]
	grep -q "signal 15 before the container started" "$TMP/out"
	[ ! -e "$VMDIR" ]
	refute kill -0 "$VMM"
	VMM=
	refute_leaks "$ID"
	vmct_store_empty
}

@test "vm-net: a SIGKILLed isola run --vm takes its VMM; network prune undoes the rest" {
	start_stuck_vm_net
	kill -KILL "$PID"
	wait "$PID" || true
	PID=
	wait_until 100 "! kill -0 $VMM 2>/dev/null"
	VMM=
	[ -e "$ISOLA_STORE/net/state/$ID.json" ]
	run "$ISOLA" network prune
	[ "$status" = 0 ]
	# The bundle (its overlay mount) is `rm -f`'s, as for a plain container.
	"$ISOLA" rm -f "$ID"
	refute_leaks "$ID"
}
