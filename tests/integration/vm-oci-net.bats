#!/usr/bin/env bats
# The guest's NIC in the OCI mode (isola-vm; docs/vm-containers.md "Networking"): an
# engine's network namespace (linux.namespaces, type network, a path) gets a TAP joined
# to its interface by tc, the VMM runs there with the interface's MAC; delete leaves the
# netns exactly as it was.  Bad paths fail create naming the field, leaving nothing.
# No guest boots here (the fake VMM of vm-fake-vmm.py); a real guest pinging through
# such a netns is the L1 test vmoci-net.
load helpers
load vmct-helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_bundle vmocinet
	require_cmd mkfs.ext4
	require_cmd tc
	require_cmd nsenter
	require_cmd ip
	vmct_fake_vmm vm-fake-vmm.py
	export ISOLA_VM_COLD=1
	ln -s "$ISOLA" "$TMP/isola-vm"
	VM=$TMP/isola-vm
	NS=isola-it-vmocinet-$$
	HOSTIF=vin$$
	args sh -c 'echo STARTED; sleep 1000'
}

teardown() {
	"$ISOLA" --root "$R" delete --force "$ID" >/dev/null 2>&1 || true
	pkill -KILL -f "$TMP/kernel" 2>/dev/null || true
	ip link del "$HOSTIF" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	isola_cleanup_tmp
}

# The engine's part: a netns with a veth (eth0, 10.250.77.2/24, default via .1).
make_netns() {
	ip netns add "$NS" || skip "SKIP: ip netns add failed"
	ip link add "$HOSTIF" type veth peer name eth0 netns "$NS"
	ip -n "$NS" addr add 10.250.77.2/24 dev eth0
	ip -n "$NS" link set eth0 up
	ip -n "$NS" link set lo up
	ip -n "$NS" route add default via 10.250.77.1
}

# What the netns holds (links, addresses, routes, qdiscs), counters and states left out.
ns_snapshot() {
	{
		ip -n "$NS" -o link show | sed 's/ state [A-Z]*//; s/qlen [0-9]*//' | cut -d' ' -f2-3
		ip -n "$NS" -o addr show | awk '{print $2, $3, $4}'
		ip -n "$NS" route show
		ip netns exec "$NS" tc qdisc show | grep -v "^qdisc noqueue"
	} | sort
}

# create into $TMP/create.out (not bats' run: a monitor that got going would hold its
# pipe open); sets status and output.
try_create() {
	status=0
	"$VM" --root "$R" create --bundle "$B" "$ID" </dev/null >"$TMP/create.out" 2>&1 3>&- ||
		status=$?
	output=$(cat "$TMP/create.out")
	mapfile -t lines <"$TMP/create.out"
}

netns_field() { # INDEX PATH: the bundle's linux.namespaces, network's path set
	bundle_jq "$B" ".linux.namespaces = [.linux.namespaces[] | select(.type != \"network\")]
		+ [{\"type\": \"network\", \"path\": \"$1\"}]"
}

@test "vm-oci-net: a netns path: the VMM in it on isola-tap0 joined to eth0 with eth0's MAC; delete leaves the netns as it was" {
	make_netns
	local before after vmm mac
	before=$(ns_snapshot)
	netns_field "/run/netns/$NS"
	"$VM" --root "$R" create --bundle "$B" "$ID" </dev/null >"$TMP/out" 2>&1 3>&- ||
		{ cat "$TMP/out"; false; }
	vmm=$(jq -r .vmm "$R/$ID/vm.json")
	[ "$(stat -L -c %i "/run/netns/$NS")" = "$(stat -L -c %i "/proc/$vmm/ns/net")" ]
	mac=$(ip -n "$NS" -o link show eth0 | grep -o "link/ether [^ ]*" | cut -d' ' -f2)
	tr '\0' '\n' <"/proc/$vmm/cmdline" | grep -qx "tap=isola-tap0,mac=$mac"
	ip netns exec "$NS" tc filter show dev eth0 ingress | grep -q "Egress Redirect to device isola-tap0"
	ip netns exec "$NS" tc filter show dev isola-tap0 ingress | grep -q "Egress Redirect to device eth0"
	# eth0 keeps the engine's address and routes.
	ip -n "$NS" -4 addr show eth0 | grep -q "inet 10.250.77.2/24"
	"$ISOLA" --root "$R" start "$ID"
	wait_until 50 grep -q STARTED "$TMP/out"
	"$ISOLA" --root "$R" delete --force "$ID"
	[ ! -e "$R/$ID" ]
	after=$(ns_snapshot)
	echo "before: $before"
	echo "after: $after"
	[ "$before" = "$after" ]
	run ! ip -n "$NS" link show isola-tap0
}

@test "vm-oci-net: a new netns (no path), or a netns with only lo: the guest has no NIC" {
	bundle_jq "$B" '.linux.namespaces = [.linux.namespaces[] | select(.type != "network")]
		+ [{"type": "network"}]'
	"$VM" --root "$R" create --bundle "$B" "$ID" </dev/null >"$TMP/out" 2>&1 3>&- ||
		{ cat "$TMP/out"; false; }
	vmm=$(jq -r .vmm "$R/$ID/vm.json")
	[ -z "$(tr '\0' '\n' <"/proc/$vmm/cmdline" | grep -- "^--net")" ]
	"$ISOLA" --root "$R" delete --force "$ID"
	ip netns add "$NS" || skip "SKIP: ip netns add failed"
	netns_field "/run/netns/$NS"
	"$VM" --root "$R" create --bundle "$B" "$ID" </dev/null >"$TMP/out" 2>&1 3>&- ||
		{ cat "$TMP/out"; false; }
	vmm=$(jq -r .vmm "$R/$ID/vm.json")
	[ -z "$(tr '\0' '\n' <"/proc/$vmm/cmdline" | grep -- "^--net")" ]
	[ "$(ip -n "$NS" -o link show | wc -l)" = 1 ]
	"$ISOLA" --root "$R" delete --force "$ID"
}

@test "vm-oci-net: bad netns paths fail create naming the field; nothing is left" {
	local p
	echo x >"$TMP/file"
	mkfifo "$TMP/fifo"
	# A FIFO or a device is never opened (a FIFO would block create, a device could act).
	for p in /nonexistent/netns "$TMP/file" /proc/self/fd/0 /proc/self/ns/net /proc/1/ns/net \
		/proc/self/ns/mnt "$TMP" "$TMP/fifo" /dev/null; do
		netns_field "$p"
		try_create
		echo "$p: $output"
		[ "$status" != 0 ]
		[ "${#lines[@]}" = 1 ]
		[[ "$output" == *"linux.namespaces["*"].path"* ]]
		[ ! -e "$R/$ID" ]
	done
	bundle_jq "$B" '.linux.namespaces += [{"type": "network", "path": "relative/ns"}]
		| .linux.namespaces = [.linux.namespaces[] | select(.type != "network" or .path == "relative/ns")]'
	try_create
	[ "$status" != 0 ]
	[[ "$output" == *"path: not an absolute path"* ]]
	[ ! -e "$R/$ID" ]
	run ! pgrep -f "$TMP/kernel"
}

@test "vm-oci-net: a TAP of ours already in the netns: create fails, the netns is left as it was" {
	make_netns
	ip -n "$NS" tuntap add dev isola-tap0 mode tap
	local before
	before=$(ns_snapshot)
	netns_field "/run/netns/$NS"
	try_create
	echo "$output"
	[ "$status" != 0 ]
	[[ "$output" == *"isola-tap0"* ]]
	[ ! -e "$R/$ID" ]
	[ "$before" = "$(ns_snapshot)" ]
}
