#!/usr/bin/env bats
# IPv6 on a user-defined network: `network create --ipv6 --subnet fd00:213:X::/64` (alone
# or beside an IPv4 subnet) gives containers an IPv6 address from host-local, a default
# route through the bridge, ping6 between them (ICMPv6 datagram sockets without
# CAP_NET_RAW too), and AAAA answers from the network's DNS
# responder.  The default network stays IPv4.  Bridge isl-6<pid>, a free ULA /64.
load image-helpers
load net-helpers

setup() {
	net_requires
	require_cmd ip6tables
	[ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null)" = 0 ] ||
		skip "SKIP: IPv6 is disabled on this host"
	isola_tmp
	export ISOLA_STORE=$TMP/store
	unset ISOLA_NETWORK
	: >"$TMP/resolv.conf"
	export ISOLA_DNS_RESOLV_CONF=$TMP/resolv.conf
	NET=v$$
	BR=isl-$NET
	SUBNET=$(net_free_subnet $(($$ + 151))) || skip "SKIP: no free 10.213.x.0/24"
	SUBNET6=$(net_free_subnet6) || skip "SKIP: no free fd00:213:x::/64"
	P6=${SUBNET6%::/64}
	net_image
}

teardown() {
	net_teardown
}

# Nothing of ours in ip6tables either.
refute_leaks6() {
	local left
	refute_leaks
	left=$(ip6tables-save | grep -E "\"$NET\"|$P6:|${1:-@@none@@}" || true)
	[ -z "$left" ] || { echo "ip6tables rules left: $left" >&2; return 1; }
}

@test "ipv6: --ipv6 --subnet fd00:...::/64: IPv6 addresses, ping6 by address and by name" {
	run "$ISOLA" network create "$NET" --ipv6 --subnet "$SUBNET6"
	[ "$status" -eq 0 ]
	run "$ISOLA" network ls
	[[ "$output" == *"$BR"*"$SUBNET6"* ]]
	run "$ISOLA" run -d --name "a-$$" --network "$NET" "$IMG" sleep 120
	[ "$status" -eq 0 ]
	# The new bridge's gateway is usable at once (not tentative, DAD is over).
	ip -6 addr show dev "$BR" | grep "$P6::1/64"
	[ -z "$(ip -6 addr show dev "$BR" | grep tentative)" ]
	ip6_a=$(jq -r .ip6 "$ISOLA_STORE/net/state/a-$$.json")
	[[ "$ip6_a" == "$P6":* ]]
	[ "$(jq -r .ip "$ISOLA_STORE/net/state/a-$$.json")" = null ]
	# Without CAP_NET_RAW (not in the default set): an ICMPv6 datagram socket, which
	# net.ipv4.ping_group_range ("0 0" in the container's netns) allows as well.
	net_probe_image
	run "$ISOLA" run --rm --name "b-$$" --network "$NET" "$PIMG" sh -c \
		"cat /etc/resolv.conf; ip -6 route show default; icmp-probe ping $ip6_a &&
		 nslookup -type=AAAA a-$$"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "nameserver $P6::1" ]
	[[ "${lines[1]}" == "default via $P6::1 dev eth0"* ]]
	[ "${lines[2]}" = "ok reply from $ip6_a" ]
	[[ "$output" == *"Address: $ip6_a"* ]]
	# busybox ping6 (by name) opens a raw socket: CAP_NET_RAW added.
	run "$ISOLA" run --rm --name "b-$$" --network "$NET" --cap-add NET_RAW "$IMG" \
		ping6 -c1 -W5 "a-$$"
	echo "$output"
	[ "$status" -eq 0 ]
	"$ISOLA" rm -f "a-$$" >/dev/null
	refute_leaks6 "a-$$"
}

@test "ipv6: dual stack (--subnet IPv4 --subnet IPv6) gives both; the default network stays IPv4" {
	run "$ISOLA" network create "$NET" --subnet "$SUBNET" --subnet "$SUBNET6"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.plugins[0].ipam.routes[].dst]' "$ISOLA_STORE/networks/$NET.conflist")" = \
		'["0.0.0.0/0","::/0"]' ]
	run "$ISOLA" run -d --name "c-$$" --network "$NET" "$IMG" sleep 120
	[ "$status" -eq 0 ]
	ip_c=$(jq -r .ip "$ISOLA_STORE/net/state/c-$$.json")
	ip6_c=$(jq -r .ip6 "$ISOLA_STORE/net/state/c-$$.json")
	[[ "$ip_c" == "${SUBNET%.0/24}".* ]]
	[[ "$ip6_c" == "$P6":* ]]
	# IPv6 rules to undo: the plugins keep ip6tables (no IPv4-only tools directory).
	[ "$(jq -r .tools "$ISOLA_STORE/net/state/c-$$.json")" = null ]
	# busybox ping and ping6 open raw sockets: CAP_NET_RAW added.
	run "$ISOLA" run --rm --name "d-$$" --network "$NET" --cap-add NET_RAW "$IMG" sh -c \
		"ping -c1 -W5 $ip_c && ping6 -c1 -W5 $ip6_c && nslookup c-$$"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Address: $ip_c"* ]]
	[[ "$output" == *"Address: $ip6_c"* ]]
	"$ISOLA" rm -f "c-$$" >/dev/null
	refute_leaks6 "c-$$"
	# The default network: no IPv6 address but link-local.
	run "$ISOLA" run --rm --name "e-$$" "$IMG" ip -6 addr show scope global
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$(ls "$ISOLA_STORE/net/state" | grep -v '\.lock$' || true)" ]
}

@test "ipv6: bad subnets are one line naming --subnet or --ipv6, and make nothing" {
	for bad in "--ipv6 --subnet $SUBNET" "--subnet fd00:213::1/64" "--subnet fd00:213::/121" \
		"--subnet $SUBNET6 --subnet ${SUBNET6%::/64}:1::/64" "--subnet fd00::/64x" \
		"--subnet $SUBNET --subnet $SUBNET6 --subnet 10.1.0.0/16"; do
		# shellcheck disable=SC2086
		run "$ISOLA" network create "x$$" $bad
		echo "$bad: $output"
		[ "$status" -ne 0 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == *--subnet* || "$output" == *--ipv6* ]]
	done
	"$ISOLA" network create "$NET" --ipv6 --subnet "$SUBNET6" >/dev/null
	run "$ISOLA" network create "y$$" --ipv6 --subnet "$P6:0:8000::/80"
	[ "$status" -ne 0 ]
	[[ "$output" == *"overlaps network \`$NET\`"* ]]
	[ ! -e "$ISOLA_STORE/networks/x$$.conflist" ]
	[ ! -e "$ISOLA_STORE/networks/y$$.conflist" ]
}
